/* Unit tests of the MD analysis kernels (src/md/kernels.c, src/md/sq.c): MSD with multiple time
   origins (exact on ballistic and brute-force cases, statistically on a random walk), the line
   fit and the diffusive-range choice (on the analytic Langevin MSD and on caged/sub-diffusive
   curves), inverse interpolation with error propagation and its out-of-range flags, the
   bisection around epsilon* and the error budget (seeds, interpolation, target) on a synthetic
   Ds/D0(epsilon) with a known crossing, -md_cutoff and the shift reaching LAMMPS (2-atom pair
   energy through liblammps), the
   Barker-Henderson diameter, Tc*, CIC assignment, and the FFTW-MPI S(q) estimator on known
   configurations (ideal gas: S = 1; simple cubic lattice: Bragg peaks; jittered lattice: against
   the direct sum). Run on more than one rank, it checks that the distributed FFT gives the
   one-rank S(q) to rounding. */
#include <mxpcs/md.h>
#include <mxpcs/rng.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define CLOSE(what, a, b, tol) \
  do { \
    double a_ = (a), b_ = (b); \
    if (!(fabs(a_ - b_) <= (tol))) fail_msg("%s: %.15g vs %.15g (tolerance %g)", what, a_, b_, (double)(tol)); \
  } while (0)

/* ---------- MSD ---------- */

static void test_msd_ballistic(void **state)
{
  enum { NF = 20, NA = 3 };
  const double v[NA][3] = {{1, 0, 0}, {0, 2, 0}, {0.5, -1, 3}}, dt = 0.1;
  double       x[NF * NA * 3], msd[NF + 1], vm[3] = {0, 0, 0}, v2 = 0, v2c = 0;

  (void)state;
  for (int f = 0; f < NF; f++)
    for (int i = 0; i < NA; i++)
      for (int c = 0; c < 3; c++) x[(f * NA + i) * 3 + c] = 0.3 * i + c + v[i][c] * f * dt;
  for (int i = 0; i < NA; i++)
    for (int c = 0; c < 3; c++) {
      vm[c] += v[i][c] / NA;
      v2 += v[i][c] * v[i][c] / NA;
    }
  for (int i = 0; i < NA; i++)
    for (int c = 0; c < 3; c++) v2c += (v[i][c] - vm[c]) * (v[i][c] - vm[c]) / NA;
  assert_int_equal(MxMDMsd(NF, NA, x, 0, NF - 1, 1, msd), 0);
  for (int l = 0; l < NF; l++) CLOSE("ballistic MSD", msd[l], v2 * (l * dt) * (l * dt), 1e-12);
  /* centre-of-mass correction removes the common drift */
  assert_int_equal(MxMDMsd(NF, NA, x, 1, NF - 1, 2, msd), 0);
  for (int l = 0; l < NF; l++) CLOSE("COM-corrected ballistic MSD", msd[l], v2c * (l * dt) * (l * dt), 1e-12);
  /* lags beyond the trajectory have no origin */
  assert_int_equal(MxMDMsd(NF, NA, x, 0, NF, 1, msd), 0);
  assert_true(isnan(msd[NF]));
  assert_int_not_equal(MxMDMsd(0, NA, x, 0, 1, 1, msd), 0);
  assert_int_not_equal(MxMDMsd(NF, NA, x, 0, 1, 0, msd), 0);
}

/* multiple origins against a brute-force average over all (origin, particle) pairs */
static void test_msd_origins(void **state)
{
  enum { NF = 37, NA = 5 };
  double x[NF * NA * 3], msd[NF];
  MxRng  g;

  (void)state;
  MxRngInit(&g, 7, 1, 2, 3);
  for (int i = 0; i < NF * NA * 3; i++) x[i] = 10 * MxRngUniform(&g);
  for (int stride = 1; stride <= 3; stride++)
    for (int com = 0; com <= 1; com++) {
      assert_int_equal(MxMDMsd(NF, NA, x, com, NF - 1, stride, msd), 0);
      for (int l = 0; l < NF; l++) {
        double s = 0;
        int    n = 0;
        for (int t0 = 0; t0 + l < NF; t0 += stride) {
          double dR[3] = {0, 0, 0};
          if (com)
            for (int i = 0; i < NA; i++)
              for (int c = 0; c < 3; c++) dR[c] += (x[((t0 + l) * NA + i) * 3 + c] - x[(t0 * NA + i) * 3 + c]) / NA;
          for (int i = 0; i < NA; i++) {
            for (int c = 0; c < 3; c++) {
              const double d = x[((t0 + l) * NA + i) * 3 + c] - x[(t0 * NA + i) * 3 + c] - dR[c];
              s += d * d;
            }
            n++;
          }
        }
        CLOSE("multi-origin MSD vs brute force", msd[l], s / n, 1e-10 * (1 + s / n));
      }
    }
}

