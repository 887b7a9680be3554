/* MxGeom: panels from a CrystFEL .geom file or from quadrant positions, beam parameters, and
   the per-pixel scattering quantities of euxfel-format.md 3.3. */
#include "geomimpl.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>

/* Design defaults (docs/reference/euxfel-format.md section 4): MID midtools quadrant positions,
   8 m, 9 keV. */
static const double mx_mid_quad_pos[8] = {-518, 635, -568, -45, 552, -231, 602, 485};
#define MX_DEFAULT_DISTANCE_M 8.0
#define MX_DEFAULT_ENERGY_KEV 9.0

static PetscLogEvent MX_GEOM_SETUP;

PetscErrorCode MxGeomResetPanels(MxGeom g)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(g->panels));
  PetscCall(PetscFree(g->bad));
  g->npanels   = 0;
  g->nbad      = 0;
  g->layout2d  = PETSC_FALSE;
  g->from_file = PETSC_FALSE;
  g->file[0]   = 0;
  /* values that belong to the file */
  g->file_distance_m     = NAN;
  g->file_lambda_A       = NAN;
  g->file_clen_path[0]   = 0;
  g->file_energy_path[0] = 0;
  g->shift_x_m           = 0;
  g->shift_y_m           = 0;
  g->setup               = PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* Create a geometry with the defaults: ideal MID layout from the midtools quadrant positions,
   beam centre at the origin, polarisation 1. Collective. */
PetscErrorCode MxGeomCreate(MPI_Comm comm, MxGeom *g)
{
  MxGeom n;

  PetscFunctionBeginUser;
  PetscCall(MxLogEventRegisterOnce("MxGeom", "MxGeomSetUp", &MX_GEOM_SETUP));
  PetscCall(PetscNew(&n));
  n->comm            = comm;
  n->user_distance_m = NAN;
  n->user_lambda_A   = NAN;
  n->pol_f           = 1.0;
  n->q_min = n->q_max = NAN;
  PetscCall(MxGeomSetQuadPositions(n, mx_mid_quad_pos));
  *g = n;
  PetscFunctionReturn(0);
}

/* Replace the panels by the ideal AGIPD-1M layout of euxfel-format.md 3.4 (pixels). Forgets
   any file loaded before. Not collective. */
PetscErrorCode MxGeomSetQuadPositions(MxGeom g, const double quad_pos[8])
{
  PetscFunctionBeginUser;
  PetscCall(MxGeomResetPanels(g));
  PetscCall(PetscArraycpy(g->quad_pos, quad_pos, 8));
  PetscCall(PetscMalloc1(8 * MX_NMOD, &g->panels));
  g->npanels = 8 * MX_NMOD;
  MxGeomIdealPanels(quad_pos, g->panels);
  PetscFunctionReturn(0);
}

static PetscErrorCode ReadWholeFile(const char path[], char **text, size_t *len)
{
  FILE *f = fopen(path, "rb");
  long  n;

  PetscFunctionBeginUser;
  PetscCheck(f, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "%s: cannot open the geometry file (%s)", path, strerror(errno));
  if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
    fclose(f);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: cannot read the geometry file", path);
  }
  if (n > (64L << 20)) {
    fclose(f);
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: %ld bytes is far too large for a geometry file", path, n);
  }
  PetscCall(PetscMalloc1((size_t)n + 1, text));
  *len = fread(*text, 1, (size_t)n, f);
  fclose(f);
  (*text)[*len] = 0;
  if (*len != (size_t)n) {
    PetscCall(PetscFree(*text));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_FILE_READ, "%s: short read of the geometry file", path);
  }
  PetscCheck(strlen(*text) == *len, PETSC_COMM_SELF, PETSC_ERR_FILE_UNEXPECTED, "%s: contains a NUL byte; not a text geometry file", path);
  PetscFunctionReturn(0);
}

/* Rank 0 reads the file and broadcasts its text; every rank parses it, so a bad file is an
   error on every rank. Collective. */
