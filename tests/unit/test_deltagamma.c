/* Unit tests of the Beenakker-Mazur delta-gamma kernels and the empirical Ds curves
   (src/models/deltagamma.c, empirical.c; physics-reference.md sections 3-4): Si, S_gamma0,
   Ds/D0 (simple and BM-full), H_d(q), against exact limits, mpmath values and
   tests/data/reference/{bm_Ds_table,bm_H_phi0.3,bm_Hpeak}.csv; quadrature convergence and timing. */
#include <mxpcs/models.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#define REFDIR MX_DATA_DIR "/reference/"

/* ---------- helpers ---------- */

#include "csvtest.h"

static double Now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* low-density S(q sigma) - 1 = -8 phi 3 j1(q sigma)/(q sigma) (ctx: phi) */
static double SLowDensity(double x, void *ctx)
{
  return 1.0 - 8.0 * *(const double *)ctx * MxSph3j1x(x);
}

/* golden-section maximum of H_d(q sigma) (simple or full) on [a, b]; *qmax its location */
static double HdMax(double phi, int full, double a, double b, double *qmax)
{
  const double g = 0.5 * (sqrt(5.0) - 1.0);
  double       c = b - g * (b - a), d = a + g * (b - a), fc, fd;

  MxDeltaGammaHdQuad(1, &c, phi, full, MxSqPercusYevick, &phi, NULL, &fc);
  MxDeltaGammaHdQuad(1, &d, phi, full, MxSqPercusYevick, &phi, NULL, &fd);
  for (int it = 0; it < 40; it++) {
    if (fc > fd) {
      b = d, d = c, fd = fc;
      c = b - g * (b - a);
      MxDeltaGammaHdQuad(1, &c, phi, full, MxSqPercusYevick, &phi, NULL, &fc);
    } else {
      a = c, c = d, fc = fd;
      d = a + g * (b - a);
      MxDeltaGammaHdQuad(1, &d, phi, full, MxSqPercusYevick, &phi, NULL, &fd);
    }
  }
  *qmax = 0.5 * (a + b);
  return fmax(fc, fd);
}

/* ---------- Si and S_gamma0 ---------- */

static void test_sine_integral(void **state)
{
  /* mpmath si(), 30 digits */
  static const double ref[][2] = {
    {1e-3, 0.00099999994444444611111},    {0.5, 0.49310741804306668916}, {1, 0.94608307036718301494},  {3.99, 1.7600892984314865934},
    {4.01, 1.7563053683733344889},        {10, 1.6583475942188740493},   {100, 1.5622254668890562934}, {12345.678, 1.5707388117423568468},
  };
  double maxrel = 0.0;

  (void)state;
  assert_true(MxSineIntegral(0.0) == 0.0);
  for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
    CheckClose("Si vs mpmath", MxSineIntegral(ref[i][0]), ref[i][1], 2e-15, 0, NULL);
    CheckClose("Si odd", MxSineIntegral(-ref[i][0]), -ref[i][1], 2e-15, 0, NULL);
    maxrel = fmax(maxrel, fabs(MxSineIntegral(ref[i][0]) - ref[i][1]) / ref[i][1]);
  }
  /* the series / continued-fraction switch at x = 4 */
  CheckClose("Si continuity at 4", MxSineIntegral(4.0 * (1 - 1e-15)), MxSineIntegral(4.0), 1e-14, 0, NULL);
  print_message("Si: max rel deviation from mpmath %.2e\n", maxrel);
}

/* 32nd-order series of S_gamma0 (sympy, exact rationals) in long double: converges for all y
   used here, so it checks the closed form above y = 0.6 independently */
static long double Sg0LongSeries(long double y)
{
  static const long double c[] = {5.0L / 2.0L,
                                  -3.0L / 350.0L,
                                  4.0L / 6615.0L,
                                  -1.0L / 43659.0L,
                                  2.0L / 3468465.0L,
                                  -1.0L / 94864770.0L,
                                  8.0L / 54273594375.0L,
                                  -1.0L / 612171685125.0L,
                                  8.0L / 543111517023075.0L,
                                  -1.0L / 9064851715544625.0L,
                                  8.0L / 11467037420163950625.0L,
                                  -2.0L / 529509367037823046875.0L,
                                  2.0L / 112930732034015254734375.0L,
                                  -1.0L / 13768025804821636429331250.0L,
                                  16.0L / 60883329184910338147650984375.0L,
                                  -1.0L / 1183123670175838278880633265625.0L};
  const long double y2 = y * y;
  long double       s  = 0.0L;

  for (int k = 15; k >= 1; k--) s = s * y2 + c[k];
  return c[0] + s * y2 * y2;
}

