/* Unit tests of the g2 fits and the zero-age extrapolation (include/mxpcs/g2fit.h):
   exact and noisy synthetic curves, fixed and free beta, failure paths, closed-form covariances;
   one beta shared by several age windows (MxG2FitExpShared, MxG2AgeFit with -fit_beta shared) and
   the flag when the diagonal contrast and the fits' intercept disagree.
   Also a driver for tests/peer/g2fit_scipy.py:
     test_g2fit --fit-file FILE BETA0 fixed|free   (FILE: "tau_s y sigma" lines)
   prints "gamma gamma_err beta beta_err chi2_red converged" with %.17g. */
#include <mxpcs/g2fit.h>
#include <mxpcs/g2age.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define NT  49
#define DT  443.1e-9 /* s, 2.2 MHz pulse spacing */

static uint64_t Next(uint64_t *s) /* splitmix64: fixed-seed data, the same on every machine */
{
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z          = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z          = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static double Uniform(uint64_t *s) { return ((double)(Next(s) >> 11) + 0.5) * 0x1.0p-53; }
static double Gauss(uint64_t *s) { return sqrt(-2.0 * log(Uniform(s))) * cos(2.0 * M_PI * Uniform(s)); }

static double Rel(double a, double b) { return fabs(a - b) / fabs(b); }

/* g2 - 1 on the pulse grid, errors growing with lag; noise of that size when seed != 0 */
static void MakeCurve(double gamma, double beta, uint64_t seed, double *tau, double *y, double *sg)
{
  uint64_t s = seed;
  for (int k = 0; k < NT; k++) {
    tau[k] = (k + 1) * DT;
    sg[k]  = 2e-3 * (1.0 + k / 25.0);
    y[k]   = beta * exp(-2.0 * gamma * tau[k]) + (seed ? sg[k] * Gauss(&s) : 0.0);
  }
}

static MxG2Fit NewFit(const char *beta_mode)
{
  MxG2Fit f;
  assert_int_equal(PetscOptionsSetValue(NULL, "-fit_beta", beta_mode), 0);
  assert_int_equal(MxG2FitCreate(PETSC_COMM_SELF, &f), 0);
  assert_int_equal(MxG2FitSetFromOptions(f), 0);
  assert_int_equal(PetscOptionsClearValue(NULL, "-fit_beta"), 0);
  return f;
}

static void AssertFinite(const MxG2FitResult *r)
{
  assert_true(isfinite(r->gamma));
  assert_true(isfinite(r->beta));
  assert_false(isnan(r->gamma_err));
  assert_false(isnan(r->beta_err));
  assert_true(r->reason[0] != '\0');
}

static void test_options(void **state)
{
  (void)state;
  PetscBool fb;
  MxG2Fit   f = NewFit("free");
  assert_int_equal(MxG2FitGetBetaFree(f, &fb), 0);
  assert_true(fb);
  assert_int_equal(MxG2FitDestroy(&f), 0);
  assert_null(f);
  f = NewFit("fixed");
  assert_int_equal(MxG2FitGetBetaFree(f, &fb), 0);
  assert_false(fb);
  assert_int_equal(MxG2FitDestroy(&f), 0);
  f = NewFit("shared");
  {
    MxG2FitBeta mode;
    assert_int_equal(MxG2FitGetBetaFree(f, &fb), 0);
    assert_false(fb);
    assert_int_equal(MxG2FitGetBetaMode(f, &mode), 0);
    assert_int_equal(mode, MX_G2FIT_BETA_SHARED);
    assert_string_equal(MxG2FitBetaNames[mode], "shared");
  }
  assert_int_equal(MxG2FitDestroy(&f), 0);
  assert_int_equal(MxG2FitDestroy(&f), 0); /* NULL-safe */
}

/* noiseless curves over the physical range of Gamma: exact recovery, from a wrong beta start */
static void test_exact(void **state)
{
  (void)state;
  const double gammas[] = {1e5, 3e5, 1e6, 3e6, 1e7};
  double       tau[NT], y[NT], sg[NT];
  MxG2Fit      ffree = NewFit("free"), ffix = NewFit("fixed");

  for (size_t g = 0; g < sizeof(gammas) / sizeof(*gammas); g++) {
    MxG2FitResult r;
    MakeCurve(gammas[g], 0.23, 0, tau, y, sg);
    assert_int_equal(MxG2FitExp(ffree, NT, tau, y, sg, 0.15, &r), 0);
    if (!r.converged || Rel(r.gamma, gammas[g]) > 1e-8 || Rel(r.beta, 0.23) > 1e-8)
      print_error("free Gamma %g: %s gamma %.15g beta %.15g\n", gammas[g], r.reason, r.gamma, r.beta);
    assert_true(r.converged);
    assert_true(Rel(r.gamma, gammas[g]) < 1e-8);
    assert_true(Rel(r.beta, 0.23) < 1e-8);
    assert_true(r.chi2_red < 1e-12);
    assert_int_equal(MxG2FitExp(ffix, NT, tau, y, sg, 0.23, &r), 0);
    assert_true(r.converged);
    assert_true(Rel(r.gamma, gammas[g]) < 1e-8);
    assert_true(r.beta == 0.23 && r.beta_err == 0.0);
  }
  assert_int_equal(MxG2FitDestroy(&ffree), 0);
  assert_int_equal(MxG2FitDestroy(&ffix), 0);
}

/* noisy curves: truth within 4 reported sigma for every seed; chi2_red near 1 */
static void test_noisy(void **state)
{
  (void)state;
  double  tau[NT], y[NT], sg[NT], gtrue = 8e5, btrue = 0.3, chi2 = 0.0, pull2 = 0.0;
  MxG2Fit ffree = NewFit("free"), ffix = NewFit("fixed");
  int     nseed = 40;

  for (int s = 1; s <= nseed; s++) {
    MxG2FitResult rf, rx;
    MakeCurve(gtrue, btrue, (uint64_t)s * 7919u, tau, y, sg);
    assert_int_equal(MxG2FitExp(ffree, NT, tau, y, sg, btrue, &rf), 0);
    assert_int_equal(MxG2FitExp(ffix, NT, tau, y, sg, btrue, &rx), 0);
    assert_true(rf.converged && rx.converged);
    assert_true(rf.gamma_err > 0 && rf.beta_err > 0 && rx.gamma_err > 0);
    assert_true(fabs(rf.gamma - gtrue) < 4 * rf.gamma_err);
    assert_true(fabs(rf.beta - btrue) < 4 * rf.beta_err);
    assert_true(fabs(rx.gamma - gtrue) < 4 * rx.gamma_err);
    /* beta free adds a parameter correlated with Gamma: a larger Gamma error */
    assert_true(rf.gamma_err > rx.gamma_err);
    chi2 += rf.chi2_red;
    pull2 += (rf.gamma - gtrue) * (rf.gamma - gtrue) / (rf.gamma_err * rf.gamma_err);
  }
  chi2 /= nseed;
  pull2 /= nseed;
  if (fabs(chi2 - 1) > 0.15 || pull2 < 0.5 || pull2 > 1.6) print_error("mean chi2_red %g, mean pull^2 %g\n", chi2, pull2);
  assert_true(fabs(chi2 - 1) < 0.15); /* sd of the mean of 40 chi2_red with 47 dof: 0.03 */
  assert_true(pull2 > 0.5 && pull2 < 1.6); /* the errors are the right size, not just large */
  assert_int_equal(MxG2FitDestroy(&ffree), 0);
  assert_int_equal(MxG2FitDestroy(&ffix), 0);
}

/* fixed vs free on the same data: nested minima, and a wrong fixed beta biases Gamma */
static void test_fixed_vs_free(void **state)
{
  (void)state;
  double        tau[NT], y[NT], sg[NT];
  MxG2FitResult rf, rx, rw;
  MxG2Fit       ffree = NewFit("free"), ffix = NewFit("fixed");

  MakeCurve(2e6, 0.2, 12345, tau, y, sg);
  assert_int_equal(MxG2FitExp(ffree, NT, tau, y, sg, 0.5, &rf), 0);
  assert_int_equal(MxG2FitExp(ffix, NT, tau, y, sg, rf.beta, &rx), 0); /* fixed at the free optimum */
  assert_true(rf.converged && rx.converged);
  assert_true(Rel(rx.gamma, rf.gamma) < 1e-7);
  assert_true(Rel(rx.chi2_red * (NT - 1), rf.chi2_red * (NT - 2)) < 1e-9); /* same chi2 */
  assert_int_equal(MxG2FitExp(ffix, NT, tau, y, sg, 0.8 * rf.beta, &rw), 0);
  if (!(rw.gamma < rf.gamma - 3 * rx.gamma_err)) print_error("free %g +- %g, beta %g; fixed at 0.8 beta: %g\n", rf.gamma, rf.gamma_err, rf.beta, rw.gamma);
  assert_true(rw.converged);
  assert_true(rw.beta == 0.8 * rf.beta);
  assert_true(rx.gamma_err < rf.gamma_err);
  assert_true(rw.gamma < rf.gamma - 3 * rx.gamma_err); /* Gamma alone is known to rx.gamma_err */
  assert_true(rw.chi2_red * (NT - 1) > rf.chi2_red * (NT - 2));
  assert_int_equal(MxG2FitDestroy(&ffree), 0);
  assert_int_equal(MxG2FitDestroy(&ffix), 0);
}

#define NW 3
static const double shared_gamma[NW] = {4e5, 8e5, 1.6e6}; /* Gamma rising with age (heating) */

/* NW windows of one ring, one after the other: g2 - 1 with a common beta */
static void MakeWindows(double beta, uint64_t seed, double *tau, double *y, double *sg, int *n)
{
  for (int w = 0; w < NW; w++) {
    MakeCurve(shared_gamma[w], beta, seed ? seed + 101u * w : 0, tau + w * NT, y + w * NT, sg + w * NT);
    n[w] = NT;
  }
}

/* a shared beta: noiseless windows give beta and every Gamma back from a wrong beta start or
   none; an empty window gets no Gamma, the others are unaffected */
static void test_shared_exact(void **state)
{
  (void)state;
  double        tau[NW * NT], y[NW * NT], sg[NW * NT];
  int           n[NW];
  MxG2FitResult r[NW];
  MxG2Fit       f = NewFit("fixed"); /* MxG2FitExpShared fits a shared beta whatever -fit_beta says */

  MakeWindows(0.25, 0, tau, y, sg, n);
  for (int start = 0; start < 2; start++) {
    assert_int_equal(MxG2FitExpShared(f, NW, n, tau, y, sg, start ? NAN : 0.31, r), 0);
    for (int w = 0; w < NW; w++) {
      if (!r[w].converged || Rel(r[w].gamma, shared_gamma[w]) > 1e-8 || Rel(r[w].beta, 0.25) > 1e-8) print_error("start %d window %d: %s gamma %.15g beta %.15g\n", start, w, r[w].reason, r[w].gamma, r[w].beta);
      assert_true(r[w].converged);
      assert_true(Rel(r[w].gamma, shared_gamma[w]) < 1e-8);
      assert_true(Rel(r[w].beta, 0.25) < 1e-8);
      assert_true(r[w].chi2_red < 1e-12);
    }
  }
  n[1] = 0; /* the middle window has no points: the arrays hold windows 0 and 2 only */
  memmove(tau + NT, tau + 2 * NT, NT * sizeof(double));
  memmove(y + NT, y + 2 * NT, NT * sizeof(double));
  memmove(sg + NT, sg + 2 * NT, NT * sizeof(double));
  assert_int_equal(MxG2FitExpShared(f, NW, n, tau, y, sg, 0.2, r), 0);
  assert_false(r[1].converged);
  assert_string_equal(r[1].reason, "too few points");
  assert_true(r[0].converged && r[2].converged);
  assert_true(Rel(r[0].gamma, shared_gamma[0]) < 1e-8 && Rel(r[2].gamma, shared_gamma[2]) < 1e-8);
  n[0] = n[2] = 0;
  assert_int_equal(MxG2FitExpShared(f, NW, n, tau, y, sg, 0.2, r), 0);
  for (int w = 0; w < NW; w++) assert_false(r[w].converged);
  assert_int_equal(MxG2FitDestroy(&f), 0);
}

/* noisy windows: beta and every Gamma within 4 of their errors, pulls of the right size, and the
   shared beta better known than any window's free beta */
static void test_shared_noisy(void **state)
{
  (void)state;
  double  tau[NW * NT], y[NW * NT], sg[NW * NT], btrue = 0.3, pull2 = 0.0;
  int     n[NW], nseed = 30, npull = 0;
  MxG2Fit f = NewFit("free");

  for (int s = 1; s <= nseed; s++) {
    MxG2FitResult r[NW], rf;
    MakeWindows(btrue, (uint64_t)s * 7919u, tau, y, sg, n);
    assert_int_equal(MxG2FitExpShared(f, NW, n, tau, y, sg, 0.9 * btrue, r), 0);
    assert_true(r[0].beta_err > 0 && isfinite(r[0].beta_err));
    assert_true(fabs(r[0].beta - btrue) < 4 * r[0].beta_err);
    pull2 += (r[0].beta - btrue) * (r[0].beta - btrue) / (r[0].beta_err * r[0].beta_err);
    npull++;
    for (int w = 0; w < NW; w++) {
      assert_true(r[w].converged);
      assert_true(r[w].beta == r[0].beta && r[w].beta_err == r[0].beta_err);
      assert_true(fabs(r[w].gamma - shared_gamma[w]) < 4 * r[w].gamma_err);
      pull2 += (r[w].gamma - shared_gamma[w]) * (r[w].gamma - shared_gamma[w]) / (r[w].gamma_err * r[w].gamma_err);
      npull++;
      assert_int_equal(MxG2FitExp(f, NT, tau + w * NT, y + w * NT, sg + w * NT, btrue, &rf), 0);
      assert_true(r[0].beta_err / sqrt(r[0].chi2_red) < rf.beta_err / sqrt(rf.chi2_red)); /* at chi2_red 1: information adds */
    }
  }
  pull2 /= npull;
  print_message("shared beta: mean pull^2 %g over %d parameters\n", pull2, npull);
  if (pull2 < 0.6 || pull2 > 1.5) print_error("mean pull^2 %g\n", pull2);
  assert_true(pull2 > 0.6 && pull2 < 1.5);
  assert_int_equal(MxG2FitDestroy(&f), 0);
}

/* MxG2AgeFit on two rings of NW windows, the diagonal contrast given right for ring 0 and 20 %
   too high for ring 1: with -fit_beta shared the Gammas of both rings are right and the
   intercept flags ring 1 only; with fixed the Gammas of ring 1 are biased but the intercept
   (a shared fit for the report) flags it just the same; with free, too. */
static void test_shared_agefit_flag(void **state)
{
  (void)state;
  const double   btrue = 0.25, beta[2] = {btrue, 1.2 * btrue}, beta_err[2] = {0.002, 0.002};
  double         g2[2 * NW * NT], g2e[2 * NW * NT], tau[NW * NT], age[NW], gam[2 * NW], ge[2 * NW], g0[2], g0e[2], bf[2], bfe[2];
  int            n[NW];
  const char    *modes[] = {"shared", "fixed", "free"};
  MxG2AgeLayout  L = {.nring = 2, .nwin = NW, .ntau = NT, .dt_s = DT, .age = age, .extrap_order = MX_EXTRAP_LINEAR};

  for (int w = 0; w < NW; w++) age[w] = (10.0 * w + 0.5 * NT) * DT;
  for (int r = 0; r < 2; r++) {
    MakeWindows(btrue, 4242u + 1000u * r, tau, g2 + r * NW * NT, g2e + r * NW * NT, n);
    for (int i = 0; i < NW * NT; i++) g2[r * NW * NT + i] += 1.0;
  }
  for (int m = 0; m < 3; m++) {
    MxG2Fit f = NewFit(modes[m]);
    assert_int_equal(MxG2AgeFit(f, &L, g2, g2e, beta, NULL, gam, ge, g0, g0e, bf, bfe, PETSC_TRUE), 0);
    for (int r = 0; r < 2; r++) {
      int flag = MxG2AgeBetaDisagree(beta[r], beta_err[r], bf[r], bfe[r]);
      print_message("%s ring %d: diagonal %.4f, intercept %.4f +- %.4f, flag %d; Gamma", modes[m], r, beta[r], bf[r], bfe[r], flag);
      for (int w = 0; w < NW; w++) print_message(" %.4g+-%.2g", gam[r * NW + w], ge[r * NW + w]);
      print_message("\n");
      assert_true(fabs(bf[r] - btrue) < 4 * bfe[r]); /* the intercept does not depend on the diagonal */
      assert_int_equal(flag, r == 1);
      for (int w = 0; w < NW; w++) {
        const double pull = (gam[r * NW + w] - shared_gamma[w]) / ge[r * NW + w];
        if (r == 1 && m == 1) assert_true(pull > 4); /* fixed at a beta 20 % too high: a steeper decay */
        else assert_true(fabs(pull) < 4);
      }
    }
    assert_int_equal(MxG2FitDestroy(&f), 0);
  }
  /* the flag itself: 3 sigma of the two errors in quadrature; nothing flagged without errors */
  assert_false(MxG2AgeBetaDisagree(0.30, 0.003, 0.30 + 0.0149, 0.004));
  assert_true(MxG2AgeBetaDisagree(0.30, 0.003, 0.30 + 0.0151, 0.004));
  assert_true(MxG2AgeBetaDisagree(0.30 + 0.0151, 0.003, 0.30, 0.004));
  assert_false(MxG2AgeBetaDisagree(0.30, 0.003, NAN, NAN));
  assert_false(MxG2AgeBetaDisagree(0.30, 0.003, 0.5, INFINITY));
}

/* one object across calls with different n equals fresh objects; invalid points are skipped */
static void test_reuse_and_skip(void **state)
{
  (void)state;
  double        tau[NT], y[NT], sg[NT], t2[NT + 3], y2[NT + 3], s2[NT + 3];
  MxG2FitResult a, b, c, fresh;
  MxG2Fit       f = NewFit("free"), g;

  MakeCurve(5e5, 0.25, 99, tau, y, sg);
  assert_int_equal(MxG2FitExp(f, NT, tau, y, sg, 0.25, &a), 0);
  assert_int_equal(MxG2FitExp(f, 20, tau, y, sg, 0.25, &b), 0);
  assert_int_equal(MxG2FitExp(f, NT, tau, y, sg, 0.25, &c), 0);
  g = NewFit("free");
  assert_int_equal(MxG2FitExp(g, 20, tau, y, sg, 0.25, &fresh), 0);
  assert_int_equal(MxG2FitDestroy(&g), 0);
  assert_true(a.converged && b.converged && c.converged);
  assert_true(a.gamma == c.gamma && a.beta == c.beta && a.gamma_err == c.gamma_err);
  assert_true(Rel(b.gamma, fresh.gamma) < 1e-12 && Rel(b.gamma_err, fresh.gamma_err) < 1e-12);
  assert_true(Rel(a.gamma, b.gamma) > 1e-6); /* different data, different answer */
  /* the same points plus a NaN y, a zero sigma and a NaN sigma */
  for (int k = 0; k < NT; k++) {
    t2[k] = tau[k];
    y2[k] = y[k];
    s2[k] = sg[k];
  }
  t2[NT]     = 1e-6;
  y2[NT]     = NAN;
  s2[NT]     = 1e-3;
  t2[NT + 1] = 2e-6;
  y2[NT + 1] = 5.0;
  s2[NT + 1] = 0.0;
  t2[NT + 2] = 3e-6;
  y2[NT + 2] = 5.0;
  s2[NT + 2] = NAN;
  assert_int_equal(MxG2FitExp(f, NT + 3, t2, y2, s2, 0.25, &b), 0);
  assert_true(b.converged);
  assert_true(Rel(b.gamma, a.gamma) < 1e-10 && Rel(b.gamma_err, a.gamma_err) < 1e-8);
  assert_int_equal(MxG2FitDestroy(&f), 0);
}

/* failure paths: converged = 0, a reason, and never NaN parameters */
static void test_failures(void **state)
{
  (void)state;
  double        tau[NT], y[NT], sg[NT], bad[NT];
  MxG2FitResult r;
  MxG2Fit       ffree = NewFit("free"), ffix = NewFit("fixed");

  MakeCurve(1e6, 0.2, 7, tau, y, sg);
  assert_int_equal(MxG2FitExp(ffree, 1, tau, y, sg, 0.2, &r), 0);
  assert_false(r.converged);
  assert_string_equal(r.reason, "too few points");
  AssertFinite(&r);
  assert_int_equal(MxG2FitExp(ffix, 0, tau, y, sg, 0.2, &r), 0);
  assert_false(r.converged);
  assert_string_equal(r.reason, "too few points");
  AssertFinite(&r);
  for (int k = 0; k < NT; k++) bad[k] = (k % 3 == 0) ? 0.0 : (k % 3 == 1 ? -1.0 : NAN);
  assert_int_equal(MxG2FitExp(ffree, NT, tau, y, bad, 0.2, &r), 0);
  assert_false(r.converged);
  assert_string_equal(r.reason, "too few points");
  AssertFinite(&r);
  /* fixed beta with exactly one point: a fit, but no degrees of freedom for an error */
  assert_int_equal(MxG2FitExp(ffix, 1, tau, y, sg, 0.2, &r), 0);
  AssertFinite(&r);
  assert_true(isinf(r.gamma_err));
  /* a fixed beta that is no contrast */
  assert_int_equal(MxG2FitExp(ffix, NT, tau, y, sg, NAN, &r), 0);
  assert_false(r.converged);
  AssertFinite(&r);
  assert_int_equal(MxG2FitDestroy(&ffree), 0);
  assert_int_equal(MxG2FitDestroy(&ffix), 0);

  /* TAO out of iterations: its reason, and the last iterate */
  assert_int_equal(PetscOptionsSetValue(NULL, "-fit_tao_max_it", "1"), 0);
  ffree = NewFit("free");
  assert_int_equal(PetscOptionsClearValue(NULL, "-fit_tao_max_it"), 0);
  for (int k = 0; k < NT; k++) y[k] = 0.2 * exp(-2e6 * tau[k]) + ((k % 2) ? 0.05 : -0.05); /* log-linear start is off */
  assert_int_equal(MxG2FitExp(ffree, NT, tau, y, sg, 1.5, &r), 0);
  if (r.converged) print_error("max_it 1 converged: %s\n", r.reason);
  assert_false(r.converged);
  assert_string_equal(r.reason, "DIVERGED_MAXITS");
  AssertFinite(&r);
  assert_int_equal(MxG2FitDestroy(&ffree), 0);
}

/* ---------- extrapolation to zero age and weighted mean ---------- */

static void test_extrapolate_exact(void **state)
{
  (void)state;
  double x[8], y[8], e[8], y0, y0e;
  for (int i = 0; i < 8; i++) {
    x[i] = (2.2 + 4.43 * i) * 1e-6; /* ages in s */
    e[i] = 1e4 * (1 + 0.1 * i);
    y[i] = 6.2e5 + 3.1e10 * x[i];
  }
  assert_int_equal(MxExtrapolateZero(8, x, y, e, 1, &y0, &y0e), 0);
  assert_true(Rel(y0, 6.2e5) < 1e-12);
  assert_true(y0e < 1e-6 * 6.2e5); /* chi2 = 0 */
  for (int i = 0; i < 8; i++) y[i] = 6.2e5 + 3.1e10 * x[i] - 4.0e14 * x[i] * x[i];
  assert_int_equal(MxExtrapolateZero(8, x, y, e, 2, &y0, &y0e), 0);
  assert_true(Rel(y0, 6.2e5) < 1e-12);
  /* the line fit of a parabola is not exact */
  assert_int_equal(MxExtrapolateZero(8, x, y, e, 1, &y0, &y0e), 0);
  assert_true(Rel(y0, 6.2e5) > 1e-3);
  /* negative and positive x, zero included */
  for (int i = 0; i < 8; i++) {
    x[i] = i - 3.0;
    y[i] = -1.5 + 0.25 * x[i] + 2.0 * x[i] * x[i];
  }
  assert_int_equal(MxExtrapolateZero(8, x, y, e, 2, &y0, &y0e), 0);
  assert_true(Rel(y0, -1.5) < 1e-12);
}

/* var(c0) = sum w x^2 / (sum w sum w x^2 - (sum w x)^2), times chi2/(n-2) when n > 2 */
static void test_extrapolate_errors(void **state)
{
  (void)state;
  double   x[9], y[9], e[9], y0, y0e;
  uint64_t s = 2024;

  for (int i = 0; i < 9; i++) {
    x[i] = 1.0 + 2.0 * i;
    e[i] = 0.5 + 0.1 * i;
    y[i] = 3.0 - 0.7 * x[i] + e[i] * Gauss(&s);
  }
  /* two points: exact line through them, unscaled error */
  {
    double w0 = 1 / (e[0] * e[0]), w1 = 1 / (e[1] * e[1]);
    double Sw = w0 + w1, Sx = w0 * x[0] + w1 * x[1], Sxx = w0 * x[0] * x[0] + w1 * x[1] * x[1];
    double c0 = y[0] - (y[1] - y[0]) / (x[1] - x[0]) * x[0];
    assert_int_equal(MxExtrapolateZero(2, x, y, e, 1, &y0, &y0e), 0);
    assert_true(Rel(y0, c0) < 1e-12);
    assert_true(Rel(y0e, sqrt(Sxx / (Sw * Sxx - Sx * Sx))) < 1e-12);
  }
  /* nine points: closed form with the reduced chi^2 */
  {
    long double Sw = 0, Sx = 0, Sxx = 0, Sy = 0, Sxy = 0, chi2 = 0;
    for (int i = 0; i < 9; i++) {
      long double w = 1.0L / ((long double)e[i] * e[i]);
      Sw += w;
      Sx += w * x[i];
      Sxx += w * x[i] * x[i];
      Sy += w * y[i];
      Sxy += w * x[i] * y[i];
    }
    long double D = Sw * Sxx - Sx * Sx, c0 = (Sxx * Sy - Sx * Sxy) / D, c1 = (Sw * Sxy - Sx * Sy) / D;
    for (int i = 0; i < 9; i++) {
      long double d = (y[i] - c0 - c1 * x[i]) / e[i];
      chi2 += d * d;
    }
    double err = (double)sqrtl(Sxx / D * chi2 / 7);
    assert_int_equal(MxExtrapolateZero(9, x, y, e, 1, &y0, &y0e), 0);
    assert_true(Rel(y0, (double)c0) < 1e-12);
    assert_true(Rel(y0e, err) < 1e-10);
  }
  /* parabola, three points (exact, unscaled): var(c0) = [(Phi^T W Phi)^-1]_00, Phi rows (1,x,x^2) */
  {
    double w[3], M[3][3] = {{0}};
    for (int i = 0; i < 3; i++) w[i] = 1 / (e[i] * e[i]);
    for (int i = 0; i < 3; i++)
      for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) M[a][b] += w[i] * pow(x[i], a) * pow(x[i], b);
    double det = M[0][0] * (M[1][1] * M[2][2] - M[1][2] * M[2][1]) - M[0][1] * (M[1][0] * M[2][2] - M[1][2] * M[2][0]) + M[0][2] * (M[1][0] * M[2][1] - M[1][1] * M[2][0]);
    double v00 = (M[1][1] * M[2][2] - M[1][2] * M[2][1]) / det;
    /* Lagrange interpolation at 0 */
    double c0 = 0;
    for (int i = 0; i < 3; i++) {
      double l = 1;
      for (int j = 0; j < 3; j++)
        if (j != i) l *= (0 - x[j]) / (x[i] - x[j]);
      c0 += l * y[i];
    }
    assert_int_equal(MxExtrapolateZero(3, x, y, e, 2, &y0, &y0e), 0);
    assert_true(Rel(y0, c0) < 1e-11);
    assert_true(Rel(y0e, sqrt(v00)) < 1e-9);
  }
}

