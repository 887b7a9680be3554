/* Private state of MxEngine (include/mxpcs/engine.h). */
#pragma once
#include <mxpcs/engine.h>

#define MX_ACC_MAX 40

typedef struct {
  char        name[24];
  double    **p; /* the owner's pointer: the table allocates and frees *p */
  size_t      n;
  MxAccReduce reduce;
  PetscBool   ckpt;
} MxAccEntry;

struct _p_MxEngine {
  MPI_Comm  comm, pix_comm; /* not owned */
  PetscInt  nf, nring, nwin, win_len, jk, ndose, block, saxs_nbins, ntr, t0, t1;
  const PetscInt *dose_bin;
  PetscBool xc, part0;
  size_t    npix;
  int      *ring_off, *ring_pix, *win_start;
  int       ldmax;             /* most pixels of a ring on this rank */
  int      *rpos, *rdst;       /* the ring pixels by position (ascending) and their index in ring_pix */
  float    *corr;              /* npix */
  void    (*correct)(void *ctx, PetscInt f, size_t off, size_t n, float *v, unsigned char *b);
  void     *correct_ctx;
  double    noise_var, shot_noise;
  size_t    nsaxs;
  int      *saxs_pix, *saxs_pb; /* the pixels with a SAXS bin (memory order) and their bins */
  double   *saxs_acc;          /* the main thread's SAXS scratch */
  int       saxs_nr;           /* SAXS frame blocks the next preparation does (MxEngineBalance) */
  /* the per-train buffer reduced over pix_comm */
  size_t    nring_sums, ncross, nsx, total;
  double   *buf, *Xcur, *C, *XCt;
  float    *A, *B, *work;
  int      *list;
  MxTrainBuf tb[3], *prev;
  /* the frames (data, bad) of at most two trains at a time: the one being read and the one the
     step correlates; the previous train keeps only its ring pixels and valid flags */
  float         *slab_data[2];
  unsigned char *slab_bad[2];
  int            slab_used[2];
  /* between trains */
  int       have_prev, have_Xprev;
  PetscInt  prev_t;
  uint64_t  prev_id;
  /* the accumulator table and its arrays */
  int        nacc;
  MxAccEntry acc[MX_ACC_MAX];
  double    *sumC, *sumCraw, *sumXC;  /* nring x nf x nf */
  double    *g2sum, *g2sq;            /* nring x nwin x ntau */
  double    *g2t_sum, *g2t_sq;        /* nring x (nf - 1) */
  double    *bsum, *bsq;              /* nring */
  double    *jk_g2, *jk_b, *jk_n;     /* jk x (nring x nwin x ntau), jk x nring, jk */
  double    *dose_g2, *dose_g2sq, *dose_b, *dose_n; /* ndose x (nring x nwin x ntau) twice, ndose x nring, ndose */
  double    *saxs, *saxs_run;         /* nbins x nf x 3, nbins x 3 */
  double    *img_sum, *img_n;         /* npix */
  uint64_t   img_ver;                 /* own trains summed into img_sum (changed otherwise: + 1 too) */
  const double *rimg;                 /* npix: the reader's running image (MxEngineRangeHook), after rimg_ver own trains: the last own train's T->img, or rimg_buf */
  double    *rimg_buf;
  uint64_t   rimg_ver;
  double    *used;                    /* ntr */
  double    *counts;                  /* trains used, trains left out without a neighbour */
  double    *rs_prev, *Xprev;         /* the previous train's ring sums and its cross term with the one before */
  /* timing */
  double t_corr, t_comm, t_kernel, flops;
};