static void test_sg0(void **state)
{
  /* mpmath closed form, 50 digits */
  static const double ref[][2] = {
    {0.01, 2.499999999914286319}, {0.3, 2.4999310107455143396}, {0.59, 2.4989865416653623052}, {0.6, 2.4989169738534038228}, {0.61, 2.498843932278091521},
    {1, 2.4920109191911485016},   {2, 2.396243039754091478},    {5, 1.3989693128966564751},    {20, 0.35338668759406368086}, {100, 0.070685693075974844204},
  };
  double maxser = 0.0, maxmp = 0.0;

  (void)state;
  assert_true(MxDeltaGammaSg0(0.0) == 2.5);
  for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
    CheckClose("S_g0 vs mpmath", MxDeltaGammaSg0(ref[i][0]), ref[i][1], 1e-14, 0, NULL);
    maxmp = fmax(maxmp, fabs(MxDeltaGammaSg0(ref[i][0]) - ref[i][1]) / ref[i][1]);
  }
  /* series (y < 0.6) and closed form (y >= 0.6) against the long series around the switch */
  for (double y = 0.3; y < 1.2; y += 0.001) {
    char what[64];
    snprintf(what, sizeof what, "S_g0(%.3f) vs 32nd-order series", y);
    CheckClose(what, MxDeltaGammaSg0(y), (double)Sg0LongSeries(y), 0, 1e-13, &maxser);
  }
  CheckClose("S_g0 continuity at 0.6", MxDeltaGammaSg0(0.6 * (1 - 1e-15)), MxDeltaGammaSg0(0.6), 0, 1e-14, NULL);
  CheckClose("S_g0 at large y: 9 pi/(4y)", MxDeltaGammaSg0(1e4), 9.0 * M_PI / 4e4, 1e-8, 0, NULL);
  print_message("S_g0: max rel deviation from mpmath %.2e; max |series/closed form - long series| on [0.3, 1.2]: %.2e\n", maxmp, maxser);
}

/* ---------- Ds/D0 ---------- */

static void test_ds_mpmath_and_slope(void **state)
{
  /* mpmath quad per pi interval to 300 pi + the u/y tail, 20 digits (BM-full with the table row
     at phi = 0.3) */
  double s1, s2, c1, t0, dt;
  const double exact = 131.0 / 56.0;

  (void)state;
  CheckClose("Ds(0.05) vs mpmath", MxDeltaGammaDs(0.05), 0.89570022213342, 0, 1e-12, NULL);
  CheckClose("Ds(0.3) vs mpmath", MxDeltaGammaDs(0.3), 0.593193370545368, 0, 1e-12, NULL);
  CheckClose("Ds(0.45) vs mpmath", MxDeltaGammaDs(0.45), 0.495210451627993, 0, 1e-12, NULL);
  CheckClose("Ds_full(0.3) vs mpmath", MxDeltaGammaDsFull(0.3), 0.454368901770629, 0, 1e-12, NULL);
  assert_true(MxDeltaGammaDs(0.0) == 1.0);
  /* low-density slope: (1 - Ds)/phi = c1 - c2 phi + ..., c1 = (2/pi) Int (sin y/y)^2 S_g0 = 131/56 */
  s1 = (1.0 - MxDeltaGammaDs(1e-6)) / 1e-6;
  s2 = (1.0 - MxDeltaGammaDs(2e-6)) / 2e-6;
  c1 = 2.0 * s1 - s2;
  CheckClose("(1 - Ds)/phi at phi = 1e-7", (1.0 - MxDeltaGammaDs(1e-7)) / 1e-7, exact, 0, 1e-5, NULL);
  CheckClose("Richardson slope at phi = 1e-6", c1, exact, 0, 1e-7, NULL);
  print_message("Ds: low-phi slope %.10f (131/56 = %.10f, diff %.2e)\n", c1, exact, fabs(c1 - exact));
  t0 = Now();
  for (int i = 0; i < 10; i++) (void)MxDeltaGammaDs(0.05 * (i + 1) * 0.9);
  dt = (Now() - t0) / 10;
  print_message("Ds: %.2f ms per call; Ds_full: ", dt * 1e3);
  t0 = Now();
  for (int i = 0; i < 10; i++) (void)MxDeltaGammaDsFull(0.05 * (i + 1) * 0.9);
  print_message("%.2f ms per call\n", (Now() - t0) / 10 * 1e3);
}

