/* Small dense linear algebra shared by the fits. */
#include <mxpcs/lsq.h>
#include <math.h>
#include <stdlib.h>

int MxSymInverse(int k, const double *A, double *Ainv)
{
  double *M, *dg;
  int     rc = 0;

  if (k <= 0) return 0;
  M  = malloc(sizeof(double) * (size_t)k * 2 * k);
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
    for (int j = 0; j < 2 * k; j++) M[i * 2 * k + j] = j < k ? A[i * k + j] / (dg[i] * dg[j]) : (j - k == i);
  for (int c = 0; c < k && !rc; c++) {
    int piv = c;
    for (int i = c + 1; i < k; i++)
      if (fabs(M[i * 2 * k + c]) > fabs(M[piv * 2 * k + c])) piv = i;
    if (!(fabs(M[piv * 2 * k + c]) > 1e-14) || !isfinite(M[piv * 2 * k + c])) {
      rc = 1;
      break;
    }
    if (piv != c)
      for (int j = 0; j < 2 * k; j++) {
        double t             = M[c * 2 * k + j];
        M[c * 2 * k + j]     = M[piv * 2 * k + j];
        M[piv * 2 * k + j]   = t;
      }
    double d = M[c * 2 * k + c];
    for (int j = 0; j < 2 * k; j++) M[c * 2 * k + j] /= d;
    for (int i = 0; i < k; i++) {
      if (i == c) continue;
      double f = M[i * 2 * k + c];
      for (int j = 0; j < 2 * k; j++) M[i * 2 * k + j] -= f * M[c * 2 * k + j];
    }
  }
  for (int i = 0; i < k && !rc; i++)
    for (int j = 0; j < k; j++) Ainv[i * k + j] = M[i * 2 * k + k + j] / (dg[i] * dg[j]);
  free(M);
  free(dg);
  return rc;
}
