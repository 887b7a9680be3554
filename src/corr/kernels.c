/* Two-time correlation kernels: blocked Gram/cross products (OpenBLAS level 3) and the
   normalisations of the seed paper's Methods "Correlation analysis" (design.md 1.2-1.5). */
#include <mxpcs/corr.h>
#include <cblas.h>
#include <math.h>

/* sum of n floats in double; eight independent accumulators so the loop is not latency bound. */
static double RowSum(const float *x, int n)
{
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int    p    = 0;

  for (; p + 8 <= n; p += 8)
    for (int k = 0; k < 8; k++) a[k] += (double)x[p + k];
  for (; p < n; p++) a[0] += (double)x[p];
  return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

/* Ring sums s1 and Gram matrix of one train, block by block (header: corr.h); Not collective. */
void MxCorrGramAccumulate(int nf, int npix, const float *A, int ld, int block, double *s1, double *gram, float *work)
{
  if (nf <= 0 || npix <= 0) return;
  if (block <= 0 || block > npix) block = npix;
  for (int p0 = 0; p0 < npix; p0 += block) {
    const int    k  = npix - p0 < block ? npix - p0 : block;
    const float *Ab = A + p0;

    /* upper triangle of work = Ab Ab^T; Ab stays in cache for the row sums that follow */
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, nf, k, 1.0f, Ab, ld, 0.0f, work, nf);
    for (int t = 0; t < nf; t++) s1[t] += RowSum(Ab + (size_t)t * ld, k);
    for (int i = 0; i < nf; i++) {
      gram[(size_t)i * nf + i] += work[(size_t)i * nf + i];
      for (int j = i + 1; j < nf; j++) {
        const double v = work[(size_t)i * nf + j];
        gram[(size_t)i * nf + j] += v;
        gram[(size_t)j * nf + i] += v;
      }
    }
  }
}

/* Cross-train product x += A B^T, block by block (header: corr.h); Not collective. */
void MxCorrCrossAccumulate(int nf, int npix, const float *A, const float *B, int ld, int block, double *x, float *work)
{
  if (nf <= 0 || npix <= 0) return;
  if (block <= 0 || block > npix) block = npix;
  for (int p0 = 0; p0 < npix; p0 += block) {
    const int k = npix - p0 < block ? npix - p0 : block;

    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nf, nf, k, 1.0f, A + p0, ld, B + p0, ld, 0.0f, work, nf);
    for (size_t i = 0; i < (size_t)nf * nf; i++) x[i] += work[i];
  }
}

/* C(t1,t2) = N gram/(s1(t1) s1(t2)) - 1, the paper's C_n written with ring sums; Not collective. */
void MxCorrTwoTime(int nf, double N, const double *s1, const double *gram, double *C)
{
  for (int i = 0; i < nf; i++)
    for (int j = 0; j < nf; j++) C[(size_t)i * nf + j] = N * gram[(size_t)i * nf + j] / (s1[i] * s1[j]) - 1.0;
}

/* X(t1,t2) = N x/(s1a(t1) s1b(t2)) - 1 between neighbouring trains (Dallari et al. 2021); Not collective. */
void MxCorrCross(int nf, double N, const double *s1a, const double *s1b, const double *x, double *X)
{
  for (int i = 0; i < nf; i++)
    for (int j = 0; j < nf; j++) X[(size_t)i * nf + j] = N * x[(size_t)i * nf + j] / (s1a[i] * s1b[j]) - 1.0;
}

/* XC = (XT_-1 + XT_+1)/2, XT = (X + X^T)/2, or one XT when a neighbour is missing; Not collective. */
int MxCorrXC(int nf, const double *Xm, const double *Xp, double *XC)
{
  const double w = (Xm && Xp) ? 0.25 : 0.5;

  if (!Xm && !Xp) return 1;
  for (int i = 0; i < nf; i++)
    for (int j = 0; j < nf; j++) {
      const size_t ij = (size_t)i * nf + j, ji = (size_t)j * nf + i;
      double       s  = 0.0;

      if (Xm) s += Xm[ij] + Xm[ji];
      if (Xp) s += Xp[ij] + Xp[ji];
      XC[ij] = w * s;
    }
  return 0;
}

/* g2 - 1 per age window and lag: mean of C(t1,t1+tau) with both pulses in the window (and in
   0..nf-1); NaN where there is no pair; Not collective. */
void MxCorrG2(int nf, const double *C, int nwin, const int *start, int len, int ntau, double *out, int *npairs)
{
  for (int w = 0; w < nwin; w++) {
    const int lo = start[w] < 0 ? 0 : start[w];
    const int hi = start[w] + len < nf ? start[w] + len : nf; /* exclusive */

    for (int tau = 1; tau <= ntau; tau++) {
      double s = 0.0;
      int    n = 0;

      for (int t1 = lo; t1 + tau < hi; t1++, n++) s += C[(size_t)t1 * nf + t1 + tau];
      out[(size_t)w * ntau + tau - 1]    = n ? s / n : NAN;
      npairs[(size_t)w * ntau + tau - 1] = n;
    }
  }
}

/* beta(t) = C(t,t) - N/s1(t): the diagonal minus the photon shot-noise term 1/<I>; Not collective. */
void MxCorrContrast(int nf, double N, const double *s1, const double *C, double *beta)
{
  for (int t = 0; t < nf; t++) beta[t] = C[(size_t)t * nf + t] - N / s1[t];
}

void MxCorrContrastNoise(int nf, double N, const double *s1, const double *C, double var, double R, double *beta)
{
  for (int t = 0; t < nf; t++) beta[t] = C[(size_t)t * nf + t] - R * N / s1[t] - N * N * var / (s1[t] * s1[t]);
}