static void test_ds_table(void **state)
{
  Csv   *t = malloc(sizeof *t);
  double dev[3] = {0};
  int    cphi, cs, cf, ca;

  (void)state;
  CsvRead(REFDIR "bm_Ds_table.csv", t);
  cphi = CsvCol(t, "phi"), cs = CsvCol(t, "Ds_D0_deltagamma_Sg0"), cf = CsvCol(t, "Ds_D0_deltagamma_BMfull_jscatterTable");
  ca   = CsvCol(t, "fit_Banchio_Naegele2008_1-1.8315phi(1+0.1195phi-0.70665phi2)");
  for (int i = 0; i < t->nrow; i++) {
    const double phi = t->v[i][cphi];
    char         what[96];

    snprintf(what, sizeof what, "Ds simple (phi %.2f)", phi);
    CheckClose(what, MxDeltaGammaDs(phi), t->v[i][cs], 0, 1e-6, &dev[0]); /* 6 decimals printed */
    snprintf(what, sizeof what, "Ds BM-full (phi %.2f)", phi);
    CheckClose(what, MxDeltaGammaDsFull(phi), t->v[i][cf], 0, 1e-6, &dev[1]);
    snprintf(what, sizeof what, "Ds ASD fit (phi %.2f)", phi);
    CheckClose(what, MxDsHardSphereASD(phi), t->v[i][ca], 0, 5.1e-5, &dev[2]); /* 4 decimals printed */
  }
  print_message("bm_Ds_table.csv: %d rows, max |dev| Sg0 %.2e, BM-full %.2e, ASD %.2e (printed to 1e-4)\n", t->nrow, dev[0], dev[1], dev[2]);
  free(t);
}

/* Between the gamma0 table rows the interpolation matters: a not-a-knot cubic spline (scipy
   CubicSpline) gives these values (NumPy/SciPy quadrature, 2000 pi intervals); linear
   interpolation would give 0.729413 and 0.417906. */
static void test_ds_full_between_rows(void **state)
{
  (void)state;
  CheckClose("Ds_full(0.125), spline", MxDeltaGammaDsFull(0.125), 0.7315779114530829, 0, 1e-8, NULL);
  CheckClose("Ds_full(0.33), spline", MxDeltaGammaDsFull(0.33), 0.4188375880061078, 0, 1e-8, NULL);
  /* gamma0 = 1 would give the simple scheme: the full one is lower at every phi */
  for (double phi = 0.02; phi < 0.5; phi += 0.04) assert_true(MxDeltaGammaDsFull(phi) < MxDeltaGammaDs(phi));
}

/* ---------- H_d(q) ---------- */

static void test_hd_low_density(void **state)
{
  /* H_d(0)/phi -> -(16/pi) Int (sin y/y)^2 3j1(2y)/(2y) dy = -5 (Batchelor's backflow term) */
  const MxDeltaGammaQuadrature quad = {1e-13, 40, 1};
  double                       phi  = 1e-6, q = 0.0, H, Hf;

  (void)state;
  MxDeltaGammaHdQuad(1, &q, phi, 0, SLowDensity, &phi, &quad, &H);
  MxDeltaGammaHdQuad(1, &q, phi, 1, SLowDensity, &phi, &quad, &Hf);
  CheckClose("H_d(0)/phi at phi = 1e-6", H / phi, -5.0, 0, 1e-4, NULL);
  CheckClose("H_d,full(0)/phi at phi = 1e-6", Hf / phi, -5.0, 0, 1e-4, NULL);
  print_message("H_d(0)/phi at phi = 1e-6: %.8f (simple), %.8f (full)\n", H / phi, Hf / phi);
}

