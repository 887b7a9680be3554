/* MxRings: q bins (linear, logarithmic or listed edges) times azimuthal sectors; rings with too
   few good pixels are dropped and reported, the rest numbered contiguously. */
#include <mxpcs/rings.h>
#include <math.h>

#define MX_RINGS_MAX_EDGES 4097

struct _p_MxRings {
  MPI_Comm       comm;
  MxRingsSpacing kind;
  double         q_min, q_max; /* NAN: from the good pixels */
  PetscInt       n, nphi, min_pixels;
  PetscInt       nuser;
  double        *user_edges;
  MxViewOption   view; /* -rings_view: where SetUp prints the ring table */

  /* results of SetUp */
  PetscBool setup;
  PetscInt  nedges;
  double   *edges, *phi_edges;
  PetscInt  ncand;       /* (nedges-1) * nphi candidate rings */
  PetscInt *cand_npix;
  double   *cand_qmean;
  PetscInt  nkept, ndropped;
  double   *q_mean;
  PetscInt *npix;
  int      *ring_q, *ring_phi;
  int      *roi;
};

static PetscLogEvent MX_RINGS_SETUP;

/* Linear: e_i = qmin + (qmax - qmin) i / n; logarithmic: e_i = qmin (qmax/qmin)^(i/n). The end
   points are exactly qmin and qmax. */
int MxRingsMakeEdges(MxRingsSpacing kind, double qmin, double qmax, int n, double *edges)
{
  if (n < 1 || !edges || !isfinite(qmin) || !isfinite(qmax) || qmin < 0 || !(qmin < qmax)) return 1;
  if (kind == MX_RINGS_LIN) {
    for (int i = 0; i <= n; i++) edges[i] = qmin + (qmax - qmin) * i / n;
  } else if (kind == MX_RINGS_LOG) {
    if (qmin <= 0) return 1;
    const double lmin = log(qmin), lmax = log(qmax);
    for (int i = 0; i <= n; i++) edges[i] = exp(lmin + (lmax - lmin) * i / n);
  } else return 1;
  edges[0] = qmin;
  edges[n] = qmax;
  return 0;
}

double MxRingsPhiEdge(int j, int nphi) { return j >= nphi ? PETSC_PI : -PETSC_PI + j * (2.0 * PETSC_PI / nphi); }

void MxRingsAssign(size_t npix, const double *q, const double *phi, const unsigned char *bad, int nedges, const double *edges, int nphi, int *ring)
{
  const double w = 2.0 * PETSC_PI / nphi;

  for (size_t k = 0; k < npix; k++) {
    const double qv = q[k];
    int          lo = 0, hi = nedges - 1, j = 0;

    ring[k] = -1;
    if (bad && bad[k]) continue;
    if (!(qv >= edges[0] && qv < edges[nedges - 1])) continue; /* also rejects NaN */
    while (hi - lo > 1) { /* edges[lo] <= qv < edges[hi] */
      const int mid = (lo + hi) / 2;
      if (qv >= edges[mid]) lo = mid;
      else hi = mid;
    }
    if (nphi > 1) {
      double ph = phi[k];
      if (!isfinite(ph)) continue;
      if (ph >= PETSC_PI) ph -= 2.0 * PETSC_PI; /* pi is the direction of -pi */
      j = (int)floor((ph + PETSC_PI) / w);
      if (j < 0) j = 0;
      if (j > nphi - 1) j = nphi - 1;
      /* agree exactly with the edges written to the output */
      while (j > 0 && ph < MxRingsPhiEdge(j, nphi)) j--;
      while (j < nphi - 1 && ph >= MxRingsPhiEdge(j + 1, nphi)) j++;
    }
    ring[k] = lo * nphi + j;
  }
}