/* a Gaussian random walk: MSD = 3 s^2 l, and the fit recovers D within its statistics */
static void test_msd_random_walk(void **state)
{
  enum { NF = 400, NA = 200 };
  const double s = 0.1, dt = 0.5; /* D = s^2/(2 dt) = 0.01 */
  double      *x = malloc(sizeof(double) * NF * NA * 3), msd[NF], t[NF], slope, serr, a;
  int          np;
  MxRng        g;

  (void)state;
  MxRngInit(&g, 11, 0, 0, 0);
  for (int i = 0; i < NA * 3; i++) x[i] = 0;
  for (int f = 1; f < NF; f++)
    for (int i = 0; i < NA * 3; i++) x[f * NA * 3 + i] = x[(f - 1) * NA * 3 + i] + s * MxRngNormal(&g);
  assert_int_equal(MxMDMsd(NF, NA, x, 0, NF - 1, 1, msd), 0);
  for (int l = 0; l < NF; l++) t[l] = l * dt;
  assert_int_equal(MxMDFitLine(NF, t, msd, 0, 0.25 * NF * dt, &slope, &serr, &a, &np), 0);
  /* 200 particles x 3 directions, lags up to a quarter of the run: a few per cent */
  CLOSE("random-walk D", slope / 6, s * s / (2 * dt), 0.08 * s * s / (2 * dt));
  free(x);
}

/* ---------- line fit and diffusive range ---------- */

static void test_fit_line(void **state)
{
  double t[50], y[50], b, e, a;
  int    n;

  (void)state;
  for (int i = 0; i < 50; i++) t[i] = 0.5 * i, y[i] = 2 + 3 * t[i];
  y[3] = NAN; /* skipped */
  assert_int_equal(MxMDFitLine(50, t, y, 1.0, 10.0, &b, &e, &a, &n), 0);
  assert_int_equal(n, 18); /* t = 1.0 .. 10.0 without t = 1.5 */
  CLOSE("slope", b, 3, 1e-12);
  CLOSE("intercept", a, 2, 1e-12);
  CLOSE("slope error of exact data", e, 0, 1e-10);
  /* noisy data: the slope error covers the deviation */
  for (int i = 0; i < 50; i++) y[i] = 2 + 3 * t[i] + (i % 2 ? 0.1 : -0.1);
  assert_int_equal(MxMDFitLine(50, t, y, 0, 100, &b, &e, &a, &n), 0);
  assert_true(e > 0 && fabs(b - 3) < 3 * e);
  assert_int_not_equal(MxMDFitLine(50, t, y, 100, 200, &b, &e, &a, &n), 0);
}

static void test_diffusive_range(void **state)
{
  enum { N = 1001 };
  const double dt = 0.1, D0 = 0.05, tauB = 0.05;
  double       t[N], m[N], t0, b, e, a, tc;
  int          np;

  (void)state;
  for (int i = 0; i < N; i++) t[i] = i * dt;
  /* free Langevin particle: diffusive beyond a few tau_B; the fit returns D0 */
  for (int i = 0; i < N; i++) m[i] = MxMDLangevinMsd(t[i], D0, tauB);
  assert_int_equal(MxMDDiffusiveRange(N, t, m, 0.5, 100, 0.1, &t0), 0);
  CLOSE("free particle: t0 at the lower bound", t0, 0.5, 1e-12);
  assert_int_equal(MxMDFitLine(N, t, m, t0, 100, &b, &e, &a, &np), 0);
  CLOSE("free particle D", b / 6, D0, 1e-9);
  CLOSE("free particle intercept -6 D0 tau_B", a, -6 * D0 * tauB, 1e-5 * 6 * D0 * tauB); /* exp(-10) left */
  /* caged then diffusive: MSD = A (1 - exp(-t/tc)) + 6 D t; alpha < 0.9 until the cage opens */
  tc = 2.0;
  for (int i = 0; i < N; i++) m[i] = 1.0 * (1 - exp(-t[i] / tc)) + 6 * 0.05 * t[i];
  assert_int_equal(MxMDDiffusiveRange(N, t, m, 0.5, 100, 0.1, &t0), 0);
  for (int i = 1; 2 * i < N; i++) {
    const double alpha = log2(m[2 * i] / m[i]);
    if (t[i] >= t0 && t[i] <= 50) assert_true(fabs(alpha - 1) <= 0.1);
  }
  assert_true(t0 > 3 * tc); /* the cage is left out */
  assert_int_equal(MxMDFitLine(N, t, m, t0, 100, &b, &e, &a, &np), 0);
  CLOSE("caged D", b / 6, 0.05, 0.05 * 1e-4);
  /* sub-diffusive throughout: no range, flagged */
  for (int i = 0; i < N; i++) m[i] = sqrt(t[i]);
  assert_int_equal(MxMDDiffusiveRange(N, t, m, 0.5, 100, 0.1, &t0), 1);
  CLOSE("fallback t0", t0, 50, 1e-9);
  assert_int_equal(MxMDDiffusiveRange(2, t, m, 0.5, 100, 0.1, &t0), 2);
}