static void test_extrapolate_invalid(void **state)
{
  (void)state;
  double x[4] = {1, 2, 3, 4}, y[4] = {1, NAN, 3, 4}, e[4] = {1, 1, 0, NAN}, y0 = 7, y0e = 7;
  assert_int_not_equal(MxExtrapolateZero(4, x, y, e, 1, &y0, &y0e), 0); /* one valid point */
  assert_true(y0 == 7 && y0e == 7);
  double e2[4] = {1, 1, 1, 1}, y2[4] = {1, 2, 3, 4}, xs[4] = {2, 2, 2, 2};
  assert_int_not_equal(MxExtrapolateZero(4, xs, y2, e2, 1, &y0, &y0e), 0); /* no spread in x */
  assert_int_not_equal(MxExtrapolateZero(4, x, y2, e2, 3, &y0, &y0e), 0); /* order 3 */
  assert_int_not_equal(MxExtrapolateZero(2, x, y2, e2, 2, &y0, &y0e), 0); /* 2 points, parabola */
  assert_int_equal(MxExtrapolateZero(4, x, y2, e2, 1, &y0, &y0e), 0);
  assert_true(fabs(y0) < 1e-14);
}

static void test_weighted_mean(void **state)
{
  (void)state;
  double x[5] = {1.0, 2.0, NAN, 4.0, 100.0}, e[5] = {1.0, 0.5, 1.0, 2.0, 0.0}, m, me;
  assert_int_equal(MxWeightedMean(5, x, e, &m, &me), 0);
  /* weights 1, 4, 1/4 */
  assert_true(Rel(m, (1.0 + 8.0 + 1.0) / 5.25) < 1e-15);
  assert_true(Rel(me, 1.0 / sqrt(5.25)) < 1e-15);
  double xn[2] = {NAN, 1.0}, en[2] = {1.0, -1.0};
  assert_int_not_equal(MxWeightedMean(2, xn, en, &m, &me), 0);
  assert_int_not_equal(MxWeightedMean(0, xn, en, &m, &me), 0);
}

