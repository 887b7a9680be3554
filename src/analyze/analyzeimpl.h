/* Private state of MxAnalyze. */
#pragma once
#include <mxpcs/heating.h>
#include <mxpcs/g2age.h>
#include <mxpcs/analyze.h>
#include <mxpcs/corr.h>
#include <mxpcs/g2fit.h>
#include <mxpcs/engine.h>
#include <mxpcs/detcorr.h>

/* The run as analyze sees it: from the reader (files) or from the first streamed train. */
typedef struct {
  PetscInt             nmod, mods[MX_NMOD]; /* modules with data */
  const unsigned char *umask;               /* user mask (16 x 512 x 128, nonzero = bad) or NULL; not owned */
  PetscInt             nf;                  /* frames per train */
  const uint64_t      *pid;                 /* nf pulse IDs; not owned */
  MPI_Comm             pix_comm;            /* the ranks sharing this rank's trains; not owned */
  PetscInt             ipart, nparts, t0, t1;
  PetscInt             ntr;                 /* trains of the run (a stream: its capacity) */
  const uint64_t      *tid;                 /* their IDs (a stream: those seen so far); not owned */
} MxRunShape;

struct _p_MxAnalyze {
  MPI_Comm  comm;
  MxReader  reader;
  MxGeom    geom;
  MxRings   rings;
  MxG2Fit   fit;
  MxDetCorr dc;           /* detector corrections of each frame (common mode, photons, spikes) */
  unsigned char *ring_flag; /* npix: 1 for ring pixels (the corrections' photon histogram) */
  MxDetCorrStats dc_probe; /* the first train of each rank's block, corrected, summed over the ranks */
  MxDetCorrStats dc_stats; /* the run's, summed over the ranks (after the reduction) */
  double        *dc_acc;   /* this rank's sums (an MxDetCorrStats), in the checkpointed table; table-owned */
  double    dc_noise_var;  /* photons^2: electronic noise taken out of the contrast of continuous values (0: none) */
  double    shot_noise;    /* -corr_shot_noise R: a photon's shot noise in continuous values, R N/s1 taken out of the contrast (1: photon counts) */
  MxRunShape run;
  PetscBool stream;      /* the trains come from a stream (mxpcs online), not from the reader */
  char      stream_ident[PETSC_MAX_PATH_LEN], stream_start[32];
  PetscBool setup, xc, progress;
  PetscInt  win_len, win_step, block, saxs_nbins;
  PetscReal saxs_qmin, saxs_qmax, dt_s;
  PetscReal count_time; /* s, exposure of one frame (written as NXdetector count_time) */