/* ---------- matching ---------- */

static void test_match(void **state)
{
  const double eps[4] = {0, 1, 2, 3}, y[4] = {1.0, 0.5, 0.2, 0.1}, ye[4] = {0.01, 0.02, 0.03, 0.01};
  double       es, ee;
  int          nc;

  (void)state;
  assert_int_equal(MxMDMatch(4, eps, y, ye, 0.35, 0.01, &es, &ee, &nc), MX_MD_MATCH_OK);
  assert_int_equal(nc, 1);
  CLOSE("epsilon*", es, 1.5, 1e-12);
  CLOSE("epsilon* error", ee, (1 / 0.3) * sqrt(0.01 * 0.01 + 0.25 * 0.02 * 0.02 + 0.25 * 0.03 * 0.03), 1e-12);
  /* the error against finite differences of the interpolant */
  {
    const double h = 1e-6;
    double       yp[4], g[5], es2, ee2, var = 0, sig[5] = {0.01, 0.01, 0.02, 0.03, 0.01};
    int          nc2;
    MxMDMatch(4, eps, y, ye, 0.35 + h, 0.01, &es2, &ee2, &nc2);
    g[0] = (es2 - es) / h;
    for (int k = 0; k < 4; k++) {
      memcpy(yp, y, sizeof yp);
      yp[k] += h;
      MxMDMatch(4, eps, yp, ye, 0.35, 0.01, &es2, &ee2, &nc2);
      g[k + 1] = (es2 - es) / h;
    }
    for (int k = 0; k < 5; k++) var += g[k] * g[k] * sig[k] * sig[k];
    CLOSE("error propagation vs finite differences", ee, sqrt(var), 1e-5);
  }
  /* exactly at a node */
  assert_int_equal(MxMDMatch(4, eps, y, ye, 0.5, 0.0, &es, &ee, &nc), MX_MD_MATCH_OK);
  CLOSE("at a node", es, 1.0, 1e-12);
  /* outside: flagged, never extrapolated */
  assert_int_equal(MxMDMatch(4, eps, y, ye, 1.2, 0.01, &es, &ee, &nc), MX_MD_MATCH_ABOVE_RANGE);
  assert_true(isnan(es) && isnan(ee));
  assert_int_equal(MxMDMatch(4, eps, y, ye, 0.05, 0.01, &es, &ee, &nc), MX_MD_MATCH_BELOW_RANGE);
  assert_true(isnan(es));
  /* non-monotonic scan: every crossing counted, the first one used */
  {
    const double yn[4] = {1.0, 0.4, 0.6, 0.3};
    assert_int_equal(MxMDMatch(4, eps, yn, ye, 0.5, 0.0, &es, &ee, &nc), MX_MD_MATCH_OK);
    assert_int_equal(nc, 3);
    CLOSE("first crossing", es, 1.0 / 0.6 * 0.5, 1e-12);
  }
  /* bad input */
  {
    const double eb[4] = {0, 1, 1, 3};
    assert_int_equal(MxMDMatch(4, eb, y, ye, 0.35, 0.01, &es, &ee, &nc), MX_MD_MATCH_BAD_INPUT);
    assert_int_equal(MxMDMatch(1, eps, y, ye, 0.35, 0.01, &es, &ee, &nc), MX_MD_MATCH_BAD_INPUT);
    assert_int_equal(MxMDMatch(4, eps, y, ye, 0.35, -1, &es, &ee, &nc), MX_MD_MATCH_BAD_INPUT);
  }
}

/* ---------- refinement: bisection and the error budget of epsilon* ---------- */

static double SynthDs(double e) { return exp(-0.9 * e); } /* smooth, convex, decreasing */