/* Defaults: 10 linear bins over the q range of the good pixels, one sector, 100 pixels. */
PetscErrorCode MxRingsCreate(MPI_Comm comm, MxRings *r)
{
  MxRings n;

  PetscFunctionBeginUser;
  PetscCall(MxLogEventRegisterOnce("MxRings", "MxRingsSetUp", &MX_RINGS_SETUP));
  PetscCall(PetscNew(&n));
  n->comm       = comm;
  n->kind       = MX_RINGS_LIN;
  n->q_min      = NAN;
  n->q_max      = NAN;
  n->n          = 10;
  n->nphi       = 1;
  n->min_pixels = 100;
  *r            = n;
  PetscFunctionReturn(0);
}

static PetscErrorCode ResetResults(MxRings r)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(r->edges));
  PetscCall(PetscFree(r->phi_edges));
  PetscCall(PetscFree(r->cand_npix));
  PetscCall(PetscFree(r->cand_qmean));
  PetscCall(PetscFree(r->q_mean));
  PetscCall(PetscFree(r->npix));
  PetscCall(PetscFree(r->ring_q));
  PetscCall(PetscFree(r->ring_phi));
  PetscCall(PetscFree(r->roi));
  r->nedges = r->ncand = r->nkept = r->ndropped = 0;
  r->setup                                      = PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* The settings that do not need the pixels; messages name the options. */
