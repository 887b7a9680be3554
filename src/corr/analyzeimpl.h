/* Private state of MxAnalyze. */
#pragma once
#include <mxpcs/analyze.h>
#include <mxpcs/corr.h>
#include <mxpcs/g2fit.h>

/* Per-train ring sums over the pixels of this rank's part (then over the train block). */
typedef struct {
  double *N;    /* nring */
  double *s1;   /* nring * nf */
  double *gram; /* nring * nf * nf */
} MxRingSums;

struct _p_MxAnalyze {
  MPI_Comm  comm;
  MxReader  reader;
  MxGeom    geom;
  MxRings   rings;
  MxG2Fit   fit;
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
  int        *saxs_pix, *saxs_pb; /* nsaxs: the pixels with a SAXS bin (memory order) and their bins */
  size_t      nsaxs;
  double     *saxs_acc;    /* the main thread's SAXS scratch (nbins x 16 per frame block); weights and counts live in the train buffers */
  float      *corr;        /* npix: 1/(relative solid angle x polarisation) */
  /* windows */
  PetscInt nwin, *win_start;
  /* accumulators over trains (train-block sums; reduced at the end) */
  double  *sumC, *sumCraw, *sumXC;   /* nring * nf * nf */
  double  *g2sum, *g2sq;             /* nring * nwin * ntau */
  double  *g2t_sum, *g2t_sq;         /* nring * (nf - 1): g2 over the whole train, lags 1..nf-1 */
  double  *bsum, *bsq;               /* nring: contrast per train */
  PetscInt jk;                       /* jackknife groups (train index mod jk); < 2: errors from the fits */
  double  *jk_g2, *jk_b, *jk_n;      /* per group: g2 sums (jk * ng), contrast sums (jk * nring), trains (jk) */
  double   ntrains_used, nleft_out, nleft_noneighbour;
  double  *unread;                   /* ntrains: 1 where this block's train could not be read (dropped) */
  double   nunread;                  /* rank 0 after the reduction: how many */
  double   nnonfinite;               /* NaN/inf pixel values no mask flags, in this block's trains (masked) */
  double  *saxs;                     /* nbins * nf * 3: sum I, sum I^2, count (pixel-frames) */
  double  *saxs_run;                 /* nbins * 3 over the run, per pixel-train means */
  double  *img_sum, *img_n;          /* npix: photons and frames of each pixel read (trains of this block) */
  float   *image;                    /* rank 0: nmod x MX_MODPIX mean photons/pixel/pulse (NaN: never valid) */
  PetscInt nimg_mod, img_mod[MX_NMOD];
  /* results (rank 0 after Apply) */
  double *C, *Craw, *XC, *g2, *g2err, *beta, *beta_err, *q, *qedges;
  double *g2t, *g2t_err; /* nring * (nf - 1): g2 over the whole train and its error */
  PetscInt *npix_ring;
  double *gam, *gam_err, *gam0, *gam0_err, *Deff, *Deff_err, Deff_mean, Deff_mean_err;
  double *gam_err_fit, *gam0_err_fit, Deff_mean_err_fit; /* the errors the fits propagate */
  PetscInt jk_groups_used, jk_fallback;                  /* groups in the jackknife; rings left with fit errors */
  double  *gamJ;                                         /* jk_groups_used x nring x nwin: Gamma of each group-deleted sample */
  double *saxs_q, *saxs_I, *saxs_err, *saxs_Ip, *saxs_Ip_err;
  uint64_t *train_ids_used;
  PetscInt  ntrain_ids_used;
  double    t_read, t_corr, t_comm, t_total, t_kernel, flops;
  PetscInt  ntrains_read;
  PetscBool bench;
  PetscReal filter_sigma;   /* drop trains whose intensity is an outlier (robust sigmas; 0: off) */
  char     *drop;           /* ntrains: 1 = dropped as an intensity outlier, 2 = by the XGM */
  PetscInt  ndrop;
  /* XGM per-pulse energy filter */
  char      xgm[PETSC_MAX_PATH_LEN], xgm_source[256], xgm_used[PETSC_MAX_PATH_LEN];
  PetscReal xgm_min_frac, xgm_sigma;
  PetscInt  xgm_offset, ndrop_xgm, nxgm_missing;
  double   *xgm_mean;       /* nf: mean pulse energy (uJ) over the trains kept, or NULL */
  PetscInt  extrap_order; /* 1 linear, 2 quadratic in age */
  /* checkpoint / restart (src/corr/checkpoint.c) */
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
};

/* What the train loop carries from one train to the next (besides the accumulators). */
typedef struct {
  PetscInt t_next;          /* first train still to read */
  int      have_prev, have_Xprev;
  double  *rs_prev, *Xprev, *used; /* not owned */
  PetscInt ntr;
  size_t   nring_sums;
} MxAnalyzeLoopState;

void           MxAnalyzeSignalsInstall(void);
void           MxAnalyzeSignalsRestore(void);
int            MxAnalyzeSignalPending(void);
void           MxAnalyzeTestPause(const char fifo[]);
PetscErrorCode MxAnalyzeCheckpointHash(MxAnalyze a, uint64_t *hash);
PetscErrorCode MxAnalyzeCheckpointSave(MxAnalyze a, MxAnalyzeLoopState *s);
PetscErrorCode MxAnalyzeCheckpointLoad(MxAnalyze a, MxAnalyzeLoopState *s, PetscBool *found);

/* Means over trains, errors, fits and the zero-age extrapolation (rank 0, after the reduction). */
PetscErrorCode MxAnalyzeResults(MxAnalyze a);
/* SAXS bin of every detector pixel, -1 where none (src/corr/analyze.c). Every rank. */
PetscErrorCode MxAnalyzeStaticBins(MxAnalyze a, int *bin);
extern PetscLogEvent MX_AN_FIT;
PetscErrorCode MxAnalyzeBench(MxAnalyze a);
