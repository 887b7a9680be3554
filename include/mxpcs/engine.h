/* MxEngine: the per-train step of analyze (design.md 1.2-1.5; seed paper, Methods "Correlation
   analysis"). A source (the run's files today, a Karabo bridge stream for the online mode, a unit
   test's synthetic frames) hands it one train's frames of this rank's pixels at a time; the step
   folds the train into the sums over trains: ring sums and Gram matrices, the cross term with the
   previous train (the neighbour-train correction), the per-train g2, contrast and SAXS, the mean
   image. A train is complete once its successor's cross term is known, so the step closes the
   previous train. The sums live in one accumulator table that allocates, reduces, checkpoints and
   frees them.

   Ranks: the engine lives on `comm` (all ranks of the analysis, sums reduced to its rank 0) and
   sums each train over `pix_comm` (the ranks holding the other pixel parts of the same trains). */
#pragma once
#include <petscsys.h>
#include <stdint.h>

typedef struct _p_MxEngine *MxEngine;

/* What the engine needs to know of the analysis: the layout of this rank's pixels and rings,
   the age windows and the options of the correlation. Arrays are copied. */
typedef struct {
  PetscInt        nf;         /* frames per train (>= 2) */
  size_t          npix;       /* pixels per frame of this rank's part */
  PetscInt        nring;      /* q-rings */
  const int      *ring_off;   /* nring + 1 offsets into ring_pix */
  const int      *ring_pix;   /* the local pixel index of each ring pixel, ring after ring */
  PetscInt        nwin;       /* age windows of g2 */
  PetscInt        win_len;    /* pulses per window (lags 1 .. win_len - 1) */
  const PetscInt *win_start;  /* nwin: first pulse of each window */
  PetscBool       xc;         /* subtract the neighbour-train cross term XC */
  PetscInt        jk;         /* jackknife groups (train index mod jk); < 2: none */
  PetscInt        ndose;      /* dose groups (trains grouped by XGM pulse energy); 0: none */
  const PetscInt *dose_bin;   /* ntrains: each train's dose group, -1: none (filled before the trains run) */
  PetscInt        block;      /* pixels per BLAS-3 block of the Gram products */
  PetscInt        saxs_nbins; /* SAXS bins (>= 1) */
  const int      *saxs_bin;   /* npix: SAXS bin of each pixel, -1: none */
  const float    *corr;       /* npix: intensity correction 1/(solid angle x polarisation), 0: none */
  PetscInt        ntrains;    /* train indices of the run: 0 .. ntrains - 1 */
  PetscInt        t0, t1;     /* this rank's own trains [t0, t1); others it sees are halo trains */
  PetscBool       part0;      /* this rank holds its train block's sums (pixel part 0) */
  /* the detector corrections of each frame's values as they come in, before anything else sees
     them (MxDetCorrFrame; NULL: none): may change values and flag pixels bad in place */
  void (*correct)(void *ctx, PetscInt f, size_t off, size_t n, float *v, unsigned char *b);
  void *correct_ctx;
  double noise_var; /* photons^2 of electronic noise in continuous (not photonised) values: taken out of the contrast (0: none) */
  double shot_noise; /* a photon's shot noise R in those values, R N/s1 taken out of the contrast (0 or 1: photon counts) */
} MxEngineSpec;

/* One train's frames of this rank's pixels (row-major nf x npix) and what the step prepares of
   them. A source fills data and bad (1: bad pixel in that frame); the rest is the engine's. */
typedef struct {
  float         *data;        /* nf x npix (from MxEngineAcquire until the step has used it) */
  unsigned char *bad;         /* nf x npix (likewise) */
  unsigned char *valid;       /* npix: good in every frame */
  float         *ring;        /* nf x ring pixels: each frame's ring pixels, gathered */
  double        *sx;          /* saxs_nbins x nf x 2: the train's SAXS sums and counts */
  float         *w;           /* SAXS pixels' weights in this train (0: not valid) */
  double        *cnt;         /* saxs_nbins: valid pixels per bin */
  double        *acc;         /* SAXS scratch of the thread preparing the train */
  MxEngine       e;           /* not owned */
  int            prepared;    /* frames and train prepared (by the reader's hooks or MxEnginePrepare) */
  int            saxs_nr;     /* SAXS frame blocks the preparation did (the step does the rest) */
  int            in_use;
  int            slab;        /* the engine's frame slab holding data and bad (-1: none) */
  PetscInt       t;           /* the train's index in the run (the source sets it before the read; MxEngineRangeHook) */
  int            ranged;      /* prepared range by range (MxEngineRangeHook, MxEngineChainHook): SAXS blocks [0, saxs_nr) done, and img the image */
  int            own;         /* t is one of this rank's own trains */
  double        *img;         /* npix: the mean image's sums after this train, when ranged and own (img_n: the step) */
  uint64_t       img_base;    /* the number of own trains summed into the image img started from */
} MxTrainBuf;

