/* Unit tests of the correlation kernels (include/mxpcs/corr.h) against loop-by-loop double
   evaluations of the seed paper's definitions (Methods "Correlation analysis"): C_n with ring
   means and deviations, X between neighbouring trains, XT/XC, g2 over age windows, contrast. */
#include <mxpcs/corr.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define NF   7
#define NPIX 1000
#define LD   1013 /* > NPIX: the padding holds NaN, so reading it shows */

static uint64_t Next(uint64_t *s) /* splitmix64: fixed-seed data, the same on every machine */
{
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z          = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z          = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double Uniform(uint64_t *s) { return (double)(Next(s) >> 11) * 0x1.0p-53; }

/* nf x ld frames: small photon counts 0..5 (exact in float, block sums < 2^24) or, with
   `exact` == 0, values in (0,1) that float rounds. A per-pulse offset makes the means differ. */
static float *MakeFrames(uint64_t seed, int exact)
{
  float   *A = malloc(sizeof(float) * NF * LD);
  uint64_t s = seed;

  for (int t = 0; t < NF; t++)
    for (int p = 0; p < LD; p++) {
      float v;
      if (exact) v = (float)(Next(&s) % (uint64_t)(4 + (t % 3))); /* 0..3, 0..4 or 0..5 */
      else v = (float)(0.1 + Uniform(&s) * (1.0 + 0.1 * t));
      A[t * LD + p] = p < NPIX ? v : NAN;
    }
  return A;
}

/* relative deviation scaled by the largest reference entry (C and X are ~0 off the diagonal) */
static double MaxDev(int n, const double *a, const double *ref)
{
  double m = 0.0, d = 0.0;
  for (int i = 0; i < n; i++) m = fmax(m, fabs(ref[i]));
  for (int i = 0; i < n; i++) {
    if (isnan(a[i]) != isnan(ref[i])) return INFINITY;
    if (!isnan(ref[i])) d = fmax(d, fabs(a[i] - ref[i]) / m);
  }
  return d;
}

/* ---------- references: the paper's definitions, literally ---------- */

static double Mean(const float *A, int t)
{
  double s = 0.0;
  for (int p = 0; p < NPIX; p++) s += A[t * LD + p];
  return s / NPIX;
}

/* <dA(t1) dB(t2)>_sp / (<A(t1)>_sp <B(t2)>_sp); A == B gives C_n, A = train n-1, B = train n gives X_-1 */
static void RefCorr(const float *A, const float *B, double *C)
{
  for (int i = 0; i < NF; i++)
    for (int j = 0; j < NF; j++) {
      const double ma = Mean(A, i), mb = Mean(B, j);
      double       s  = 0.0;
      for (int p = 0; p < NPIX; p++) s += (A[i * LD + p] - ma) * (B[j * LD + p] - mb);
      C[i * NF + j] = (s / NPIX) / (ma * mb);
    }
}

static void RefGram(const float *A, const float *B, double *s1, double *g)
{
  for (int i = 0; i < NF; i++) {
    s1[i] = 0.0;
    for (int p = 0; p < NPIX; p++) s1[i] += A[i * LD + p];
    for (int j = 0; j < NF; j++) {
      double s = 0.0;
      for (int p = 0; p < NPIX; p++) s += (double)A[i * LD + p] * B[j * LD + p];
      g[i * NF + j] = s;
    }
  }
}

static const int blocks[] = {1, 3, 64, 999, 1000, 1001, 5000, 0, -1};
#define NBLOCKS ((int)(sizeof blocks / sizeof blocks[0]))

/* ---------- tests ---------- */

static void test_gram_exact(void **state)
{
  float *A = MakeFrames(1, 1), work[NF * NF];
  double s1r[NF], gr[NF * NF];
  (void)state;
  RefGram(A, A, s1r, gr);
  for (int b = 0; b < NBLOCKS; b++) {
    double s1[NF] = {0}, g[NF * NF] = {0};
    MxCorrGramAccumulate(NF, NPIX, A, LD, blocks[b], s1, g, work);
    for (int i = 0; i < NF; i++) assert_true(s1[i] == s1r[i]);
    for (int i = 0; i < NF * NF; i++)
      if (g[i] != gr[i]) fail_msg("block %d: gram[%d] = %.17g, expected %.17g", blocks[b], i, g[i], gr[i]);
    /* accumulation: a second call adds the same again */
    MxCorrGramAccumulate(NF, NPIX, A, LD, blocks[b], s1, g, work);
    for (int i = 0; i < NF * NF; i++) assert_true(g[i] == 2 * gr[i]);
    for (int i = 0; i < NF; i++) assert_true(s1[i] == 2 * s1r[i]);
  }
  free(A);
}

static void test_gram_rounded(void **state)
{
  float *A = MakeFrames(2, 0), work[NF * NF];
  double s1r[NF], gr[NF * NF], worst = 0.0, worst_s1 = 0.0;
  (void)state;
  RefGram(A, A, s1r, gr);
  for (int b = 0; b < NBLOCKS; b++) {
    double s1[NF] = {0}, g[NF * NF] = {0};
    MxCorrGramAccumulate(NF, NPIX, A, LD, blocks[b], s1, g, work);
    for (int i = 0; i < NF; i++) worst_s1 = fmax(worst_s1, fabs(s1[i] / s1r[i] - 1));
    for (int i = 0; i < NF * NF; i++) worst = fmax(worst, fabs(g[i] / gr[i] - 1));
  }
  print_message("rounded data: max relative deviation gram %.3g, s1 %.3g\n", worst, worst_s1);
  assert_true(worst < 1e-6);
  assert_true(worst_s1 < 1e-13); /* s1 is summed in double */
  free(A);
}

static void test_twotime(void **state)
{
  float *A = MakeFrames(3, 1), work[NF * NF];
  double Cr[NF * NF], worst = 0.0;
  (void)state;
  RefCorr(A, A, Cr);
  for (int b = 0; b < NBLOCKS; b++) {
    double s1[NF] = {0}, g[NF * NF] = {0}, C[NF * NF];
    MxCorrGramAccumulate(NF, NPIX, A, LD, blocks[b], s1, g, work);
    MxCorrTwoTime(NF, NPIX, s1, g, C);
    worst = fmax(worst, MaxDev(NF * NF, C, Cr));
    for (int i = 0; i < NF; i++)
      for (int j = 0; j < NF; j++) assert_true(C[i * NF + j] == C[j * NF + i]);
  }
  print_message("C: max deviation %.3g (of max |C| = %.3g)\n", worst, Cr[0]);
  assert_true(worst < 1e-10);
  free(A);
}

/* three neighbouring trains: X_-1, X_+1, XT, XC and the contrast, all against the literal forms */
static void test_cross_xc(void **state)
{
  float *T[3] = {MakeFrames(4, 1), MakeFrames(5, 1), MakeFrames(6, 1)}, work[NF * NF];
  double Xmr[NF * NF], Xpr[NF * NF], XCr[NF * NF], XCmr[NF * NF], wx = 0.0, wxc = 0.0;
  (void)state;
  RefCorr(T[0], T[1], Xmr);
  RefCorr(T[1], T[2], Xpr);
  for (int i = 0; i < NF; i++)
    for (int j = 0; j < NF; j++) {
      const double xtm = (Xmr[i * NF + j] + Xmr[j * NF + i]) / 2, xtp = (Xpr[i * NF + j] + Xpr[j * NF + i]) / 2;
      XCr[i * NF + j]  = (xtm + xtp) / 2;
      XCmr[i * NF + j] = xtm;
    }
  for (int b = 0; b < NBLOCKS; b++) {
    double s1[3][NF] = {{0}}, g[NF * NF] = {0}, xm[NF * NF] = {0}, xp[NF * NF] = {0};
    double Xm[NF * NF], Xp[NF * NF], XC[NF * NF];
    for (int n = 0; n < 3; n++) MxCorrGramAccumulate(NF, NPIX, T[n], LD, blocks[b], s1[n], g, work);
    MxCorrCrossAccumulate(NF, NPIX, T[0], T[1], LD, blocks[b], xm, work);
    MxCorrCrossAccumulate(NF, NPIX, T[1], T[2], LD, blocks[b], xp, work);
    MxCorrCross(NF, NPIX, s1[0], s1[1], xm, Xm);
    MxCorrCross(NF, NPIX, s1[1], s1[2], xp, Xp);
    wx = fmax(wx, fmax(MaxDev(NF * NF, Xm, Xmr), MaxDev(NF * NF, Xp, Xpr)));
    assert_int_equal(MxCorrXC(NF, Xm, Xp, XC), 0);
    wxc = fmax(wxc, MaxDev(NF * NF, XC, XCr));
    assert_int_equal(MxCorrXC(NF, Xm, NULL, XC), 0); /* only the earlier neighbour */
    wxc = fmax(wxc, MaxDev(NF * NF, XC, XCmr));
    assert_int_equal(MxCorrXC(NF, NULL, Xm, XC), 0); /* only the later one: the same formula */
    wxc = fmax(wxc, MaxDev(NF * NF, XC, XCmr));
  }
  print_message("X: max deviation %.3g, XC %.3g\n", wx, wxc);
  assert_true(wx < 1e-10);
  assert_true(wxc < 1e-10);
  /* X is not symmetric, so XT matters: the test above could tell X from X^T */
  assert_true(fabs(Xmr[1] - Xmr[NF]) > 1e-4);
  {
    double XC[NF * NF];
    for (int i = 0; i < NF * NF; i++) XC[i] = 42.0;
    assert_int_equal(MxCorrXC(NF, NULL, NULL, XC), 1);
    for (int i = 0; i < NF * NF; i++) assert_true(XC[i] == 42.0);
  }
  for (int n = 0; n < 3; n++) free(T[n]);
}

/* cross products of a train with itself equal its Gram matrix */
static void test_cross_self(void **state)
{
  float *A = MakeFrames(7, 1), work[NF * NF];
  double s1[NF] = {0}, g[NF * NF] = {0}, x[NF * NF] = {0};
  (void)state;
  MxCorrGramAccumulate(NF, NPIX, A, LD, 17, s1, g, work);
  MxCorrCrossAccumulate(NF, NPIX, A, A, LD, 100, x, work);
  for (int i = 0; i < NF * NF; i++) assert_true(x[i] == g[i]);
  free(A);
}

static void test_g2(void **state)
{
  const int start[3] = {0, 2, 4}, len = 4, ntau = 4;
  float    *A        = MakeFrames(8, 1), work[NF * NF];
  double    s1[NF] = {0}, g[NF * NF] = {0}, C[NF * NF], Cr[NF * NF], out[3 * 4], ref[3 * 4];
  int       np[3 * 4], npr[3 * 4];
  (void)state;
  RefCorr(A, A, Cr);
  MxCorrGramAccumulate(NF, NPIX, A, LD, 64, s1, g, work);
  MxCorrTwoTime(NF, NPIX, s1, g, C);
  /* the literal average: every (t1,t2) in the window (clipped to the train) with t2 - t1 = tau */
  for (int w = 0; w < 3; w++)
    for (int tau = 1; tau <= ntau; tau++) {
      double s = 0.0;
      int    n = 0;
      for (int t1 = start[w]; t1 < start[w] + len && t1 < NF; t1++)
        for (int t2 = start[w]; t2 < start[w] + len && t2 < NF; t2++)
          if (t2 - t1 == tau) s += Cr[t1 * NF + t2], n++;
      ref[w * ntau + tau - 1] = n ? s / n : NAN;
      npr[w * ntau + tau - 1] = n;
    }
  MxCorrG2(NF, C, 3, start, len, ntau, out, np);
  for (int i = 0; i < 3 * ntau; i++) assert_int_equal(np[i], npr[i]);
  assert_int_equal(np[0], 3); /* window 0..3, tau 1: (0,1) (1,2) (2,3) */
  assert_int_equal(np[3], 0); /* tau = len: no pair */
  assert_true(isnan(out[3]));
  assert_int_equal(np[2 * ntau], 2); /* window 4..7 clipped to 4..6 */
  print_message("g2: max deviation %.3g\n", MaxDev(3 * ntau, out, ref));
  assert_true(MaxDev(3 * ntau, out, ref) < 1e-10);
  free(A);
}

static void test_contrast_exact(void **state)
{
  float *A = MakeFrames(9, 1), work[NF * NF];
  double s1[NF] = {0}, g[NF * NF] = {0}, C[NF * NF], beta[NF], ref[NF], Cr[NF * NF];
  (void)state;
  RefCorr(A, A, Cr);
  for (int t = 0; t < NF; t++) ref[t] = Cr[t * NF + t] - 1.0 / Mean(A, t);
  MxCorrGramAccumulate(NF, NPIX, A, LD, 0, s1, g, work);
  MxCorrTwoTime(NF, NPIX, s1, g, C);
  MxCorrContrast(NF, NPIX, s1, C, beta);
  print_message("contrast: max deviation %.3g\n", MaxDev(NF, beta, ref));
  assert_true(MaxDev(NF, beta, ref) < 1e-10);
  free(A);
}

static int Poisson(uint64_t *s, double mu) /* Knuth's product method, fine for mu of order 1 */
{
  const double L = exp(-mu);
  double       p = 1.0;
  int          k = -1;
  do k++, p *= Uniform(s);
  while (p > L);
  return k;
}

/* physics: fully coherent speckle (exponential intensities, beta = 1) sampled as photons at
   2 photons/pixel; C(t,t) = beta + 1/<I> = 1.5, and the contrast removes the shot noise. */
static void test_contrast_speckle(void **state)
{
  enum { nf = 2, npix = 500000 };
  float   *A = malloc(sizeof(float) * nf * npix), work[nf * nf];
  double   s1[nf] = {0}, g[nf * nf] = {0}, C[nf * nf], beta[nf];
  uint64_t s      = 11;
  (void)state;
  for (int p = 0; p < npix; p++) {
    const double I = -2.0 * log(1.0 - Uniform(&s)); /* the same speckle in both pulses */
    for (int t = 0; t < nf; t++) A[t * npix + p] = (float)Poisson(&s, I);
  }
  MxCorrGramAccumulate(nf, npix, A, npix, 4096, s1, g, work);
  MxCorrTwoTime(nf, npix, s1, g, C);
  MxCorrContrast(nf, npix, s1, C, beta);
  print_message("speckle: C(0,0) = %.4f, C(0,1) = %.4f, beta = %.4f %.4f\n", C[0], C[1], beta[0], beta[1]);
  for (int t = 0; t < nf; t++) assert_true(fabs(beta[t] - 1.0) < 0.02);
  assert_true(fabs(C[1] - 1.0) < 0.02); /* no shot noise between different pulses */
  assert_true(fabs(C[0] - 1.5) < 0.02);
  free(A);
}


/* The per-pixel passes against plain loops, bit for bit: the mean image frame after frame, SAXS
   sums per bin in pixel order, for every split of the frame blocks between two calls (the reader
   thread and the main thread), frame counts that do not divide into blocks evenly (37: blocks of
   13 and 12 frames; 7: one block of at most 8, the vector path's other width), pixel blocks that
   cut through runs of one bin, bins that change inside 8 consecutive pixels, and SAXS pixels with
   gaps (below pixel 2500) and without (above: the transposed 8 x 8 loads). */
static void ImageSaxsPasses(const int PNF)
{
  enum { PNPIX = 5000, PNB = 7 };
  float         *data = malloc(sizeof(float) * PNF * PNPIX), *w = malloc(sizeof(float) * PNPIX);
  unsigned char  valid[PNPIX];
  int            sp[PNPIX], sb[PNPIX];
  size_t         ns = 0;
  double         cnt[PNB] = {0}, ref_img[PNPIX], img[PNPIX], ref_n[PNPIX], n[PNPIX];
  double        *ref_sx = calloc((size_t)PNB * PNF * 2, sizeof(double)), *sx = malloc(sizeof(double) * PNB * PNF * 2);
  double        *acc = malloc(sizeof(double) * PNB * 16 * 8); /* 3 blocks fit */
  for (size_t k = 0; k < (size_t)PNF * PNPIX; k++) data[k] = (float)((k * 2654435761u) % 1000) / 97.0f - 3.0f;
  for (int p = 0; p < PNPIX; p++) {
    valid[p]   = (unsigned char)(p % 11 != 0);
    ref_img[p] = img[p] = 0.25 * p;
    ref_n[p] = n[p] = p;
    if (p % 5 == 3 && p < 2500) continue; /* not a SAXS pixel */
    sp[ns] = p;
    sb[ns] = (p / 300 + (p % 7 == 0)) % PNB; /* runs of one bin, broken now and then */
    w[ns]  = valid[p] ? 1.0f + (float)(p % 13) / 8.0f : 0.0f;
    cnt[sb[ns]] += valid[p];
    ns++;
  }
  for (int f = 0; f < PNF; f++) {
    for (int p = 0; p < PNPIX; p++)
      if (valid[p]) ref_img[p] += data[(size_t)f * PNPIX + p];
    double a[PNB] = {0};
    for (size_t k = 0; k < ns; k++) a[sb[k]] += (double)(data[(size_t)f * PNPIX + sp[k]] * w[k]);
    for (int b = 0; b < PNB; b++) {
      ref_sx[(b * PNF + f) * 2] += a[b];
      ref_sx[(b * PNF + f) * 2 + 1] += cnt[b];
    }
  }
  for (int p = 0; p < PNPIX; p++) ref_n[p] += valid[p] ? PNF : 0;
  const int nblk = MxCorrSaxsBlocks(PNF);
  assert_int_equal(nblk, (PNF + 15) / 16);
  for (int split = 0; split <= nblk; split++) {
    memset(sx, 0, sizeof(double) * PNB * PNF * 2);
    for (int p = 0; p < PNPIX; p++) {
      img[p] = 0.25 * p;
      n[p]   = p;
    }
    MxCorrSaxsAccumulate(PNF, PNPIX, data, ns, sp, sb, w, cnt, PNB, 0, split, acc, sx);
    MxCorrImageSaxsAccumulate(PNF, PNPIX, data, valid, img, n, ns, sp, sb, w, cnt, PNB, split, nblk, acc, sx);
    assert_memory_equal(sx, ref_sx, sizeof(double) * PNB * PNF * 2);
    assert_memory_equal(img, ref_img, sizeof img);
    assert_memory_equal(n, ref_n, sizeof n);
  }
  free(data);
  free(w);
  free(acc);
  free(ref_sx);
  free(sx);
}

static void test_image_saxs_passes(void **state)
{
  (void)state;
  ImageSaxsPasses(37);
  ImageSaxsPasses(7);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_gram_exact),  cmocka_unit_test(test_gram_rounded), cmocka_unit_test(test_twotime),
    cmocka_unit_test(test_cross_xc),    cmocka_unit_test(test_cross_self),   cmocka_unit_test(test_g2),
    cmocka_unit_test(test_contrast_exact), cmocka_unit_test(test_contrast_speckle),
    cmocka_unit_test(test_image_saxs_passes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