/* the grid, then nbis bisection steps on exact data: returns the merged, sorted points */
static int GridAndBisect(double target, int nbis, double *eps, double *y, MxMDBracket *br)
{
  int n = 5;
  for (int i = 0; i < n; i++) eps[i] = 0.5 * i, y[i] = SynthDs(eps[i]);
  if (MxMDBracketFind(n, eps, y, target, br)) return -1;
  for (int k = 0; k < nbis; k++) {
    const double m = MxMDBracketMid(br);
    int          j = n++;
    while (j > 0 && eps[j - 1] > m) eps[j] = eps[j - 1], y[j] = y[j - 1], j--;
    eps[j] = m;
    y[j]   = SynthDs(m);
    MxMDBracketUpdate(br, m, y[j], target);
  }
  return n;
}

static void test_refine_exact(void **state)
{
  const double    truth = 1.77, target = SynthDs(truth);
  double          eps[16], y[16], ye[16], es, ee;
  MxMDBracket     br;
  MxMDMatchBudget r;
  int             n, nc;

  (void)state;
  /* no crossing: no bracket */
  for (int i = 0; i < 5; i++) eps[i] = 0.5 * i, y[i] = SynthDs(eps[i]);
  assert_int_not_equal(MxMDBracketFind(5, eps, y, 1.5, &br), 0);
  n = GridAndBisect(target, 4, eps, y, &br);
  assert_int_equal(n, 9);
  assert_true(br.a < truth && truth < br.b);
  CLOSE("bracket width after 4 steps", br.b - br.a, 0.5 / 16, 1e-15);
  for (int i = 0; i < n; i++) ye[i] = 0;
  assert_int_equal(MxMDMatchWithBudget(n, eps, y, ye, target, 0.004, &r), MX_MD_MATCH_OK);
  /* the first crossing of the merged points is the bisection's bracket */
  CLOSE("bracket a", r.a, br.a, 0);
  CLOSE("bracket b", r.b, br.b, 0);
  assert_int_equal(r.ncross, 1);
  CLOSE("no seed spread, no seed error", r.err_seeds, 0, 0);
  CLOSE("target error through the slope", r.err_target, 0.004 * (br.b - br.a) / fabs(br.ya - br.yb), 1e-15);
  /* linear interpolation of a convex curve misses by O(h^2); the parabola by O(h^3); the
     interpolation error is their difference, so it measures the linear one's miss */
  assert_true(fabs(r.eps_star - truth) > 1e-5);
  assert_true(fabs(r.eps_quad - truth) < 0.05 * fabs(r.eps_star - truth));
  CLOSE("interpolation error = |linear - quadratic|", r.err_interp, fabs(r.eps_quad - r.eps_star), 1e-15);
  CLOSE("interpolation error vs the true miss", r.err_interp, fabs(r.eps_star - truth), 0.1 * fabs(r.eps_star - truth));
  CLOSE("total in quadrature", r.err, sqrt(r.err_target * r.err_target + r.err_interp * r.err_interp), 1e-15);
  /* MxMDMatch is the same linear estimate with the seeds and target parts */
  assert_int_equal(MxMDMatch(n, eps, y, ye, target, 0.004, &es, &ee, &nc), MX_MD_MATCH_OK);
  CLOSE("MxMDMatch value", es, r.eps_star, 0);
  CLOSE("MxMDMatch error", ee, r.err_target, 1e-15);
  /* on the 0.5 kT grid alone the linear miss is larger and the budget says so */
  {
    MxMDMatchBudget g;
    for (int i = 0; i < 5; i++) eps[i] = 0.5 * i, y[i] = SynthDs(eps[i]);
    assert_int_equal(MxMDMatchWithBudget(5, eps, y, ye, target, 0, &g), MX_MD_MATCH_OK);
    assert_true(fabs(g.eps_star - truth) > 10 * fabs(r.eps_star - truth));
    CLOSE("grid: interpolation error vs the true miss", g.err_interp, fabs(g.eps_star - truth), 0.3 * fabs(g.eps_star - truth));
    /* two points: no next order, the bracket's width/sqrt(12) */
    assert_int_equal(MxMDMatchWithBudget(2, eps + 3, y + 3, ye, target, 0, &g), MX_MD_MATCH_OK);
    assert_true(isnan(g.eps_quad));
    CLOSE("two points: uniform over the bracket", g.err_interp, 0.5 / sqrt(12.0), 1e-15);
  }
  /* the left half is kept when both halves cross */
  {
    MxMDBracket b = {0, 1, 1.0, 0.0};
    MxMDBracketUpdate(&b, 0.5, 0.5, 0.5); /* the midpoint equals the target: left half crosses */
    CLOSE("left half kept", b.b, 0.5, 0);
    MxMDBracketUpdate(&b, 0.25, 0.8, 0.5);
    CLOSE("right half when the left does not cross", b.a, 0.25, 0);
  }
}

