/* Unit tests of the least-squares layer (include/mxpcs/lsq.h) that every fit uses: exact
   recovery with finite-difference and analytic Jacobians, errors against the closed-form
   covariance of a linear model, both step tests, bounds, failure paths, a reused MxLsq across
   shapes, and the LAPACK helpers against matrices whose inverse, factor or solution is known. */
#include <mxpcs/lsq.h>
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
  int    njac; /* analytic Jacobian calls */
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
static int ExpJacobian(const double *p, double *J, void *ctx)
{
  Data *d = ctx;
  d->njac++;
  for (int i = 0; i < N; i++) {
    double e  = exp(-p[1] * d->x[i]);
    J[i]         = e / d->s[i];
    J[N + i]     = -p[0] * d->x[i] * e / d->s[i];
    J[2 * N + i] = 1.0 / d->s[i];
  }
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
  d->njac    = 0;
  for (int i = 0; i < N; i++) {
    d->x[i] = 0.25 * i;
    d->s[i] = 0.01 * (1 + 0.1 * i);
    d->y[i] = a * exp(-b * d->x[i]) + c + (seed ? d->s[i] * Gauss(&s) : 0);
  }
}

static PetscErrorCode Solve(const char *prefix, MxLsqResidualFn f, MxLsqJacobianFn jac, void *ctx, MxLsqStepTest test, double xtol, MxLsqProblem *P)
{
  MxLsq L;
  PetscFunctionBeginUser;
  PetscCall(MxLsqCreate(&L));
  PetscCall(MxLsqSetOptionsPrefix(L, prefix));
  PetscCall(MxLsqSetFunctions(L, f, jac, ctx));
  PetscCall(MxLsqSetStepTest(L, test, xtol));
  PetscCall(MxLsqSolve(L, P));
  PetscCall(MxLsqDestroy(&L));
  PetscFunctionReturn(0);
}

static void test_exact_recovery(void **state)
{
  Data         d;
  MxLsqProblem P;
  (void)state;
  Fill(&d, 2.0, 0.7, 0.1, 0);
  for (int analytic = 0; analytic < 2; analytic++) {
    assert_int_equal(MxLsqProblemCreate(3, N, &P), 0);
    P.p[0] = 1.0, P.p[1] = 0.3, P.p[2] = 0.0;
    P.lo[0] = 0, P.lo[1] = 0;
    d.njac = 0;
    assert_int_equal(Solve("t1_", ExpModel, analytic ? ExpJacobian : NULL, &d, MX_LSQ_STEP_RELATIVE, 1e-12, &P), 0);
    assert_true(P.converged);
    assert_true(fabs(P.p[0] - 2.0) < 1e-8 && fabs(P.p[1] - 0.7) < 1e-8 && fabs(P.p[2] - 0.1) < 1e-8);
    assert_true(P.chi2 < 1e-12);
    assert_true(analytic ? d.njac > 0 : d.njac == 0); /* the analytic Jacobian is the one used */
    MxLsqProblemDestroy(&P);
  }
}

/* noisy data: the analytic and the finite-difference Jacobian give the same fit and errors, and
   the SIGMA step test the same minimum as the RELATIVE one */