PetscErrorCode MxEngineCreate(MPI_Comm comm, MPI_Comm pix_comm, const MxEngineSpec *spec, MxEngine *e);
PetscErrorCode MxEngineDestroy(MxEngine *e);

/* A free train buffer for the source to fill (three exist: the train being read ahead, the one
   being correlated and the previous one, which waits for its successor). Not collective. */
PetscErrorCode MxEngineAcquire(MxEngine e, MxTrainBuf **T);
/* Give a buffer back unused (a failed read). NULL is fine. */
PetscErrorCode MxEngineRelease(MxEngine e, MxTrainBuf *T);
/* Preparation, as a reader thread's hooks (no MPI, HDF5 or PETSc calls; ctx is the MxTrainBuf):
   per frame, the rows [off, off + n) of frame f as soon as they are in; per train, once all are in. */
void MxEngineFrameHook(void *ctx, PetscInt f, size_t off, size_t n, float *v, unsigned char *b);
void MxEngineTrainHook(void *ctx, const float *data, const unsigned char *bad);
/* Before a train is read into T: its index t, and whether the reader prepares it range by range
   with the two hooks below (MxReaderHooks.range and .chain, MxEngineChains(T) chains); cache: the
   frames are gone after the chains' hooks (MxReaderHooks.cache), so the chains take every SAXS
   block. The range hook, once a range's frames are in and while they are still in the cache: the
   range's SAXS weights and its pixels of the mean image, which runs on ahead of the step (the
   sums after the previous own train the reader prepared, plus this train's frames; the step
   takes them, the same bits). The chain hook c: SAXS frame block c of the range; each chain's
   ranges in order. v, ld: frame f of pixel off + i at v[f * ld + i]. */
void MxEngineBeginTrain(MxEngine e, MxTrainBuf *T, PetscInt t, PetscBool ranged, PetscBool cache);
int  MxEngineChains(MxTrainBuf *T);
void MxEngineRangeHook(void *ctx, size_t off, size_t n, const float *v, size_t ld);
void MxEngineChainHook(void *ctx, size_t off, size_t n, int c, const float *v, size_t ld);
/* After a read, before the next one starts (no read running): T, the train just read and not yet
   stepped (or NULL). Puts the reader's running image back on the step's when they parted (a
   train read but never stepped); *reread: T's image was summed on from such a train, so T must
   be read again (MxDetCorr's counts of the first read dropped) before it is stepped. */
PetscErrorCode MxEngineSync(MxEngine e, MxTrainBuf *T, PetscBool *reread);
/* The same for a source without hooks: the whole train at once. Not collective. */
PetscErrorCode MxEnginePrepare(MxEngine e, MxTrainBuf *T);
/* After a read ahead on the reader thread: how long the caller waited for it. Moves a share of
   the preparation (SAXS frame blocks) to the caller when it waited, back when it did not, for
   the trains read from now on; results do not depend on it. Call only while no read is running. */
void MxEngineBalance(MxEngine e, double waited_s);

/* One train into the step. */
typedef struct {
  PetscInt    t;    /* index of the train in the run */
  uint64_t    id;   /* its train ID: a gap in the IDs breaks the neighbour pair */
  MxTrainBuf *T;    /* its prepared frames, or NULL when this rank could not read them */
  int         vote; /* summed over pix_comm with the train's sums (e.g. "checkpoint now") */
} MxEngineTrain;
/* Fold train `in` into the sums and close the previous train. When some rank of the block could
   not read it (*unreadable > 0), nothing is folded: the caller reports it and calls
   MxEngineBreak, or stops. *votes: the sum of the votes. Collective on pix_comm. */
PetscErrorCode MxEngineStep(MxEngine e, const MxEngineTrain *in, int *unreadable, int *votes);
/* Train t is not used (dropped by a filter, unreadable): the previous train closes without a
   successor and t is no neighbour of anything. Not collective. */