PetscErrorCode MxGeomLoadFile(MxGeom g, const char path[])
{
  PetscMPIInt    rank;
  PetscErrorCode lerr = 0, ierr;
  char          *text = NULL;
  size_t         len  = 0;
  uint64_t       n;

  PetscFunctionBeginUser;
  MPI_Comm_rank(g->comm, &rank);
  if (!rank) lerr = ReadWholeFile(path, &text, &len);
  PetscCall(MxErrorSync(g->comm, lerr));
  n = len;
  PetscCallMPI(MPI_Bcast(&n, 1, MPI_UINT64_T, 0, g->comm));
  if (rank) PetscCall(PetscMalloc1(n + 1, &text));
  PetscCallMPI(MPI_Bcast(text, (int)n + 1, MPI_CHAR, 0, g->comm));
  PetscCall(MxGeomResetPanels(g));
  ierr = MxGeomParseText(g, path, text);
  PetscCall(PetscFree(text));
  if (ierr) {
    /* leave the object usable: back to the ideal layout of the last quadrant positions */
    double qp[8];
    PetscCall(PetscArraycpy(qp, g->quad_pos, 8));
    PetscCall(MxGeomSetQuadPositions(g, qp));
    PetscCall(ierr);
  }
  g->from_file = PETSC_TRUE;
  PetscCall(PetscStrncpy(g->file, path, sizeof g->file));
  PetscFunctionReturn(0);
}

