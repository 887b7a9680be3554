/* Unit tests of the detector corrections' kernels (include/mxpcs/detcorr.h) and of the contrast
   of continuous values (MxCorrContrastNoise): each against what the detector did to photons
   drawn here, not against the kernel's own formula. */
#include <mxpcs/detcorr.h>
#include <mxpcs/corr.h>
#include <mxpcs/rng.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#define S MX_ASIC_SIDE

/* One ASIC in photons: photons at mean mu each (exponential speckle intensity), a common mode
   cm, Gaussian noise sigma; every 97th pixel bad (holding a large value that must be ignored). */
static void Asic(MxRng *g, double mu, double cm, double sigma, float *v, unsigned char *b, int ld)
{
  for (int r = 0; r < S; r++)
    for (int c = 0; c < S; c++) {
      const int k = r * S + c;
      double    inten = -mu * log(1 - MxRngUniform(g));
      v[r * ld + c] = (float)(MxRngPoisson(g, inten) + cm + sigma * MxRngNormal(g));
      b[r * ld + c] = k % 97 == 0;
      if (b[r * ld + c]) v[r * ld + c] = 1000;
    }
}

static void test_common_mode(void **state)
{
  MxRng         g;
  float         v[S * 128];
  unsigned char b[S * 128];
  (void)state;
  MxRngInit(&g, 7, 1, 2, 3);
  /* mostly empty to bright (mu = 1: 1/2 the pixels hold photons): the level within 0.01 photon,
     the noise within 10 %; the second ASIC of the block (columns 64..127) is left alone */
  /* and a common mode of -+0.9 photon (1 in 300 ASIC-frames at the simulation's 0.27 rms): a
     window started at 0 found too few values (+0.9) or the one-photon peak (-0.9) */
  const double mus[] = {0.03, 0.3, 1.0, 0.03, 0.03, 0.3}, cms[] = {0.25, -0.3, 0.1, 0.9, -0.9, -0.9};
  for (int i = 0; i < 6; i++) {
    for (int k = 0; k < S * 128; k++) v[k] = -7; /* the other ASIC: must not enter */
    Asic(&g, mus[i], cms[i], 0.12, v, b, 128);
    int    n;
    double var, l = MxCommonModeEstimate(v, b, S, S, 128, &n, &var);
    assert_true(fabs(l - cms[i]) < 0.01);
    assert_true(fabs(sqrt(var) - 0.12) < 0.012);
    assert_true(n > 1000);
  }
  /* bright and flat (Poisson at 2.5 photons: 8 % zeros, 21 % ones, 26 % twos): the fullest bin
     is a photon peak, the lowest peak the zero-photon one */
  for (int k = 0; k < S * S; k++) {
    v[k] = (float)(MxRngPoisson(&g, 2.5) + 0.2 + 0.12 * MxRngNormal(&g));
    b[k] = 0;
  }
  {
    int    nb;
    double vb, lb = MxCommonModeEstimate(v, b, S, S, S, &nb, &vb);
    assert_true(fabs(lb - 0.2) < 0.01);
    assert_true(nb > 200);
  }
  /* no zero-photon pixels to speak of: no estimate */
  for (int k = 0; k < S * S; k++) {
    v[k] = 5.0f + (k % 3);
    b[k] = 0;
  }
  int    n;
  double var, l = MxCommonModeEstimate(v, b, S, S, S, &n, &var);
  assert_int_equal(n, 0);
  assert_true(l == 0);
  /* all bad */
  for (int k = 0; k < S * S; k++) b[k] = 1;
  l = MxCommonModeEstimate(v, b, S, S, S, &n, &var);
  assert_int_equal(n, 0);
}

/* The windowed mean as first written: every bin tested, every iteration (the kernel visits only
   the bins near the window): the same level, count and variance, bit for bit, for histograms of
   every shape, windows near both ends of the range included. */