PetscErrorCode MxEngineBreak(MxEngine e, PetscInt t);
/* The end of the source: the last train closes without a successor. Not collective. */
PetscErrorCode MxEngineFinish(MxEngine e);
/* Sums over all trains to rank 0 of comm (the table's reductions). Collective. */
PetscErrorCode MxEngineReduce(MxEngine e);

/* Rank 0 after MxEngineReduce: the means over the trains used and their errors (the spread of
   the per-train values / sqrt(n)). Arrays: C, Craw, XC nring x nf x nf; g2, g2_err nring x nwin
   x (win_len - 1) (g2, not g2 - 1); g2t, g2t_err nring x (nf - 1) (the whole train); beta,
   beta_err nring. Any may be NULL. */
PetscErrorCode MxEngineGetMeans(MxEngine e, double *C, double *Craw, double *XC, double *g2, double *g2_err, double *g2t, double *g2t_err, double *beta, double *beta_err);
/* Rank 0 after MxEngineReduce: trains used, trains left out without a neighbour. */
PetscErrorCode MxEngineGetCounts(MxEngine e, double *nused, double *nnoneighbour);
/* The jackknife sums (rank 0 after the reduction): per group the g2 - 1 sums (jk x nring x nwin
   x ntau), contrast sums (jk x nring) and trains (jk); NULL when jk < 2. */
/* The dose groups' sums (rank 0 after the reduction): per group the g2 - 1 sums and squares
   (ndose x nring x nwin x ntau), contrast sums (ndose x nring) and trains (ndose); 0 and NULL
   when off. */
PetscErrorCode MxEngineGetDose(MxEngine e, PetscInt *ndose, const double **g2grp, const double **g2sqgrp, const double **bgrp, const double **ngrp);
PetscErrorCode MxEngineGetJackknife(MxEngine e, PetscInt *jk, const double **g2sum, const double **g2grp, const double **bsum, const double **bgrp, const double **ngrp);
/* SAXS sums (rank 0 after the reduction): per bin and pulse (sum of per-train means, of their
   squares, trains) saxs_nbins x nf x 3, and per bin over the run saxs_nbins x 3. */
PetscErrorCode MxEngineGetSaxs(MxEngine e, const double **per_pulse, const double **run);
/* This rank's mean-image sums (not reduced): photons and frames of each local pixel. */
PetscErrorCode MxEngineGetImage(MxEngine e, const double **img_sum, const double **img_n);
/* Which trains were used (rank 0 after the reduction; ntrains entries, > 0: used). */
PetscErrorCode MxEngineGetUsed(MxEngine e, const double **used);
/* Time in the local sums, the reductions and the BLAS kernels, and the kernels' flops. */
PetscErrorCode MxEngineGetTimes(MxEngine e, double *t_corr, double *t_comm, double *t_kernel, double *flops);

/* The accumulator table: one entry per array summed over trains or carried between trains.
   MX_ACC_ROOT: summed to rank 0 of comm; MX_ACC_ALL: summed on every rank; MX_ACC_LOCAL: not
   reduced. ckpt: saved in checkpoints. Callers may add their own (zeroed) arrays. */
typedef enum { MX_ACC_LOCAL, MX_ACC_ROOT, MX_ACC_ALL } MxAccReduce;
PetscErrorCode MxEngineAccumAdd(MxEngine e, const char name[], size_t n, MxAccReduce reduce, PetscBool ckpt, double **p);
/* The checkpointed entries in table order (the checkpoint's layout), and a signature of their
   names and sizes (part of the checkpoint's hash). */
PetscErrorCode MxEngineCheckpointBlocks(MxEngine e, int *nb, double **p, size_t *n, int max);
uint64_t       MxEngineSignature(MxEngine e, uint64_t h);
/* The state between trains that a checkpoint stores besides the table. */
typedef struct {
  int      have_prev, have_Xprev;
  PetscInt prev_t;
  uint64_t prev_id;
} MxEngineState;
PetscErrorCode MxEngineGetState(MxEngine e, MxEngineState *s);
/* Resume after a checkpoint: the state, and the previous train's frames re-read into T (NULL
   when the state has no previous train). Not collective. */
PetscErrorCode MxEngineResume(MxEngine e, const MxEngineState *s, MxTrainBuf *T);
