/* The train filters of analyze: trains without X-rays, with a failed shutter or a dud pulse are
   dropped before they can enter C or serve as neighbours. */
#include "analyzeimpl.h"
#include <math.h>
#include <stdlib.h>

static int CmpD(const void *x, const void *y)
{
  double u = *(const double *)x, v = *(const double *)y;
  return u < v ? -1 : u > v;
}

/* Median and robust sigma (1.4826 MAD) of x[0..n); x is reordered. */
static void RobustCentre(size_t n, double *x, double *med, double *sig)
{
  qsort(x, n, sizeof *x, CmpD);
  *med = x[n / 2];
  for (size_t i = 0; i < n; i++) x[i] = fabs(x[i] - *med);
  qsort(x, n, sizeof *x, CmpD);
  *sig = 1.4826 * x[n / 2];
}

/* XGM: drop trains with a dud pulse (below min_frac of the run's median pulse energy) or whose
   mean pulse energy is a robust outlier. Every rank holds the same energies: same decisions. */
static PetscErrorCode FilterXgm(MxAnalyze a)
{
  PetscInt        ntr;
  const uint64_t *tid;
  double         *E, *sorted, *mean;
  PetscBool       found;
  size_t          nf = (size_t)a->nf, nv = 0;

  PetscFunctionBeginUser;
  PetscCheck(!(a->ndose > 0 && !strcmp(a->xgm, "off")), a->comm, PETSC_ERR_ARG_WRONG, "option -g2_dose_bins: needs the XGM's pulse energies, but -analyze_xgm is off");
  if (!strcmp(a->xgm, "off")) PetscFunctionReturn(0);
  PetscCall(MxReaderGetTrains(a->reader, &ntr, &tid));
  PetscCall(PetscMalloc3(ntr * nf + 1, &E, ntr * nf + 1, &sorted, ntr + 1, &mean));
  PetscCall(MxReaderReadXgm(a->reader, strcmp(a->xgm, "auto") ? a->xgm : "", a->xgm_source, a->xgm_offset, E, a->xgm_used, sizeof a->xgm_used, &found));
  if (!found) {
    PetscCall(PetscFree3(E, sorted, mean));
    PetscCheck(a->ndose == 0, a->comm, PETSC_ERR_FILE_OPEN, "option -g2_dose_bins: needs the XGM's pulse energies, and no XGM record was found beside the run (give its file or directory with -analyze_xgm)");
    PetscFunctionReturn(0);
  }
  for (size_t k = 0; k < (size_t)ntr * nf; k++)
    if (isfinite(E[k])) sorted[nv++] = E[k];
  qsort(sorted, nv, sizeof *sorted, CmpD);
  double med = nv ? sorted[nv / 2] : NAN;
  PetscInt nm = 0;
  for (PetscInt t = 0; t < ntr; t++) {
    double sum = 0;
    int    ok  = 1;
    for (size_t k = 0; k < nf; k++) {
      ok &= isfinite(E[t * nf + k]) != 0;
      sum += E[t * nf + k];
    }
    mean[t] = ok ? sum / nf : NAN;
    if (!ok) {
      a->nxgm_missing++;
      continue;
    }
    sorted[nm++] = mean[t];
    if (a->xgm_min_frac > 0)
      for (size_t k = 0; k < nf; k++)
        if (E[t * nf + k] < a->xgm_min_frac * med && !a->drop[t]) {
          a->drop[t] = 2;
          a->ndrop_xgm++;
        }
  }
  if (a->xgm_sigma > 0 && nm >= 5) {
    double mmed, sig;
    RobustCentre((size_t)nm, sorted, &mmed, &sig);
    for (PetscInt t = 0; t < ntr; t++)
      if (isfinite(mean[t]) && sig > 0 && fabs(mean[t] - mmed) > a->xgm_sigma * sig && !a->drop[t]) {
        a->drop[t] = 2;
        a->ndrop_xgm++;
      }
  }
  /* mean pulse energy per frame over the trains kept */
  PetscCall(PetscCalloc1(nf, &a->xgm_mean));
  double n = 0;
  for (PetscInt t = 0; t < ntr; t++) {
    if (a->drop[t] || !isfinite(mean[t])) continue;
    for (size_t k = 0; k < nf; k++) a->xgm_mean[k] += E[t * nf + k];
    n++;
  }
  for (size_t k = 0; k < nf; k++) a->xgm_mean[k] = n > 0 ? a->xgm_mean[k] / n : NAN;
  if (a->ndose > 0) { /* groups of equal size by the trains' mean pulse energy */
    double   all = 0;
    PetscInt nk  = 0;
    for (PetscInt t = 0; t < ntr; t++)
      if (!a->drop[t] && isfinite(mean[t])) sorted[nk++] = mean[t];
    PetscCheck(nk >= 2 * a->ndose, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -g2_dose_bins: %" PetscInt_FMT " groups need at least 2 trains with an XGM record each; %" PetscInt_FMT " trains have one", a->ndose, nk);
    qsort(sorted, (size_t)nk, sizeof *sorted, CmpD);
    PetscCall(PetscCalloc2(a->ndose, &a->dose_rel, a->ndose, &a->dose_n));
    for (PetscInt t = 0; t < ntr; t++) {
      if (a->drop[t] || !isfinite(mean[t])) continue;
      PetscInt b = 0; /* the group: how many upper quantile edges lie at or below the energy */
      for (PetscInt k = 1; k < a->ndose; k++) b += mean[t] >= sorted[k * nk / a->ndose];
      a->dose_bin[t] = b;
      a->dose_rel[b] += mean[t];
      a->dose_n[b] += 1;
      all += mean[t];
    }
    for (PetscInt b = 0; b < a->ndose; b++) a->dose_rel[b] = a->dose_n[b] > 0 ? a->dose_rel[b] / a->dose_n[b] / (all / nk) : NAN;
  }
  PetscCall(PetscFree3(E, sorted, mean));
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeGetXgmOptions(MxAnalyze a, PetscBool *off, const char **source, PetscInt *offset)
{
  PetscFunctionBeginUser;
  if (off) *off = strcmp(a->xgm, "off") ? PETSC_FALSE : PETSC_TRUE;
  if (source) *source = a->xgm_source;
  if (offset) *offset = a->xgm_offset;
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeSetStreamXgm(MxAnalyze a, const double *sum, PetscInt nwith, PetscInt nwithout, const char source[])
{
  PetscMPIInt rank;
  char        src[sizeof a->xgm_used];
  PetscInt    n[2] = {nwith, nwithout};

  PetscFunctionBeginUser;
  PetscCheck(a->stream, a->comm, PETSC_ERR_ARG_WRONGSTATE, "analyze: not set up for a stream");
  MPI_Comm_rank(a->comm, &rank);
  snprintf(src, sizeof src, "%s", rank ? "" : source);
  PetscCallMPI(MPI_Bcast(src, (int)sizeof src, MPI_CHAR, 0, a->comm));
  PetscCallMPI(MPI_Bcast(n, 2, MPIU_INT, 0, a->comm));
  if (!src[0]) PetscFunctionReturn(0);
  if (!a->xgm_mean) PetscCall(PetscMalloc1(a->nf, &a->xgm_mean));
  /* as FilterXgm: the sum over the trains in order, divided by their number */
  for (PetscInt k = 0; k < a->nf; k++) a->xgm_mean[k] = rank ? 0 : (n[0] > 0 ? sum[k] / (double)n[0] : NAN);
  PetscCallMPI(MPI_Bcast(a->xgm_mean, (int)a->nf, MPI_DOUBLE, 0, a->comm));
  a->nxgm_missing = n[1];
  snprintf(a->xgm_used, sizeof a->xgm_used, "%s", src);
  PetscFunctionReturn(0);
}

/* Pre-pass: total intensity of every train from a thin band of rows (8 rows per module read,
   mid-module), then a robust outlier cut (median +- k 1.4826 MAD). Trains without X-rays or
   with a failed shutter are dropped before they can enter C or serve as neighbours. */
PetscErrorCode MxAnalyzeFilterTrains(MxAnalyze a)
{
  PetscInt        ntr, t0, t1, ipart, nparts, nmods = 0, mods[MX_NMOD];
  MxRowRange      band[MX_NMOD];
  double         *tot, *sorted;
  float          *d;
  unsigned char  *b;
  PetscErrorCode  ierr = 0;

  PetscFunctionBeginUser;
  PetscCall(MxReaderGetTrains(a->reader, &ntr, NULL));
  PetscCall(PetscCalloc1(ntr + 1, &a->drop));
  PetscCall(FilterXgm(a));
  if (a->filter_sigma <= 0 || ntr < 5) PetscFunctionReturn(0);
  PetscCall(MxReaderGetLocalTrains(a->reader, &t0, &t1));
  PetscCall(MxReaderGetPixelPart(a->reader, &ipart, &nparts));
  for (int k = 0; k < a->nranges; k++) { /* this block's modules: those of any pixel part */
    PetscBool seen = PETSC_FALSE;
    for (PetscInt i = 0; i < nmods; i++) seen |= mods[i] == a->ranges[k].module;
    if (!seen) mods[nmods++] = a->ranges[k].module;
  }
  PetscCall(PetscCalloc1(ntr + 1, &tot));
  for (PetscInt i = 0; i < nmods; i++) band[i] = (MxRowRange){(int)mods[i], 252, 260};
  PetscCall(PetscMalloc2((size_t)a->nf * nmods * 8 * MX_NFS + 1, &d, (size_t)a->nf * nmods * 8 * MX_NFS + 1, &b));
  for (PetscInt t = t0; t < t1 && !ierr; t++) {
    ierr = MxReaderRead(a->reader, t, (int)nmods, band, d, b);
    for (size_t k = 0; !ierr && k < (size_t)a->nf * nmods * 8 * MX_NFS; k++) tot[t] += d[k];
  }
  PetscCall(PetscFree2(d, b));
  PetscCall(MxErrorSync(a->comm, ierr));
  /* every rank of a block has read the same band over its own modules: sum over the world */
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, tot, (int)ntr, MPI_DOUBLE, MPI_SUM, a->comm));
  PetscCall(PetscMalloc1(ntr, &sorted));
  PetscCall(PetscArraycpy(sorted, tot, ntr));
  double med, sig;
  RobustCentre((size_t)ntr, sorted, &med, &sig);
  for (PetscInt t = 0; t < ntr; t++)
    if (sig > 0 && fabs(tot[t] - med) > a->filter_sigma * sig && !a->drop[t]) {
      a->drop[t] = 1;
      a->ndrop++;
    }
  PetscCall(PetscFree(sorted));
  PetscCall(PetscFree(tot));
  (void)nparts;
  PetscFunctionReturn(0);
}