static double LevelAllBins(const int *h, int *nused, double *var)
{
  const double w = 2.0 * MX_CM_RANGE / MX_CM_BINS;
  double       centre[MX_CM_BINS], level, sum[3] = {0, 0, 0};
  int          in[MX_CM_BINS], top = 0;
  for (int k = 0; k < MX_CM_BINS; k++) centre[k] = -MX_CM_RANGE + (k + 0.5) * w;
  int near[MX_CM_BINS], first = MX_CM_BINS;
  for (int k = 0; k < MX_CM_BINS; k++) { /* the counts within a quarter photon of each bin */
    near[k] = 0;
    for (int j = k - MX_CM_HALF; j <= k + MX_CM_HALF; j++)
      if (j >= 0 && j < MX_CM_BINS) near[k] += h[j];
  }
  for (int k = MX_CM_BINS - 1; k >= 0; k--) /* the lowest with enough of them */
    if (near[k] >= MX_CM_NMIN) first = k;
  if (first == MX_CM_BINS) {
    *nused = 0;
    *var   = 0;
    return 0;
  }
  top = first; /* the fullest within a photon above it, the first of equals */
  for (int k = first + MX_CM_BINS_PER_PHOTON - 1; k >= first; k--)
    if (k < MX_CM_BINS && near[k] >= near[top]) top = k;
  level = centre[top];
  for (int it = 0; it <= MX_CM_ITERS; it++) {
    for (int k = 0; k < MX_CM_BINS; k++) in[k] = h[k] > 0 && fabs(centre[k] - level) < MX_CM_WINDOW; /* the window: all bins */
    sum[0] = sum[1] = sum[2] = 0;
    for (int k = 0; k < MX_CM_BINS; k++) {
      if (!in[k]) continue;
      const double d = centre[k] - level;
      sum[0] += h[k];
      sum[1] += h[k] * centre[k];
      sum[2] += h[k] * d * d;
    }
    if (sum[0] < MX_CM_NMIN) {
      *nused = 0;
      *var   = 0;
      return 0;
    }
    if (it < MX_CM_ITERS) level = sum[1] / sum[0];
  }
  *nused = (int)sum[0];
  *var   = fmax(sum[2] / sum[0] - w * w / 12, 0);
  return level;
}

static void test_common_mode_bins(void **state)
{
  MxRng g;
  int   h[MX_CM_BINS], ndiff = 0, nest = 0;
  (void)state;
  MxRngInit(&g, 11, 2, 3, 4);
  for (int trial = 0; trial < 4000; trial++) {
    /* a zero-photon peak anywhere in the range (often where the window's iterations walk it
       to an end), of any width, a one-photon peak and a flat floor */
    const double c0 = -2.2 + 4.4 * MxRngUniform(&g), sig = 0.01 + 0.4 * MxRngUniform(&g);
    const int    np = (int)(4096 * MxRngUniform(&g)), flat = (int)(3 * MxRngUniform(&g));
    memset(h, 0, sizeof h);
    for (int k = 0; k < MX_CM_BINS; k++) h[k] = flat * (int)(2 * MxRngUniform(&g));
    for (int i = 0; i < np; i++) {
      const double x = (MxRngUniform(&g) < 0.9 ? c0 : c0 + 1) + sig * MxRngNormal(&g);
      const int    k = (int)floor((x + MX_CM_RANGE) * MX_CM_BINS / (2 * MX_CM_RANGE));
      if (k >= 0 && k < MX_CM_BINS) h[k]++;
    }
    int    n1, n2;
    double v1, v2, l1 = MxCommonModeFromHistogram(h, MX_CM_NMIN, &n1, &v1), l2 = LevelAllBins(h, &n2, &v2);
    ndiff += l1 != l2 || n1 != n2 || v1 != v2;
    nest += n1 > 0;
  }
  assert_int_equal(ndiff, 0);
  assert_true(nest > 3000);
}

