/* MxMDSq: S(k) of particle configurations from a cloud-in-cell density grid and a distributed
   real-to-complex 3-D FFT (FFTW3-MPI, x-slabs over the communicator), with the assignment window
   and the aliased shot noise removed (Jing 2005). See include/mxpcs/md.h. */
#include <mxpcs/md.h>
#include <fftw3-mpi.h>
#include <math.h>

/* Bridge FFTW's failure signal (a NULL plan) into a PetscErrorCode. */
#define MxFFTWCheckPlan(plan, comm, ...) \
  do { \
    if (!(plan)) SETERRQ((comm), PETSC_ERR_LIB, __VA_ARGS__); \
  } while (0)

struct _p_MxMDSq {
  MPI_Comm      comm;
  double        L, h, k_max;
  PetscInt      M, nbins;
  ptrdiff_t     local_n0, local_0_start, alloc;
  double       *grid;    /* local real slab, local_n0 x M x 2(M/2+1) */
  fftw_complex *fk;      /* local complex slab, local_n0 x M x (M/2+1) */
  fftw_plan     plan;
  PetscInt      nframes;
  double       *sum, *sum2, *qsum, *q, *S, *S_err; /* per shell; qsum, count: geometry */
  PetscInt     *count;
  double       *frame_sum; /* per-frame shell sums (local, then reduced) */
};

static PetscLogEvent MX_MD_SQ_FRAME;

PetscInt MxMDSqGoodSize(PetscInt m_min)
{
  for (PetscInt m = PetscMax(2, m_min + (m_min % 2));; m += 2) {
    PetscInt r = m;
    while (r % 2 == 0) r /= 2;
    while (r % 3 == 0) r /= 3;
    while (r % 5 == 0) r /= 5;
    if (r == 1) return m;
  }
}

PetscErrorCode MxMDSqCreate(MPI_Comm comm, double L, PetscInt M, double k_max, MxMDSq *out)
{
  MxMDSq    sq;
  ptrdiff_t n0;

  PetscFunctionBeginUser;
  PetscCall(MxLogEventRegisterOnce("MxMD", "MxMDSqFrame", &MX_MD_SQ_FRAME));
  PetscCheck(L > 0 && isfinite(L), comm, PETSC_ERR_ARG_OUTOFRANGE, "S(q) grid: box side %g must be > 0", L);
  PetscCheck(M >= 4 && M % 2 == 0 && M <= 1024, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_sq_grid: %" PetscInt_FMT " must be even, 4..1024", M);
  PetscCheck(k_max >= 1.5 * 2 * PETSC_PI / L, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_sq_qmax: %g is below 1.5 times the smallest wave number 2 pi/L = %g of the box", k_max, 2 * PETSC_PI / L);
  PetscCheck(k_max < PETSC_PI * M / L, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -md_sq_qmax: %g must stay below the grid's Nyquist wave number pi M/L = %g (raise -md_sq_grid)", k_max, PETSC_PI * M / L);
  fftw_mpi_init(); /* idempotent */
  PetscCall(PetscNew(&sq));
  sq->comm  = comm;
  sq->L     = L;
  sq->M     = M;
  sq->h     = L / M;
  sq->k_max = k_max;
  sq->nbins = (PetscInt)floor(k_max / (2 * PETSC_PI / L) - 0.5 + 1e-9); /* complete shells only */
  n0        = M;
  sq->alloc = fftw_mpi_local_size_3d(n0, n0, n0 / 2 + 1, comm, &sq->local_n0, &sq->local_0_start);
  if (sq->alloc < 1) sq->alloc = 1;
  sq->grid = fftw_alloc_real(2 * (size_t)sq->alloc);
  sq->fk   = fftw_alloc_complex((size_t)sq->alloc);
  PetscCheck(sq->grid && sq->fk, comm, PETSC_ERR_MEM, "S(q) grid: cannot allocate the %" PetscInt_FMT "^3 FFT grid", M);
  sq->plan = fftw_mpi_plan_dft_r2c_3d(n0, n0, n0, sq->grid, sq->fk, comm, FFTW_ESTIMATE); /* ESTIMATE: same plan, same bits every run */
  MxFFTWCheckPlan(sq->plan, comm, "S(q) grid: FFTW-MPI could not plan the %" PetscInt_FMT "^3 r2c transform", M);
  PetscCall(PetscCalloc4(sq->nbins, &sq->sum, sq->nbins, &sq->sum2, sq->nbins, &sq->qsum, sq->nbins, &sq->count));
  PetscCall(PetscCalloc3(sq->nbins, &sq->q, sq->nbins, &sq->S, sq->nbins, &sq->S_err));
  PetscCall(PetscCalloc1(sq->nbins, &sq->frame_sum));
  /* shell geometry: number of wave vectors (k and -k counted separately) and their mean |k| */
  {
    const PetscInt Mz = M / 2 + 1;
    const double   dk = 2 * PETSC_PI / L;
    for (ptrdiff_t i = 0; i < sq->local_n0; i++) {
      const PetscInt gi = (PetscInt)(sq->local_0_start + i), mx = gi <= M / 2 ? gi : gi - M;
      for (PetscInt j = 0; j < M; j++) {
        const PetscInt my = j <= M / 2 ? j : j - M;
        for (PetscInt kz = 0; kz < Mz; kz++) {
          const double km = dk * sqrt((double)mx * mx + (double)my * my + (double)kz * kz);
          const long   b  = lround(km / dk);
          if (km > k_max || b < 1 || b > sq->nbins) continue;
          sq->qsum[b - 1] += ((kz == 0 || 2 * kz == M) ? 1 : 2) * km;
          sq->count[b - 1] += (kz == 0 || 2 * kz == M) ? 1 : 2;
        }
      }
    }
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sq->qsum, (PetscMPIInt)sq->nbins, MPI_DOUBLE, MPI_SUM, comm));
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sq->count, (PetscMPIInt)sq->nbins, MPIU_INT, MPI_SUM, comm));
    for (PetscInt b = 0; b < sq->nbins; b++) sq->q[b] = sq->count[b] ? sq->qsum[b] / sq->count[b] : NAN;
  }
  *out = sq;
  PetscFunctionReturn(0);
}