  /* this rank's pixels */
  int         nranges;
  MxRowRange *ranges;
  size_t      npix;        /* pixels per frame read */
  PetscInt    nring, nf;   /* rings kept, frames per train */
  int        *ring_off;    /* nring+1: offsets into ring_pix */
  int        *ring_pix;    /* local pixel index of each ring pixel */
  int        *saxs_bin;    /* npix: SAXS bin or -1 */
  float      *corr;        /* npix: 1/(relative solid angle x polarisation) */
  /* windows */
  PetscInt nwin, *win_start;
  PetscInt jk;                       /* jackknife groups (train index mod jk); < 2: errors from the fits */
  /* the per-train step and its accumulators (src/analyze/engine.c) */
  MxEngine eng;
  double   ntrains_used, nleft_noneighbour; /* rank 0, then every rank, after the reduction */
  double  *unread;                   /* ntrains: 1 where this block's train could not be read (dropped); table-owned */
  double   nunread;                  /* after the reduction: how many */
  double  *nnonfinite;               /* NaN/inf pixel values no mask flags, in this block's trains (masked); table-owned */
  double  *nread;                    /* trains this rank has read; table-owned */
  float   *image;                    /* rank 0: nmod x MX_MODPIX mean photons/pixel/pulse (NaN: never valid) */
  PetscInt nimg_mod, img_mod[MX_NMOD];
  /* results (rank 0 after Apply) */
  double *C, *Craw, *XC, *g2, *g2err, *beta, *beta_err, *q, *qedges;
  double *q_eff;   /* nring: the q of D_eff (-fit_q_eff: intensity^2-weighted rms q of the ring; else q) */
  PetscBool q_eff_on;
  double *g2t, *g2t_err; /* nring * (nf - 1): g2 over the whole train and its error */
  PetscInt *npix_ring;
  double *gam, *gam_err, *gam0, *gam0_err, *Deff, *Deff_err, Deff_mean, Deff_mean_err;
  double *gam_err_fit, *gam0_err_fit, Deff_mean_err_fit; /* the errors the fits propagate */
  double *beta_icpt, *beta_icpt_err;                     /* the contrast as the g2 fits' intercept */
  double *hetero, *beta_sp, *beta_sp_err;                /* F, the spread of I(q) across each ring (RingsImageWeights); beta / F and its error (NaN without a mean image) */
  int    *beta_disagree;                                 /* per ring: diagonal and intercept differ by > 3 sigma */
  PetscInt nbeta_disagree;
  PetscInt jk_groups_used, jk_fallback;                  /* groups in the jackknife; rings left with fit errors */
  double  *gamJ;                                         /* jk_groups_used x nring x nwin: Gamma of each group-deleted sample */
  double *saxs_q, *saxs_I, *saxs_err, *saxs_Ip, *saxs_Ip_err;
  uint64_t *train_ids_used;
  PetscInt  ntrain_ids_used;
  double    t_read, t_corr, t_comm, t_total, t_kernel, flops;
  PetscBool bench;
  PetscReal filter_sigma;   /* drop trains whose intensity is an outlier (robust sigmas; 0: off) */
  char     *drop;           /* ntrains: 1 = dropped as an intensity outlier, 2 = by the XGM */
  PetscInt  ndrop;
  /* XGM per-pulse energy filter */
  char      xgm[PETSC_MAX_PATH_LEN], xgm_source[256], xgm_used[PETSC_MAX_PATH_LEN];
  PetscReal xgm_min_frac, xgm_sigma;
  PetscInt  xgm_offset, ndrop_xgm, nxgm_missing;
  double   *xgm_mean;       /* nf: mean pulse energy (uJ) over the trains kept, or NULL */
  PetscInt  extrap_order; /* MxExtrapolation (g2age.h) */
  /* -heating_*: the sample and beam of the heating model (heating.h) for -g2_extrapolation heating */
  MxHeatSample heat;
  PetscReal    heat_fwhm_um, heat_tau_us, heat_fluence, heat_energy_uJ;
  PetscBool    heat_arrhenius;
  double       heat_tauI_s, heat_per_fluence; /* tau_I used; dT_c0 per J/cm^2 of the composition */
  double       heat_dT0[2];                   /* the run's dT_c0 per pulse (fitted or fixed) and its error */
  double      *heat_hw;                       /* nwin: the model's h(age) at it */
  double       alt_Deff_mean[4], alt_Deff_mean_err[4]; /* D_eff_mean by each extrapolation (fit errors) */
  /* -g2_dose_bins: trains grouped by XGM pulse energy, fitted with the heating model together */
  PetscInt     ndose, *dose_bin;       /* groups; each train's group (-1: none) */
  double      *dose_rel;               /* ndose: mean pulse energy of the group / of the run */
  double      *dose_gam, *dose_gam_err; /* ndose x nring x nwin */
  double      *dose_gam0, *dose_gam0_err, dose_dT0[2], dose_Deff_mean[2], *dose_Gy; /* nring; ndose x nwin */
  double      *dose_n;                 /* ndose: trains used */
  /* checkpoint / restart (src/analyze/checkpoint.c) */
  char      ckpt_dir[PETSC_MAX_PATH_LEN];
  PetscReal ckpt_interval;  /* s between checkpoints (0: only on SIGTERM/SIGUSR1) */
  PetscInt  ckpt_every;     /* trains between checkpoints (0: off; for tests) */
  PetscBool ckpt_restart;   /* resume from a matching checkpoint */
  uint64_t  ckpt_hash;
  PetscInt  ckpt_saved;     /* train index the last checkpoint resumes at (-1: none) */
  PetscInt  resumed_at;     /* -1, or the train this rank resumed at */
  char      test_pause[PETSC_MAX_PATH_LEN]; /* tests: a FIFO each rank opens after its first checkpoint */
  char     *opts;           /* the options database as SetFromOptions saw it (provenance) */
  PetscInt  nring_empty;    /* rings whose two-time C is not finite: no photons in some frame */
  PetscBool strict;         /* -strict (read by the reader too): such a ring is an error */
  char     *ring_empty;     /* nring: 1 for those rings (rank 0) */
  PetscViewer       viewer;   /* -analyze_view, or NULL: standard output */
  PetscViewerFormat vformat;
  PetscBool         view_set;
  PetscBool         write_quiet;
};

/* What a checkpoint stores besides the accumulator table. */
typedef struct {
  PetscInt      t_next; /* first train still to read */
  MxEngineState eng;
} MxAnalyzeLoopState;

void           MxAnalyzeSignalsInstall(void);
void           MxAnalyzeSignalsRestore(void);
int            MxAnalyzeSignalPending(void);
void           MxAnalyzeTestPause(const char fifo[]);
PetscErrorCode MxAnalyzeCheckpointHash(MxAnalyze a, uint64_t *hash);
PetscErrorCode MxAnalyzeCheckpointSave(MxAnalyze a, MxAnalyzeLoopState *s);
PetscErrorCode MxAnalyzeCheckpointLoad(MxAnalyze a, MxAnalyzeLoopState *s, PetscBool *found);

/* Means over trains, errors, fits and the zero-age extrapolation (rank 0, after the reduction),
   while every other rank calls MxAnalyzeJackknifeShare: the jackknife's train groups are fitted
   on all ranks. */
PetscErrorCode MxAnalyzeResults(MxAnalyze a);
PetscErrorCode MxAnalyzeJackknifeShare(MxAnalyze a);

/* The SAXS unit (src/analyze/saxs.c): the bin of a pixel (-1: none), the bins of every detector
   pixel (16 x 512 x 128, every rank), the grid from the q range read (collective), and I(q) over
   the run and per pulse from the reduced sums (rank 0). */
int            MxAnalyzeSaxsBin(MxAnalyze a, const MxPixelGeom *pix, const unsigned char *umask, size_t g);
PetscErrorCode MxAnalyzeStaticBins(MxAnalyze a, int *bin);
PetscErrorCode MxAnalyzeSaxsGrid(MxAnalyze a, double qlo, double qhi);
PetscErrorCode MxAnalyzeSaxsResults(MxAnalyze a);

/* The train filters (src/analyze/filters.c): a->drop[t] = 1 for intensity outliers (a thin band
   of rows read first), 2 for the XGM's (dud pulses, outlying mean pulse energy). Collective. */
PetscErrorCode MxAnalyzeFilterTrains(MxAnalyze a);

/* The mean detector image (src/analyze/image.c): every rank's pixel sums into module images on
   rank 0 (a->image, a->img_mod). Collective. */
PetscErrorCode MxAnalyzeImageReduce(MxAnalyze a);
extern PetscLogEvent MX_AN_FIT, MX_AN_WRITE;
PetscErrorCode MxAnalyzeBench(MxAnalyze a);