static void test_threshold(void **state)
{
  float         v[] = {-0.7f, 0.0f, 0.49f, 0.5f, 1.49f, 1.5f, 2.2f, 0.31f, 1.25f, 7.0f};
  float         w[10];
  unsigned char b[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const float   round[] = {0, 0, 0, 1, 1, 2, 2, 0, 1, 7}, thr3[] = {0, 0, 1, 1, 2, 2, 2, 1, 1, 7};
  (void)state;
  memcpy(w, v, sizeof v);
  MxPhotonizeThreshold(w, b, 10, 0.5f);
  for (int k = 0; k < 10; k++) assert_true(w[k] == round[k]);
  memcpy(w, v, sizeof v);
  MxPhotonizeThreshold(w, b, 10, 0.3f);
  for (int k = 0; k < 10; k++) assert_true(w[k] == thr3[k]);
}

static void test_droplet(void **state)
{
  static float         v[S * S];
  static unsigned char b[S * S];
  (void)state;
  memset(v, 0, sizeof v);
  memset(b, 0, sizeof b);
  v[10 * S + 10] = 0.52f; /* one photon shared by two pixels: once, on the larger */
  v[10 * S + 11] = 0.47f;
  v[20 * S + 20] = 0.34f; /* one photon over three pixels: rounding loses it, droplets keep it */
  v[20 * S + 21] = 0.33f;
  v[21 * S + 20] = 0.33f;
  v[30 * S + 30] = 1.8f; /* two photons, some charge next door: both on the pixel */
  v[30 * S + 31] = 0.2f;
  v[40 * S + 40] = 0.5f; /* a tie: the first in row-major order */
  v[40 * S + 41] = 0.5f;
  v[50 * S + 50] = 0.6f; /* a bad pixel between two halves: two droplets, not one */
  b[50 * S + 51] = 1;
  v[50 * S + 51] = 0.0f;
  v[50 * S + 52] = 0.6f;
  v[60 * S + 5]  = 0.1f; /* below the background: nothing */
  int nc = MxPhotonizeDroplet(v, b, S, S, S, 0.25f, NULL);
  assert_int_equal(nc, 6);
  double total = 0;
  for (int k = 0; k < S * S; k++) total += v[k];
  assert_true(total == 1 + 1 + 2 + 1 + 2);
  assert_true(v[10 * S + 10] == 1 && v[10 * S + 11] == 0);
  assert_true(v[20 * S + 20] == 1 && v[20 * S + 21] == 0 && v[21 * S + 20] == 0);
  assert_true(v[30 * S + 30] == 2 && v[30 * S + 31] == 0);
  assert_true(v[40 * S + 40] == 1 && v[40 * S + 41] == 0);
  assert_true(v[50 * S + 50] == 1 && v[50 * S + 52] == 1);
  assert_true(v[60 * S + 5] == 0);
}

/* A plain reference of the droplets (labels by a depth-first search, the rules of detcorr.h),
   for test_droplet_random */
static int DropletReference(float *v, const unsigned char *b, int rows, int cols, int ld, float bg)
{
  static int lab[S * S], stack[S * S], list[S * S];
  int        nclus = 0;
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) {
      const int k = r * ld + c, on = !b[k] && v[k] >= bg;
      if (!on && !b[k]) v[k] = 0.0f;
      lab[r * S + c] = on ? 0 : -1;
    }
  for (int p0 = 0; p0 < rows * S; p0++) {
    if (p0 % S >= cols || lab[p0]) continue;
    int n = 0, sp = 0;
    lab[p0]     = ++nclus;
    stack[sp++] = p0;
    while (sp) {
      const int p = stack[--sp], r = p / S, c = p % S;
      list[n++]   = p;
      const int nb[4][2] = {{r - 1, c}, {r + 1, c}, {r, c - 1}, {r, c + 1}};
      for (int k = 0; k < 4; k++)
        if (nb[k][0] >= 0 && nb[k][0] < rows && nb[k][1] >= 0 && nb[k][1] < cols && lab[nb[k][0] * S + nb[k][1]] == 0) {
          lab[nb[k][0] * S + nb[k][1]] = nclus;
          stack[sp++]                  = nb[k][0] * S + nb[k][1];
        }
    }
    for (int i = 1; i < n; i++) /* row-major order */
      for (int j = i; j > 0 && list[j - 1] > list[j]; j--) {
        int t = list[j];
        list[j]     = list[j - 1];
        list[j - 1] = t;
      }
#define AT(i) v[(list[i] / S) * ld + list[i] % S]
    double sum = 0;
    for (int i = 0; i < n; i++) sum += AT(i);
    if (n == 1 || n > MX_DROPLET_MAXPIX) {
      for (int i = 0; i < n; i++) AT(i) = floorf(AT(i) + 0.5f);
      continue;
    }
    float rem[MX_DROPLET_MAXPIX];
    for (int i = 0; i < n; i++) {
      rem[i] = AT(i);
      AT(i)  = 0.0f;
    }
    for (int left = (int)floor(sum + 0.5); left > 0; left--) { /* one photon at a time on the largest */
      int best = 0;
      for (int i = 1; i < n; i++)
        if (rem[i] > rem[best]) best = i;
      rem[best] -= 1.0f;
      AT(best) += 1.0f;
    }
#undef AT
  }
  return nclus;
}

/* The droplets against the reference on random images: sparse to dense photons (clusters of
   every size, large bright regions), noise, bad pixels, whole ASICs (the vector path) and parts
   (rows, cols < 64: the scalar path); the same values bit for bit, the same clusters. */