/* seed noise: the spread of epsilon* over many noisy scans is the propagated err_seeds */
static void test_refine_noise(void **state)
{
  enum { NREP = 3000 };
  const double truth = 1.77, target = SynthDs(truth), sig = 0.01;
  double       sum = 0, sum2 = 0, serr = 0;
  int          cover = 0, nok = 0;
  MxRng        g;

  (void)state;
  MxRngInit(&g, 23, 1, 2, 3);
  for (int k = 0; k < NREP; k++) {
    double          eps[5], y[5], ye[5];
    MxMDMatchBudget r;
    for (int i = 0; i < 5; i++) eps[i] = 0.5 * i, y[i] = SynthDs(eps[i]) + sig * MxRngNormal(&g), ye[i] = sig;
    if (MxMDMatchWithBudget(5, eps, y, ye, target, 0, &r) != MX_MD_MATCH_OK || r.a != 1.5) continue;
    nok++;
    sum += r.eps_star;
    sum2 += r.eps_star * r.eps_star;
    serr += r.err_seeds;
    cover += fabs(r.eps_star - truth) < 2 * r.err;
  }
  assert_true(nok > 0.95 * NREP);
  {
    const double m = sum / nok, sd = sqrt(sum2 / nok - m * m);
    CLOSE("spread of epsilon* vs the propagated seed error", sd, serr / nok, 0.1 * sd);
    assert_true(cover > 0.9 * nok); /* 2 sigma: ~95 % */
  }
}

/* -md_cutoff / -md_cutoff_sigma reach the parameters, and the shift reaches LAMMPS: the pair
   energy of 2 atoms through liblammps against u(r) - shift u(rc) */
static double ULJ(double e, double r) { return 4 * e * (pow(r, -12) - pow(r, -6)); }

static void test_cutoff_lammps(void **state)
{
  const double      e = 1.5;
  MxMD              md;
  const MxMDParams *p;
  MxMDParams        q;
  double            E;

  (void)state;
  assert_int_equal(MxMDCreate(PETSC_COMM_SELF, &md), 0);
  assert_int_equal(MxMDSetFromOptions(md), 0);
  assert_int_equal(MxMDGetParams(md, &p), 0);
  assert_true(p->shift && p->cutoff == 2.5); /* defaults: truncated and shifted at 2.5 sigma */
  MxMDDestroy(&md);
  PetscOptionsSetValue(NULL, "-md_cutoff", "unshifted");
  PetscOptionsSetValue(NULL, "-md_cutoff_sigma", "3");
  assert_int_equal(MxMDCreate(PETSC_COMM_SELF, &md), 0);
  assert_int_equal(MxMDSetFromOptions(md), 0);
  assert_int_equal(MxMDGetParams(md, &p), 0);
  assert_true(!p->shift && p->cutoff == 3.0);
  q = *p;
  MxMDDestroy(&md);
  PetscOptionsSetValue(NULL, "-md_cutoff", "sideways");
  assert_int_equal(MxMDCreate(PETSC_COMM_SELF, &md), 0);
  assert_int_not_equal(MxMDSetFromOptions(md), 0);
  MxErrorClear();
  MxMDDestroy(&md);
  PetscOptionsClearValue(NULL, "-md_cutoff");
  PetscOptionsClearValue(NULL, "-md_cutoff_sigma");
  /* unshifted: the bare LJ inside the cut-off, u(rc) just below it, 0 beyond */
  assert_int_equal(MxMDLammpsPairEnergy(PETSC_COMM_SELF, &q, e, 1.3, &E), 0);
  CLOSE("unshifted u(1.3)", E, ULJ(e, 1.3), 1e-12);
  assert_int_equal(MxMDLammpsPairEnergy(PETSC_COMM_SELF, &q, e, 3.0 - 1e-6, &E), 0);
  CLOSE("unshifted: u just below the cut-off", E, ULJ(e, 3.0 - 1e-6), 1e-12);
  assert_true(fabs(E) > 1e-3);
  assert_int_equal(MxMDLammpsPairEnergy(PETSC_COMM_SELF, &q, e, 3.01, &E), 0);
  CLOSE("unshifted: 0 beyond the cut-off", E, 0, 0);
  /* shifted: u(r) - u(rc), so 0 just below the cut-off */
  q.shift = PETSC_TRUE;
  assert_int_equal(MxMDLammpsPairEnergy(PETSC_COMM_SELF, &q, e, 1.3, &E), 0);
  CLOSE("shifted u(1.3)", E, ULJ(e, 1.3) - ULJ(e, 3.0), 1e-12);
  assert_int_equal(MxMDLammpsPairEnergy(PETSC_COMM_SELF, &q, e, 3.0 - 1e-6, &E), 0);
  CLOSE("shifted: u(r) - u(rc) just below the cut-off", E, ULJ(e, 3.0 - 1e-6) - ULJ(e, 3.0), 1e-12);
  assert_true(fabs(E) < 1e-7);
}

