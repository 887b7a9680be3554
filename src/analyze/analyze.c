/* MxAnalyze: the analyze stage. It composes the reader, the geometry, the rings, the train
   filters (filters.c), the SAXS unit (saxs.c), the per-train step with its accumulator table
   (engine.c), the mean image (image.c), checkpoints (checkpoint.c), the fits (src/fit/g2age.c)
   and the results writer (results.c). Apply runs the train loop as named phases: filters,
   resume, per train read / step / checkpoint, reduce, results. See include/mxpcs/analyze.h. */
#include "analyzeimpl.h"
#include <math.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

static PetscLogEvent MX_AN_SETUP, MX_AN_TRAIN, MX_AN_REDUCE;
PetscLogEvent        MX_AN_FIT, MX_AN_WRITE;

PetscErrorCode MxAnalyzeCreate(MPI_Comm comm, MxAnalyze *out)
{
  MxAnalyze a;

  PetscFunctionBeginUser;
  PetscCall(MxLogEventRegisterOnce("MxAnalyze", "MxAnalyzeSetUp", &MX_AN_SETUP));
  PetscCall(MxLogEventRegisterOnce("MxAnalyze", "MxAnalyzeTrain", &MX_AN_TRAIN));
  PetscCall(MxLogEventRegisterOnce("MxAnalyze", "MxAnalyzeReduce", &MX_AN_REDUCE));
  PetscCall(MxLogEventRegisterOnce("MxAnalyze", "MxAnalyzeFit", &MX_AN_FIT));
  PetscCall(MxLogEventRegisterOnce("MxAnalyze", "MxAnalyzeWrite", &MX_AN_WRITE));
  PetscCall(PetscNew(&a));
  a->comm       = comm;
  a->xc         = PETSC_TRUE;
  a->shot_noise = 1.0;
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
  a->extrap_order = MX_EXTRAP_LINEAR;
  a->heat           = (MxHeatSample){MX_SOLVENT_DMF, 0.005, 0.9, 298.15, 0, 0};
  a->heat_fwhm_um   = 2.5;
  a->jk            = 16;
  a->q_eff_on      = PETSC_TRUE;
  a->ckpt_interval = 600;
  a->ckpt_restart  = PETSC_TRUE;
  a->ckpt_saved    = -1;
  a->resumed_at    = -1;
  PetscCall(MxReaderCreate(comm, &a->reader));
  PetscCall(MxGeomCreate(comm, &a->geom));
  PetscCall(MxRingsCreate(comm, &a->rings));
  PetscCall(MxG2FitCreate(PETSC_COMM_SELF, &a->fit));
  PetscCall(MxDetCorrCreate(comm, &a->dc));
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
  PetscCall(MxDetCorrSetFromOptions(a->dc));
  PetscOptionsBegin(a->comm, NULL, "Correlation analysis (mxpcs analyze)", "MxAnalyze");
  PetscCall(PetscOptionsInt("-g2_age_window", "Pulses per age window of g2 (default: those of the first 8.86 us)", "", a->win_len, &a->win_len, NULL));
  PetscCall(PetscOptionsInt("-g2_age_step", "Start-to-start step of the age windows in pulses (default: the window, i.e. disjoint)", "", a->win_step, &a->win_step, NULL));
  PetscCall(PetscOptionsInt("-g2_jackknife", "Errors of Gamma, Gamma0, D_eff by a delete-a-group jackknife over this many train groups (train index mod N); 0: the errors the fits propagate", "", a->jk, &a->jk, NULL));
  PetscCall(PetscOptionsBool("-fit_q_eff", "D_eff = Gamma0/q^2 with q the ring's rms q weighted by its pixels' mean intensity squared, as its C weighs them (/xpcs/fit/q_eff); 0: the ring's mean q (/xpcs/qmap/q)", "", a->q_eff_on, &a->q_eff_on, NULL));
  PetscCall(PetscOptionsBool("-corr_xc", "Subtract the neighbour-train cross term XC (Dallari et al. 2021)", "", a->xc, &a->xc, NULL));
  PetscCall(PetscOptionsReal("-corr_shot_noise", "Continuous values (-reader_photonize none): a photon's shot noise R in the values' units squared, R N/s1 taken out of the contrast's diagonal: (1 + g^2) for a static relative gain spread g, times sum_k f_k^2 for a photon's charge shared over pixels k in fractions f_k (docs/analyze.md); 1: photon counts", "", a->shot_noise, &a->shot_noise, NULL));
  PetscCheck(a->shot_noise > 0 && a->shot_noise <= 2, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -corr_shot_noise: %g must be in (0, 2] (1 + g^2 for a gain spread g, times the charge-sharing factor <= 1)", a->shot_noise);
  PetscCall(PetscOptionsInt("-corr_block", "Pixels per BLAS-3 block of the Gram products", "", a->block, &a->block, NULL));
  PetscCall(PetscOptionsInt("-saxs_nbins", "Bins of the SAXS q grid", "", a->saxs_nbins, &a->saxs_nbins, NULL));
  PetscCall(PetscOptionsReal("-saxs_q_min", "SAXS q min (1/angstrom; default: smallest q read)", "", a->saxs_qmin, &a->saxs_qmin, NULL));
  PetscCall(PetscOptionsReal("-saxs_q_max", "SAXS q max (1/angstrom; default: largest q read)", "", a->saxs_qmax, &a->saxs_qmax, NULL));
  PetscCall(PetscOptionsBool("-analyze_progress", "Progress line on rank 0", "", a->progress, &a->progress, NULL));
  {
    PetscInt k = a->extrap_order - 1;
    PetscCall(PetscOptionsEList("-g2_extrapolation", "Extrapolation of Gamma(q, age) to zero dose (age -dt/2), weighted: linear or quadratic in age, exponential (ln Gamma linear in age), or heating (Gamma0(q) h(age), the dose and heat-diffusion model with one amplitude per run; -heating_*)", "", MxExtrapolationNames, 4, MxExtrapolationNames[k], &k, NULL));
    a->extrap_order = k + 1;
  }
  PetscCall(PetscOptionsEnum("-heating_solvent", "heating: the solvent (absorption, heat capacity, diffusivity, viscosity law)", "", MxSolventNames, (PetscEnum)a->heat.solvent, (PetscEnum *)&a->heat.solvent, NULL));
  PetscCall(PetscOptionsReal("-heating_phi", "heating: PbS volume fraction along the beam", "", a->heat.phi, &a->heat.phi, NULL));
  PetscCall(PetscOptionsReal("-heating_path_mm", "heating: sample thickness along the beam (mm)", "", a->heat.path_mm, &a->heat.path_mm, NULL));
  PetscCall(PetscOptionsReal("-heating_T0_K", "heating: temperature before the train (K)", "", a->heat.T0_K, &a->heat.T0_K, NULL));
  PetscCall(PetscOptionsReal("-heating_Ea_kJ_mol", "heating: Arrhenius activation energy of the viscosity (0: the solvent's own law; NMF has none, 12 as a placeholder)", "", a->heat.Ea_kJ_mol, &a->heat.Ea_kJ_mol, NULL));
  PetscCall(PetscOptionsReal("-heating_beam_fwhm_um", "heating: beam size at the sample, FWHM (um)", "", a->heat_fwhm_um, &a->heat_fwhm_um, NULL));
  PetscCall(PetscOptionsReal("-heating_tau_us", "heating: intensity-weighted decay time tau_I = sigma^2/alpha (us; 0: from -heating_beam_fwhm_um and the solvent)", "", a->heat_tau_us, &a->heat_tau_us, NULL));
  PetscCall(PetscOptionsInt("-g2_dose_bins", "Group the trains by their XGM pulse energy into this many groups of equal size and fit Gamma(q, age, group) with the heating model together, the dose as a second axis (0: off)", "", a->ndose, &a->ndose, NULL));
  PetscCall(PetscOptionsReal("-heating_fluence_J_cm2", "heating: effective fluence of a pulse of mean energy, fixed (J/cm^2; 0: fitted per run)", "", a->heat_fluence, &a->heat_fluence, NULL));
  PetscCall(PetscOptionsReal("-heating_pulse_energy_uJ", "heating: fix the fluence from this pulse energy at the sample and the beam size, E/(2 pi sigma^2) (uJ; 0: fitted per run)", "", a->heat_energy_uJ, &a->heat_energy_uJ, NULL));
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
  PetscCall(PetscOptionsViewer("-analyze_view", "Where the run summary goes (default: standard output), e.g. ascii:summary.txt", "MxAnalyzeView", &a->viewer, &a->vformat, &a->view_set));
  PetscCall(PetscOptionsBool("-analyze_bench", "Print per-rank throughput and the correlation kernel against a bare cblas_ssyrk of the same shape", "", a->bench, &a->bench, NULL));
  PetscOptionsEnd();
  PetscCall(PetscFree(a->opts));
  PetscCall(PetscOptionsGetAll(NULL, &a->opts));
  PetscCall(MxReaderGetLastNonFinite(a->reader, NULL, &a->strict, NULL)); /* -strict: the reader's option */
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
  PetscCheck(a->ndose >= 0 && a->ndose <= 64, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -g2_dose_bins: %" PetscInt_FMT " must be in 0..64", a->ndose);
  {
    MxHeatProps hp;
    PetscCheck(!MxHeatSampleProps(&a->heat, &hp), a->comm, PETSC_ERR_ARG_OUTOFRANGE, "options -heating_phi %g, -heating_path_mm %g, -heating_T0_K %g: phi must be in [0, 0.74), the path and T0 > 0", a->heat.phi, a->heat.path_mm, a->heat.T0_K);
    PetscCheck(isfinite(MxHeatViscosity(&a->heat, a->heat.T0_K)), a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -heating_T0_K: %g K is outside the viscosity law of %s", a->heat.T0_K, MxSolventNames[a->heat.solvent]);
    PetscCheck(a->heat_fwhm_um > 0 && a->heat_tau_us >= 0 && a->heat.Ea_kJ_mol >= 0, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "options -heating_beam_fwhm_um (> 0), -heating_tau_us (>= 0), -heating_Ea_kJ_mol (>= 0): %g, %g, %g", (double)a->heat_fwhm_um, (double)a->heat_tau_us, a->heat.Ea_kJ_mol);
    PetscCheck(a->heat_fluence >= 0 && a->heat_energy_uJ >= 0 && !(a->heat_fluence > 0 && a->heat_energy_uJ > 0), a->comm, PETSC_ERR_ARG_OUTOFRANGE, "options -heating_fluence_J_cm2 %g and -heating_pulse_energy_uJ %g: at most one, >= 0", (double)a->heat_fluence, (double)a->heat_energy_uJ);
    /* heat_per_fluence: in MxAnalyzeSetUp, at the geometry's photon energy */
    a->heat_tauI_s      = a->heat_tau_us > 0 ? a->heat_tau_us * 1e-6 : MxHeatTauI(a->heat_fwhm_um, hp.alpha_m2_s);
    if (a->heat_energy_uJ > 0) { /* F0 = E/(2 pi sigma^2) */
      const double sg = a->heat_fwhm_um * 1e-4 / (2 * sqrt(2 * log(2.0)));
      a->heat_fluence = a->heat_energy_uJ * 1e-6 / (2 * M_PI * sg * sg);
    }
  }
  PetscFunctionReturn(0);
}

/* The run's shape from the reader (after MxReaderSetUp). */
static PetscErrorCode RunFromReader(MxAnalyze a)
{
  const PetscInt *mods;

  PetscFunctionBeginUser;
  PetscCall(MxReaderGetUserMask(a->reader, &a->run.umask));
  PetscCall(MxReaderGetModules(a->reader, &a->run.nmod, &mods));
  for (PetscInt i = 0; i < a->run.nmod; i++) a->run.mods[i] = mods[i];
  PetscCall(MxReaderGetFrames(a->reader, &a->run.nf, &a->run.pid, NULL));
  PetscCall(MxReaderGetComms(a->reader, &a->run.pix_comm, NULL));
  PetscCall(MxReaderGetPixelPart(a->reader, &a->run.ipart, &a->run.nparts));
  PetscCall(MxReaderGetLocalTrains(a->reader, &a->run.t0, &a->run.t1));
  PetscCall(MxReaderGetTrains(a->reader, &a->run.ntr, &a->run.tid));
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeSetUpStream(MxAnalyze a, const MxStreamShape *s)
{
  PetscMPIInt rank, size;

  PetscFunctionBeginUser;
  PetscCheck(!a->setup, a->comm, PETSC_ERR_ARG_WRONGSTATE, "analyze: already set up");
  PetscCheck(s->nmod >= 1 && s->nmod <= MX_NMOD && s->nf >= 2 && s->max_trains >= 1, a->comm, PETSC_ERR_ARG_OUTOFRANGE, "stream: %" PetscInt_FMT " modules, %" PetscInt_FMT " frames per train, room for %" PetscInt_FMT " trains: out of range", s->nmod, s->nf, s->max_trains);
  MPI_Comm_rank(a->comm, &rank);
  MPI_Comm_size(a->comm, &size);
  a->stream   = PETSC_TRUE;
  a->run.nmod = s->nmod;
  for (PetscInt i = 0; i < s->nmod; i++) a->run.mods[i] = s->mods[i];
  PetscCall(MxReaderLoadUserMask(a->reader)); /* -mask_file: as for files */
  PetscCall(MxReaderGetUserMask(a->reader, &a->run.umask));
  a->run.nf       = s->nf;
  a->run.pid      = s->pulse_ids;
  a->run.pix_comm = a->comm; /* one train block: every rank holds a pixel part of every train */
  a->run.ipart    = rank;
  a->run.nparts   = size;
  a->run.t0       = 0;
  a->run.t1       = s->max_trains;
  a->run.ntr      = s->max_trains;
  a->run.tid      = s->train_ids;
  snprintf(a->stream_ident, sizeof a->stream_ident, "%s", s->ident);
  snprintf(a->stream_start, sizeof a->stream_start, "%s", s->start_time);
  PetscCall(PetscCalloc1(s->max_trains + 1, &a->drop)); /* no train filters on a stream */
  a->ckpt_dir[0] = 0;                                   /* nor checkpoints */
  PetscCall(MxAnalyzeSetUp(a));
  PetscFunctionReturn(0);
}

static void CorrectFrame(void *ctx, PetscInt f, size_t off, size_t n, float *v, unsigned char *b) { MxDetCorrFrame((MxDetCorr)ctx, f, off, n, v, b); }

/* The per-train step of this rank's pixels, and analyze's own entries in its table. */
static PetscErrorCode EngineCreate(MxAnalyze a)
{
  MPI_Comm     pix_comm;
  PetscInt     ntr, t0, t1, ipart;
  MxEngineSpec s;

  PetscFunctionBeginUser;
  pix_comm = a->run.pix_comm;
  ntr      = a->run.ntr;
  t0       = a->run.t0;
  t1       = a->run.t1;
  ipart    = a->run.ipart;
  PetscBool dc_on;
  PetscCall(MxDetCorrGetAlign(a->dc, NULL, &dc_on));
  PetscCheck(!(a->stream && a->ndose > 0), a->comm, PETSC_ERR_ARG_WRONG, "option -g2_dose_bins: not available on a stream (the groups need every train's XGM energy before the first is correlated)");
  if (a->ndose > 0) {
    PetscCall(PetscMalloc1(ntr + 1, &a->dose_bin));
    for (PetscInt t = 0; t < ntr; t++) a->dose_bin[t] = -1;
  }
  s = (MxEngineSpec){.nf = a->nf, .npix = a->npix, .nring = a->nring, .ring_off = a->ring_off, .ring_pix = a->ring_pix, .nwin = a->nwin, .win_len = a->win_len, .win_start = a->win_start, .xc = a->xc, .jk = a->jk, .ndose = a->ndose, .dose_bin = a->dose_bin, .block = a->block, .saxs_nbins = a->saxs_nbins, .saxs_bin = a->saxs_bin, .corr = a->corr, .ntrains = ntr, .t0 = t0, .t1 = t1, .part0 = ipart == 0, .correct = dc_on ? CorrectFrame : NULL, .correct_ctx = a->dc, .noise_var = a->dc_noise_var, .shot_noise = a->shot_noise};
  PetscCall(MxEngineCreate(a->comm, pix_comm, &s, &a->eng));
  PetscCall(MxEngineAccumAdd(a->eng, "unread", (size_t)ntr, MX_ACC_ALL, PETSC_TRUE, &a->unread));
  PetscCall(MxEngineAccumAdd(a->eng, "nonfinite", 1, MX_ACC_ALL, PETSC_TRUE, &a->nnonfinite));
  PetscCall(MxEngineAccumAdd(a->eng, "nread", 1, MX_ACC_LOCAL, PETSC_TRUE, &a->nread));
  PetscCall(MxEngineAccumAdd(a->eng, "detcorr", sizeof(MxDetCorrStats) / sizeof(double), MX_ACC_LOCAL, PETSC_TRUE, &a->dc_acc));
  PetscFunctionReturn(0);
}

/* The corrections on the first train of each rank's block, before the run: the common mode's
   zero-photon window must be narrow in photons, else the values are not in photons (keV or ADU
   without -reader_adu_per_photon); its noise is taken out of the contrast of continuous values.
   Collective (the same decision on every rank). */
static PetscErrorCode ProbeCorrections(MxAnalyze a)
{
  MxCommonModeKind cm;
  MxPhotonizeKind  ph;
  PetscErrorCode   ierr = 1;
  double           adu;

  PetscFunctionBeginUser;
  PetscCall(MxDetCorrGetKinds(a->dc, &cm, &ph, NULL, NULL));
  memset(&a->dc_probe, 0, sizeof a->dc_probe);
  if (a->stream || cm == MX_CM_NONE) PetscFunctionReturn(0);
  if (a->run.t0 < a->run.t1 && a->npix > 0) {
    float         *d;
    unsigned char *b;
    PetscCall(PetscMalloc2((size_t)a->nf * a->npix, &d, (size_t)a->nf * a->npix, &b));
    PetscCall(PetscPushErrorHandler(PetscIgnoreErrorHandler, NULL)); /* an unreadable train is the run's business, reported there */
    ierr = MxReaderRead(a->reader, a->run.t0, a->nranges, a->ranges, d, b);
    PetscCall(PetscPopErrorHandler());
    if (!ierr) {
      MxDetCorrSetProbe(a->dc, &a->dc_probe);
      for (PetscInt f = 0; f < a->nf; f++) MxDetCorrFrame(a->dc, f, 0, a->npix, d + (size_t)f * a->npix, b + (size_t)f * a->npix);
      MxDetCorrSetProbe(a->dc, NULL);
    }
    PetscCall(PetscFree2(d, b));
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &a->dc_probe, (int)(sizeof a->dc_probe / sizeof(double)), MPI_DOUBLE, MPI_SUM, a->comm));
  PetscCall(MxReaderGetAduPerPhoton(a->reader, &adu));
  double n = 0, s = 0;
  for (int m = 0; m < MX_NMOD; m++) {
    if (a->dc_probe.noise_n[m] < 1) continue;
    double sig = sqrt(a->dc_probe.noise_sum[m] / a->dc_probe.noise_n[m]);
    /* noise uniform over the window (sigma 0.29): the window sees no zero-photon peak */
    PetscCheck(sig < 0.25, a->comm, PETSC_ERR_ARG_WRONG, "option %s: the values are not in photons: module %d's zero-photon peak is %.2f photons wide in train %" PetscInt_FMT " (at -reader_adu_per_photon %g). Give -reader_adu_per_photon the detector units per photon (the photon energy in keV for keV data, e.g. 12.3; see docs/analyze.md \"Real AGIPD data\"), or -reader_common_mode none -reader_photonize none", ph != MX_PHOTONIZE_NONE ? "-reader_photonize" : "-reader_common_mode", m, sig, a->run.t0, adu);
    n += a->dc_probe.noise_n[m];
    s += a->dc_probe.noise_sum[m];
  }
  a->dc_noise_var = ph == MX_PHOTONIZE_NONE && n > 0 ? s / n : 0;
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeSetUp(MxAnalyze a)
{
  const MxPixelGeom   *pix;
  const int           *roi;
  const unsigned char *umask;
  const uint64_t      *pid;
  PetscInt             nmod, ipart, nparts;
  const PetscInt      *mods;
  double              *w, px, D;

  PetscFunctionBeginUser;
  if (a->setup) PetscFunctionReturn(0);
  PetscCall(PetscLogEventBegin(MX_AN_SETUP, 0, 0, 0, 0));
  if (!a->stream) {
    PetscBool raw;
    PetscCall(MxReaderSetUp(a->reader));
    PetscCall(RunFromReader(a));
    PetscCall(MxReaderIsRaw(a->reader, &raw));
    PetscCall(MxDetCorrSetRaw(a->dc, raw));
  }
  { /* q, solid angle, ... of the run's modules only (a few of 16 as a rule); positions of all (the viewer's image) */
    PetscBool use[MX_NMOD] = {PETSC_FALSE};
    for (PetscInt i = 0; i < a->run.nmod; i++) use[a->run.mods[i]] = PETSC_TRUE;
    PetscCall(MxGeomSetModules(a->geom, use));
  }
  PetscCall(MxGeomSetUp(a->geom));
  { /* the heating model's absorption at this run's photon energy */
    MxHeatProps hp;
    PetscCall(MxGeomGetEnergy(a->geom, &a->heat.energy_keV));
    PetscCheck(!MxHeatSampleProps(&a->heat, &hp), a->comm, PETSC_ERR_ARG_OUTOFRANGE, "geometry: photon energy %g keV is outside %g..%g keV, the heating model's absorption coefficients (NIST SRD 126)", a->heat.energy_keV, MX_HEAT_EMIN_KEV, MX_HEAT_EMAX_KEV);
    a->heat_per_fluence = hp.dT_per_J_cm2;
  }
  umask = a->run.umask;
  nmod  = a->run.nmod;
  mods  = a->run.mods;
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
  a->nf  = a->run.nf;
  pid    = a->run.pid;
  ipart  = a->run.ipart;
  nparts = a->run.nparts;
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
    int need = a->extrap_order == MX_EXTRAP_QUADRATIC ? 3 : 2;
    PetscCheck(a->nwin >= need || (a->nwin == 1 && a->extrap_order != MX_EXTRAP_QUADRATIC && (a->extrap_order != MX_EXTRAP_HEATING || a->heat_fluence > 0)), a->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -g2_extrapolation: %s needs at least %d age windows, there are %" PetscInt_FMT " (use a smaller -g2_age_step%s)", MxExtrapolationNames[a->extrap_order - 1], need, a->nwin, a->extrap_order == MX_EXTRAP_HEATING ? ", or fix -heating_fluence_J_cm2" : "");
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
  {
    int align; /* the corrections work on whole ASICs: parts of whole 64-row blocks */
    PetscCall(MxDetCorrGetAlign(a->dc, &align, NULL));
    MxPartitionRows(w, align, (int)nparts, (int)ipart, a->ranges, &a->nranges);
  }
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
  PetscCall(MxAnalyzeSaxsGrid(a, qlo, qhi));
  {
    size_t off = 0;
    for (int k = 0; k < a->nranges; k++)
      for (int ss = a->ranges[k].ss0; ss < a->ranges[k].ss1; ss++)
        for (int fs = 0; fs < MX_NFS; fs++, off++) {
          size_t g = (size_t)a->ranges[k].module * MX_MODPIX + ss * MX_NFS + fs;
          a->saxs_bin[off] = a->corr[off] > 0 ? MxAnalyzeSaxsBin(a, pix, umask, g) : -1;
        }
  }
  PetscCall(PetscCalloc1(a->npix + 1, &a->ring_flag));
  for (int k = 0; k < a->ring_off[a->nring]; k++) a->ring_flag[a->ring_pix[k]] = 1;
  PetscCall(MxDetCorrSetUp(a->dc, a->nranges, a->ranges, a->ring_flag));
  {
    MxCommonModeKind cm;
    MxPhotonizeKind  ph;
    PetscCall(MxDetCorrGetKinds(a->dc, &cm, &ph, NULL, NULL));
    PetscCheck(a->shot_noise == 1 || ph == MX_PHOTONIZE_NONE, a->comm, PETSC_ERR_ARG_WRONG, "option -corr_shot_noise: %g applies to continuous values only; with -reader_photonize %s the values are photon counts, whose shot noise is 1 (add -reader_photonize none, or leave -corr_shot_noise out)", a->shot_noise, MxPhotonizeNames[ph]);
    PetscCheck(!(a->stream && cm == MX_CM_ASIC_CELL), a->comm, PETSC_ERR_ARG_WRONG, "option -reader_common_mode asic+cell: not on a stream (the memory-cell term is estimated on the run's first trains before the run); use asic");
    if (!a->stream) PetscCall(MxDetCorrCellOffsets(a->dc, a->reader, a->nf, a->run.ntr, a->nranges, a->ranges));
  }
  PetscCall(ProbeCorrections(a));
  PetscCall(EngineCreate(a));
  a->setup = PETSC_TRUE;
  PetscCall(PetscLogEventEnd(MX_AN_SETUP, 0, 0, 0, 0));
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

/* The train loop's state: the trains of this rank's block and halo, and the read-ahead. */
typedef struct {
  PetscInt        t0, t1, lo, hi, ntr, ipart;
  const uint64_t *tid;
  PetscBool       strict;  /* -strict: an unreadable train or an unflagged NaN is an error */
  MxTrainBuf     *nxt;     /* the train being read ahead (pending), or NULL */
  PetscInt        pending;
  PetscErrorCode  pending_err;
  double          tstart, last_ckpt;
  PetscMPIInt     rank;
} MxLoop;

static PetscErrorCode ReadBegin(MxAnalyze a, PetscInt t, MxTrainBuf *T, PetscErrorCode *le)
{
  MxReaderHooks hk = {MxEngineFrameHook, MxEngineTrainHook, T, 0, 0, NULL, NULL, 0, 0};
  PetscBool       corr, share;
  MxPhotonizeKind ph;

  PetscFunctionBeginUser;
  MxDetCorrSetCounting(a->dc, t >= a->run.t0 && t < a->run.t1); /* a neighbour of another block is that block's */
  PetscCall(MxDetCorrGetAlign(a->dc, NULL, &corr));
  PetscCall(MxDetCorrGetKinds(a->dc, NULL, &ph, NULL, NULL));
  /* the droplets, heavy, may be shared after the whole train is read (-reader_share 1; the path
     before -reader_cache). In the cache path both threads read and finish units anyway: on the
     simulated colloid (2 modules x 24 trains, 1 rank, 2026-12-05) droplets gave 4,763-4,881
     frames/s there against 3,383-3,744 shared (alternating runs, the same bits); before the
     cache path, rounding shared gave 4,810-5,129, on the reader thread 6,254-6,503 */
  PetscCall(MxReaderGetShare(a->reader, &share));
  hk.share = share && corr && ph == MX_PHOTONIZE_DROPLET;
  hk.bad_scratch = !hk.share; /* the engine reads a train's bad flags in its frame hook only (the valid pixels, the corrections) */
  /* the SAXS sums and the mean image range by range, from the cache; the frames read into
     buffers that stay there (-reader_cache), not into T's */
  hk.cache = !hk.share;
  MxEngineBeginTrain(a->eng, T, t, !hk.share, hk.cache);
  hk.range  = hk.share ? NULL : MxEngineRangeHook;
  hk.chain  = hk.share ? NULL : MxEngineChainHook;
  hk.nchain = MxEngineChains(T);
  *le = MxReaderReadBegin(a->reader, t, a->nranges, a->ranges, T->data, T->bad, &hk);
  PetscFunctionReturn(0);
}

/* Phase "resume": a matching checkpoint's sums and state; the train before the first one to
   read waits for its cross term, so its frames are read again. */
static PetscErrorCode LoopResume(MxAnalyze a, MxLoop *L, PetscErrorCode *ierr)
{
  MxAnalyzeLoopState st = {0};
  PetscBool          found = PETSC_FALSE;

  PetscFunctionBeginUser;
  if (!a->ckpt_dir[0]) PetscFunctionReturn(0);
  PetscCall(MxAnalyzeCheckpointHash(a, &a->ckpt_hash));
  if (a->ckpt_restart) PetscCall(MxAnalyzeCheckpointLoad(a, &st, &found));
  if (found && st.t_next > L->lo) {
    MxTrainBuf    *T = NULL;
    PetscErrorCode le = 0;
    L->lo            = st.t_next;
    a->resumed_at    = L->lo;
    st.eng.prev_t    = L->lo - 1;
    st.eng.prev_id   = L->tid[L->lo - 1];
    if (st.eng.have_prev) {
      PetscCall(MxEngineAcquire(a->eng, &T));
      PetscCall(ReadBegin(a, L->lo - 1, T, &le));
      if (!le) le = MxReaderReadEnd(a->reader);
      MxDetCorrFlush(a->dc, NULL); /* counted before the checkpoint */
    }
    if (le) {
      PetscCall(MxEngineRelease(a->eng, T));
      *ierr = le;
      L->lo = L->hi; /* the error is reported after the loop */
    } else PetscCall(MxEngineResume(a->eng, &st.eng, T));
  }
  MxAnalyzeSignalsInstall();
  PetscFunctionReturn(0);
}

/* Phase "read": train t, read ahead while t - 1 was correlated or now; then the next train not
   dropped starts on the reader thread (not after a failed read: t's message goes first). */
static PetscErrorCode LoopRead(MxAnalyze a, MxLoop *L, PetscInt t, MxTrainBuf **T, PetscErrorCode *le)
{
  PetscFunctionBeginUser;
  if (L->pending == t) {
    MxReadStats st0, st1;
    PetscCall(MxReaderGetReadStats(a->reader, &st0));
    *le = L->pending_err ? L->pending_err : MxReaderReadEnd(a->reader);
    PetscCall(MxReaderGetReadStats(a->reader, &st1));
    if (!*le && !L->pending_err) MxEngineBalance(a->eng, st1.t_wait - st0.t_wait); /* the next read has not started */
    *T         = L->nxt;
    L->nxt     = NULL;
    L->pending = -1;
  } else {
    PetscCall(MxEngineAcquire(a->eng, T));
    PetscCall(ReadBegin(a, t, *T, le));
    if (!*le) *le = MxReaderReadEnd(a->reader);
  }
  if (!*le) { /* read on from a train that was never stepped: t again (rare: an unreadable train) */
    PetscBool again;
    PetscCall(MxEngineSync(a->eng, *T, &again));
    if (again) {
      MxDetCorrFlush(a->dc, NULL);
      PetscCall(ReadBegin(a, t, *T, le));
      if (!*le) *le = MxReaderReadEnd(a->reader);
    }
  }
  MxDetCorrFlush(a->dc, *le ? NULL : (MxDetCorrStats *)a->dc_acc);
  if (!*le) { /* the nonfinite count of train t, before the next read starts */
    double nn;
    PetscCall(MxReaderGetLastNonFinite(a->reader, &nn, NULL, NULL));
    if (t >= L->t0 && t < L->t1) *a->nnonfinite += nn;
    PetscInt tn = t + 1;
    while (tn < L->hi && a->drop[tn]) tn++;
    if (tn < L->hi) {
      L->pending = tn;
      PetscCall(MxEngineAcquire(a->eng, &L->nxt));
      PetscCall(ReadBegin(a, tn, L->nxt, &L->pending_err));
    }
  }
  PetscFunctionReturn(0);
}

/* Phase "checkpoint", when the block voted for one after train t: save, then (tests) wait for
   the test's move, then stop with an error if a signal asked for it. */
static PetscErrorCode LoopCheckpoint(MxAnalyze a, MxLoop *L, PetscInt t, PetscErrorCode *ierr)
{
  MxAnalyzeLoopState st;

  PetscFunctionBeginUser;
  st.t_next = t + 1;
  PetscCall(MxEngineGetState(a->eng, &st.eng));
  *ierr        = MxAnalyzeCheckpointSave(a, &st);
  L->last_ckpt = MPI_Wtime();
  if (!*ierr && a->test_pause[0]) { /* tests: the checkpoint is on disk; wait for the test's next move */
    MxAnalyzeTestPause(a->test_pause);
    a->test_pause[0] = 0;
  }
  if (!*ierr && MxAnalyzeSignalPending()) {
    int sig = MxAnalyzeSignalPending();
    *ierr   = PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_SIG, PETSC_ERROR_INITIAL, "analyze: stopped by signal %d (%s) before train %" PetscInt_FMT " (ID %llu); checkpoint saved in %s: run the same command again to resume", sig, sig == SIGTERM ? "SIGTERM" : sig == SIGUSR1 ? "SIGUSR1" : "?", t + 1, (unsigned long long)L->tid[t + 1], a->ckpt_dir);
  }
  PetscFunctionReturn(0);
}

/* One train: read, the per-train step, an unreadable train, a checkpoint. *ierr: stop. */
static PetscErrorCode LoopTrain(MxAnalyze a, MxLoop *L, PetscInt t, PetscErrorCode *ierr)
{
  MxTrainBuf    *T  = NULL;
  PetscErrorCode le = 0;
  int            unreadable, votes, vote;
  PetscLogDouble c0, c1;

  PetscFunctionBeginUser;
  if (a->drop[t]) { /* an intensity or XGM outlier: not used, and no neighbour of anything */
    PetscCall(MxEngineBreak(a->eng, t));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscLogEventBegin(MX_AN_TRAIN, 0, 0, 0, 0));
  PetscCall(PetscTime(&c0));
  PetscCall(LoopRead(a, L, t, &T, &le));
  PetscCall(PetscTime(&c1));
  if (le) {
    PetscCall(MxEngineRelease(a->eng, T));
    T     = NULL;
    *ierr = le;
  }
  /* the block checkpoints together: on a signal, at the interval, or every N trains */
  vote = a->ckpt_dir[0] && (MxAnalyzeSignalPending() || (a->ckpt_interval > 0 && MPI_Wtime() - L->last_ckpt > a->ckpt_interval) || (a->ckpt_every > 0 && (t - L->lo + 1) % a->ckpt_every == 0)) ? 1 : 0;
  MxEngineTrain in = {t, L->tid[t], T, vote};
  PetscCall(MxEngineStep(a->eng, &in, &unreadable, &votes));
  PetscCall(PetscLogEventEnd(MX_AN_TRAIN, 0, 0, 0, 0));
  a->t_read += c1 - c0;
  *a->nread += 1;
  if (unreadable && !L->strict) {
    /* train t could not be read (a corrupted chunk, a read error) on some rank of the block:
       dropped like an outlier (no neighbour of anything), counted, listed and reported */
    if (le && t >= L->t0 && t < L->t1) PetscCall(PetscFPrintf(PETSC_COMM_SELF, stderr, "mxpcs analyze: warning: %s; train dropped (-strict makes this an error)\n", MxErrorMessage(NULL)));
    if (le) MxErrorClear();
    *ierr = 0;
    if (L->ipart == 0 && t >= L->t0 && t < L->t1) a->unread[t] = 1;
    PetscCall(MxEngineBreak(a->eng, t));
    PetscFunctionReturn(0);
  }
  if (unreadable) {
    if (!*ierr) *ierr = PETSC_ERR_LIB; /* another rank of the block failed; its message wins below */
    PetscFunctionReturn(0);
  }
  if (!L->rank) Progress(a, PetscMin(t + 1, L->t1) - L->t0, L->t1 - L->t0, L->tstart, PETSC_FALSE);
  if (votes > 0 && t + 1 < L->hi) PetscCall(LoopCheckpoint(a, L, t, ierr));
  PetscFunctionReturn(0);
}

/* Phase "reduce": the sums over train blocks (the table), the mean image, the counters. */
static PetscErrorCode ReducePhase(MxAnalyze a)
{
  const double *used;
  PetscMPIInt   rank;

  PetscFunctionBeginUser;
  MPI_Comm_rank(a->comm, &rank);
  PetscCall(PetscLogEventBegin(MX_AN_REDUCE, 0, 0, 0, 0));
  PetscCall(MxEngineReduce(a->eng));
  PetscCall(MxAnalyzeImageReduce(a));
  MxDetCorrFlush(a->dc, (MxDetCorrStats *)a->dc_acc); /* a stream's trains (prepared without reads) */
  PetscCall(MxDetCorrStatsReduce((const MxDetCorrStats *)a->dc_acc, a->comm, &a->dc_stats));
  PetscCall(PetscLogEventEnd(MX_AN_REDUCE, 0, 0, 0, 0));
  PetscCall(MxEngineGetCounts(a->eng, &a->ntrains_used, &a->nleft_noneighbour));
  PetscCall(MxEngineGetTimes(a->eng, &a->t_corr, &a->t_comm, &a->t_kernel, &a->flops));
  { /* NaN/inf pixel values that no mask flags: masked, counted, reported; an error with -strict */
    const char *dir = a->stream_ident;
    if (!a->stream) PetscCall(MxReaderGetLastNonFinite(a->reader, NULL, NULL, &dir));
    PetscCheck(!a->strict || *a->nnonfinite == 0, a->comm, PETSC_ERR_FILE_UNEXPECTED, "run %s: %.0f pixel values are NaN or inf where the mask does not flag them (-strict; without it they are masked, counted and reported)", dir, *a->nnonfinite);
  }
  a->nunread = 0;
  for (PetscInt t = 0; t < a->run.ntr; t++) a->nunread += a->unread[t] > 0;
  PetscCall(MxEngineGetUsed(a->eng, &used));
  if (!rank) {
    PetscCall(PetscFree(a->train_ids_used));
    PetscCall(PetscMalloc1(a->run.ntr + 1, &a->train_ids_used));
    a->ntrain_ids_used = 0;
    for (PetscInt t = 0; t < a->run.ntr; t++)
      if (used[t] > 0) a->train_ids_used[a->ntrain_ids_used++] = a->run.tid[t];
  }
  PetscCallMPI(MPI_Bcast(&a->ntrains_used, 1, MPI_DOUBLE, 0, a->comm));
  PetscCheck(a->ntrains_used > 0, a->comm, PETSC_ERR_ARG_WRONGSTATE, "analyze: no train could be used (%g left out without a neighbouring train; -corr_xc 0 uses trains without neighbours)", a->nleft_noneighbour);
  PetscFunctionReturn(0);
}

/* Phase "results": rank 0 fits, the other ranks take their share of the jackknife's groups;
   every rank learns what the writer needs. */
static PetscErrorCode ResultsPhase(MxAnalyze a)
{
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  MPI_Comm_rank(a->comm, &rank);
  if (!rank) PetscCall(MxAnalyzeResults(a));
  else PetscCall(MxAnalyzeJackknifeShare(a));
  PetscInt ne[3] = {a->nring_empty, a->nring, a->jk_groups_used};
  PetscCallMPI(MPI_Bcast(ne, 3, MPIU_INT, 0, a->comm));
  a->nring_empty    = ne[0];
  a->jk_groups_used = ne[2]; /* the shape of /xpcs/fit/gamma_jackknife, which every rank writes */
  PetscCheck(ne[0] < ne[1], a->comm, PETSC_ERR_ARG_WRONGSTATE, "analyze: every q-ring has zero mean intensity in some frame (no photons): wrong -rings_q_min/-rings_q_max for this run, -reader_adu_per_photon too large, or no X-rays");
  PetscCheck(!ne[0] || !a->strict, a->comm, PETSC_ERR_ARG_WRONGSTATE, "analyze: %" PetscInt_FMT " q-ring(s) have zero mean intensity in some frame (no photons) (-strict)", ne[0]);
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeStreamResults(MxAnalyze a, PetscInt nseen, PetscBool final)
{
  PetscFunctionBeginUser;
  PetscCheck(a->stream, a->comm, PETSC_ERR_ARG_WRONGSTATE, "analyze: not set up for a stream");
  if (final) {
    PetscCall(MxEngineFinish(a->eng)); /* the last train has no successor */
    /* the final fits from a fresh fitter, as analyze's: a TAO that solved the updates' fits
       keeps state (BRGN's subsolver) that moves where a fit stops within -fit_xtol */
    PetscCall(MxG2FitDestroy(&a->fit));
    PetscCall(MxG2FitCreate(PETSC_COMM_SELF, &a->fit));
    PetscCall(MxG2FitSetFromOptions(a->fit));
  }
  a->run.ntr = nseen;
  /* one train block: only rank 0 folds, so the reduction to rank 0 can be repeated */
  PetscCall(ReducePhase(a));
  PetscCall(ResultsPhase(a));
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeGetEngine(MxAnalyze a, MxEngine *e)
{
  PetscFunctionBeginUser;
  *e = a->eng;
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeGetPixelRanges(MxAnalyze a, int *n, const MxRowRange **ranges)
{
  PetscFunctionBeginUser;
  *n      = a->nranges;
  *ranges = a->ranges;
  PetscFunctionReturn(0);
}

/* The run: filters, resume, the train loop, the reductions, the results. */
PetscErrorCode MxAnalyzeApply(MxAnalyze a)
{
  MxLoop         L    = {0};
  PetscErrorCode ierr = 0;

  PetscFunctionBeginUser;
  PetscCall(MxAnalyzeSetUp(a));
  L.tstart = L.last_ckpt = MPI_Wtime();
  L.pending              = -1;
  MPI_Comm_rank(a->comm, &L.rank);
  PetscCheck(!a->stream, a->comm, PETSC_ERR_ARG_WRONGSTATE, "analyze: set up for a stream; its trains go through MxEngineStep");
  L.t0     = a->run.t0;
  L.t1     = a->run.t1;
  L.ntr    = a->run.ntr;
  L.tid    = a->run.tid;
  L.ipart  = a->run.ipart;
  L.strict = a->strict;
  PetscCall(MxAnalyzeFilterTrains(a));
  /* this block's trains plus one halo train on each side: the cross terms need no messages */
  L.lo = PetscMax(L.t0 - 1, 0);
  L.hi = PetscMin(L.t1 + 1, L.ntr);
  if (L.t0 >= L.t1) L.lo = L.hi = 0; /* more train blocks than trains */
  PetscCall(LoopResume(a, &L, &ierr));
  for (PetscInt t = L.lo; t < L.hi && !ierr; t++) PetscCall(LoopTrain(a, &L, t, &ierr));
  if (L.pending >= 0 && !L.pending_err) (void)MxReaderReadEnd(a->reader); /* stopped early: the read in flight ends first */
  MxDetCorrFlush(a->dc, NULL);
  if (a->ckpt_dir[0]) MxAnalyzeSignalsRestore();
  if (!ierr) PetscCall(MxEngineFinish(a->eng)); /* the last train has no successor in the run */
  if (!L.rank) Progress(a, L.t1 - L.t0, L.t1 - L.t0, L.tstart, PETSC_TRUE);
  PetscCall(MxErrorSync(a->comm, ierr));
  PetscCall(ReducePhase(a));
  PetscCall(ResultsPhase(a));
  a->t_total = MPI_Wtime() - L.tstart;
  if (a->bench) PetscCall(MxAnalyzeBench(a));
  PetscFunctionReturn(0);
}