PetscErrorCode MxMDSqReset(MxMDSq sq)
{
  PetscFunctionBeginUser;
  sq->nframes = 0;
  PetscCall(PetscArrayzero(sq->sum, sq->nbins));
  PetscCall(PetscArrayzero(sq->sum2, sq->nbins));
  PetscFunctionReturn(0);
}

PetscErrorCode MxMDSqAddFrame(MxMDSq sq, PetscInt n, const double *x)
{
  const PetscInt M = sq->M, Mz = M / 2 + 1, sz = 2 * Mz;
  const double   dk = 2 * PETSC_PI / sq->L;

  PetscFunctionBeginUser;
  PetscCheck(n > 0, sq->comm, PETSC_ERR_ARG_SIZ, "S(q): a frame needs at least one particle");
  PetscCall(PetscLogEventBegin(MX_MD_SQ_FRAME, 0, 0, 0, 0));
  PetscCall(PetscArrayzero(sq->grid, 2 * (size_t)sq->alloc));
  MxMDDepositCIC((int)n, x, sq->L, (int)M, (int)sq->local_0_start, (int)sq->local_n0, (int)sz, sq->grid);
  fftw_execute(sq->plan);
  PetscCall(PetscArrayzero(sq->frame_sum, sq->nbins));
  for (ptrdiff_t i = 0; i < sq->local_n0; i++) {
    const PetscInt gi = (PetscInt)(sq->local_0_start + i), mx = gi <= M / 2 ? gi : gi - M;
    for (PetscInt j = 0; j < M; j++) {
      const PetscInt my = j <= M / 2 ? j : j - M;
      for (PetscInt kz = 0; kz < Mz; kz++) {
        const double k[3] = {dk * mx, dk * my, dk * kz}, km = sqrt(k[0] * k[0] + k[1] * k[1] + k[2] * k[2]);
        const long   b    = lround(km / dk);
        if (km > sq->k_max || b < 1 || b > sq->nbins) continue;
        const double  *f  = (const double *)&sq->fk[((size_t)i * M + j) * Mz + kz]; /* re, im (C99 complex or double[2]) */
        const double   P  = (f[0] * f[0] + f[1] * f[1]) / n;
        const PetscInt      wt = (kz == 0 || 2 * kz == M) ? 1 : 2; /* r2c stores half of the k, -k pairs */
        double              W2, C;
        MxMDCicWindow(k, sq->h, &W2, &C);
        sq->frame_sum[b - 1] += wt * (P - C + W2) / W2;
      }
    }
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, sq->frame_sum, (PetscMPIInt)sq->nbins, MPI_DOUBLE, MPI_SUM, sq->comm));
  for (PetscInt b = 0; b < sq->nbins; b++) {
    if (!sq->count[b]) continue;
    const double s = sq->frame_sum[b] / sq->count[b];
    sq->sum[b] += s;
    sq->sum2[b] += s * s;
  }
  sq->nframes++;
  PetscCall(PetscLogEventEnd(MX_MD_SQ_FRAME, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode MxMDSqGetResult(MxMDSq sq, PetscInt *nbins, const double **q, const double **S, const double **S_err, const PetscInt **count)
{
  const PetscInt nf = sq->nframes;

  PetscFunctionBeginUser;
  for (PetscInt b = 0; b < sq->nbins; b++) {
    if (!nf || !sq->count[b]) {
      sq->S[b] = sq->S_err[b] = NAN;
      continue;
    }
    const double m = sq->sum[b] / nf, var = nf > 1 ? (sq->sum2[b] - nf * m * m) / (nf - 1) : 0.0;
    sq->S[b]     = m;
    sq->S_err[b] = nf > 1 && var > 0 ? sqrt(var / nf) : 0.0;
  }
  if (nbins) *nbins = sq->nbins;
  if (q) *q = sq->q;
  if (S) *S = sq->S;
  if (S_err) *S_err = sq->S_err;
  if (count) *count = sq->count;
  PetscFunctionReturn(0);
}

PetscErrorCode MxMDSqDestroy(MxMDSq *sq)
{
  PetscFunctionBeginUser;
  if (!*sq) PetscFunctionReturn(0);
  if ((*sq)->plan) fftw_destroy_plan((*sq)->plan);
  fftw_free((*sq)->grid);
  fftw_free((*sq)->fk);
  PetscCall(PetscFree4((*sq)->sum, (*sq)->sum2, (*sq)->qsum, (*sq)->count));
  PetscCall(PetscFree3((*sq)->q, (*sq)->S, (*sq)->S_err));
  PetscCall(PetscFree((*sq)->frame_sum));
  PetscCall(PetscFree(*sq));
  PetscFunctionReturn(0);
}
