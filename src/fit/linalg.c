/* Dense linear algebra of the fits on LAPACK (OpenBLAS's, through PETSc's prototypes). See
   include/mxpcs/lsq.h. The arrays are row-major; LAPACK sees them column-major, that is
   transposed, which a symmetric matrix does not notice. */
#include <mxpcs/lsq.h>
#include <petscblaslapack.h>
#include <math.h>
#include <stdlib.h>

/* A pivot of the equilibrated Cholesky factor below this (squared) is a singular matrix: the
   parameter is a linear combination of the others to working precision. */
#define MX_PIVOT_MIN 1e-14

int MxSymInverse(int k, const double *A, double *Ainv)
{
  double      *M, *dg;
  PetscBLASInt n = (PetscBLASInt)k, info = 0;
  int          rc = 0;

  if (k <= 0) return 0;
  M  = malloc(sizeof(double) * (size_t)k * k);
  dg = malloc(sizeof(double) * (size_t)k);
  if (!M || !dg) {
    free(M);
    free(dg);
    return 1;
  }
  for (int i = 0; i < k && !rc; i++) {
    if (!(A[i * k + i] > 0) || !isfinite(A[i * k + i])) rc = 1;
    else dg[i] = sqrt(A[i * k + i]);
  }
  for (int i = 0; i < k && !rc; i++)
    for (int j = 0; j < k; j++) {
      M[i * k + j] = A[i * k + j] / (dg[i] * dg[j]);
      if (!isfinite(M[i * k + j])) rc = 1;
    }
  if (!rc) {
    LAPACKpotrf_("L", &n, M, &n, &info);
    rc = info != 0;
  }
  for (int i = 0; i < k && !rc; i++)
    if (!(M[i * k + i] * M[i * k + i] > MX_PIVOT_MIN)) rc = 1;
  if (!rc) {
    LAPACKpotri_("L", &n, M, &n, &info);
    rc = info != 0;
  }
  /* potri filled the lower triangle of the column-major view: M[j * k + i], i >= j */
  for (int j = 0; j < k && !rc; j++)
    for (int i = j; i < k; i++) Ainv[i * k + j] = Ainv[j * k + i] = M[j * k + i] / (dg[i] * dg[j]);
  free(M);
  free(dg);
  return rc;
}

int MxCholesky(int n, double *A)
{
  PetscBLASInt nb = (PetscBLASInt)n, info = 0;

  if (n <= 0) return 0;
  for (int i = 0; i < n * n; i++)
    if (!isfinite(A[i])) return 1;
  /* the upper factor of the column-major view, U^T U = A, is the row-major lower L = U^T */
  LAPACKpotrf_("U", &nb, A, &nb, &info);
  if (info) return 1;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) A[i * n + j] = 0.0;
  return 0;
}

int MxLinearSolve(int n, int nrhs, double *A, double *B)
{
  PetscBLASInt  nb = (PetscBLASInt)n, nr = (PetscBLASInt)nrhs, info = 0, *ipiv;
  double       *At, *Bt;
  int           rc = 0;

  if (n <= 0 || nrhs <= 0) return 0;
  At   = malloc(sizeof(double) * (size_t)n * n);
  Bt   = malloc(sizeof(double) * (size_t)n * nrhs);
  ipiv = malloc(sizeof(PetscBLASInt) * (size_t)n);
  if (!At || !Bt || !ipiv) rc = 1;
  for (int i = 0; i < n && !rc; i++) { /* column-major copies */
    for (int j = 0; j < n; j++) At[j * n + i] = A[i * n + j];
    for (int l = 0; l < nrhs; l++) Bt[l * n + i] = B[i * nrhs + l];
  }
  if (!rc) {
    LAPACKgesv_(&nb, &nr, At, &nb, ipiv, Bt, &nb, &info);
    rc = info != 0;
  }
  for (int i = 0; i < n && !rc; i++)
    for (int l = 0; l < nrhs; l++) B[i * nrhs + l] = Bt[l * n + i];
  free(At);
  free(Bt);
  free(ipiv);
  return rc;
}