/* ---------- effective diameter, Tc ---------- */

static double BHTrapezoid(double e)
{
  const int    n = 2000000;
  const double r0 = pow(2.0, 1.0 / 6.0);
  double       s  = 0;
  for (int k = 1; k <= n; k++) {
    const double r = r0 * (k - 0.5) / n, s6 = pow(r, -6.0);
    s += 1 - exp(-(4 * e * (s6 * s6 - s6) + e));
  }
  return s * r0 / n;
}

static void test_bh_tc(void **state)
{
  (void)state;
  CLOSE("d_BH(0)", MxMDBarkerHendersonDiameter(0), 0, 0);
  for (double e = 0.1; e <= 2.01; e += 0.633) CLOSE("d_BH vs midpoint rule", MxMDBarkerHendersonDiameter(e), BHTrapezoid(e), 1e-7);
  assert_true(MxMDBarkerHendersonDiameter(0.1) < MxMDBarkerHendersonDiameter(1) && MxMDBarkerHendersonDiameter(1) < MxMDBarkerHendersonDiameter(2));
  /* physics-reference.md 8: the r^-12 core at 0.1 kT acts as a sphere of ~0.9 sigma */
  assert_true(fabs(MxMDBarkerHendersonDiameter(0.1) - 0.9) < 0.05);
  CLOSE("Tc* LJTS 2.5", MxMDCriticalTemperature(2.5, 1), 1.0779, 1e-12);
  CLOSE("Tc* full", MxMDCriticalTemperature(8, 1), 1.312, 1e-12);
  assert_true(MxMDCriticalTemperature(3.5, 1) > 1.0779 && MxMDCriticalTemperature(3.5, 1) < 1.312);
  assert_true(isnan(MxMDCriticalTemperature(2.0, 1)));
}

/* ---------- S(q) ---------- */

static void test_cic(void **state)
{
  enum { M = 8, SZ = 10 };
  double grid[M * M * SZ], x[6] = {0.1, 9.95, 5.0, -3.3, 17.2, 2.5}, sum = 0, k[3] = {0, 0, 0}, W2, C;

  (void)state;
  memset(grid, 0, sizeof grid);
  MxMDDepositCIC(2, x, 10.0, M, 0, M, SZ, grid);
  for (int i = 0; i < M * M * SZ; i++) sum += grid[i];
  CLOSE("CIC conserves the particle number", sum, 2, 1e-12);
  /* the split over slabs adds up to the whole */
  {
    double g2[M * M * SZ];
    memset(g2, 0, sizeof g2);
    MxMDDepositCIC(2, x, 10.0, M, 0, 3, SZ, g2);
    MxMDDepositCIC(2, x, 10.0, M, 3, M - 3, SZ, g2 + 3 * M * SZ);
    for (int i = 0; i < M * M * SZ; i++) CLOSE("slabs", g2[i], grid[i], 1e-15);
  }
  MxMDCicWindow(k, 1.25, &W2, &C);
  CLOSE("W(0)", W2, 1, 0);
  CLOSE("C(0)", C, 1, 0);
  /* at the Nyquist frequency along x: sinc^4(pi/2) and 1 - 2/3 */
  k[0] = M_PI / 1.25;
  MxMDCicWindow(k, 1.25, &W2, &C);
  CLOSE("W at Nyquist", W2, pow(2 / M_PI, 4), 1e-14);
  CLOSE("C at Nyquist", C, 1.0 / 3.0, 1e-14);
}

static double *Uniform(int n, double L, uint64_t seed)
{
  double *x = malloc(sizeof(double) * 3 * n);
  MxRng   g;
  MxRngInit(&g, seed, 5, 5, 5);
  for (int i = 0; i < 3 * n; i++) x[i] = L * MxRngUniform(&g);
  return x;
}