static void test_hd_table_phi03(void **state)
{
  Csv         *t = malloc(sizeof *t);
  const char  *cols[6] = {"S_PY", "Hd_simple", "H_simple", "Hd_full", "H_full", "H_hybrid_ASD_Ds"};
  double       dev[6] = {0}, phi = 0.3, Ds, Dsf, Dsa, *q, *Hd, *Hf, t0, dt;
  int          c[6], cq;

  (void)state;
  CsvRead(REFDIR "bm_H_phi0.3.csv", t);
  cq = CsvCol(t, "q_sigma");
  for (int k = 0; k < 6; k++) c[k] = CsvCol(t, cols[k]);
  q  = malloc(3 * (size_t)t->nrow * sizeof(double));
  Hd = q + t->nrow;
  Hf = Hd + t->nrow;
  for (int i = 0; i < t->nrow; i++) q[i] = t->v[i][cq];
  Ds  = MxDeltaGammaDs(phi);
  Dsf = MxDeltaGammaDsFull(phi);
  Dsa = MxDsHardSphereASD(phi);
  CheckClose("Ds simple (header)", Ds, 0.593193, 0, 1e-6, NULL);
  CheckClose("Ds full (header)", Dsf, 0.454369, 0, 1e-6, NULL);
  CheckClose("Ds ASD (header)", Dsa, 0.465796, 0, 1e-6, NULL);
  t0 = Now();
  MxDeltaGammaHd(t->nrow, q, phi, MxSqPercusYevick, &phi, Hd);
  dt = Now() - t0;
  MxDeltaGammaHdFull(t->nrow, q, phi, MxSqPercusYevick, &phi, Hf);
  for (int i = 0; i < t->nrow; i++) {
    const double got[6] = {MxSqPercusYevick(q[i], &phi), Hd[i], Ds + Hd[i], Hf[i], Dsf + Hf[i], Dsa + Hd[i]};

    for (int k = 0; k < 6; k++) {
      char what[96];
      snprintf(what, sizeof what, "%s at q sigma = %g", cols[k], q[i]);
      CheckClose(what, got[k], t->v[i][c[k]], 0, 1e-6, &dev[k]); /* 6 decimals printed */
    }
  }
  for (int k = 0; k < 6; k++) print_message("bm_H_phi0.3.csv %-16s: %d rows, max |dev| %.2e\n", cols[k], t->nrow, dev[k]);
  print_message("H_d at %d q: %.1f ms\n", t->nrow, dt * 1e3);
  free(q);
  free(t);
}

static void test_hpeak_table(void **state)
{
  Csv        *t = malloc(sizeof *t);
  const char *cols[9] = {"Hd_max_simple", "Ds_simple", "H_max_simple", "Hd_max_full", "Ds_full", "H_max_full", "Ds_ASDfit", "H_max_hybrid(ASD Ds + Hd_simple)", "q_sigma_at_Hmax"};
  double      dev[9] = {0};
  int         c[9], cphi;

  (void)state;
  CsvRead(REFDIR "bm_Hpeak.csv", t);
  cphi = CsvCol(t, "phi");
  for (int k = 0; k < 9; k++) c[k] = CsvCol(t, cols[k]);
  for (int i = 0; i < t->nrow; i++) {
    const double phi = t->v[i][cphi], q0 = t->v[i][c[8]];
    double       qs, qf, Hs, Hf, Ds, Dsf, Dsa;

    Hs  = HdMax(phi, 0, q0 - 0.4, q0 + 0.4, &qs);
    Hf  = HdMax(phi, 1, q0 - 0.4, q0 + 0.4, &qf);
    Ds  = MxDeltaGammaDs(phi);
    Dsf = MxDeltaGammaDsFull(phi);
    Dsa = MxDsHardSphereASD(phi);
    {
      const double got[9] = {Hs, Ds, Ds + Hs, Hf, Dsf, Dsf + Hf, Dsa, Dsa + Hs, qs};

      for (int k = 0; k < 9; k++) {
        char what[96];
        snprintf(what, sizeof what, "%s at phi %.2f", cols[k], phi);
        /* H peak values to 1e-5 (printed to 1e-6); the peak position is printed to 1e-4 */
        CheckClose(what, got[k], t->v[i][c[k]], 0, k == 8 ? 1e-3 : 1e-5, &dev[k]);
      }
    }
    CheckClose("full-scheme peak near the simple one", qf, qs, 0, 0.05, NULL);
  }
  for (int k = 0; k < 9; k++) print_message("bm_Hpeak.csv %-34s: %d rows, max |dev| %.2e\n", cols[k], t->nrow, dev[k]);
  free(t);
}

