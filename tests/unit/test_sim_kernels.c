/* Simulator kernels: random streams and the speckle field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <mxpcs/rng.h>
#include <mxpcs/speckle.h>

static void test_streams_reproducible(void **state)
{
  MxRng a, b, c;
  MxRngInit(&a, 7, 1, 2, 3);
  MxRngInit(&b, 7, 1, 2, 3);
  MxRngInit(&c, 7, 1, 3, 3);
  int same = 0;
  for (int i = 0; i < 1000; i++) {
    uint64_t x = MxRngNext(&a), y = MxRngNext(&b), z = MxRngNext(&c);
    assert_true(x == y);
    same += x == z;
  }
  assert_true(same == 0);
}

static void test_normal_moments(void **state)
{
  MxRng  g;
  double s1 = 0, s2 = 0, s4 = 0, tail = 0;
  int    n  = 4000000;
  MxRngInit(&g, 1, 0, 0, 0);
  for (int i = 0; i < n; i++) {
    double x = MxRngNormal(&g);
    s1 += x;
    s2 += x * x;
    s4 += x * x * x * x;
    tail += fabs(x) > 3.442619855899;
  }
  assert_true(fabs(s1 / n) < 5 / sqrt(n));
  assert_true(fabs(s2 / n - 1) < 5 * sqrt(2.0 / n));
  assert_true(fabs(s4 / n - 3) < 5 * sqrt(96.0 / n));
  /* the Ziggurat tail: P(|x| > 3.4426) = 5.7624e-4 */
  assert_true(fabs(tail / n - 5.7624e-4) < 5 * sqrt(5.76e-4 / n));
}

static void test_poisson_gamma(void **state)
{
  const double mus[] = {0.01, 0.3, 4.0, 11.9, 12.1, 30.0, 250.0};
  MxRng        g;
  MxRngInit(&g, 3, 0, 0, 0);
  for (size_t k = 0; k < sizeof mus / sizeof *mus; k++) {
    double mu = mus[k], s1 = 0, s2 = 0;
    int    n  = 400000;
    for (int i = 0; i < n; i++) {
      double x = MxRngPoisson(&g, mu);
      s1 += x;
      s2 += x * x;
    }
    double m = s1 / n, v = s2 / n - m * m;
    assert_true(fabs(m - mu) < 5 * sqrt(mu / n));
    assert_true(fabs(v - mu) < 5 * sqrt((2 * mu * mu + mu) / n) + 1e-9);
  }
  for (double kk = 0.5; kk < 100; kk *= 4) {
    double s1 = 0, s2 = 0;
    int    n  = 400000;
    for (int i = 0; i < n; i++) {
      double x = MxRngGamma(&g, kk);
      s1 += x;
      s2 += x * x;
    }
    double m = s1 / n, v = s2 / n - m * m;
    assert_true(fabs(m - kk) < 5 * sqrt(kk / n));
    assert_true(fabs(v - kk) < 5 * sqrt((6 * kk * kk + 2 * kk) / n) + 0.01 * kk);
  }
}

static void Flat(double q, void *ctx, double *Iq, double *h)
{
  *Iq = 2.0 + 10 * q; /* a gentle slope */
  *h  = 1.0;
}

/* point samples of the field: <|E|^2> = I(q), exponential statistics (contrast 1), and the
   intensity autocorrelation of the Ornstein-Uhlenbeck modes exp(-2 Gamma dt) */
static void test_speckle_statistics(void **state)
{
  MxSpeckle s;
  MxRng     g;
  double    q0 = 0.02, dq = 1e-4, Ddt = 2e7; /* Gamma dt = Ddt q^2 = 8 at q0: a small step below */
  assert_int_equal(MxSpeckleCreate(256, 128, dq, q0, 0.0, 25000.0, Flat, NULL, &s), 0);
  MxRngInit(&g, 11, 0, 0, 0);
  double m1 = 0, m2 = 0, c11 = 0, cnt = 0, expect = 0;
  Ddt = 0.5 / (q0 * q0); /* Gamma dt = 0.5 at q0 */
  for (int rep = 0; rep < 40; rep++) {
    double I0[400];
    MxSpeckleInit(&s, &g);
    MxSpeckleField(&s);
    for (int k = 0; k < 400; k++) {
      double qx = q0 + ((k % 20) - 10) * 3.3e-4 + 0.37e-4 * rep, qy = ((k / 20) - 10) * 3.1e-4;
      double v = MxSpeckleIntensityAt(&s, qx, qy), Iq, h;
      Flat(sqrt(qx * qx + qy * qy), NULL, &Iq, &h);
      I0[k] = v / Iq;
      m1 += I0[k];
      m2 += I0[k] * I0[k];
      cnt++;
    }
    MxSpeckleAdvance(&s, &g, Ddt);
    MxSpeckleField(&s);
    for (int k = 0; k < 400; k++) {
      double qx = q0 + ((k % 20) - 10) * 3.3e-4 + 0.37e-4 * rep, qy = ((k / 20) - 10) * 3.1e-4, Iq, h;
      Flat(sqrt(qx * qx + qy * qy), NULL, &Iq, &h);
      c11 += I0[k] * MxSpeckleIntensityAt(&s, qx, qy) / Iq;
      expect += exp(-2 * Ddt * (qx * qx + qy * qy)); /* this point's exp(-2 Gamma dt) */
    }
  }
  m1 /= cnt;
  m2 /= cnt;
  c11 /= cnt;
  expect /= cnt;
  print_message("speckle: <s> = %.4f, contrast = %.4f, lag-1 g2-1 = %.4f (expected %.4f)\n", m1, m2 / (m1 * m1) - 1, c11 - 1, expect);
  assert_true(fabs(m1 - 1) < 0.05);                    /* 16000 speckle samples, ~1/3 independent */
  assert_true(fabs(m2 / (m1 * m1) - 1 - 1) < 0.12);    /* exponential statistics */
  assert_true(fabs(c11 - 1 - expect) < 0.04);
  MxSpeckleDestroy(&s);
}