static void test_sq_ideal_gas(void **state)
{
  const int       n = 3000, nfr = 4;
  const double    L = 10.0;
  MxMDSq          sq;
  PetscInt        nb;
  const double   *q, *S, *Se;
  const PetscInt *cnt;
  double          tot = 0, ntot = 0;

  (void)state;
  assert_int_equal(MxMDSqCreate(PETSC_COMM_SELF, L, 40, 11.0, &sq), 0);
  for (int f = 0; f < nfr; f++) {
    double *x = Uniform(n, L, 100 + f);
    assert_int_equal(MxMDSqAddFrame(sq, n, x), 0);
    free(x);
  }
  assert_int_equal(MxMDSqGetResult(sq, &nb, &q, &S, &Se, &cnt), 0);
  assert_int_equal(nb, (PetscInt)floor(11.0 / (2 * M_PI / L) - 0.5)); /* complete shells */
  for (PetscInt b = 0; b < nb; b++) {
    /* each mode's |F|^2/n is exponential with mean 1 (k and -k are one mode); deconvolution and
       the aliased images at most double the variance near the Nyquist wave number */
    const double sd = sqrt(2.0 / ((double)cnt[b] / 2 * nfr));
    if (fabs(S[b] - 1) > 5 * sd) fail_msg("ideal gas: S(q = %g) = %g, expected 1 +- %g", q[b], S[b], sd);
    CLOSE("shell q", q[b], (b + 1) * 2 * M_PI / L, 0.5 * 2 * M_PI / L);
    tot += S[b] * cnt[b];
    ntot += cnt[b];
  }
  /* near the Nyquist wave number the window and aliasing terms are large (W^2 ~ 0.3, C ~ 0.4):
     without the C(k) - W^2(k) shot-noise term the mean would be far from 1 */
  CLOSE("ideal gas: mean S over all shells", tot / ntot, 1, 0.02);
  MxMDSqDestroy(&sq);
}

static double *Lattice(int nside, double L, double jitter, uint64_t seed)
{
  double *x = malloc(sizeof(double) * 3 * nside * nside * nside);
  MxRng   g;
  MxRngInit(&g, seed, 1, 1, 1);
  const double a = L / nside, off[3] = {0.137, 0.291, 0.073};
  for (int i = 0, p = 0; i < nside; i++)
    for (int j = 0; j < nside; j++)
      for (int k = 0; k < nside; k++, p++) {
        x[3 * p]     = (i + off[0]) * a + jitter * MxRngNormal(&g);
        x[3 * p + 1] = (j + off[1]) * a + jitter * MxRngNormal(&g);
        x[3 * p + 2] = (k + off[2]) * a + jitter * MxRngNormal(&g);
      }
  return x;
}

static void CompareDirect(int n, const double *x, double L, PetscInt M, double kmax, double tol, double tol_rel, const char *what)
{
  MxMDSq          sq;
  PetscInt        nb;
  const double   *q, *S;
  const PetscInt *cnt;
  double          Sd[64], qd[64];
  long            cd[64];

  assert_int_equal(MxMDSqCreate(PETSC_COMM_SELF, L, M, kmax, &sq), 0);
  assert_int_equal(MxMDSqAddFrame(sq, n, x), 0);
  assert_int_equal(MxMDSqGetResult(sq, &nb, &q, &S, NULL, &cnt), 0);
  assert_true(nb <= 64);
  MxMDSqDirect(n, x, L, kmax, (int)nb, Sd, qd, cd);
  for (PetscInt b = 0; b < nb; b++) {
    assert_int_equal((long)cnt[b], cd[b]);
    CLOSE("shell mean |k|", q[b], qd[b], 1e-12);
    if (!(fabs(S[b] - Sd[b]) <= tol + tol_rel * fabs(Sd[b]))) fail_msg("%s: shell %d (q = %g): grid S = %g, direct S = %g", what, (int)b + 1, q[b], S[b], Sd[b]);
  }
  MxMDSqDestroy(&sq);
}

static void test_sq_lattice(void **state)
{
  const int nside = 8, n = nside * nside * nside;
  double   *x = Lattice(nside, 10.0, 0.0, 1);
  double    Sd[16], qd[16];
  long      cd[16];

  (void)state;
  /* direct sum: Bragg peaks only at the reciprocal lattice vectors (2 pi/a)(h,k,l) */
  MxMDSqDirect(n, x, 10.0, 9.0, 14, Sd, qd, cd);
  for (int b = 0; b < 7; b++) CLOSE("lattice: no scattering below the first Bragg peak", Sd[b], 0, 1e-9);
  CLOSE("lattice: first Bragg shell holds the 6 (100) peaks of height N", Sd[7] * cd[7], 6.0 * n, 1e-6 * n);
  /* the grid estimator (window deconvolved) finds the same peaks */
  CompareDirect(n, x, 10.0, 64, 9.0, 0.02, 0.06, "lattice");
  free(x);
}