/* Default quadrature against a much tighter one (tol 1e-12, 160 pi intervals), PY S(q), the
   densest and a dilute case; then the time for 200 q points. */
static void test_hd_convergence_and_timing(void **state)
{
  const MxDeltaGammaQuadrature tight = {1e-12, 160, 1};
  double                       q[21], Hd[21], Hr[21], maxdev = 0.0, q200[200], H200[200], t0, dt[2];

  (void)state;
  for (int i = 0; i < 21; i++) q[i] = i;
  for (int full = 0; full < 2; full++)
    for (int ip = 0; ip < 2; ip++) {
      double phi = ip ? 0.45 : 0.1;

      MxDeltaGammaHdQuad(21, q, phi, full, MxSqPercusYevick, &phi, NULL, Hd);
      MxDeltaGammaHdQuad(21, q, phi, full, MxSqPercusYevick, &phi, &tight, Hr);
      for (int i = 0; i < 21; i++) {
        char what[96];
        snprintf(what, sizeof what, "H_d default vs tight (full %d, phi %.2f, q sigma %g)", full, phi, q[i]);
        CheckClose(what, Hd[i], Hr[i], 0, 1e-7, &maxdev);
      }
    }
  print_message("H_d: default quadrature vs tight: max |dev| %.2e (q sigma 0..20, phi 0.1 and 0.45, simple and full)\n", maxdev);
  for (int i = 0; i < 200; i++) q200[i] = 0.1 * (i + 1);
  for (int ip = 0; ip < 2; ip++) {
    double phi = ip ? 0.45 : 0.3;
    t0         = Now();
    MxDeltaGammaHd(200, q200, phi, MxSqPercusYevick, &phi, H200);
    dt[ip] = Now() - t0;
    for (int i = 0; i < 200; i++) assert_true(isfinite(H200[i]));
  }
  print_message("H_d at 200 q (q sigma 0.1..20): %.0f ms at phi 0.3, %.0f ms at phi 0.45\n", dt[0] * 1e3, dt[1] * 1e3);
}

static void test_empirical(void **state)
{
  (void)state;
  CheckClose("ASD at 0", MxDsHardSphereASD(0.0), 1.0, 0, 1e-15, NULL);
  CheckClose("ASD at 0.3", MxDsHardSphereASD(0.3), 1 - 1.8315 * 0.3 * (1 + 0.1195 * 0.3 - 0.70665 * 0.09), 1e-15, 0, NULL);
  CheckClose("ASD at 0.3 (bm_Hpeak.csv)", MxDsHardSphereASD(0.3), 0.465796, 0, 1e-6, NULL);
  CheckClose("charged at phi 0.1, a_t 2.5", MxDsChargedSphere(0.1, 2.5), 0.8839602791596806, 1e-14, 0, NULL);
  CheckClose("charged at phi 0", MxDsChargedSphere(0.0, 2.5), 1.0, 0, 1e-15, NULL);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sine_integral),
    cmocka_unit_test(test_sg0),
    cmocka_unit_test(test_ds_mpmath_and_slope),
    cmocka_unit_test(test_ds_table),
    cmocka_unit_test(test_ds_full_between_rows),
    cmocka_unit_test(test_hd_low_density),
    cmocka_unit_test(test_hd_table_phi03),
    cmocka_unit_test(test_hpeak_table),
    cmocka_unit_test(test_hd_convergence_and_timing),
    cmocka_unit_test(test_empirical),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