static void test_jacobians_and_step_tests_agree(void **state)
{
  Data         d;
  MxLsqProblem P[3];
  (void)state;
  Fill(&d, 2.0, 0.7, 0.1, 5);
  for (int k = 0; k < 3; k++) {
    assert_int_equal(MxLsqProblemCreate(3, N, &P[k]), 0);
    P[k].p[0] = 1.0, P[k].p[1] = 0.3, P[k].p[2] = 0.0;
    assert_int_equal(Solve("t5_", ExpModel, k ? ExpJacobian : NULL, &d, k == 2 ? MX_LSQ_STEP_SIGMA : MX_LSQ_STEP_RELATIVE, k == 2 ? 1e-6 : 1e-12, &P[k]), 0);
    assert_true(P[k].converged);
  }
  for (int k = 1; k < 3; k++)
    for (int j = 0; j < 3; j++) {
      assert_true(fabs(P[k].p[j] - P[0].p[j]) < 1e-6 * P[0].err[j]);
      assert_true(fabs(P[k].err[j] / P[0].err[j] - 1) < 1e-5);
      for (int i = 0; i < 3; i++) assert_true(fabs(P[k].cov[i * 3 + j] - P[0].cov[i * 3 + j]) <= 1e-5 * sqrt(P[0].cov[i * 3 + i] * P[0].cov[j * 3 + j]));
    }
  for (int k = 0; k < 3; k++) MxLsqProblemDestroy(&P[k]);
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
  assert_int_equal(Solve("t2_", LineModel, NULL, &d, MX_LSQ_STEP_RELATIVE, 1e-12, &P), 0);
  assert_true(P.converged);
  assert_true(fabs(P.p[0] - a) < 1e-9 && fabs(P.p[1] - b) < 1e-9);
  assert_true(fabs(P.err[0] / ea - 1) < 1e-5 && fabs(P.err[1] / eb - 1) < 1e-5);
  assert_true(fabs(P.corr[1] - rho) < 1e-5 && fabs(P.corr[2] - rho) < 1e-5);
  assert_true(fabs(P.cov[1] / (-Sx / det * red) - 1) < 1e-5 && P.cov[1] == P.cov[2]);
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
  for (int analytic = 0; analytic < 2; analytic++) {
    assert_int_equal(MxLsqProblemCreate(3, N, &P), 0);
    P.p[0] = 1.0, P.p[1] = 0.3, P.p[2] = 0.5;
    P.lo[2] = 0.3; /* truth 0.1 is outside */
    assert_int_equal(Solve("t3_", ExpModel, analytic ? ExpJacobian : NULL, &d, MX_LSQ_STEP_RELATIVE, 1e-10, &P), 0);
    assert_true(P.converged);
    assert_true(fabs(P.p[2] - 0.3) < 1e-12);
    MxLsqProblemDestroy(&P);
  }
}

/* one MxLsq for problems of two shapes, alternately (as the g2 fits reuse theirs): the same bits
   as a fresh MxLsq for each */
static void test_reuse_across_shapes(void **state)
{
  Data         d1, d2;
  MxLsq        L;
  MxLsqProblem P, Q;
  double       ref[2][3];
  (void)state;
  Fill(&d1, 2.0, 0.7, 0.1, 3);
  Fill(&d2, 1.0, 0.2, 0.0, 4);
  for (int k = 0; k < 2; k++) {
    assert_int_equal(MxLsqProblemCreate(k ? 2 : 3, N, &P), 0);
    P.p[0] = 1.0, P.p[1] = k ? 0.0 : 0.3;
    if (!k) P.p[2] = 0.0;
    assert_int_equal(Solve("t6_", k ? LineModel : ExpModel, NULL, k ? (void *)&d2 : (void *)&d1, MX_LSQ_STEP_RELATIVE, 1e-10, &P), 0);
    for (int j = 0; j < P.np; j++) ref[k][j] = P.p[j];
    MxLsqProblemDestroy(&P);
  }
  assert_int_equal(MxLsqCreate(&L), 0);
  assert_int_equal(MxLsqSetOptionsPrefix(L, "t6_"), 0);
  for (int rep = 0; rep < 4; rep++) {
    int k = rep % 2;
    assert_int_equal(MxLsqSetFunctions(L, k ? LineModel : ExpModel, NULL, k ? (void *)&d2 : (void *)&d1), 0);
    assert_int_equal(MxLsqProblemCreate(k ? 2 : 3, N, &Q), 0);
    Q.p[0] = 1.0, Q.p[1] = k ? 0.0 : 0.3;
    if (!k) Q.p[2] = 0.0;
    assert_int_equal(MxLsqSolve(L, &Q), 0);
    for (int j = 0; j < Q.np; j++) assert_true(Q.p[j] == ref[k][j]);
    MxLsqProblemDestroy(&Q);
  }
  MxLsqDestroy(&L);
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
  assert_int_not_equal(Solve("t4_", NaNModel, NULL, &d, MX_LSQ_STEP_RELATIVE, 1e-10, &P), 0);
  P.lo[1] = 2;
  assert_int_not_equal(Solve("t4_", ExpModel, NULL, &d, MX_LSQ_STEP_RELATIVE, 1e-10, &P), 0);
  MxLsqProblemDestroy(&P);
  assert_int_equal(MxLsqProblemCreate(3, 2, &P), 0);
  assert_int_not_equal(Solve("t4_", ExpModel, NULL, &d, MX_LSQ_STEP_RELATIVE, 1e-10, &P), 0);
  assert_int_not_equal(Solve("t4_", ExpModel, NULL, &d, MX_LSQ_STEP_RELATIVE, -1, &P), 0);
  PetscPopErrorHandler();
  MxLsqProblemDestroy(&P);
}

