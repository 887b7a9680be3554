/* MxAnalyze: the train loop (reads, ring sums, reductions, neighbour-train correction, g2,
   contrast, SAXS) and the fits. See include/mxpcs/analyze.h. */
#include "analyzeimpl.h"
#include <math.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

static PetscLogEvent MX_AN_SETUP, MX_AN_TRAIN, MX_AN_REDUCE;
PetscLogEvent        MX_AN_FIT;

PetscErrorCode MxAnalyzeCreate(MPI_Comm comm, MxAnalyze *out)
{
  MxAnalyze a;

  PetscFunctionBeginUser;
  if (!MX_AN_SETUP) {
    PetscClassId cid;
    PetscCall(PetscClassIdRegister("MxAnalyze", &cid));
    PetscCall(PetscLogEventRegister("MxAnalyzeSetUp", cid, &MX_AN_SETUP));
    PetscCall(PetscLogEventRegister("MxAnalyzeTrain", cid, &MX_AN_TRAIN));
    PetscCall(PetscLogEventRegister("MxAnalyzeReduce", cid, &MX_AN_REDUCE));
    PetscCall(PetscLogEventRegister("MxAnalyzeFit", cid, &MX_AN_FIT));
  }
  PetscCall(PetscNew(&a));
  a->comm       = comm;
  a->xc         = PETSC_TRUE;
  a->block      = 4096;
  a->saxs_nbins = 200;
  a->win_len    = -1;
  a->win_step   = -1;
  a->progress   = PETSC_TRUE;
  a->filter_sigma = 6.0;
  a->xgm_min_frac = 0.1;
  a->xgm_sigma    = 6.0;
  a->count_time   = 50e-15; /* an EuXFEL SASE pulse: tens of fs */
  snprintf(a->xgm, sizeof a->xgm, "auto");
  a->extrap_order = 1;
  a->jk            = 16;
  a->ckpt_interval = 600;
  a->ckpt_restart  = PETSC_TRUE;
  a->ckpt_saved    = -1;
  a->resumed_at    = -1;
  PetscCall(MxReaderCreate(comm, &a->reader));
  PetscCall(MxGeomCreate(comm, &a->geom));
  PetscCall(MxRingsCreate(comm, &a->rings));
  PetscCall(MxG2FitCreate(PETSC_COMM_SELF, &a->fit));
  *out = a;
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeSetCheckpoint(MxAnalyze a, const char dir[])
{
  PetscFunctionBeginUser;
  snprintf(a->ckpt_dir, sizeof a->ckpt_dir, "%s", dir ? dir : "");
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeSetFromOptions(MxAnalyze a)
{
  PetscFunctionBeginUser;
  PetscCall(MxReaderSetFromOptions(a->reader));
  PetscCall(MxGeomSetFromOptions(a->geom));
  PetscCall(MxRingsSetFromOptions(a->rings));
  PetscCall(MxG2FitSetFromOptions(a->fit));
  PetscOptionsBegin(a->comm, NULL, "Correlation analysis (mxpcs analyze)", "MxAnalyze");
  PetscCall(PetscOptionsInt("-g2_age_window", "Pulses per age window of g2 (default: those of the first 8.86 us)", "", a->win_len, &a->win_len, NULL));
  PetscCall(PetscOptionsInt("-g2_age_step", "Start-to-start step of the age windows in pulses (default: the window, i.e. disjoint)", "", a->win_step, &a->win_step, NULL));
  PetscCall(PetscOptionsInt("-g2_jackknife", "Errors of Gamma, Gamma0, D_eff by a delete-a-group jackknife over this many train groups (train index mod N); 0: the errors the fits propagate", "", a->jk, &a->jk, NULL));
  PetscCall(PetscOptionsBool("-corr_xc", "Subtract the neighbour-train cross term XC (Dallari et al. 2021)", "", a->xc, &a->xc, NULL));
  PetscCall(PetscOptionsInt("-corr_block", "Pixels per BLAS-3 block of the Gram products", "", a->block, &a->block, NULL));
  PetscCall(PetscOptionsInt("-saxs_nbins", "Bins of the SAXS q grid", "", a->saxs_nbins, &a->saxs_nbins, NULL));
  PetscCall(PetscOptionsReal("-saxs_q_min", "SAXS q min (1/angstrom; default: smallest q read)", "", a->saxs_qmin, &a->saxs_qmin, NULL));
  PetscCall(PetscOptionsReal("-saxs_q_max", "SAXS q max (1/angstrom; default: largest q read)", "", a->saxs_qmax, &a->saxs_qmax, NULL));
  PetscCall(PetscOptionsBool("-analyze_progress", "Progress line on rank 0", "", a->progress, &a->progress, NULL));
  {
    const char *kinds[] = {"linear", "quadratic", "exponential"};
    PetscInt    k       = a->extrap_order - 1;
    PetscCall(PetscOptionsEList("-g2_extrapolation", "Zero-age extrapolation of Gamma(q, age), weighted: linear or quadratic in age, or exponential (ln Gamma linear in age, as Arrhenius heating gives)", "", kinds, 3, kinds[k], &k, NULL));
    a->extrap_order = k + 1;
  }
  PetscCall(PetscOptionsReal("-analyze_filter_sigma", "Drop trains whose total intensity is more than this many robust sigmas (1.4826 MAD) from the median (0: keep all)", "", a->filter_sigma, &a->filter_sigma, NULL));
  PetscCall(PetscOptionsString("-analyze_xgm", "XGM per-pulse energies for the train filter: auto (the run directory and its raw/ sibling), off, or a DA file or directory", "", a->xgm, a->xgm, sizeof a->xgm, NULL));
  PetscCall(PetscOptionsString("-analyze_xgm_source", "XGM source name (default: the first INSTRUMENT source named *XGM* with data/intensityTD)", "", a->xgm_source, a->xgm_source, sizeof a->xgm_source, NULL));
  PetscCall(PetscOptionsReal("-analyze_xgm_min_frac", "Drop a train when a selected pulse has less than this fraction of the run's median pulse energy (0: off)", "", a->xgm_min_frac, &a->xgm_min_frac, NULL));
  PetscCall(PetscOptionsReal("-analyze_xgm_sigma", "Drop a train whose mean pulse energy is more than this many robust sigmas from the run's median (0: off)", "", a->xgm_sigma, &a->xgm_sigma, NULL));
  PetscCall(PetscOptionsReal("-analyze_count_time", "exposure of one frame in s, written as the NXdetector count_time: the X-ray pulse, AGIPD records one pulse per frame", "", a->count_time, &a->count_time, NULL));
  PetscCall(PetscOptionsInt("-analyze_xgm_pulse_offset", "XGM pulse slot of the train's first detector frame", "", a->xgm_offset, &a->xgm_offset, NULL));
  PetscCall(PetscOptionsString("-analyze_checkpoint", "Checkpoint directory (one file per rank; default: the results file + .ckpt; 'none' to disable)", "", a->ckpt_dir, a->ckpt_dir, sizeof a->ckpt_dir, NULL));
  PetscCall(PetscOptionsReal("-analyze_checkpoint_interval", "Seconds between checkpoints (0: only on SIGTERM/SIGUSR1, e.g. Slurm's --signal warning)", "", a->ckpt_interval, &a->ckpt_interval, NULL));
  PetscCall(PetscOptionsInt("-analyze_checkpoint_every", "Also checkpoint every N trains of a block (0: off)", "", a->ckpt_every, &a->ckpt_every, NULL));
  PetscCall(PetscOptionsString("-analyze_test_pause", "Tests: after its first checkpoint each rank waits until the test writes to this FIFO or SIGUSR1/SIGTERM arrives (signal and kill tests driven by events, not by time; a signal removes the FIFO)", "", a->test_pause, a->test_pause, sizeof a->test_pause, NULL));
  PetscCall(PetscOptionsBool("-analyze_restart", "Resume from a checkpoint of the same configuration when one exists", "", a->ckpt_restart, &a->ckpt_restart, NULL));
  PetscCall(PetscOptionsBool("-analyze_bench", "Print per-rank throughput and the correlation kernel against a bare cblas_ssyrk of the same shape", "", a->bench, &a->bench, NULL));
  PetscOptionsEnd();
  PetscCall(PetscFree(a->opts));
  PetscCall(PetscOptionsGetAll(NULL, &a->opts));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-strict", &a->strict, NULL));
  PetscCheck(a->block >= 1, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -corr_block: must be >= 1");
  PetscCheck(a->filter_sigma >= 0, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -analyze_filter_sigma: must be >= 0");
  if (!strcmp(a->ckpt_dir, "none")) a->ckpt_dir[0] = 0;
  PetscCheck(a->ckpt_interval >= 0, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -analyze_checkpoint_interval: must be >= 0");
  PetscCheck(a->ckpt_every >= 0, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -analyze_checkpoint_every: must be >= 0");
  PetscCheck(a->xgm_min_frac >= 0 && a->xgm_min_frac < 1, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -analyze_xgm_min_frac: must be in [0, 1)");
  PetscCheck(a->xgm_sigma >= 0, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -analyze_xgm_sigma: must be >= 0");
  PetscCheck(a->count_time > 0, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -analyze_count_time: must be > 0 s");
  PetscCheck(a->xgm_offset >= 0, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -analyze_xgm_pulse_offset: must be >= 0");
  PetscCheck(a->saxs_nbins >= 1, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -saxs_nbins: must be >= 1");
  PetscFunctionReturn(0);
}

/* The SAXS bin of pixel g (-1: none) of a pixel that the geometry covers, does not mark bad
   and whose solid angle and polarisation are > 0: the one rule for the SAXS pixels. */
static int SaxsBin(MxAnalyze a, const MxPixelGeom *pix, const unsigned char *umask, size_t g)
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
  PetscCall(MxReaderGetUserMask(a->reader, &umask));
  PetscCall(MxReaderGetModules(a->reader, &nmod, &mods));
  PetscCall(MxRingsGetMap(a->rings, &roi));
  for (size_t k = 0; k < (size_t)MX_NMOD * MX_MODPIX; k++) bin[k] = -1;
  for (PetscInt i = 0; i < nmod; i++) {
    size_t m = (size_t)mods[i], any = 0;
    for (size_t k = 0; k < MX_MODPIX && !any; k++) any = roi[m * MX_MODPIX + k] > 0;
    if (!any) continue; /* not read */
    for (size_t k = 0; k < MX_MODPIX; k++) {
      size_t g = m * MX_MODPIX + k;
      double G = pix->solid_angle[g] / (px * px / (D * D)) * pix->polarization[g];
      if (pix->covered[g] && !pix->bad[g] && G > 0) bin[g] = SaxsBin(a, pix, umask, g);
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeSetUp(MxAnalyze a)
{
  const MxPixelGeom   *pix;
  const int           *roi;
  const unsigned char *umask;
  const uint64_t      *pid;
  PetscInt             nmod, ipart, nparts, ntr;
  const PetscInt      *mods;
  double              *w, px, D;

  PetscFunctionBeginUser;
  if (a->setup) PetscFunctionReturn(0);
  PetscCall(PetscLogEventBegin(MX_AN_SETUP, 0, 0, 0, 0));
  PetscCall(MxReaderSetUp(a->reader));
  PetscCall(MxGeomSetUp(a->geom));
  PetscCall(MxReaderGetUserMask(a->reader, &umask));
  PetscCall(MxReaderGetModules(a->reader, &nmod, &mods));
  {
    /* rings over the pixels of the modules in the run (and not masked by the user) */
    unsigned char *rbad;
    PetscCall(PetscMalloc1((size_t)MX_NMOD * MX_MODPIX, &rbad));
    for (size_t k = 0; k < (size_t)MX_NMOD * MX_MODPIX; k++) rbad[k] = 1;
    for (PetscInt i = 0; i < nmod; i++)
      for (size_t k = 0; k < MX_MODPIX; k++) rbad[(size_t)mods[i] * MX_MODPIX + k] = umask ? umask[(size_t)mods[i] * MX_MODPIX + k] : 0;
    PetscCall(MxRingsSetUp(a->rings, a->geom, rbad));
    PetscCall(PetscFree(rbad));
  }
  PetscCall(MxGeomGetPixels(a->geom, &pix));
  PetscCall(MxRingsGetMap(a->rings, &roi));
  PetscCall(MxRingsGetRings(a->rings, &a->nring, NULL, NULL));
  PetscCall(MxReaderGetFrames(a->reader, &a->nf, &pid, NULL));
  PetscCall(MxReaderGetPixelPart(a->reader, &ipart, &nparts));
  PetscCall(MxReaderGetTrains(a->reader, &ntr, NULL));
  PetscCheck(a->nf >= 2, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "analyze: %" PetscInt_FMT " frame(s) per train selected; two-time correlations need at least 2", a->nf);
  /* pulse spacing from the pulseId step (4.513 MHz bunch clock) */
  a->dt_s = (double)(pid[1] - pid[0]) / 4.513e6;
  PetscCheck(pid[1] > pid[0], a->comm, PETSC_ERR_FILE_UNEXPECTED, "analyze: pulseId does not increase within the train (%llu, %llu)", (unsigned long long)pid[0], (unsigned long long)pid[1]);
  /* age windows: default the pulses of the first 8.86 us (seed paper), disjoint */
  if (a->win_len < 0) a->win_len = PetscMax(2, PetscMin(a->nf, (PetscInt)floor(8.86e-6 / a->dt_s + 0.01) + 1)); /* t = 0 .. 8.86 us (within 1 % of a pulse spacing): 21 pulses at 2.2 MHz, centre 4.43 us as in the paper */
  if (a->win_step < 0) a->win_step = a->win_len;
  PetscCheck(a->win_len >= 2 && a->win_len <= a->nf, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -g2_age_window: %" PetscInt_FMT " must be in 2..%" PetscInt_FMT " (frames per train)", a->win_len, a->nf);
  PetscCheck(a->win_step >= 1, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -g2_age_step: must be >= 1");
  PetscCheck(a->jk >= 0 && a->jk <= 1024, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -g2_jackknife: %" PetscInt_FMT " must be 0 (off) or a number of train groups up to 1024", a->jk);
  a->nwin = (a->nf - a->win_len) / a->win_step + 1;
  {
    int need = a->extrap_order == 2 ? 3 : 2;
    PetscCheck(a->nwin >= need || (a->nwin == 1 && a->extrap_order != 2), a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -g2_extrapolation: %s needs at least %d age windows, there are %" PetscInt_FMT " (use a smaller -g2_age_step)", a->extrap_order == 2 ? "quadratic" : a->extrap_order == 3 ? "exponential" : "linear", need, a->nwin);
  }
  PetscCall(PetscMalloc1(a->nwin, &a->win_start));
  for (PetscInt k = 0; k < a->nwin; k++) a->win_start[k] = k * a->win_step;

  /* rows to read: those of the modules holding ring pixels that hold a ring or a SAXS pixel.
     SAXS spans every pixel read unless -saxs_q_min/-saxs_q_max bound it: then rows with neither
     a ring pixel nor a pixel in that q range are not read at all. Weights balance the Gram work. */
  PetscCall(MxGeomGetPixelSize(a->geom, &px));
  PetscCall(MxGeomGetDistance(a->geom, &D));
  PetscCall(PetscCalloc1(MX_NMOD * MX_NSS, &w));
  for (PetscInt i = 0; i < nmod; i++) {
    int m = (int)mods[i], any = 0;
    for (int k = 0; k < MX_MODPIX && !any; k++) any = roi[m * MX_MODPIX + k] > 0;
    if (!any) continue;
    for (int ss = 0; ss < MX_NSS; ss++) {
      int nr = 0, ns = a->saxs_qmin > 0 || a->saxs_qmax > 0 ? 0 : 1;
      for (int fs = 0; fs < MX_NFS; fs++) {
        size_t g = (size_t)m * MX_MODPIX + ss * MX_NFS + fs;
        nr += roi[g] > 0;
        if (!ns) {
          double G = pix->solid_angle[g] / (px * px / (D * D)) * pix->polarization[g];
          ns       = pix->covered[g] && !pix->bad[g] && G > 0 && !(umask && umask[g]) && (a->saxs_qmin <= 0 || pix->q_inv_A[g] >= a->saxs_qmin) && (a->saxs_qmax <= 0 || pix->q_inv_A[g] < a->saxs_qmax);
        }
      }
      w[m * MX_NSS + ss] = nr || ns ? MX_NFS + nr * (double)a->nf / 8.0 : 0;
    }
  }
  PetscCall(PetscMalloc1(MX_NMOD * MX_NSS / 2 + 1, &a->ranges));
  MxPartitionRows(w, (int)nparts, (int)ipart, a->ranges, &a->nranges);
  PetscCall(PetscFree(w));
  a->npix = 0;
  for (int k = 0; k < a->nranges; k++) a->npix += (size_t)(a->ranges[k].ss1 - a->ranges[k].ss0) * MX_NFS;

  /* per local pixel: ring, SAXS bin, intensity correction */
  double qlo = INFINITY, qhi = 0;
  PetscCall(PetscCalloc1(a->nring + 1, &a->ring_off));
  PetscCall(PetscMalloc2(a->npix + 1, &a->saxs_bin, a->npix + 1, &a->corr));
  for (int pass = 0; pass < 2; pass++) {
    size_t off = 0;
    int   *cnt;
    PetscCall(PetscCalloc1(a->nring + 1, &cnt));
    for (int k = 0; k < a->nranges; k++)
      for (int ss = a->ranges[k].ss0; ss < a->ranges[k].ss1; ss++)
        for (int fs = 0; fs < MX_NFS; fs++, off++) {
          int r = roi[a->ranges[k].module * MX_MODPIX + ss * MX_NFS + fs] - 1;
          if (r < 0) continue;
          if (pass == 0) a->ring_off[r + 1]++;
          else a->ring_pix[a->ring_off[r] + cnt[r]++] = (int)off;
        }
    if (pass == 0) {
      for (PetscInt r = 0; r < a->nring; r++) a->ring_off[r + 1] += a->ring_off[r];
      PetscCall(PetscMalloc1(a->ring_off[a->nring] + 1, &a->ring_pix));
    }
    PetscCall(PetscFree(cnt));
  }
  {
    size_t off = 0;
    for (int k = 0; k < a->nranges; k++)
      for (int ss = a->ranges[k].ss0; ss < a->ranges[k].ss1; ss++)
        for (int fs = 0; fs < MX_NFS; fs++, off++) {
          size_t g = (size_t)a->ranges[k].module * MX_MODPIX + ss * MX_NFS + fs;
          double G = pix->solid_angle[g] / (px * px / (D * D)) * pix->polarization[g];
          a->corr[off] = pix->covered[g] && !pix->bad[g] && G > 0 ? (float)(1.0 / G) : 0.0f;
          if (a->corr[off] > 0) {
            qlo = PetscMin(qlo, pix->q_inv_A[g]);
            qhi = PetscMax(qhi, pix->q_inv_A[g]);
          }
        }
  }
  /* SAXS grid: common to all ranks */
  double glo, ghi;
  PetscCallMPI(MPI_Allreduce(&qlo, &glo, 1, MPI_DOUBLE, MPI_MIN, a->comm));
  PetscCallMPI(MPI_Allreduce(&qhi, &ghi, 1, MPI_DOUBLE, MPI_MAX, a->comm));
  if (a->saxs_qmin <= 0) a->saxs_qmin = glo;
  if (a->saxs_qmax <= 0) a->saxs_qmax = ghi * (1 + 1e-12);
  PetscCheck(a->saxs_qmax > a->saxs_qmin, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "options -saxs_q_min/-saxs_q_max: %g >= %g", (double)a->saxs_qmin, (double)a->saxs_qmax);
  {
    size_t off = 0;
    for (int k = 0; k < a->nranges; k++)
      for (int ss = a->ranges[k].ss0; ss < a->ranges[k].ss1; ss++)
        for (int fs = 0; fs < MX_NFS; fs++, off++) {
          size_t g = (size_t)a->ranges[k].module * MX_MODPIX + ss * MX_NFS + fs;
          a->saxs_bin[off] = a->corr[off] > 0 ? SaxsBin(a, pix, umask, g) : -1;
          a->nsaxs += a->saxs_bin[off] >= 0;
        }
    PetscCall(PetscMalloc3(a->nsaxs + 1, &a->saxs_pix, a->nsaxs + 1, &a->saxs_pb, (size_t)a->saxs_nbins * 16 * MxCorrSaxsBlocks((int)a->nf), &a->saxs_acc));
    for (size_t p = 0, k = 0; p < a->npix; p++)
      if (a->saxs_bin[p] >= 0) {
        a->saxs_pix[k]  = (int)p;
        a->saxs_pb[k++] = a->saxs_bin[p];
      }
  }
  /* accumulators */
  size_t nc = (size_t)a->nring * a->nf * a->nf, ng = (size_t)a->nring * a->nwin * (a->win_len - 1);
  PetscCall(PetscCalloc3(nc, &a->sumC, nc, &a->sumCraw, nc, &a->sumXC));
  PetscCall(PetscCalloc2(ng, &a->g2sum, ng, &a->g2sq));
  PetscCall(PetscCalloc2((size_t)a->nring * (a->nf - 1), &a->g2t_sum, (size_t)a->nring * (a->nf - 1), &a->g2t_sq));
  PetscCall(PetscCalloc2(a->nring, &a->bsum, a->nring, &a->bsq));
  if (a->jk >= 2) PetscCall(PetscCalloc3(a->jk * ng, &a->jk_g2, a->jk * a->nring, &a->jk_b, a->jk, &a->jk_n));
  PetscCall(PetscCalloc1((size_t)a->saxs_nbins * a->nf * 3, &a->saxs));
  PetscCall(PetscCalloc1((size_t)a->saxs_nbins * 3, &a->saxs_run));
  PetscCall(PetscCalloc2(a->npix + 1, &a->img_sum, a->npix + 1, &a->img_n));
  a->setup = PETSC_TRUE;
  PetscCall(PetscLogEventEnd(MX_AN_SETUP, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* Layout of the per-train buffer reduced over the pixel parts of a train block:
   [ring sums: N, s1, gram] [cross with the previous train: Nx, s1a, s1b, x] [SAXS: sum, count per bin and pulse] */
typedef struct {
  size_t nring_sums, ncross, nsaxs, total;
} BufLayout;

static BufLayout Layout(MxAnalyze a)
{
  BufLayout L;
  size_t    nf = (size_t)a->nf;
  L.nring_sums = (size_t)a->nring * (1 + nf + nf * nf);
  L.ncross     = (size_t)a->nring * (1 + 2 * nf + nf * nf);
  L.nsaxs      = (size_t)a->saxs_nbins * nf * 2;
  L.total      = L.nring_sums + L.ncross + L.nsaxs + 1; /* +1: cross-term present flag */
  return L;
}

/* What the reader thread prepares of a train once its frames are in (TrainPrepare, run as the
   reader's hook): the pixels valid in every frame, each frame's ring pixels gathered (ring_pix
   order) and the SAXS bin sums; the main thread correlates the previous train meanwhile. */
typedef struct {
  MxAnalyze      a;      /* not owned */
  float         *data;   /* nf x npix */
  unsigned char *bad;    /* nf x npix */
  unsigned char *valid;  /* npix */
  float         *ring;   /* nf x (ring pixels) */
  double        *sx;     /* saxs_nbins x nf x 2: the train's SAXS sums and counts */
  float         *w;      /* nsaxs: the SAXS pixels' weights in this train (0: not valid) */
  double        *cnt;    /* saxs_nbins: valid pixels per bin */
  double        *acc;    /* saxs_nbins x 16 x SAXS blocks: the reader thread's SAXS scratch */
  const int     *rpos, *rdst; /* not owned: the ring pixels by position (ascending) and their index in ring */
  size_t         nrpix;
} MxTrainBuf;

/* SAXS frame blocks the reader thread does (the first ones); the main thread does the rest after
   it has correlated the train, so that the two threads carry about the same load */
static int SaxsBlocksOnReader(MxAnalyze a) { return (3 * MxCorrSaxsBlocks((int)a->nf) + 3) / 4; }

/* Each frame's rows as soon as they are read (reader thread, while they are in cache): the
   valid pixels (bad in no frame so far) and the ring pixels they hold, gathered. Writes only T,
   at this range's pixels. */
static void FramePrepare(void *ctx, PetscInt f, size_t off, size_t n, const float *v, const unsigned char *b)
{
  MxTrainBuf *T = ctx;
  MxCorrValidUpdate(f == 0, n, b, T->valid + off);
  (void)MxCorrGatherSorted(off, n, v, T->nrpix, T->rpos, T->rdst, T->ring + (size_t)f * T->nrpix);
}

static int CmpI64(const void *x, const void *y)
{
  int64_t u = *(const int64_t *)x, v = *(const int64_t *)y;
  return u < v ? -1 : u > v;
}

/* Runs on the reader thread (no MPI, HDF5 or PETSc calls) once the train is read; writes only T. */
static void TrainPrepare(void *ctx, const float *data, const unsigned char *bad)
{
  MxTrainBuf *T  = ctx;
  MxAnalyze   a  = T->a;
  const int   nf = (int)a->nf;
  const int  *sp = a->saxs_pix, *sb = a->saxs_pb;
  float      *w  = T->w;

  (void)bad; /* valid pixels and ring pixels: FramePrepare */
  /* SAXS: corrected intensity per bin and pulse. The valid pixels and their counts are the
     same in every frame of the train: weights once, then the frames. */
  for (PetscInt b = 0; b < a->saxs_nbins; b++) T->cnt[b] = 0;
  for (size_t k = 0; k < a->nsaxs; k++) {
    int ok = T->valid[sp[k]] != 0;
    w[k]   = ok ? a->corr[sp[k]] : 0.0f;
    T->cnt[sb[k]] += ok;
  }
  memset(T->sx, 0, sizeof(double) * (size_t)a->saxs_nbins * nf * 2);
  MxCorrSaxsAccumulate(nf, a->npix, data, a->nsaxs, sp, sb, w, T->cnt, (int)a->saxs_nbins, 0, SaxsBlocksOnReader(a), T->acc, T->sx);
}

/* The pixels of ring r valid in T (and in valid2 when given) as nf x n rows, from the train's
   gathered ring pixels: first the list of valid pixels, then frame by frame. */
static int Gather(MxAnalyze a, PetscInt r, const MxTrainBuf *T, const unsigned char *valid2, float *out, int ld, int *list)
{
  const size_t nr = (size_t)a->ring_off[a->nring];
  int          n  = 0;
  for (int k = a->ring_off[r]; k < a->ring_off[r + 1]; k++) {
    int p = a->ring_pix[k];
    if (T->valid[p] && (!valid2 || valid2[p])) list[n++] = k;
  }
  for (PetscInt f = 0; f < a->nf; f++) {
    const float *row = T->ring + (size_t)f * nr;
    float       *o   = out + (size_t)f * ld;
    for (int k = 0; k < n; k++) o[k] = row[list[k]];
  }
  return n;
}

/* This rank's partial sums of one train (and the cross terms with the previous one). */
static void TrainSums(MxAnalyze a, const MxTrainBuf *T, const MxTrainBuf *P, double *buf, float *A, float *B, float *work, int ldmax, int *list)
{
  BufLayout L  = Layout(a);
  size_t    nf = (size_t)a->nf;
  double   *rs = buf, *cx = buf + L.nring_sums, *sx = cx + L.ncross;

  for (PetscInt r = 0; r < a->nring; r++) {
    double *N = rs + r * (1 + nf + nf * nf), *s1 = N + 1, *gram = s1 + nf;
    int     n = Gather(a, r, T, NULL, A, ldmax, list);
    double  k0 = MPI_Wtime();
    *N        = n;
    MxCorrGramAccumulate((int)nf, n, A, ldmax, (int)a->block, s1, gram, work);
    a->t_kernel += MPI_Wtime() - k0;
    a->flops += (double)nf * (nf + 1) * n;
    if (P) {
      double      *Nx = cx + r * (1 + 2 * nf + nf * nf), *s1a = Nx + 1, *s1b = s1a + nf, *x = s1b + nf;
      const float *Pa = B, *Tb = A; /* when every pixel valid in this train is valid in the previous one, A is this train's rows already */
      int          na = Gather(a, r, P, T->valid, B, ldmax, list);
      if (na != n) {
        Gather(a, r, T, P->valid, A, ldmax, list);
        Pa = B;
        Tb = A;
      }
      *Nx = na;
      for (PetscInt f = 0; f < a->nf; f++)
        for (int k = 0; k < na; k++) {
          s1a[f] += Pa[f * (size_t)ldmax + k];
          s1b[f] += Tb[f * (size_t)ldmax + k];
        }
      double k1 = MPI_Wtime();
      MxCorrCrossAccumulate((int)nf, na, Pa, Tb, ldmax, (int)a->block, x, work);
      a->t_kernel += MPI_Wtime() - k1;
      a->flops += 2.0 * nf * nf * na;
    }
  }
  if (P) buf[L.total - 1] = 1;
  memcpy(sx, T->sx, sizeof(double) * L.nsaxs); /* buf is zero: the same as adding */
}

/* Finalise train n: C_n - XC_n into the sums (design.md 1.3), g2 and contrast per train. */
static PetscErrorCode Finalise(MxAnalyze a, PetscInt train, const double *rs, const double *Xm, const double *Xp, double *C, double *XC)
{
  size_t nf = (size_t)a->nf, ntau = (size_t)a->win_len - 1;
  int   *np, *start;
  double *g2, *beta;

  PetscFunctionBeginUser;
  if (!Xm && !Xp && a->xc) { /* no neighbour train: left out of C, counted */
    a->nleft_noneighbour++;
    PetscFunctionReturn(0);
  }
  PetscCall(PetscMalloc4(PetscMax(a->nwin * ntau, nf) + 1, &np, a->nwin, &start, PetscMax(a->nwin * ntau, nf) + 1, &g2, nf, &beta));
  for (PetscInt k = 0; k < a->nwin; k++) start[k] = (int)a->win_start[k];
  for (PetscInt r = 0; r < a->nring; r++) {
    const double *N = rs + r * (1 + nf + nf * nf), *s1 = N + 1, *gram = s1 + nf;
    double       *Cr = C + r * nf * nf, *XCr = XC + r * nf * nf;
    MxCorrTwoTime((int)nf, *N, s1, gram, Cr);
    if (a->xc) MxCorrXC((int)nf, Xm ? Xm + r * nf * nf : NULL, Xp ? Xp + r * nf * nf : NULL, XCr);
    else
      for (size_t k = 0; k < nf * nf; k++) XCr[k] = 0;
    for (size_t k = 0; k < nf * nf; k++) {
      a->sumCraw[r * nf * nf + k] += Cr[k];
      a->sumXC[r * nf * nf + k] += XCr[k];
      Cr[k] -= XCr[k];
      a->sumC[r * nf * nf + k] += Cr[k];
    }
    /* this train's g2 - 1 and contrast, for the train-to-train spread */
    MxCorrG2((int)nf, Cr, (int)a->nwin, start, (int)a->win_len, (int)ntau, g2, np);
    size_t ng = (size_t)a->nring * a->nwin * ntau, jg = a->jk >= 2 ? (size_t)(train % a->jk) : 0;
    for (size_t k = 0; k < a->nwin * ntau; k++) {
      a->g2sum[r * a->nwin * ntau + k] += g2[k];
      a->g2sq[r * a->nwin * ntau + k] += g2[k] * g2[k];
      if (a->jk >= 2) a->jk_g2[jg * ng + r * a->nwin * ntau + k] += g2[k];
    }
    { /* and over the whole train (the g2 that pyXpcsViewer shows) */
      int s0 = 0;
      MxCorrG2((int)nf, Cr, 1, &s0, (int)nf, (int)nf - 1, g2, np);
      for (size_t k = 0; k + 1 < nf; k++) {
        a->g2t_sum[r * (nf - 1) + k] += g2[k];
        a->g2t_sq[r * (nf - 1) + k] += g2[k] * g2[k];
      }
    }
    MxCorrContrast((int)nf, *N, s1, Cr, beta);
    double bm = 0;
    for (size_t t = 0; t < nf; t++) bm += beta[t] / nf;
    a->bsum[r] += bm;
    a->bsq[r] += bm * bm;
    if (a->jk >= 2) a->jk_b[jg * a->nring + r] += bm;
  }
  if (a->jk >= 2) a->jk_n[train % a->jk] += 1;
  PetscCall(PetscFree4(np, start, g2, beta));
  a->ntrains_used++;
  PetscFunctionReturn(0);
}

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
  if (!strcmp(a->xgm, "off")) PetscFunctionReturn(0);
  PetscCall(MxReaderGetTrains(a->reader, &ntr, &tid));
  PetscCall(PetscMalloc3(ntr * nf + 1, &E, ntr * nf + 1, &sorted, ntr + 1, &mean));
  PetscCall(MxReaderReadXgm(a->reader, strcmp(a->xgm, "auto") ? a->xgm : "", a->xgm_source, a->xgm_offset, E, a->xgm_used, sizeof a->xgm_used, &found));
  if (!found) {
    PetscCall(PetscFree3(E, sorted, mean));
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
  PetscCall(PetscFree3(E, sorted, mean));
  PetscFunctionReturn(0);
}

/* Pre-pass: total intensity of every train from a thin band of rows (8 rows per module read,
   mid-module), then a robust outlier cut (median +- k 1.4826 MAD). Trains without X-rays or
   with a failed shutter are dropped before they can enter C or serve as neighbours. */
static PetscErrorCode FilterTrains(MxAnalyze a)
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

static void Progress(MxAnalyze a, PetscInt done, PetscInt total, double t0, PetscBool final)
{
  static double last;
  double        now = MPI_Wtime(), rate = done / PetscMax(now - t0, 1e-9);
  int           tty = isatty(2);
  if (!a->progress || (!final && now - last < (tty ? 0.2 : 10.0))) return;
  last = now;
  if (tty) {
    int  w = 30, k = (int)(w * done / PetscMax(total, 1));
    char bar[64];
    for (int i = 0; i < w; i++) bar[i] = i < k ? '#' : '.';
    bar[w] = 0;
    fprintf(stderr, "\ranalyze [%s] %" PetscInt_FMT "/%" PetscInt_FMT " trains  %.1f trains/s  ETA %.0f s ", bar, done, total, rate, (total - done) / PetscMax(rate, 1e-9));
    if (final) fprintf(stderr, "\n");
  } else fprintf(stderr, "analyze: %" PetscInt_FMT "/%" PetscInt_FMT " trains, %.1f trains/s, ETA %.0f s\n", done, total, rate, (total - done) / PetscMax(rate, 1e-9));
  fflush(stderr);
}

PetscErrorCode MxAnalyzeApply(MxAnalyze a)
{
  PetscInt        t0, t1, ntr, ipart, nparts;
  const uint64_t *tid;
  MPI_Comm        pix_comm;
  BufLayout       L = Layout(a);
  size_t          nf = (size_t)a->nf, nC = (size_t)a->nring * nf * nf;
  int             ldmax = 1;
  float          *A, *B, *work;
  MxTrainBuf      tb[3], *cur = &tb[0], *prev = &tb[1], *nxt = &tb[2]; /* the loop rotates them */
  double         *buf, *rs_prev, *Xcur, *Xprev, *C, *XC, *used;
  PetscBool       have_prev = PETSC_FALSE, have_Xprev = PETSC_FALSE;
  PetscErrorCode  ierr = 0;
  PetscMPIInt     rank;
  double          tstart = MPI_Wtime();

  PetscFunctionBeginUser;
  PetscCall(MxAnalyzeSetUp(a));
  MPI_Comm_rank(a->comm, &rank);
  PetscCall(MxReaderGetLocalTrains(a->reader, &t0, &t1));
  PetscCall(MxReaderGetTrains(a->reader, &ntr, &tid));
  PetscCall(MxReaderGetPixelPart(a->reader, &ipart, &nparts));
  PetscCall(MxReaderGetComms(a->reader, &pix_comm, NULL));
  for (PetscInt r = 0; r < a->nring; r++) ldmax = PetscMax(ldmax, a->ring_off[r + 1] - a->ring_off[r]);
  PetscCall(PetscMalloc3(nf * ldmax, &A, nf * ldmax, &B, nf * nf, &work));
  int   *rpos, *rdst;
  size_t nrpix = (size_t)a->ring_off[a->nring];
  PetscCall(PetscMalloc2(nrpix + 1, &rpos, nrpix + 1, &rdst));
  { /* the ring pixels ordered by position (key: position, then index in ring_pix) */
    int64_t *key;
    PetscCall(PetscMalloc1(nrpix + 1, &key));
    for (size_t j = 0; j < nrpix; j++) key[j] = (int64_t)a->ring_pix[j] << 32 | (int64_t)j;
    qsort(key, nrpix, sizeof *key, CmpI64);
    for (size_t j = 0; j < nrpix; j++) {
      rpos[j] = (int)(key[j] >> 32);
      rdst[j] = (int)(key[j] & 0xffffffff);
    }
    PetscCall(PetscFree(key));
  }
  for (int i = 0; i < 3; i++) {
    tb[i].a     = a;
    tb[i].rpos  = rpos;
    tb[i].rdst  = rdst;
    tb[i].nrpix = nrpix;
    PetscCall(PetscMalloc5(nf * a->npix + 1, &tb[i].data, nf * a->npix + 1, &tb[i].bad, a->npix + 1, &tb[i].valid, nf * (size_t)a->ring_off[a->nring] + 1, &tb[i].ring, L.nsaxs + 1, &tb[i].sx));
    PetscCall(PetscMalloc3(a->nsaxs + 1, &tb[i].w, a->saxs_nbins, &tb[i].cnt, (size_t)a->saxs_nbins * 16 * MxCorrSaxsBlocks((int)a->nf), &tb[i].acc));
  }
  PetscCall(PetscMalloc4(L.total + 2, &buf, L.nring_sums, &rs_prev, nC, &Xcur, nC, &Xprev));
  PetscCall(PetscMalloc2(nC, &C, nC, &XC));
  PetscCall(PetscCalloc1(ntr, &used));
  PetscCall(PetscFree(a->unread));
  PetscCall(PetscCalloc1(ntr + 1, &a->unread));
  PetscBool strict; /* -strict: an unreadable train or an unflagged NaN is an error */
  PetscCall(MxReaderGetLastNonFinite(a->reader, NULL, &strict, NULL));
  int *list;
  PetscCall(PetscMalloc1(ldmax + 1, &list));

  PetscCall(FilterTrains(a));
  /* this block's trains plus one halo train on each side: the cross terms need no messages */
  PetscInt lo = PetscMax(t0 - 1, 0), hi = PetscMin(t1 + 1, ntr);
  if (t0 >= t1) lo = hi = 0; /* more train blocks than trains */
  MxAnalyzeLoopState st = {0, 0, 0, rs_prev, Xprev, used, ntr, L.nring_sums};
  PetscInt           pending = -1; /* the train being read ahead */
  PetscErrorCode     pending_err = 0;
  double             last_ckpt = MPI_Wtime();
  if (a->ckpt_dir[0]) {
    PetscBool found = PETSC_FALSE;
    PetscCall(MxAnalyzeCheckpointHash(a, &a->ckpt_hash));
    if (a->ckpt_restart) PetscCall(MxAnalyzeCheckpointLoad(a, &st, &found));
    if (found && st.t_next > lo) {
      /* resume: train t_next - 1 waits for its cross term with t_next; re-read its frames */
      lo            = st.t_next;
      have_prev     = st.have_prev ? PETSC_TRUE : PETSC_FALSE;
      have_Xprev    = st.have_Xprev ? PETSC_TRUE : PETSC_FALSE;
      a->resumed_at = lo;
      if (have_prev) {
        MxReaderHooks  hk = {FramePrepare, TrainPrepare, prev};
        PetscErrorCode le = MxReaderReadBegin(a->reader, lo - 1, a->nranges, a->ranges, prev->data, prev->bad, &hk);
        if (!le) le = MxReaderReadEnd(a->reader);
        if (le) ierr = le;
        if (ierr) lo = hi; /* the error is reported below */
      }
    }
    MxAnalyzeSignalsInstall();
  }
  for (PetscInt t = lo; t < hi; t++) {
    PetscLogDouble c0, c1, c2;
    if (a->drop[t]) { /* an intensity or XGM outlier: not used, and no neighbour of anything */
      if (ipart == 0 && have_prev && t - 1 >= t0 && t - 1 < t1) {
        PetscCall(Finalise(a, t - 1, rs_prev, have_Xprev ? Xprev : NULL, NULL, C, XC));
        used[t - 1] = 1;
      }
      have_prev = have_Xprev = PETSC_FALSE;
      continue;
    }
    PetscCall(PetscTime(&c0));
    PetscCall(PetscLogEventBegin(MX_AN_TRAIN, 0, 0, 0, 0));
    /* train t: read ahead while train t-1 was correlated, or now */
    PetscErrorCode le;
    if (pending == t) {
      le      = pending_err ? pending_err : MxReaderReadEnd(a->reader);
      pending = -1;
      MxTrainBuf *tf = cur;
      cur            = nxt;
      nxt            = tf;
    } else {
      MxReaderHooks hk = {FramePrepare, TrainPrepare, cur};
      le               = MxReaderReadBegin(a->reader, t, a->nranges, a->ranges, cur->data, cur->bad, &hk);
      if (!le) le = MxReaderReadEnd(a->reader);
    }
    if (!le) { /* the nonfinite count of train t, before the next read starts */
      double nn;
      PetscCall(MxReaderGetLastNonFinite(a->reader, &nn, NULL, NULL));
      if (t >= t0 && t < t1) a->nnonfinite += nn;
    }
    /* train t+1 (the next one not dropped) is read on the reader thread while t is correlated;
       nxt is neither cur nor prev. Not after a failed read: t's message goes first. */
    if (!le) {
      PetscInt tn = t + 1;
      while (tn < hi && a->drop[tn]) tn++;
      if (tn < hi) {
        pending     = tn;
        MxReaderHooks hk = {FramePrepare, TrainPrepare, nxt};
        pending_err      = MxReaderReadBegin(a->reader, tn, a->nranges, a->ranges, nxt->data, nxt->bad, &hk);
      }
    }
    PetscCall(PetscTime(&c1));
    PetscCall(PetscArrayzero(buf, L.total + 1));
    PetscBool consecutive = have_prev && tid[t] == tid[t - 1] + 1;
    if (!le) {
      /* the mean detector image of this block's trains, and the SAXS blocks the reader thread left */
      PetscBool own = t >= t0 && t < t1;
      MxCorrImageSaxsAccumulate((int)nf, a->npix, cur->data, cur->valid, own ? a->img_sum : NULL, own ? a->img_n : NULL, a->nsaxs, a->saxs_pix, a->saxs_pb, cur->w, cur->cnt, (int)a->saxs_nbins, SaxsBlocksOnReader(a), MxCorrSaxsBlocks((int)nf), a->saxs_acc, cur->sx);
      TrainSums(a, cur, consecutive ? prev : NULL, buf, A, B, work, ldmax, list);
    } else ierr = le;
    buf[L.total] = le ? 1 : 0; /* the block stops together */
    /* the block checkpoints together: on a signal, at the interval, or every N trains */
    buf[L.total + 1] = a->ckpt_dir[0] && (MxAnalyzeSignalPending() || (a->ckpt_interval > 0 && MPI_Wtime() - last_ckpt > a->ckpt_interval) || (a->ckpt_every > 0 && (t - lo + 1) % a->ckpt_every == 0)) ? 1 : 0;
    PetscCall(PetscTime(&c2));
    PetscCall(PetscLogEventEnd(MX_AN_TRAIN, 0, 0, 0, 0));
    PetscCall(PetscLogEventBegin(MX_AN_REDUCE, 0, 0, 0, 0));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, buf, (int)(L.total + 2), MPI_DOUBLE, MPI_SUM, pix_comm));
    PetscCall(PetscLogEventEnd(MX_AN_REDUCE, 0, 0, 0, 0));
    PetscLogDouble c3;
    PetscCall(PetscTime(&c3));
    a->t_read += c1 - c0;
    a->t_corr += c2 - c1;
    a->t_comm += c3 - c2;
    a->ntrains_read++;
    if (buf[L.total] > 0 && !strict) {
      /* train t could not be read (a corrupted chunk, a read error) on some rank of the block:
         dropped like an outlier (no neighbour of anything), counted, listed and reported */
      if (le && t >= t0 && t < t1) PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "mxpcs analyze: warning: %s; train dropped (-strict makes this an error)\n", MxErrorMessage(NULL)));
      if (le) MxErrorClear();
      ierr = 0;
      if (ipart == 0 && t >= t0 && t < t1) a->unread[t] = 1;
      if (ipart == 0 && have_prev && t - 1 >= t0 && t - 1 < t1) {
        PetscCall(Finalise(a, t - 1, rs_prev, have_Xprev ? Xprev : NULL, NULL, C, XC));
        used[t - 1] = 1;
      }
      have_prev = have_Xprev = PETSC_FALSE;
      continue;
    }
    if (buf[L.total] > 0) {
      if (!ierr) ierr = PETSC_ERR_LIB; /* another rank of the block failed; its message wins below */
      break;
    }
    /* X(t-1, t) of the whole block */
    PetscBool have_Xcur = buf[L.total - 1] > 0;
    if (have_Xcur)
      for (PetscInt r = 0; r < a->nring; r++) {
        double *Nx = buf + L.nring_sums + r * (1 + 2 * nf + nf * nf), *s1a = Nx + 1, *s1b = s1a + nf, *x = s1b + nf;
        MxCorrCross((int)nf, *Nx, s1a, s1b, x, Xcur + r * nf * nf);
      }
    /* train t-1 is complete now that X(t-1, t) is known */
    if (ipart == 0 && have_prev && t - 1 >= t0 && t - 1 < t1) {
      PetscCall(Finalise(a, t - 1, rs_prev, have_Xprev ? Xprev : NULL, have_Xcur ? Xcur : NULL, C, XC));
      used[t - 1] = 1;
    }
    /* SAXS of train t: per-train bin means */
    if (ipart == 0 && t >= t0 && t < t1) {
      double *sx = buf + L.nring_sums + L.ncross;
      for (PetscInt b = 0; b < a->saxs_nbins; b++) {
        double S = 0, Nn = 0;
        for (size_t f = 0; f < nf; f++) {
          double s = sx[(b * nf + f) * 2], n = sx[(b * nf + f) * 2 + 1];
          if (n > 0) {
            double m = s / n;
            a->saxs[(b * nf + f) * 3] += m;
            a->saxs[(b * nf + f) * 3 + 1] += m * m;
            a->saxs[(b * nf + f) * 3 + 2] += 1;
          }
          S += s;
          Nn += n;
        }
        if (Nn > 0) {
          a->saxs_run[b * 3] += S / Nn;
          a->saxs_run[b * 3 + 1] += (S / Nn) * (S / Nn);
          a->saxs_run[b * 3 + 2] += 1;
        }
      }
    }
    /* shift: t becomes the previous train */
    PetscCall(PetscArraycpy(rs_prev, buf, L.nring_sums));
    if (have_Xcur) PetscCall(PetscArraycpy(Xprev, Xcur, nC));
    have_Xprev = have_Xcur;
    {
      MxTrainBuf *tf = prev;
      prev           = cur;
      cur            = tf;
    }
    have_prev = PETSC_TRUE;
    if (!rank) Progress(a, PetscMin(t + 1, t1) - t0, t1 - t0, tstart, PETSC_FALSE);
    if (buf[L.total + 1] > 0 && t + 1 < hi) {
      st.t_next     = t + 1;
      st.have_prev  = 1;
      st.have_Xprev = have_Xprev ? 1 : 0;
      ierr          = MxAnalyzeCheckpointSave(a, &st);
      last_ckpt     = MPI_Wtime();
      if (!ierr && a->test_pause[0]) { /* tests: the checkpoint is on disk; wait for the test's next move */
        MxAnalyzeTestPause(a->test_pause);
        a->test_pause[0] = 0;
      }
      if (!ierr && MxAnalyzeSignalPending()) {
        int sig = MxAnalyzeSignalPending();
        ierr    = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_SIG, PETSC_ERROR_INITIAL, "analyze: stopped by signal %d (%s) before train %" PetscInt_FMT " (ID %llu); checkpoint saved in %s: run the same command again to resume", sig, sig == SIGTERM ? "SIGTERM" : sig == SIGUSR1 ? "SIGUSR1" : "?", t + 1, (unsigned long long)tid[t + 1], a->ckpt_dir);
      }
      if (ierr) break;
    }
  }
  if (pending >= 0 && !pending_err) (void)MxReaderReadEnd(a->reader); /* stopped early: the read in flight ends first */
  if (a->ckpt_dir[0]) MxAnalyzeSignalsRestore();
  /* the block's last train has no successor in the run */
  if (!ierr && ipart == 0 && have_prev && hi == t1 && t1 - 1 >= t0 && !a->drop[t1 - 1]) {
    PetscCall(Finalise(a, t1 - 1, rs_prev, have_Xprev ? Xprev : NULL, NULL, C, XC));
    used[t1 - 1] = 1;
  }
  if (!rank) Progress(a, t1 - t0, t1 - t0, tstart, PETSC_TRUE);
  PetscCall(MxErrorSync(a->comm, ierr));

  /* sums over train blocks (only pixel part 0 of each block holds them) */
  PetscCall(PetscLogEventBegin(MX_AN_REDUCE, 0, 0, 0, 0));
  size_t ng = (size_t)a->nring * a->nwin * (a->win_len - 1);
  double cnt[3] = {a->ntrains_used, a->nleft_noneighbour, 0};
#define MX_REDUCE(ptr, n) PetscCallMPI(MPI_Reduce(rank ? (ptr) : MPI_IN_PLACE, (ptr), (int)(n), MPI_DOUBLE, MPI_SUM, 0, a->comm))
  MX_REDUCE(a->sumC, nC);
  MX_REDUCE(a->sumCraw, nC);
  MX_REDUCE(a->sumXC, nC);
  MX_REDUCE(a->g2sum, ng);
  MX_REDUCE(a->g2sq, ng);
  MX_REDUCE(a->g2t_sum, (size_t)a->nring * (a->nf - 1));
  MX_REDUCE(a->g2t_sq, (size_t)a->nring * (a->nf - 1));
  MX_REDUCE(a->bsum, a->nring);
  MX_REDUCE(a->bsq, a->nring);
  if (a->jk >= 2) {
    MX_REDUCE(a->jk_g2, (size_t)a->jk * ng);
    MX_REDUCE(a->jk_b, (size_t)a->jk * a->nring);
    MX_REDUCE(a->jk_n, a->jk);
  }
  MX_REDUCE(a->saxs, (size_t)a->saxs_nbins * nf * 3);
  MX_REDUCE(a->saxs_run, (size_t)a->saxs_nbins * 3);
  MX_REDUCE(cnt, 3);
  MX_REDUCE(used, ntr);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, a->unread, (int)ntr, MPI_DOUBLE, MPI_SUM, a->comm)); /* every rank writes its list */
#undef MX_REDUCE
  { /* mean detector image of the modules read: every rank adds its pixels and trains */
    PetscInt        nmod;
    const PetscInt *mods;
    double         *gs, *gn;
    PetscCall(MxReaderGetModules(a->reader, &nmod, &mods));
    a->nimg_mod = nmod;
    for (PetscInt i = 0; i < nmod; i++) a->img_mod[i] = mods[i];
    PetscCall(PetscCalloc2((size_t)nmod * MX_MODPIX, &gs, (size_t)nmod * MX_MODPIX, &gn));
    size_t off = 0;
    for (int k = 0; k < a->nranges; k++) {
      PetscInt im = 0;
      while (im < nmod && mods[im] != a->ranges[k].module) im++;
      for (int ss = a->ranges[k].ss0; ss < a->ranges[k].ss1; ss++)
        for (int fs = 0; fs < MX_NFS; fs++, off++) {
          size_t g = (size_t)im * MX_MODPIX + (size_t)ss * MX_NFS + fs;
          gs[g] += a->img_sum[off];
          gn[g] += a->img_n[off];
        }
    }
    PetscCallMPI(MPI_Reduce(rank ? gs : MPI_IN_PLACE, gs, (int)(nmod * MX_MODPIX), MPI_DOUBLE, MPI_SUM, 0, a->comm));
    PetscCallMPI(MPI_Reduce(rank ? gn : MPI_IN_PLACE, gn, (int)(nmod * MX_MODPIX), MPI_DOUBLE, MPI_SUM, 0, a->comm));
    if (!rank) {
      PetscCall(PetscMalloc1((size_t)nmod * MX_MODPIX, &a->image));
      for (size_t g = 0; g < (size_t)nmod * MX_MODPIX; g++) a->image[g] = gn[g] > 0 ? (float)(gs[g] / gn[g]) : NAN;
    }
    PetscCall(PetscFree2(gs, gn));
  }
  PetscCall(PetscLogEventEnd(MX_AN_REDUCE, 0, 0, 0, 0));
  a->ntrains_used      = cnt[0];
  a->nleft_noneighbour = cnt[1];
  { /* NaN/inf pixel values that no mask flags: masked, counted, reported; an error with -strict */
    const char *dir;
    PetscCall(MxReaderGetLastNonFinite(a->reader, NULL, NULL, &dir));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &a->nnonfinite, 1, MPI_DOUBLE, MPI_SUM, a->comm));
    PetscCheck(!strict || a->nnonfinite == 0, a->comm, PETSC_ERR_FILE_UNEXPECTED, "run %s: %.0f pixel values are NaN or inf where the mask does not flag them (-strict; without it they are masked, counted and reported)", dir, a->nnonfinite);
  }
  a->nunread = 0;
  for (PetscInt t = 0; t < ntr; t++) a->nunread += a->unread[t] > 0;
  if (!rank) {
    PetscCall(PetscMalloc1(ntr, &a->train_ids_used));
    a->ntrain_ids_used = 0;
    for (PetscInt t = 0; t < ntr; t++)
      if (used[t] > 0) a->train_ids_used[a->ntrain_ids_used++] = tid[t];
  }
  PetscCall(PetscFree3(A, B, work));
  PetscCall(PetscFree2(rpos, rdst));
  for (int i = 0; i < 3; i++) {
    PetscCall(PetscFree5(tb[i].data, tb[i].bad, tb[i].valid, tb[i].ring, tb[i].sx));
    PetscCall(PetscFree3(tb[i].w, tb[i].cnt, tb[i].acc));
  }
  PetscCall(PetscFree4(buf, rs_prev, Xcur, Xprev));
  PetscCall(PetscFree2(C, XC));
  PetscCall(PetscFree(used));
  PetscCall(PetscFree(list));
  PetscCallMPI(MPI_Bcast(&a->ntrains_used, 1, MPI_DOUBLE, 0, a->comm));
  PetscCheck(a->ntrains_used > 0, a->comm, PETSC_ERR_ARG_WRONGSTATE, "analyze: no train could be used (%g left out without a neighbouring train; -corr_xc 0 uses trains without neighbours)", a->nleft_noneighbour);
  if (!rank) PetscCall(MxAnalyzeResults(a));
  {
    PetscInt ne[3] = {a->nring_empty, a->nring, a->jk_groups_used};
    PetscCallMPI(MPI_Bcast(ne, 3, MPIU_INT, 0, a->comm));
    a->nring_empty    = ne[0];
    a->jk_groups_used = ne[2]; /* the shape of /xpcs/fit/gamma_jackknife, which every rank writes */
    PetscCheck(ne[0] < ne[1], a->comm, PETSC_ERR_ARG_WRONGSTATE, "analyze: every q-ring has zero mean intensity in some frame (no photons): wrong -rings_q_min/-rings_q_max for this run, -reader_adu_per_photon too large, or no X-rays");
    PetscCheck(!ne[0] || !a->strict, a->comm, PETSC_ERR_ARG_WRONGSTATE, "analyze: %" PetscInt_FMT " q-ring(s) have zero mean intensity in some frame (no photons) (-strict)", ne[0]);
  }
  a->t_total = MPI_Wtime() - tstart;
  if (a->bench) PetscCall(MxAnalyzeBench(a));
  PetscFunctionReturn(0);
}