/* --fit-file FILE BETA0 fixed|free: one fit of "tau y sigma" lines, for the scipy peer check */
static int FitFile(const char *path, double beta0, const char *mode)
{
  FILE         *fp = fopen(path, "r");
  double       *tau = NULL, *y = NULL, *sg = NULL, a, b, c;
  int           n = 0, cap = 0;
  MxG2Fit       f;
  MxG2FitResult r;

  if (!fp) {
    fprintf(stderr, "test_g2fit: cannot open %s\n", path);
    return 1;
  }
  while (fscanf(fp, "%lf %lf %lf", &a, &b, &c) == 3) {
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      tau = realloc(tau, cap * sizeof(double));
      y   = realloc(y, cap * sizeof(double));
      sg  = realloc(sg, cap * sizeof(double));
    }
    tau[n] = a;
    y[n]   = b;
    sg[n]  = c;
    n++;
  }
  fclose(fp);
  if (PetscOptionsSetValue(NULL, "-fit_beta", mode) || MxG2FitCreate(PETSC_COMM_SELF, &f) || MxG2FitSetFromOptions(f) || MxG2FitExp(f, n, tau, y, sg, beta0, &r) || MxG2FitDestroy(&f)) return 1;
  printf("%.17g %.17g %.17g %.17g %.17g %d\n", r.gamma, r.gamma_err, r.beta, r.beta_err, r.chi2_red, r.converged);
  if (!r.converged) fprintf(stderr, "test_g2fit: fit of %s: %s\n", path, r.reason);
  free(tau);
  free(y);
  free(sg);
  return 0;
}

int main(int argc, char **argv)
{
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  if (argc >= 5 && !strcmp(argv[1], "--fit-file")) {
    rc = FitFile(argv[2], atof(argv[3]), argv[4]);
  } else {
    const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_options),
      cmocka_unit_test(test_exact),
      cmocka_unit_test(test_noisy),
      cmocka_unit_test(test_fixed_vs_free),
      cmocka_unit_test(test_reuse_and_skip),
      cmocka_unit_test(test_shared_exact),
      cmocka_unit_test(test_shared_noisy),
      cmocka_unit_test(test_shared_agefit_flag),
      cmocka_unit_test(test_failures),
      cmocka_unit_test(test_extrapolate_exact),
      cmocka_unit_test(test_extrapolate_errors),
      cmocka_unit_test(test_extrapolate_invalid),
      cmocka_unit_test(test_weighted_mean),
    };
    rc = cmocka_run_group_tests_name("g2fit", tests, NULL, NULL);
  }
  if (PetscFinalize()) return 1;
  return rc;
}