/* Sample-detector distance in metres (overrides clen of the file). Not collective. */
PetscErrorCode MxGeomSetDistance(MxGeom g, double distance_m)
{
  PetscFunctionBeginUser;
  PetscCheck(distance_m > 0 && isfinite(distance_m), g->comm, PETSC_ERR_ARG_OUTOFRANGE, "geometry: distance %g m must be positive", distance_m);
  g->user_distance_m = distance_m;
  g->setup           = PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* Photon energy in keV (overrides the file). Not collective. */
PetscErrorCode MxGeomSetEnergy(MxGeom g, double energy_keV)
{
  PetscFunctionBeginUser;
  PetscCheck(energy_keV > 0 && isfinite(energy_keV), g->comm, PETSC_ERR_ARG_OUTOFRANGE, "geometry: photon energy %g keV must be positive", energy_keV);
  g->user_lambda_A = MX_HC_KEV_A / energy_keV;
  g->setup         = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode MxGeomSetWavelength(MxGeom g, double lambda_A)
{
  PetscFunctionBeginUser;
  PetscCheck(lambda_A > 0 && isfinite(lambda_A), g->comm, PETSC_ERR_ARG_OUTOFRANGE, "geometry: wavelength %g A must be positive", lambda_A);
  g->user_lambda_A = lambda_A;
  g->setup         = PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* Direct-beam position in the lab frame, metres (default 0,0 = geometry origin). Not collective. */
PetscErrorCode MxGeomSetBeamCenter(MxGeom g, double bx_m, double by_m)
{
  PetscFunctionBeginUser;
  PetscCheck(isfinite(bx_m) && isfinite(by_m), g->comm, PETSC_ERR_ARG_OUTOFRANGE, "geometry: beam centre must be finite");
  g->bx_m  = bx_m;
  g->by_m  = by_m;
  g->setup = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode MxGeomSetPolarization(MxGeom g, double f)
{
  PetscFunctionBeginUser;
  PetscCheck(fabs(f) <= 1, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "geometry: polarisation fraction %g must lie in [-1, 1]", f);
  g->pol_f = f;
  g->setup = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode MxGeomSetFromOptions(MxGeom g)
{
  char      file[PETSC_MAX_PATH_LEN] = "";
  PetscReal qp[9], bc[3], d, e, lam, f = g->pol_f;
  PetscInt  nqp = 9, nbc = 3;
  PetscBool hfile, hqp, hbc, hd, he, hl, hf;

  PetscFunctionBeginUser;
  /* shown by -help */
  for (int k = 0; k < 8; k++) qp[k] = g->quad_pos[k];
  qp[8] = 0;
  bc[0] = g->bx_m;
  bc[1] = g->by_m;
  bc[2] = 0;
  d     = isnan(g->user_distance_m) ? MX_DEFAULT_DISTANCE_M : g->user_distance_m;
  e     = isnan(g->user_lambda_A) ? MX_DEFAULT_ENERGY_KEV : MX_HC_KEV_A / g->user_lambda_A;
  lam   = MX_HC_KEV_A / e;
  PetscOptionsBegin(g->comm, NULL, "Detector geometry (MxGeom)", NULL);
  PetscCall(PetscOptionsString("-geom_file", "CrystFEL .geom file (3-D or 2-D layout)", "MxGeomLoadFile", file, file, sizeof file, &hfile));
  PetscCall(PetscOptionsRealArray("-geom_quad_pos", "quadrant positions x1,y1,..,x4,y4 in pixels (ideal layout, without -geom_file); default MID midtools", "MxGeomSetQuadPositions", qp, &nqp, &hqp));
  PetscCall(PetscOptionsReal("-geom_distance_m", "sample-detector distance (m); overrides clen of the file (default 8, simulate 7)", "MxGeomSetDistance", d, &d, &hd));
  PetscCall(PetscOptionsReal("-geom_energy_kev", "photon energy (keV); overrides the file (default 9, simulate 12.3)", "MxGeomSetEnergy", e, &e, &he));
  PetscCall(PetscOptionsReal("-geom_wavelength_A", "wavelength (angstrom), instead of -geom_energy_kev", "MxGeomSetWavelength", lam, &lam, &hl));
  PetscCall(PetscOptionsRealArray("-geom_beam_center_m", "direct beam x,y in the lab frame (m); default 0,0", "MxGeomSetBeamCenter", bc, &nbc, &hbc));
  PetscCall(PetscOptionsReal("-geom_polarization", "horizontal polarisation fraction f in [-1,1]", "MxGeomSetPolarization", f, &f, &hf));
  PetscCall(MxOptionsView("-geom_view", "Where MxGeomSetUp prints the geometry summary (no value: standard output; 0: nowhere), e.g. ascii:geom.txt", "MxGeomSetView", &g->view));
  PetscOptionsEnd();

  PetscCheck(!(hfile && hqp), g->comm, PETSC_ERR_ARG_INCOMP, "options -geom_file and -geom_quad_pos exclude each other: the file gives the panel positions");
  PetscCheck(!hfile || file[0], g->comm, PETSC_ERR_ARG_WRONG, "option -geom_file needs a file name");
  PetscCheck(!hqp || nqp == 8, g->comm, PETSC_ERR_ARG_SIZ, "option -geom_quad_pos needs 8 values x1,y1,x2,y2,x3,y3,x4,y4 (pixels), got %s%" PetscInt_FMT, nqp > 8 ? "more than " : "", nqp > 8 ? (PetscInt)8 : nqp);
  PetscCheck(!hd || (d > 0 && isfinite(d)), g->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -geom_distance_m: %g is not a positive distance", (double)d);
  PetscCheck(!he || (e > 0 && isfinite(e)), g->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -geom_energy_kev: %g is not a positive energy", (double)e);
  PetscCheck(!hl || (lam > 0 && isfinite(lam)), g->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -geom_wavelength_A: %g is not a positive wavelength", (double)lam);
  PetscCheck(!(he && hl), g->comm, PETSC_ERR_ARG_INCOMP, "options -geom_energy_kev and -geom_wavelength_A exclude each other");
  PetscCheck(!hbc || nbc == 2, g->comm, PETSC_ERR_ARG_SIZ, "option -geom_beam_center_m needs 2 values x,y (m), got %s%" PetscInt_FMT, nbc > 2 ? "more than " : "", nbc > 2 ? (PetscInt)2 : nbc);
  PetscCheck(!hbc || (isfinite(bc[0]) && isfinite(bc[1])), g->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -geom_beam_center_m: values must be finite");
  PetscCheck(!hf || fabs(f) <= 1, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -geom_polarization: %g is outside [-1, 1]", (double)f);
  if (hqp)
    for (int k = 0; k < 8; k++) PetscCheck(isfinite(qp[k]), g->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -geom_quad_pos: value %d is not finite", k + 1);

  if (hfile) PetscCall(MxGeomLoadFile(g, file));
  if (hqp) {
    double q[8];
    for (int k = 0; k < 8; k++) q[k] = qp[k];
    PetscCall(MxGeomSetQuadPositions(g, q));
  }
  if (hd) PetscCall(MxGeomSetDistance(g, d));
  if (he) PetscCall(MxGeomSetEnergy(g, e));
  if (hl) PetscCall(MxGeomSetWavelength(g, lam));
  if (hbc) PetscCall(MxGeomSetBeamCenter(g, bc[0], bc[1]));
  if (hf) PetscCall(MxGeomSetPolarization(g, f));
  g->setup = PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* Which distance and wavelength apply: user setting > file value > design default; a file
   value given as an HDF5 location cannot be used and must be replaced by an option. */
static PetscErrorCode ResolveBeam(MxGeom g)
{
  PetscFunctionBeginUser;
  if (!isnan(g->user_distance_m)) {
    g->distance_m   = g->user_distance_m;
    g->distance_src = "option";
  } else if (!isnan(g->file_distance_m)) {
    g->distance_m   = g->file_distance_m;
    g->distance_src = "clen of the file";
  } else {
    PetscCheck(!g->file_clen_path[0], g->comm, PETSC_ERR_ARG_NULL, "%s: clen is the data location %s, which mxpcs does not read; give the distance with -geom_distance_m", g->file, g->file_clen_path);
    g->distance_m   = MX_DEFAULT_DISTANCE_M;
    g->distance_src = "default";
  }
  if (!isnan(g->user_lambda_A)) {
    g->lambda_A   = g->user_lambda_A;
    g->lambda_src = "option";
  } else if (!isnan(g->file_lambda_A)) {
    g->lambda_A   = g->file_lambda_A;
    g->lambda_src = "file";
  } else {
    PetscCheck(!g->file_energy_path[0], g->comm, PETSC_ERR_ARG_NULL, "%s: the photon energy is the data location %s, which mxpcs does not read; give -geom_energy_kev or -geom_wavelength_A", g->file, g->file_energy_path);
    g->lambda_A   = MX_HC_KEV_A / MX_DEFAULT_ENERGY_KEV;
    g->lambda_src = "default";
  }
  PetscFunctionReturn(0);
}

static PetscErrorCode AllocPixels(MxPixelGeom *p)
{
  const size_t n = (size_t)MX_NMOD * MX_MODPIX;

  PetscFunctionBeginUser;
  if (p->x_m) PetscFunctionReturn(0);
  PetscCall(PetscMalloc1(n, &p->x_m));
  PetscCall(PetscMalloc1(n, &p->y_m));
  PetscCall(PetscMalloc1(n, &p->z_m));
  PetscCall(PetscMalloc1(n, &p->two_theta));
  PetscCall(PetscMalloc1(n, &p->q_inv_A));
  PetscCall(PetscMalloc1(n, &p->phi));
  PetscCall(PetscMalloc1(n, &p->solid_angle));
  PetscCall(PetscMalloc1(n, &p->polarization));
  PetscCall(PetscMalloc1(n, &p->covered));
  PetscCall(PetscMalloc1(n, &p->bad));
  PetscFunctionReturn(0);
}

static PetscErrorCode FreePixels(MxPixelGeom *p)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(p->x_m));
  PetscCall(PetscFree(p->y_m));
  PetscCall(PetscFree(p->z_m));
  PetscCall(PetscFree(p->two_theta));
  PetscCall(PetscFree(p->q_inv_A));
  PetscCall(PetscFree(p->phi));
  PetscCall(PetscFree(p->solid_angle));
  PetscCall(PetscFree(p->polarization));
  PetscCall(PetscFree(p->covered));
  PetscCall(PetscFree(p->bad));
  PetscFunctionReturn(0);
}

/* Geometry bad pixels: no_index panels, mask_edge_pixels, and CrystFEL bad regions (x/y boxes
   test pixel centres in the panel's pixel units; fs/ss boxes are inclusive data ranges). */
static void MarkBad(MxGeom g)
{
  MxPixelGeom *pix = &g->pix;

  for (PetscInt i = 0; i < g->npanels; i++) {
    const MxPanel *p    = &g->panels[i];
    const int      e    = p->mask_edge_pixels;
    const int      off  = g->layout2d ? MX_NSS * p->module : 0; /* data ss = local ss + off */
    for (int ss = p->min_ss; ss <= p->max_ss; ss++)
      for (int fs = p->min_fs; fs <= p->max_fs; fs++) {
        const size_t k   = ((size_t)p->module * MX_NSS + ss) * MX_NFS + fs;
        int          bad = p->no_index;
        if (e > 0 && (ss - p->min_ss < e || p->max_ss - ss < e || fs - p->min_fs < e || p->max_fs - fs < e)) bad = 1;
        for (PetscInt b = 0; b < g->nbad && !bad; b++) {
          const MxBadRegion *r = &g->bad[b];
          if (r->panel >= 0 && r->panel != i) continue;
          if (r->is_fsss) {
            const int dss = ss + off;
            bad = fs >= r->min_fs && fs <= r->max_fs && dss >= r->min_ss && dss <= r->max_ss;
          } else {
            const double u = fs - p->min_fs + 0.5, v = ss - p->min_ss + 0.5;
            const double x = p->corner_x + u * p->fs[0] + v * p->ss[0], y = p->corner_y + u * p->fs[1] + v * p->ss[1];
            bad = x >= r->min_x && x <= r->max_x && y >= r->min_y && y <= r->max_y;
          }
        }
        pix->bad[k] = (unsigned char)(bad != 0);
      }
  }
}

static PetscErrorCode GeomView(void *g, PetscViewer v) { return MxGeomView((MxGeom)g, v); }

/* Per-pixel quantities for all 16 x 512 x 128 pixels (euxfel-format.md 3.3): every rank
   computes the whole detector, so results do not depend on the rank count. Collective,
   idempotent. Logged as MxGeomSetUp. */
PetscErrorCode MxGeomSetUp(MxGeom g)
{
  const size_t n = (size_t)MX_NMOD * MX_MODPIX;
  MxPixelGeom *pix = &g->pix;
  double       qmin = INFINITY, qmax = -INFINITY;
  PetscInt     ncov = 0;

  PetscFunctionBeginUser;
  if (g->setup) PetscFunctionReturn(0);
  PetscCall(PetscLogEventBegin(MX_GEOM_SETUP, 0, 0, 0, 0));
  PetscCheck(g->npanels > 0, g->comm, PETSC_ERR_ARG_WRONGSTATE, "geometry has no panels");
  PetscCall(ResolveBeam(g));
  PetscCall(AllocPixels(pix));
  for (size_t k = 0; k < n; k++) {
    pix->x_m[k] = pix->y_m[k] = pix->z_m[k] = NAN;
    pix->two_theta[k] = pix->q_inv_A[k] = pix->phi[k] = NAN;
    pix->solid_angle[k] = pix->polarization[k] = NAN;
    pix->covered[k] = 0;
    pix->bad[k]     = 0;
  }
  for (PetscInt i = 0; i < g->npanels; i++) {
    const MxPanel *p     = &g->panels[i];
    const double   apix  = 1.0 / (p->res * p->res); /* m^2 */
    for (int ss = p->min_ss; ss <= p->max_ss; ss++)
      for (int fs = p->min_fs; fs <= p->max_fs; fs++) {
        const size_t k = ((size_t)p->module * MX_NSS + ss) * MX_NFS + fs;
        double       xyz[3], x, y, z, solid;
        MxPanelPixelCenter(p, ss, fs, xyz);
        x = xyz[0] + g->shift_x_m;
        y = xyz[1] + g->shift_y_m;
        z = g->distance_m + xyz[2];
        pix->x_m[k] = x;
        pix->y_m[k] = y;
        pix->z_m[k] = z;
        pix->covered[k] = 1;
        if (g->skip[p->module]) continue;
        MxGeomScatter(x, y, z, g->bx_m, g->by_m, g->lambda_A, g->pol_f, &pix->two_theta[k], &pix->q_inv_A[k], &pix->phi[k], &solid, &pix->polarization[k]);
        pix->solid_angle[k] = solid * apix;
      }
  }
  MarkBad(g);
  for (size_t k = 0; k < n; k++)
    if (pix->covered[k]) {
      ncov++;
      if (g->skip[k / MX_MODPIX]) continue;
      qmin = PetscMin(qmin, pix->q_inv_A[k]);
      qmax = PetscMax(qmax, pix->q_inv_A[k]);
    }
  g->ncovered = ncov;
  g->q_min    = qmin;
  g->q_max    = qmax;
  g->setup    = PETSC_TRUE;
  PetscCall(PetscLogEventEnd(MX_GEOM_SETUP, 0, 0, 0, 0));
  PetscCall(MxViewOptionApply(&g->view, GeomView, g));
  PetscFunctionReturn(0);
}

static int SkipAny(MxGeom g)
{
  for (int m = 0; m < MX_NMOD; m++)
    if (g->skip[m]) return 1;
  return 0;
}

PetscErrorCode MxGeomSetModules(MxGeom g, const PetscBool use[MX_NMOD])
{
  PetscFunctionBeginUser;
  PetscCheck(!g->setup, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "geometry: MxGeomSetModules after MxGeomSetUp");
  for (int m = 0; m < MX_NMOD; m++) g->skip[m] = !use[m];
  PetscFunctionReturn(0);
}

PetscErrorCode MxGeomGetPixels(MxGeom g, const MxPixelGeom **pix)
{
  PetscFunctionBeginUser;
  PetscCheck(g->setup, g->comm, PETSC_ERR_ARG_WRONGSTATE, "call MxGeomSetUp() before MxGeomGetPixels()");
  *pix = &g->pix;
  PetscFunctionReturn(0);
}

PetscErrorCode MxGeomGetPanels(MxGeom g, PetscInt *n, const MxPanel **panels)
{
  PetscFunctionBeginUser;
  if (n) *n = g->npanels;
  if (panels) *panels = g->panels;
  PetscFunctionReturn(0);
}

PetscErrorCode MxGeomGetDistance(MxGeom g, double *distance_m)
{
  PetscFunctionBeginUser;
  PetscCheck(g->setup, g->comm, PETSC_ERR_ARG_WRONGSTATE, "call MxGeomSetUp() before MxGeomGetDistance()");
  *distance_m = g->distance_m;
  PetscFunctionReturn(0);
}

PetscErrorCode MxGeomGetWavelength(MxGeom g, double *lambda_A)
{
  PetscFunctionBeginUser;
  PetscCheck(g->setup, g->comm, PETSC_ERR_ARG_WRONGSTATE, "call MxGeomSetUp() before MxGeomGetWavelength()");
  *lambda_A = g->lambda_A;
  PetscFunctionReturn(0);
}

PetscErrorCode MxGeomGetEnergy(MxGeom g, double *energy_keV)
{
  PetscFunctionBeginUser;
  PetscCheck(g->setup, g->comm, PETSC_ERR_ARG_WRONGSTATE, "call MxGeomSetUp() before MxGeomGetEnergy()");
  *energy_keV = MX_HC_KEV_A / g->lambda_A;
  PetscFunctionReturn(0);
}

PetscErrorCode MxGeomGetBeamCenter(MxGeom g, double *bx_m, double *by_m)
{
  PetscFunctionBeginUser;
  if (bx_m) *bx_m = g->bx_m;
  if (by_m) *by_m = g->by_m;
  PetscFunctionReturn(0);
}

PetscErrorCode MxGeomGetPolarization(MxGeom g, double *f)
{
  PetscFunctionBeginUser;
  *f = g->pol_f;
  PetscFunctionReturn(0);
}

PetscErrorCode MxGeomGetPixelSize(MxGeom g, double *pixel_m)
{
  PetscFunctionBeginUser;
  PetscCheck(g->npanels > 0, g->comm, PETSC_ERR_ARG_WRONGSTATE, "geometry has no panels");
  *pixel_m = 1.0 / g->panels[0].res;
  PetscFunctionReturn(0);
}

PetscErrorCode MxGeomGetLayout(MxGeom g, const char **file, const double **quad_pos)
{
  PetscFunctionBeginUser;
  if (file) *file = g->from_file ? g->file : NULL;
  if (quad_pos) *quad_pos = g->from_file ? NULL : g->quad_pos;
  PetscFunctionReturn(0);
}

/* Short summary: source of the panels, distance, energy, beam centre, q range. Collective on
   the viewer (ASCII only; rank 0 prints). v NULL: stdout of g's communicator. */
PetscErrorCode MxGeomView(MxGeom g, PetscViewer v)
{
  PetscBool ascii;
  PetscInt  nbadpix = 0;

  PetscFunctionBeginUser;
  if (!v) v = PETSC_VIEWER_STDOUT_(g->comm);
  PetscCall(PetscObjectTypeCompare((PetscObject)v, PETSCVIEWERASCII, &ascii));
  if (!ascii) PetscFunctionReturn(0);
  PetscCall(PetscViewerASCIIPrintf(v, "MxGeom: AGIPD-1M geometry\n"));
  PetscCall(PetscViewerASCIIPushTab(v));
  if (g->from_file) PetscCall(PetscViewerASCIIPrintf(v, "file: %s (%" PetscInt_FMT " panels, %s layout, %" PetscInt_FMT " bad regions)\n", g->file, g->npanels, g->layout2d ? "2-D" : "3-D", g->nbad));
  else
    PetscCall(PetscViewerASCIIPrintf(v, "ideal layout from quadrant positions (px): (%g,%g) (%g,%g) (%g,%g) (%g,%g)\n", g->quad_pos[0], g->quad_pos[1], g->quad_pos[2], g->quad_pos[3], g->quad_pos[4], g->quad_pos[5], g->quad_pos[6], g->quad_pos[7]));
  if (!g->setup) {
    PetscCall(PetscViewerASCIIPrintf(v, "(not set up)\n"));
    PetscCall(PetscViewerASCIIPopTab(v));
    PetscFunctionReturn(0);
  }
  for (size_t k = 0; k < (size_t)MX_NMOD * MX_MODPIX; k++) nbadpix += g->pix.covered[k] && g->pix.bad[k];
  PetscCall(PetscViewerASCIIPrintf(v, "distance: %.6g m (%s)\n", g->distance_m, g->distance_src));
  PetscCall(PetscViewerASCIIPrintf(v, "energy: %.6g keV, wavelength %.7g A (%s)\n", MX_HC_KEV_A / g->lambda_A, g->lambda_A, g->lambda_src));
  PetscCall(PetscViewerASCIIPrintf(v, "beam centre: (%g, %g) m; polarisation f = %g; pixel %g um\n", g->bx_m, g->by_m, g->pol_f, 1e6 / g->panels[0].res));
  if (g->shift_x_m != 0 || g->shift_y_m != 0) PetscCall(PetscViewerASCIIPrintf(v, "detector shift: (%g, %g) m\n", g->shift_x_m, g->shift_y_m));
  PetscCall(PetscViewerASCIIPrintf(v, "covered pixels: %" PetscInt_FMT " of %d (%" PetscInt_FMT " bad in the geometry)\n", g->ncovered, MX_NMOD * MX_MODPIX, nbadpix));
  PetscCall(PetscViewerASCIIPrintf(v, "q range over covered pixels%s: %.6g .. %.6g 1/A\n", SkipAny(g) ? " of the modules set up" : "", g->q_min, g->q_max));
  PetscCall(PetscViewerASCIIPopTab(v));
  PetscFunctionReturn(0);
}

PetscErrorCode MxGeomSetView(MxGeom g, PetscViewer v)
{
  PetscFunctionBeginUser;
  PetscCall(MxViewOptionSet(&g->view, v));
  PetscFunctionReturn(0);
}

/* NULL-safe; sets *g = NULL. Not collective. */
PetscErrorCode MxGeomDestroy(MxGeom *g)
{
  PetscFunctionBeginUser;
  if (!g || !*g) PetscFunctionReturn(0);
  PetscCall(MxViewOptionDestroy(&(*g)->view));
  PetscCall(FreePixels(&(*g)->pix));
  PetscCall(PetscFree((*g)->panels));
  PetscCall(PetscFree((*g)->bad));
  PetscCall(PetscFree(*g));
  PetscFunctionReturn(0);
}