/* the LAPACK helpers on matrices whose answer is known */
static void test_linear_algebra(void **state)
{
  enum { K = 4 };
  double D[K] = {1e-6, 1.0, 1e3, 1e8}, A[K * K], Ai[K * K], H[K * K], L[K * K], B[K * 2], X[K * 2];
  (void)state;
  /* A = D H D with H the Hilbert matrix (inverse known in integers), scales 14 decades apart */
  static const double Hinv[K * K] = {16, -120, 240, -140, -120, 1200, -2700, 1680, 240, -2700, 6480, -4200, -140, 1680, -4200, 2800};
  for (int i = 0; i < K; i++)
    for (int j = 0; j < K; j++) {
      H[i * K + j] = 1.0 / (i + j + 1);
      A[i * K + j] = D[i] * H[i * K + j] * D[j];
    }
  assert_int_equal(MxSymInverse(K, A, Ai), 0);
  for (int i = 0; i < K; i++)
    for (int j = 0; j < K; j++) assert_true(fabs(Ai[i * K + j] * D[i] * D[j] / Hinv[i * K + j] - 1) < 1e-9);
  /* singular: two equal rows and columns */
  for (int j = 0; j < K; j++) A[1 * K + j] = A[0 * K + j], A[j * K + 1] = A[j * K + 0];
  A[1 * K + 1] = A[0];
  assert_int_not_equal(MxSymInverse(K, A, Ai), 0);
  /* Cholesky: L L^T = H, L lower */
  memcpy(L, H, sizeof H);
  assert_int_equal(MxCholesky(K, L), 0);
  for (int i = 0; i < K; i++)
    for (int j = 0; j < K; j++) {
      double s = 0;
      for (int k = 0; k < K; k++) s += L[i * K + k] * L[j * K + k];
      assert_true(fabs(s - H[i * K + j]) < 1e-14);
      if (j > i) assert_true(L[i * K + j] == 0.0);
    }
  memcpy(L, H, sizeof H);
  L[0] = -1;
  assert_int_not_equal(MxCholesky(K, L), 0);
  /* a general (non-symmetric) system with two right-hand sides */
  static const double G[K * K] = {0, 2, 1, 0, 1, 0, 0, 3, 4, 1, 0, 0, 0, 0, 5, 1}, x[K * 2] = {1, -1, 2, 0.5, -3, 4, 0.25, 2};
  for (int i = 0; i < K; i++)
    for (int l = 0; l < 2; l++) {
      B[i * 2 + l] = 0;
      for (int j = 0; j < K; j++) B[i * 2 + l] += G[i * K + j] * x[j * 2 + l];
    }
  memcpy(A, G, sizeof G);
  memcpy(X, B, sizeof B);
  assert_int_equal(MxLinearSolve(K, 2, A, X), 0);
  for (int i = 0; i < K * 2; i++) assert_true(fabs(X[i] - x[i]) < 1e-13);
  memcpy(A, G, sizeof G);
  for (int j = 0; j < K; j++) A[3 * K + j] = A[0 * K + j];
  assert_int_not_equal(MxLinearSolve(K, 2, A, B), 0);
}

int main(int argc, char **argv)
{
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_exact_recovery), cmocka_unit_test(test_jacobians_and_step_tests_agree), cmocka_unit_test(test_linear_covariance), cmocka_unit_test(test_bound_active), cmocka_unit_test(test_reuse_across_shapes), cmocka_unit_test(test_failures), cmocka_unit_test(test_linear_algebra),
  };
  rc = cmocka_run_group_tests_name("lsq", tests, NULL, NULL);
  if (PetscFinalize()) return 1;
  return rc;
}