static PetscErrorCode CheckSettings(MxRings r)
{
  PetscFunctionBeginUser;
  if (r->kind == MX_RINGS_LIST) {
    PetscCheck(r->nuser >= 2, r->comm, PETSC_ERR_ARG_SIZ, "option -rings_q_edges needs at least 2 edges, got %" PetscInt_FMT, r->nuser);
    for (PetscInt i = 0; i < r->nuser; i++) PetscCheck(isfinite(r->user_edges[i]) && r->user_edges[i] >= 0, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -rings_q_edges: edge %" PetscInt_FMT " = %g is not a q >= 0", i, r->user_edges[i]);
    for (PetscInt i = 1; i < r->nuser; i++) PetscCheck(r->user_edges[i] > r->user_edges[i - 1], r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -rings_q_edges: edges must be strictly increasing, but edge %" PetscInt_FMT " = %g follows %g", i, r->user_edges[i], r->user_edges[i - 1]);
  } else {
    PetscCheck(r->n >= 1, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -rings_n: %" PetscInt_FMT " rings; need at least 1", r->n);
    PetscCheck(isnan(r->q_min) || (isfinite(r->q_min) && r->q_min >= 0), r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -rings_q_min: %g must be >= 0", r->q_min);
    PetscCheck(isnan(r->q_max) || (isfinite(r->q_max) && r->q_max > 0), r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -rings_q_max: %g must be > 0", r->q_max);
    PetscCheck(isnan(r->q_min) || isnan(r->q_max) || r->q_min < r->q_max, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "options -rings_q_min %g and -rings_q_max %g: need q_min < q_max", r->q_min, r->q_max);
    PetscCheck(r->kind != MX_RINGS_LOG || isnan(r->q_min) || r->q_min > 0, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -rings_spacing log needs -rings_q_min > 0, got %g", r->q_min);
  }
  PetscCheck(r->nphi >= 1, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -rings_n_phi: %" PetscInt_FMT " sectors; need at least 1", r->nphi);
  PetscCheck(r->min_pixels >= 1, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -rings_min_pixels: %" PetscInt_FMT "; need at least 1", r->min_pixels);
  PetscFunctionReturn(0);
}

PetscErrorCode MxRingsSetQRange(MxRings r, double q_min, double q_max)
{
  PetscFunctionBeginUser;
  r->q_min = q_min;
  r->q_max = q_max;
  if (r->kind == MX_RINGS_LIST) r->kind = MX_RINGS_LIN;
  r->setup = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode MxRingsSetNumber(MxRings r, PetscInt n)
{
  PetscFunctionBeginUser;
  r->n = n;
  if (r->kind == MX_RINGS_LIST) r->kind = MX_RINGS_LIN;
  r->setup = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode MxRingsSetSpacing(MxRings r, MxRingsSpacing kind)
{
  PetscFunctionBeginUser;
  r->kind  = kind;
  r->setup = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode MxRingsSetEdges(MxRings r, PetscInt n, const double edges[])
{
  PetscFunctionBeginUser;
  PetscCheck(n >= 0 && n <= MX_RINGS_MAX_EDGES, r->comm, PETSC_ERR_ARG_SIZ, "option -rings_q_edges: %" PetscInt_FMT " edges, at most %d", n, MX_RINGS_MAX_EDGES);
  PetscCall(PetscFree(r->user_edges));
  PetscCall(PetscMalloc1(n ? n : 1, &r->user_edges));
  if (n) PetscCall(PetscArraycpy(r->user_edges, edges, n));
  r->nuser = n;
  r->kind  = MX_RINGS_LIST;
  r->setup = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode MxRingsSetSectors(MxRings r, PetscInt nphi)
{
  PetscFunctionBeginUser;
  r->nphi  = nphi;
  r->setup = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode MxRingsSetMinPixels(MxRings r, PetscInt min_pixels)
{
  PetscFunctionBeginUser;
  r->min_pixels = min_pixels;
  r->setup      = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode MxRingsSetFromOptions(MxRings r)
{
  PetscReal *edges;
  PetscInt   nedges = MX_RINGS_MAX_EDGES + 1, n = r->n, nphi = r->nphi, minpix = r->min_pixels;
  PetscReal  qmin = r->q_min, qmax = r->q_max;
  char       spacing[16];
  PetscBool  hmin, hmax, hn, hsp, hedges, hnphi, hminpix;

  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(spacing, r->kind == MX_RINGS_LOG ? "log" : "lin", sizeof spacing));
  PetscCall(PetscCalloc1(nedges, &edges));
  PetscOptionsBegin(r->comm, NULL, "q-rings (MxRings)", NULL);
  PetscCall(PetscOptionsReal("-rings_q_min", "lowest ring edge (1/angstrom); default: lowest q of the good pixels", "MxRingsSetQRange", qmin, &qmin, &hmin));
  PetscCall(PetscOptionsReal("-rings_q_max", "highest ring edge (1/angstrom, exclusive); default: just above the highest q of the good pixels", "MxRingsSetQRange", qmax, &qmax, &hmax));
  PetscCall(PetscOptionsInt("-rings_n", "number of radial bins", "MxRingsSetNumber", n, &n, &hn));
  PetscCall(PetscOptionsString("-rings_spacing", "lin or log", "MxRingsSetSpacing", spacing, spacing, sizeof spacing, &hsp));
  PetscCall(PetscOptionsRealArray("-rings_q_edges", "explicit ring edges e0,e1,... (1/angstrom); override -rings_q_min/-rings_q_max/-rings_n/-rings_spacing", "MxRingsSetEdges", edges, &nedges, &hedges));
  PetscCall(PetscOptionsInt("-rings_n_phi", "azimuthal sectors per radial bin", "MxRingsSetSectors", nphi, &nphi, &hnphi));
  PetscCall(PetscOptionsInt("-rings_min_pixels", "drop (and report) rings with fewer good pixels", "MxRingsSetMinPixels", minpix, &minpix, &hminpix));
  PetscCall(MxOptionsView("-rings_view", "Where MxRingsSetUp prints the ring table (no value: standard output; 0: nowhere), e.g. ascii:rings.txt", "MxRingsSetView", &r->view));
  PetscOptionsEnd();
  if (!hedges) PetscCall(PetscFree(edges));
  else if (nedges > MX_RINGS_MAX_EDGES) {
    PetscCall(PetscFree(edges));
    SETERRQ(r->comm, PETSC_ERR_ARG_SIZ, "option -rings_q_edges: more than %d edges", MX_RINGS_MAX_EDGES);
  }
  PetscCheck(!hsp || !strcmp(spacing, "lin") || !strcmp(spacing, "log"), r->comm, PETSC_ERR_ARG_WRONG, "option -rings_spacing: '%s' is not lin or log", spacing);
  if (hmin || hmax) PetscCall(MxRingsSetQRange(r, qmin, qmax));
  if (hn) PetscCall(MxRingsSetNumber(r, n));
  if (hsp) PetscCall(MxRingsSetSpacing(r, spacing[1] == 'o' ? MX_RINGS_LOG : MX_RINGS_LIN));
  if (hedges) {
    double *e;
    PetscErrorCode ierr;
    PetscCall(PetscMalloc1(nedges ? nedges : 1, &e));
    for (PetscInt i = 0; i < nedges; i++) e[i] = edges[i];
    PetscCall(PetscFree(edges));
    ierr = MxRingsSetEdges(r, nedges, e);
    PetscCall(PetscFree(e));
    PetscCall(ierr);
  }
  if (hnphi) PetscCall(MxRingsSetSectors(r, nphi));
  if (hminpix) PetscCall(MxRingsSetMinPixels(r, minpix));
  PetscCall(CheckSettings(r));
  PetscFunctionReturn(0);
}

static PetscErrorCode RingsView(void *r, PetscViewer v) { return MxRingsView((MxRings)r, v); }

/* Assign every pixel of g to a ring. Pixels count when covered, not bad in the geometry and not
   bad[] (may be NULL). Every rank does the same work on the same data, so the map is identical
   at any rank count. Collective (errors are raised on r's communicator). */
PetscErrorCode MxRingsSetUp(MxRings r, MxGeom g, const unsigned char *bad)
{
  const size_t       n = (size_t)MX_NMOD * MX_MODPIX;
  const MxPixelGeom *pix;
  unsigned char     *excl;
  int               *cand;
  double            *qsum, qlo = INFINITY, qhi = -INFINITY;
  PetscInt           ngood = 0, nbins, largest = 0;

  PetscFunctionBeginUser;
  PetscCall(CheckSettings(r));
  PetscCall(PetscLogEventBegin(MX_RINGS_SETUP, 0, 0, 0, 0));
  PetscCall(ResetResults(r));
  PetscCall(MxGeomSetUp(g));
  PetscCall(MxGeomGetPixels(g, &pix));
  PetscCall(PetscMalloc1(n, &excl));
  for (size_t k = 0; k < n; k++) {
    excl[k] = !pix->covered[k] || pix->bad[k] || (bad && bad[k]) || !isfinite(pix->q_inv_A[k]);
    if (!excl[k]) {
      ngood++;
      qlo = PetscMin(qlo, pix->q_inv_A[k]);
      qhi = PetscMax(qhi, pix->q_inv_A[k]);
    }
  }
  if (!ngood) {
    PetscCall(PetscFree(excl));
    SETERRQ(r->comm, PETSC_ERR_ARG_WRONG, "no good pixels: every covered pixel is masked (by the geometry's bad regions, the run's mask or -mask_file)");
  }

  /* edges */
  if (r->kind == MX_RINGS_LIST) {
    r->nedges = r->nuser;
    PetscCall(PetscMalloc1(r->nedges, &r->edges));
    PetscCall(PetscArraycpy(r->edges, r->user_edges, r->nedges));
  } else {
    const double qmin = isnan(r->q_min) ? qlo : r->q_min;
    const double qmax = isnan(r->q_max) ? nextafter(qhi, INFINITY) : r->q_max; /* q == q_max is outside */
    if (!(qmin < qmax) || (r->kind == MX_RINGS_LOG && !(qmin > 0))) {
      PetscCall(PetscFree(excl));
      PetscCheck(qmin < qmax, r->comm, PETSC_ERR_ARG_OUTOFRANGE, "options -rings_q_min/-rings_q_max: q_min %g (%s) is not below q_max %g (%s); the good pixels span q %g .. %g 1/A", qmin, isnan(r->q_min) ? "default" : "given", qmax, isnan(r->q_max) ? "default" : "given", qlo, qhi);
      SETERRQ(r->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -rings_spacing log needs q_min > 0, but q_min is %g", qmin);
    }
    r->nedges = r->n + 1;
    PetscCall(PetscMalloc1(r->nedges, &r->edges));
    PetscCheck(!MxRingsMakeEdges(r->kind, qmin, qmax, (int)r->n, r->edges), r->comm, PETSC_ERR_PLIB, "cannot make %" PetscInt_FMT " edges over [%g, %g)", r->n, qmin, qmax);
  }
  PetscCall(PetscMalloc1(r->nphi + 1, &r->phi_edges));
  for (PetscInt j = 0; j <= r->nphi; j++) r->phi_edges[j] = MxRingsPhiEdge((int)j, (int)r->nphi);

  /* candidates, then keep those with enough pixels */
  nbins    = r->nedges - 1;
  r->ncand = nbins * r->nphi;
  PetscCall(PetscMalloc1(n, &cand));
  MxRingsAssign(n, pix->q_inv_A, pix->phi, excl, (int)r->nedges, r->edges, (int)r->nphi, cand);
  PetscCall(PetscFree(excl));
  PetscCall(PetscCalloc1(r->ncand, &r->cand_npix));
  PetscCall(PetscCalloc1(r->ncand, &qsum));
  for (size_t k = 0; k < n; k++)
    if (cand[k] >= 0) {
      r->cand_npix[cand[k]]++;
      qsum[cand[k]] += pix->q_inv_A[k];
    }
  PetscCall(PetscMalloc1(r->ncand, &r->cand_qmean));
  for (PetscInt c = 0; c < r->ncand; c++) {
    r->cand_qmean[c] = r->cand_npix[c] ? qsum[c] / r->cand_npix[c] : NAN;
    if (r->cand_npix[c] >= r->min_pixels) r->nkept++;
    largest = PetscMax(largest, r->cand_npix[c]);
  }
  PetscCall(PetscFree(qsum));
  r->ndropped = r->ncand - r->nkept;
  if (!r->nkept) {
    PetscCall(PetscFree(cand));
    SETERRQ(r->comm, PETSC_ERR_ARG_OUTOFRANGE, "no q-ring has at least %" PetscInt_FMT " good pixels (-rings_min_pixels); the largest of the %" PetscInt_FMT " rings has %" PetscInt_FMT, r->min_pixels, r->ncand, largest);
  }
  {
    PetscInt *newid, kk = 0;
    PetscCall(PetscMalloc1(r->ncand, &newid));
    PetscCall(PetscMalloc1(r->nkept, &r->q_mean));
    PetscCall(PetscMalloc1(r->nkept, &r->npix));
    PetscCall(PetscMalloc1(r->nkept, &r->ring_q));
    PetscCall(PetscMalloc1(r->nkept, &r->ring_phi));
    for (PetscInt c = 0; c < r->ncand; c++) {
      if (r->cand_npix[c] >= r->min_pixels) {
        newid[c]        = kk;
        r->q_mean[kk]   = r->cand_qmean[c];
        r->npix[kk]     = r->cand_npix[c];
        r->ring_q[kk]   = (int)(c / r->nphi);
        r->ring_phi[kk] = (int)(c % r->nphi);
        kk++;
      } else {
        newid[c] = -1;
        PetscCall(PetscInfo(NULL, "dropping ring q [%g, %g) sector %" PetscInt_FMT ": %" PetscInt_FMT " good pixels < %" PetscInt_FMT "\n", r->edges[c / r->nphi], r->edges[c / r->nphi + 1], c % r->nphi, r->cand_npix[c], r->min_pixels));
      }
    }
    PetscCall(PetscMalloc1(n, &r->roi));
    for (size_t k = 0; k < n; k++) r->roi[k] = cand[k] >= 0 ? (int)newid[cand[k]] + 1 : 0;
    PetscCall(PetscFree(newid));
  }
  PetscCall(PetscFree(cand));
  r->setup = PETSC_TRUE;
  PetscCall(PetscLogEventEnd(MX_RINGS_SETUP, 0, 0, 0, 0));
  PetscCall(MxViewOptionApply(&r->view, RingsView, r));
  PetscFunctionReturn(0);
}

PetscErrorCode MxRingsGetMap(MxRings r, const int **roi)
{
  PetscFunctionBeginUser;
  PetscCheck(r->setup, r->comm, PETSC_ERR_ARG_WRONGSTATE, "call MxRingsSetUp() first");
  *roi = r->roi;
  PetscFunctionReturn(0);
}

PetscErrorCode MxRingsGetRings(MxRings r, PetscInt *n, const double **q_mean, const PetscInt **npix)
{
  PetscFunctionBeginUser;
  PetscCheck(r->setup, r->comm, PETSC_ERR_ARG_WRONGSTATE, "call MxRingsSetUp() first");
  if (n) *n = r->nkept;
  if (q_mean) *q_mean = r->q_mean;
  if (npix) *npix = r->npix;
  PetscFunctionReturn(0);
}

PetscErrorCode MxRingsGetEdges(MxRings r, PetscInt *nedges, const double **edges, PetscInt *nphi)
{
  PetscFunctionBeginUser;
  PetscCheck(r->setup, r->comm, PETSC_ERR_ARG_WRONGSTATE, "call MxRingsSetUp() first");
  if (nedges) *nedges = r->nedges;
  if (edges) *edges = r->edges;
  if (nphi) *nphi = r->nphi;
  PetscFunctionReturn(0);
}

PetscErrorCode MxRingsGetRingIndices(MxRings r, const int **iq, const int **iphi)
{
  PetscFunctionBeginUser;
  PetscCheck(r->setup, r->comm, PETSC_ERR_ARG_WRONGSTATE, "call MxRingsSetUp() first");
  if (iq) *iq = r->ring_q;
  if (iphi) *iphi = r->ring_phi;
  PetscFunctionReturn(0);
}

PetscErrorCode MxRingsGetDropped(MxRings r, PetscInt *ndropped)
{
  PetscFunctionBeginUser;
  PetscCheck(r->setup, r->comm, PETSC_ERR_ARG_WRONGSTATE, "call MxRingsSetUp() first");
  *ndropped = r->ndropped;
  PetscFunctionReturn(0);
}

PetscErrorCode MxRingsWrite(MxRings r, MxOut o)
{
  hsize_t  dims[3] = {MX_NMOD, MX_NSS, MX_NFS}, nk, ne, np;
  int64_t *npix;

  PetscFunctionBeginUser;
  PetscCheck(r->setup, r->comm, PETSC_ERR_ARG_WRONGSTATE, "call MxRingsSetUp() before MxRingsWrite()");
  nk = (hsize_t)r->nkept;
  ne = (hsize_t)r->nedges;
  np = (hsize_t)r->nphi + 1;
  PetscCall(PetscMalloc1(r->nkept, &npix));
  for (PetscInt i = 0; i < r->nkept; i++) npix[i] = r->npix[i];
  PetscCall(MxOutDoubles(o, MX_QMAP_Q, 1, &nk, r->q_mean));
  PetscCall(MxOutDoubles(o, MX_QMAP_Q_EDGES, 1, &ne, r->edges));
  PetscCall(MxOutArray(o, MX_QMAP_NPIX, H5T_NATIVE_INT64, 1, &nk, npix));
  PetscCall(PetscFree(npix));
  PetscCall(MxOutArray(o, MX_QMAP_ROI_MAP, H5T_NATIVE_INT, 3, dims, r->roi));
  PetscCall(MxOutDoubles(o, MX_QMAP_PHI_EDGES, 1, &np, r->phi_edges));
  PetscCall(MxOutArray(o, MX_QMAP_RING_Q_INDEX, H5T_NATIVE_INT, 1, &nk, r->ring_q));
  PetscCall(MxOutArray(o, MX_QMAP_RING_PHI_INDEX, H5T_NATIVE_INT, 1, &nk, r->ring_phi));
  PetscFunctionReturn(0);
}

/* Table of kept rings (index, bin, sector, q range, mean q, pixels) and one line per dropped
   ring. ASCII viewers only; rank 0 prints. v NULL: stdout of r's communicator. */
PetscErrorCode MxRingsView(MxRings r, PetscViewer v)
{
  PetscBool   ascii;
  const char *kind = r->kind == MX_RINGS_LIN ? "lin" : r->kind == MX_RINGS_LOG ? "log" : "listed";

  PetscFunctionBeginUser;
  if (!v) v = PETSC_VIEWER_STDOUT_(r->comm);
  PetscCall(PetscObjectTypeCompare((PetscObject)v, PETSCVIEWERASCII, &ascii));
  if (!ascii) PetscFunctionReturn(0);
  if (!r->setup) {
    PetscCall(PetscViewerASCIIPrintf(v, "MxRings: %s spacing, %" PetscInt_FMT " bins x %" PetscInt_FMT " sectors, min %" PetscInt_FMT " pixels (not set up)\n", kind, r->kind == MX_RINGS_LIST ? r->nuser - 1 : r->n, r->nphi, r->min_pixels));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscViewerASCIIPrintf(v, "MxRings: %" PetscInt_FMT " %s bins over q [%.6g, %.6g) 1/A x %" PetscInt_FMT " sector(s); %" PetscInt_FMT " rings kept, %" PetscInt_FMT " dropped (< %" PetscInt_FMT " good pixels)\n", r->nedges - 1, kind, r->edges[0],
                                   r->edges[r->nedges - 1], r->nphi, r->nkept, r->ndropped, r->min_pixels));
  PetscCall(PetscViewerASCIIPushTab(v));
  PetscCall(PetscViewerASCIIPrintf(v, "%5s %4s %4s %12s %12s %12s %9s\n", "ring", "iq", "iphi", "q_lo[1/A]", "q_hi[1/A]", "q_mean[1/A]", "npix"));
  for (PetscInt i = 0; i < r->nkept; i++)
    PetscCall(PetscViewerASCIIPrintf(v, "%5" PetscInt_FMT " %4d %4d %12.6g %12.6g %12.6g %9" PetscInt_FMT "\n", i, r->ring_q[i], r->ring_phi[i], r->edges[r->ring_q[i]], r->edges[r->ring_q[i] + 1], r->q_mean[i], r->npix[i]));
  for (PetscInt c = 0; c < r->ncand; c++)
    if (r->cand_npix[c] < r->min_pixels)
      PetscCall(PetscViewerASCIIPrintf(v, "dropped: iq %" PetscInt_FMT " iphi %" PetscInt_FMT " q [%.6g, %.6g) has %" PetscInt_FMT " good pixels < %" PetscInt_FMT "\n", c / r->nphi, c % r->nphi, r->edges[c / r->nphi], r->edges[c / r->nphi + 1], r->cand_npix[c], r->min_pixels));
  PetscCall(PetscViewerASCIIPopTab(v));
  PetscFunctionReturn(0);
}

PetscErrorCode MxRingsSetView(MxRings r, PetscViewer v)
{
  PetscFunctionBeginUser;
  PetscCall(MxViewOptionSet(&r->view, v));
  PetscFunctionReturn(0);
}

/* NULL-safe; sets *r = NULL. Not collective. */
PetscErrorCode MxRingsDestroy(MxRings *r)
{
  PetscFunctionBeginUser;
  if (!r || !*r) PetscFunctionReturn(0);
  PetscCall(MxViewOptionDestroy(&(*r)->view));
  PetscCall(ResetResults(*r));
  PetscCall(PetscFree((*r)->user_edges));
  PetscCall(PetscFree(*r));
  PetscFunctionReturn(0);
}