/* A photon's point in its pixel follows the field: bilinear between the sub-pixel points, so a
   field linear across the pixels gives a density linear in the point; nothing is taken across a
   tile's edge or from a pixel no panel covers. */
static double MeanPoint(const float *isub, int nss, int nfs, int tile, int sub, int ss, int fs, int along_ss)
{
  MxRng  g;
  double m = 0;
  MxRngInit(&g, 5, 1, 2, 3);
  for (int k = 0; k < 200000; k++) {
    double u, v;
    MxSpecklePhotonPoint(isub, nss, nfs, tile, sub, ss, fs, &g, &u, &v);
    assert_true(u >= 0 && u < 1 && v >= 0 && v < 1);
    m += along_ss ? v : u;
  }
  return m / 200000;
}

static void test_photon_point(void **state)
{
  enum { NSS = 4, NFS = 3, SUB = 2, NS = SUB * SUB };
  float isub[NSS * NFS * NS];
  (void)state;
  /* the field at each point = its grid column + 1 (linear along fs): pixel fs = 1 sees
     2.5 + 2u, whose mean point is (2.5/2 + 2/3)/(2.5 + 1) */
  for (int ss = 0; ss < NSS; ss++)
    for (int fs = 0; fs < NFS; fs++)
      for (int a = 0; a < SUB; a++)
        for (int b = 0; b < SUB; b++) isub[(ss * NFS + fs) * NS + a * SUB + b] = (float)(fs * SUB + b + 1);
  double mu = MeanPoint(isub, NSS, NFS, 2, SUB, 1, 1, 0), mv = MeanPoint(isub, NSS, NFS, 2, SUB, 1, 1, 1);
  print_message("photon point: linear field <u> = %.4f (%.4f), <v> = %.4f (0.5)\n", mu, (1.25 + 2.0 / 3) / 3.5, mv);
  assert_true(fabs(mu - (1.25 + 2.0 / 3) / 3.5) < 0.003); /* 200000 points: sigma 0.0007 */
  assert_true(fabs(mv - 0.5) < 0.003);
  /* a flat pixel (1) at the last row of its tile, the next tile 100 times brighter, the pixel
     on its right uncovered: its points stay uniform along ss and fs */
  for (int k = 0; k < NSS * NFS * NS; k++) isub[k] = 1;
  for (int ss = 2; ss < NSS; ss++)
    for (int fs = 0; fs < NFS; fs++)
      for (int j = 0; j < NS; j++) isub[(ss * NFS + fs) * NS + j] = 100;
  for (int j = 0; j < NS; j++) isub[(1 * NFS + 2) * NS + j] = NAN;
  mv = MeanPoint(isub, NSS, NFS, 2, SUB, 1, 1, 1);
  mu = MeanPoint(isub, NSS, NFS, 2, SUB, 1, 1, 0);
  print_message("photon point: flat pixel beside a brighter tile and an uncovered pixel <u> = %.4f, <v> = %.4f (0.5)\n", mu, mv);
  assert_true(fabs(mv - 0.5) < 0.003 && fabs(mu - 0.5) < 0.003);
  /* pixel (0, 0) (1) above a 9 times brighter row of pixels in its tile: the field is 1 down to
     v = 3/4 and 16 v - 11 below it, so <v> = (9/32 + 65/96) / (3/2) = 23/36 */
  for (int fs = 0; fs < NFS; fs++)
    for (int j = 0; j < NS; j++) isub[(1 * NFS + fs) * NS + j] = 9;
  mv = MeanPoint(isub, NSS, NFS, 2, SUB, 0, 0, 1);
  print_message("photon point: above a 9 times brighter row <v> = %.4f (%.4f)\n", mv, 23.0 / 36);
  assert_true(fabs(mv - 23.0 / 36) < 0.003);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_streams_reproducible),
    cmocka_unit_test(test_normal_moments),
    cmocka_unit_test(test_poisson_gamma),
    cmocka_unit_test(test_speckle_statistics),
    cmocka_unit_test(test_photon_point),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