static void test_droplet_random(void **state)
{
  static float         v[S * S], w[S * S];
  static unsigned char b[S * S];
  MxRng                g;
  (void)state;
  MxRngInit(&g, 5, 0, 0, 0);
  for (int it = 0; it < 120; it++) {
    const double p    = 0.01 + 0.6 * (it % 12) / 11.0;
    const int    rows = it % 3 ? S : 50, cols = it % 3 == 2 ? 37 : S;
    for (int k = 0; k < S * S; k++) {
      b[k] = MxRngUniform(&g) < 0.01;
      v[k] = (float)(0.1 * MxRngNormal(&g) + (MxRngUniform(&g) < p ? 0.2 + 2.5 * MxRngUniform(&g) : 0));
      if (it % 4 == 3) v[k] = floorf(v[k] * 8) / 8; /* eighths of a photon: remainders that tie */
    }
    if (it % 8 == 7) /* values beyond 2^23 photons (the greedy's own path) in droplets of 2 to 4 pixels */
      for (int k = 100; k < S * S; k += 300) {
        v[k] = 1.5e7f;
        if (!b[k + 1]) v[k + 1] = 0.75f;
      }
    memcpy(w, v, sizeof v);
    long cnt[2] = {0, 0};
    int  n      = MxPhotonizeDroplet(v, b, rows, cols, S, 0.5f, cnt);
    int  nref   = DropletReference(w, b, rows, cols, S, 0.5f);
    assert_int_equal(n, nref);
    assert_memory_equal(v, w, sizeof v);
  }
}

/* Continuous values of N pixels in two trains (the second for XC: independent speckle, the same
   gains): photons with contrast beta (Gamma-distributed intensity of M = 1/beta modes, mu per
   pixel), a static relative gain spread sg, noise sn. *Cc = C - XC on MxCorrTwoTime's g2 - 1
   scale, *s1 the first train's sum. */
static void ContinuousSums(int N, double mu, double beta, double sg, double sn, unsigned seed, double *Cc, double *s1)
{
  MxRng  g;
  double s2 = 0, sx = 0, sb = 0;
  MxRngInit(&g, seed, 0, 0, 0);
  *s1 = 0;
  for (int p = 0; p < N; p++) {
    double gain = 1 + sg * MxRngNormal(&g);
    double I1 = MxRngGamma(&g, 1 / beta) * beta * mu, I2 = MxRngGamma(&g, 1 / beta) * beta * mu;
    double x1 = gain * MxRngPoisson(&g, I1) + sn * MxRngNormal(&g), x2 = gain * MxRngPoisson(&g, I2) + sn * MxRngNormal(&g);
    *s1 += x1;
    s2 += x1 * x1;
    sx += x1 * x2;
    sb += x2;
  }
  *Cc = (N * s2 / (*s1 * *s1) - 1) - (N * sx / (*s1 * sb) - 1);
}

/* The contrast of continuous values with a small gain spread and noise: the plain formula is
   far off; the one with the noise is right. */
static void test_contrast_noise(void **state)
{
  const int    N = 2000000;
  const double mu = 0.5, beta = 0.3, sg = 0.03, sn = 0.12;
  double       Cc, s1, b_plain, b;
  (void)state;
  ContinuousSums(N, mu, beta, sg, sn, 11, &Cc, &s1);
  MxCorrContrast(1, N, &s1, &Cc, &b_plain);
  MxCorrContrastNoise(1, N, &s1, &Cc, sn * sn, 1.0, &b);
  assert_true(b_plain - beta > 0.04);        /* noise^2/mu^2 = 0.058 */
  assert_true(fabs(b - beta) < 0.06 * beta); /* statistical error ~ 1.6 % here */
}

/* A photon's shot noise in continuous values with a static relative gain spread g is 1 + g^2,
   not 1 (-corr_shot_noise): at 0.1 photon per pixel and g = 0.2 the plain shot-noise term
   leaves g^2/mu = 0.4 in beta; with R = 1 + g^2 beta comes back to (1 + g^2) beta (the gain
   pattern's static heterogeneity, which XC does not remove: docs/analyze.md). */
static void test_contrast_shot_noise(void **state)
{
  const int    N = 4000000;
  const double mu = 0.1, beta = 0.3, sg = 0.2, sn = 0.1, R = 1 + sg * sg;
  double       Cc, s1, b1, bR;
  (void)state;
  ContinuousSums(N, mu, beta, sg, sn, 12, &Cc, &s1);
  MxCorrContrastNoise(1, N, &s1, &Cc, sn * sn, 1.0, &b1);
  MxCorrContrastNoise(1, N, &s1, &Cc, sn * sn, R, &bR);
  print_message("beta %.4f: plain %.4f, R %.4f (R beta %.4f)\n", beta, b1, bR, R * beta);
  assert_true(b1 - beta > 0.3);                          /* g^2/mu = 0.4 */
  assert_true(fabs(bR - R * beta) < 0.05 * beta);        /* statistical error ~ 1.5 % here */
  assert_true(fabs(bR - b1 + (R - 1) * N / s1) < 1e-12); /* R acts on the shot-noise term alone */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_common_mode), cmocka_unit_test(test_common_mode_bins),
    cmocka_unit_test(test_threshold),
    cmocka_unit_test(test_droplet), cmocka_unit_test(test_droplet_random),
    cmocka_unit_test(test_contrast_noise), cmocka_unit_test(test_contrast_shot_noise),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