static void test_sq_jittered(void **state)
{
  const int nside = 10, n = nside * nside * nside;
  double   *x = Lattice(nside, 12.0, 0.25, 3);

  (void)state;
  /* a disordered (Debye-Waller damped) lattice: S = 1 - exp(-k^2 s^2) + Bragg; grid vs direct */
  CompareDirect(n, x, 12.0, 72, 10.0, 0.03, 0.02, "jittered lattice");
  free(x);
}

/* distributed FFT over PETSC_COMM_WORLD against the one-rank result */
static void test_sq_mpi(void **state)
{
  const int       nside = 9, n = nside * nside * nside;
  double         *x = Lattice(nside, 11.0, 0.3, 9);
  MxMDSq          a, b;
  PetscInt        na, nb;
  const double   *Sa, *Sb;
  const PetscInt *ca, *cb;

  (void)state;
  assert_int_equal(MxMDSqCreate(PETSC_COMM_WORLD, 11.0, 48, 12.0, &a), 0);
  assert_int_equal(MxMDSqCreate(PETSC_COMM_SELF, 11.0, 48, 12.0, &b), 0);
  assert_int_equal(MxMDSqAddFrame(a, n, x), 0);
  assert_int_equal(MxMDSqAddFrame(b, n, x), 0);
  MxMDSqGetResult(a, &na, NULL, &Sa, NULL, &ca);
  MxMDSqGetResult(b, &nb, NULL, &Sb, NULL, &cb);
  assert_int_equal(na, nb);
  for (PetscInt k = 0; k < na; k++) {
    assert_int_equal(ca[k], cb[k]);
    CLOSE("distributed vs serial S", Sa[k], Sb[k], 1e-11 * (1 + fabs(Sb[k])));
  }
  MxMDSqDestroy(&a);
  MxMDSqDestroy(&b);
  free(x);
}

static void test_sq_errors(void **state)
{
  MxMDSq sq = NULL;

  (void)state;
  assert_int_not_equal(MxMDSqCreate(PETSC_COMM_SELF, 10.0, 7, 5.0, &sq), 0);  /* odd grid */
  assert_int_not_equal(MxMDSqCreate(PETSC_COMM_SELF, 10.0, 16, 6.0, &sq), 0); /* above Nyquist pi*16/10 */
  assert_int_not_equal(MxMDSqCreate(PETSC_COMM_SELF, 10.0, 16, 0.5, &sq), 0); /* below 2 pi/L */
  MxErrorClear();
  assert_int_equal(MxMDSqGoodSize(61), 64);
  assert_int_equal(MxMDSqGoodSize(70), 72);
  assert_int_equal(MxMDSqGoodSize(5), 6);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_msd_ballistic), cmocka_unit_test(test_msd_origins), cmocka_unit_test(test_msd_random_walk), cmocka_unit_test(test_fit_line), cmocka_unit_test(test_diffusive_range), cmocka_unit_test(test_match), cmocka_unit_test(test_refine_exact), cmocka_unit_test(test_refine_noise), cmocka_unit_test(test_cutoff_lammps),
    cmocka_unit_test(test_bh_tc),         cmocka_unit_test(test_cic),         cmocka_unit_test(test_sq_ideal_gas),    cmocka_unit_test(test_sq_lattice), cmocka_unit_test(test_sq_jittered),    cmocka_unit_test(test_sq_errors),
  };
  const struct CMUnitTest mpi_tests[] = {cmocka_unit_test(test_sq_mpi)};
  PetscMPIInt             size;
  int                     fails;

  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  if (MxErrorInstall()) return 1;
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  /* on several ranks only the collective test runs (every rank runs it; cmocka's verdict is
     per rank, so the worst one decides) */
  fails = size > 1 ? cmocka_run_group_tests_name("md_mpi", mpi_tests, NULL, NULL) : cmocka_run_group_tests_name("md", tests, NULL, NULL) + cmocka_run_group_tests_name("md_mpi", mpi_tests, NULL, NULL);
  MPI_Allreduce(MPI_IN_PLACE, &fails, 1, MPI_INT, MPI_MAX, PETSC_COMM_WORLD);
  if (PetscFinalize()) return 1;
  return fails ? 1 : 0;
}
