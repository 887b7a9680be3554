/* The SAXS unit of analyze: which pixels enter I(q) and in which bin, the q grid, and I(q) over
   the run and per pulse from the sums the per-train step folds (src/analyze/engine.c). */
#include "analyzeimpl.h"
#include <math.h>

/* The SAXS bin of pixel g (-1: none) of a pixel that the geometry covers, does not mark bad
   and whose solid angle and polarisation are > 0: the one rule for the SAXS pixels. */
int MxAnalyzeSaxsBin(MxAnalyze a, const MxPixelGeom *pix, const unsigned char *umask, size_t g)
{
  int b = (int)floor((pix->q_inv_A[g] - a->saxs_qmin) / (a->saxs_qmax - a->saxs_qmin) * a->saxs_nbins);
  return b >= 0 && b < a->saxs_nbins && !(umask && umask[g]) ? b : -1;
}

/* SAXS bin of every pixel of the detector (16 x 512 x 128), -1 where none: the pixels of the
   modules read (those holding ring pixels) that the SAXS of any rank holds. Every rank. */
PetscErrorCode MxAnalyzeStaticBins(MxAnalyze a, int *bin)
{
  const MxPixelGeom   *pix;
  const unsigned char *umask;
  const int           *roi;
  const PetscInt      *mods;
  PetscInt             nmod;
  double               px, D;

  PetscFunctionBeginUser;
  PetscCall(MxGeomGetPixels(a->geom, &pix));
  PetscCall(MxGeomGetPixelSize(a->geom, &px));
  PetscCall(MxGeomGetDistance(a->geom, &D));
  umask = a->run.umask;
  nmod  = a->run.nmod;
  mods  = a->run.mods;
  PetscCall(MxRingsGetMap(a->rings, &roi));
  for (size_t k = 0; k < (size_t)MX_NMOD * MX_MODPIX; k++) bin[k] = -1;
  for (PetscInt i = 0; i < nmod; i++) {
    size_t m = (size_t)mods[i], any = 0;
    for (size_t k = 0; k < MX_MODPIX && !any; k++) any = roi[m * MX_MODPIX + k] > 0;
    if (!any) continue; /* not read */
    for (size_t k = 0; k < MX_MODPIX; k++) {
      size_t g = m * MX_MODPIX + k;
      double G = pix->solid_angle[g] / (px * px / (D * D)) * pix->polarization[g];
      if (pix->covered[g] && !pix->bad[g] && G > 0) bin[g] = MxAnalyzeSaxsBin(a, pix, umask, g);
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeSaxsGrid(MxAnalyze a, double qlo, double qhi)
{
  double glo, ghi;

  PetscFunctionBeginUser;
  /* common to all ranks: from the q range every rank reads */
  PetscCallMPI(MPI_Allreduce(&qlo, &glo, 1, MPI_DOUBLE, MPI_MIN, a->comm));
  PetscCallMPI(MPI_Allreduce(&qhi, &ghi, 1, MPI_DOUBLE, MPI_MAX, a->comm));
  if (a->saxs_qmin <= 0) a->saxs_qmin = glo;
  if (a->saxs_qmax <= 0) a->saxs_qmax = ghi * (1 + 1e-12);
  PetscCheck(a->saxs_qmax > a->saxs_qmin, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "options -saxs_q_min/-saxs_q_max: %g >= %g", (double)a->saxs_qmin, (double)a->saxs_qmax);
  PetscFunctionReturn(0);
}

/* Rank 0 after the reduction: the mean over trains of each train's bin mean, and its error. */
PetscErrorCode MxAnalyzeSaxsResults(MxAnalyze a)
{
  size_t        nf = (size_t)a->nf;
  const double *saxs, *saxs_run;

  PetscFunctionBeginUser;
  PetscCall(MxEngineGetSaxs(a->eng, &saxs, &saxs_run));
  /* SAXS over the run and per pulse */
  if (a->saxs_q) PetscCall(PetscFree5(a->saxs_q, a->saxs_I, a->saxs_err, a->saxs_Ip, a->saxs_Ip_err)); /* live results of a stream */
  PetscCall(PetscMalloc5(a->saxs_nbins, &a->saxs_q, a->saxs_nbins, &a->saxs_I, a->saxs_nbins, &a->saxs_err, (size_t)a->saxs_nbins * nf, &a->saxs_Ip, (size_t)a->saxs_nbins * nf, &a->saxs_Ip_err));
  for (PetscInt b = 0; b < a->saxs_nbins; b++) {
    const double *s = saxs_run + 3 * b, c = s[2], m = c > 0 ? s[0] / c : NAN, v = c > 1 ? (s[1] / c - m * m) * c / (c - 1) : NAN;
    a->saxs_q[b]   = a->saxs_qmin + (b + 0.5) * (a->saxs_qmax - a->saxs_qmin) / a->saxs_nbins;
    a->saxs_I[b]   = m;
    a->saxs_err[b] = c > 1 ? sqrt(PetscMax(v, 0) / c) : NAN;
    for (size_t f = 0; f < nf; f++) {
      const double *t = saxs + (b * nf + f) * 3, cc = t[2], mm = cc > 0 ? t[0] / cc : NAN, vv = cc > 1 ? (t[1] / cc - mm * mm) * cc / (cc - 1) : NAN;
      a->saxs_Ip[b * nf + f]     = mm;
      a->saxs_Ip_err[b * nf + f] = cc > 1 ? sqrt(PetscMax(vv, 0) / cc) : NAN;
    }
  }
  PetscFunctionReturn(0);
}
