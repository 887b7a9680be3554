/* Unit tests of the least-squares driver (include/mxpcs/lsq.h) and the heating laws of the joint
   fit (include/mxpcs/joint.h): exact recovery, errors against the closed-form covariance of a
   linear model, bounds, failure paths. */
#include <mxpcs/joint.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define N 40

typedef struct {
  double x[N], y[N], s[N];
} Data;

static uint64_t Next(uint64_t *s)
{
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z          = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z          = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double Gauss(uint64_t *s)
{
  double u = ((double)(Next(s) >> 11) + 0.5) * 0x1.0p-53, v = ((double)(Next(s) >> 11) + 0.5) * 0x1.0p-53;
  return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* y = a exp(-b x) + c */
static int ExpModel(const double *p, double *r, void *ctx)
{
  Data *d = ctx;
  for (int i = 0; i < N; i++) r[i] = (p[0] * exp(-p[1] * d->x[i]) + p[2] - d->y[i]) / d->s[i];
  return 0;
}

/* y = a + b x: the covariance is known in closed form */
static int LineModel(const double *p, double *r, void *ctx)
{
  Data *d = ctx;
  for (int i = 0; i < N; i++) r[i] = (p[0] + p[1] * d->x[i] - d->y[i]) / d->s[i];
  return 0;
}

static int NaNModel(const double *p, double *r, void *ctx)
{
  (void)p;
  (void)ctx;
  for (int i = 0; i < N; i++) r[i] = NAN;
  return 0;
}

static void Fill(Data *d, double a, double b, double c, uint64_t seed)
{
  uint64_t s = seed;
  for (int i = 0; i < N; i++) {
    d->x[i] = 0.25 * i;
    d->s[i] = 0.01 * (1 + 0.1 * i);
    d->y[i] = a * exp(-b * d->x[i]) + c + (seed ? d->s[i] * Gauss(&s) : 0);
  }
}

static void test_exact_recovery(void **state)
{
  Data         d;
  MxLsqProblem P;
  (void)state;
  Fill(&d, 2.0, 0.7, 0.1, 0);
  assert_int_equal(MxLsqProblemCreate(3, N, &P), 0);
  P.p[0] = 1.0, P.p[1] = 0.3, P.p[2] = 0.0;
  P.lo[0] = 0, P.lo[1] = 0;
  assert_int_equal(MxLsqSolve("t1_", ExpModel, &d, 1e-12, &P), 0);
  assert_true(P.converged);
  assert_true(fabs(P.p[0] - 2.0) < 1e-8 && fabs(P.p[1] - 0.7) < 1e-8 && fabs(P.p[2] - 0.1) < 1e-8);
  assert_true(P.chi2 < 1e-12);
  MxLsqProblemDestroy(&P);
}

/* y = a + b x with noise: errors = sqrt(diag (J^T J)^-1 chi2_red), as scipy's curve_fit */
static void test_linear_covariance(void **state)
{
  Data         d;
  MxLsqProblem P;
  uint64_t     s = 7;
  double       S = 0, Sx = 0, Sxx = 0, Sy = 0, Sxy = 0;
  (void)state;
  for (int i = 0; i < N; i++) {
    d.x[i] = 0.1 * i;
    d.s[i] = 0.05;
    d.y[i] = 1.5 - 0.4 * d.x[i] + d.s[i] * Gauss(&s);
    double w = 1 / (d.s[i] * d.s[i]);
    S += w, Sx += w * d.x[i], Sxx += w * d.x[i] * d.x[i], Sy += w * d.y[i], Sxy += w * d.x[i] * d.y[i];
  }
  double det = S * Sxx - Sx * Sx, a = (Sxx * Sy - Sx * Sxy) / det, b = (S * Sxy - Sx * Sy) / det, chi2 = 0;
  for (int i = 0; i < N; i++) chi2 += pow((a + b * d.x[i] - d.y[i]) / d.s[i], 2);
  double red = chi2 / (N - 2), ea = sqrt(Sxx / det * red), eb = sqrt(S / det * red), rho = -Sx / sqrt(S * Sxx);
  assert_int_equal(MxLsqProblemCreate(2, N, &P), 0);
  P.p[0] = 0.0, P.p[1] = 0.0;
  assert_int_equal(MxLsqSolve("t2_", LineModel, &d, 1e-12, &P), 0);
  assert_true(P.converged);
  assert_true(fabs(P.p[0] - a) < 1e-9 && fabs(P.p[1] - b) < 1e-9);
  assert_true(fabs(P.err[0] / ea - 1) < 1e-5 && fabs(P.err[1] / eb - 1) < 1e-5);
  assert_true(fabs(P.corr[1] - rho) < 1e-5 && fabs(P.corr[2] - rho) < 1e-5);
  assert_true(fabs(P.chi2_red / red - 1) < 1e-9);
  MxLsqProblemDestroy(&P);
}

/* a bound that binds: the fit stops at it */
static void test_bound_active(void **state)
{
  Data         d;
  MxLsqProblem P;
  (void)state;
  Fill(&d, 2.0, 0.7, 0.1, 11);
  assert_int_equal(MxLsqProblemCreate(3, N, &P), 0);
  P.p[0] = 1.0, P.p[1] = 0.3, P.p[2] = 0.5;
  P.lo[2] = 0.3; /* truth 0.1 is outside */
  assert_int_equal(MxLsqSolve("t3_", ExpModel, &d, 1e-10, &P), 0);
  assert_true(P.converged);
  assert_true(fabs(P.p[2] - 0.3) < 1e-12);
  MxLsqProblemDestroy(&P);
}

/* errors: a model that is not finite at the start; a start outside the bounds; too few points */
static void test_failures(void **state)
{
  Data         d;
  MxLsqProblem P;
  (void)state;
  Fill(&d, 2.0, 0.7, 0.1, 0);
  assert_int_equal(MxLsqProblemCreate(3, N, &P), 0);
  P.p[0] = 1, P.p[1] = 1, P.p[2] = 0;
  PetscPushErrorHandler(PetscReturnErrorHandler, NULL);
  assert_int_not_equal(MxLsqSolve("t4_", NaNModel, &d, 1e-10, &P), 0);
  P.lo[1] = 2;
  assert_int_not_equal(MxLsqSolve("t4_", ExpModel, &d, 1e-10, &P), 0);
  MxLsqProblemDestroy(&P);
  assert_int_equal(MxLsqProblemCreate(3, 2, &P), 0);
  assert_int_not_equal(MxLsqSolve("t4_", ExpModel, &d, 1e-10, &P), 0);
  PetscPopErrorHandler();
  MxLsqProblemDestroy(&P);
}

static void test_heating_laws(void **state)
{
  (void)state;
  assert_true(MxHeatingFactor(MX_HEAT_NONE, 3.0, 298.15, 12, 5e-6) == 1.0);
  assert_true(fabs(MxHeatingFactor(MX_HEAT_LINEAR, 0.02, 298.15, 12, 10e-6) - 1.2) < 1e-15);
  /* stokes: (T/T0) exp(-Ea/R (1/T - 1/T0)) at T = T0 + 0.9 K/us * 20 us */
  double T = 298.15 + 18.0, h = (T / 298.15) * exp(-12e3 / 8.314462618 * (1 / T - 1 / 298.15));
  assert_true(fabs(MxHeatingFactor(MX_HEAT_STOKES, 0.9, 298.15, 12, 20e-6) / h - 1) < 1e-14);
  /* Ea = 0: D ~ T */
  assert_true(fabs(MxHeatingFactor(MX_HEAT_STOKES, 1.0, 300, 0, 30e-6) - 330.0 / 300.0) < 1e-14);
  assert_true(isnan(MxHeatingFactor(MX_HEAT_STOKES, -100, 300, 12, 10e-6)));
}

int main(int argc, char **argv)
{
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_exact_recovery), cmocka_unit_test(test_linear_covariance), cmocka_unit_test(test_bound_active), cmocka_unit_test(test_failures), cmocka_unit_test(test_heating_laws),
  };
  rc = cmocka_run_group_tests_name("joint", tests, NULL, NULL);
  if (PetscFinalize()) return 1;
  return rc;
}
