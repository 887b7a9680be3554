/* Unit tests of the SAXS model fits (include/mxpcs/saxsfit.h): the kernels against the
   sasmodels-matched models.h, the Jacobian against finite differences, noise-free fits of every
   model recovering their parameters to 1e-6, fixed parameters and bounds, the non-convergence
   report, option errors, and the three readers on small generated files, malformed ones
   included. */
#include <mxpcs/saxsfit.h>
#include <mxpcs/models.h>
#include <mxpcs/sys.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "errtest.h"

#define NPT 160

static double Rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-300); }

static MxSaxsSpec Spec(MxSaxsModelType t, int porod)
{
  MxSaxsSpec s = {t, porod, 35, 3.0};
  return s;
}

static void LogGrid(int n, double a, double b, double *q)
{
  for (int i = 0; i < n; i++) q[i] = a * pow(b / a, i / (double)(n - 1));
}

/* Parameters in slot order: radius, pd, scale, background, phi, scale_liquid, porod, hs_excess;
   the liquid's hard-sphere diameter 2R + 5 = 63 A (issue 17: the seed's S(q) peak, not 2R) */
static const double P_SPHERE[MX_SAXS_NPAR] = {45.0, 0.08, 2.0e4, 3.0, 0, 0, 0, 0};
static const double P_HS[MX_SAXS_NPAR]     = {29.0, 0.05, 2.0e5, 2.0, 0.3, 0, 0, 0};
static const double P_CL[MX_SAXS_NPAR]     = {29.0, 0.06, 5.0e4, 1.0, 0.3, 1.5e5, 2e-5, 5.0};

/* MxSaxsModelEval reproduces MxSphereIq / MxSphereHardSphereIq (sasmodels to 1e-9), and its P,
   S_fit split Iv = P S_fit + porod/q^4 + background for every model */
static void test_kernels(void **state)
{
  (void)state;
  double q[NPT], Iv[NPT], ref[NPT], P[NPT], S[NPT], Reff, p[MX_SAXS_NPAR];
  LogGrid(NPT, 1e-3, 0.5, q);
  for (int pdi = 0; pdi < 3; pdi++) {
    double pd = pdi * 0.1;
    MxSaxsSpec sp = Spec(MX_SAXS_SPHERE, 0), hs = Spec(MX_SAXS_SPHERE_HS, 0);
    memcpy(p, P_SPHERE, sizeof p);
    p[MX_SAXS_PD] = pd;
    assert_int_equal(MxSaxsModelEval(&sp, p, NPT, q, Iv, NULL, NULL, NULL, NULL), 0);
    MxSphereIq(NPT, q, p[0], pd, 35, 3.0, 1.0, p[2], p[3], ref);
    for (int i = 0; i < NPT; i++) assert_true(Rel(Iv[i], ref[i]) < 1e-12);
    memcpy(p, P_HS, sizeof p);
    p[MX_SAXS_PD] = pd;
    assert_int_equal(MxSaxsModelEval(&hs, p, NPT, q, Iv, NULL, NULL, NULL, &Reff), 0);
    MxSphereHardSphereIq(NPT, q, p[0], pd, 35, 3.0, 1.0, p[4], p[2], p[3], 0, ref);
    for (int i = 0; i < NPT; i++) assert_true(Rel(Iv[i], ref[i]) < 1e-12);
    assert_true(Rel(Reff, p[0]) < 1e-12); /* symmetric grid: number mean = radius */
  }
  for (int t = 0; t < MX_SAXS_NMODELS; t++) {
    MxSaxsSpec sp = Spec((MxSaxsModelType)t, 1);
    memcpy(p, t == 0 ? P_SPHERE : t == 1 ? P_HS : P_CL, sizeof p);
    p[MX_SAXS_POROD] = 1e-4;
    assert_int_equal(MxSaxsModelEval(&sp, p, NPT, q, Iv, NULL, P, S, NULL), 0);
    for (int i = 0; i < NPT; i++) {
      double v = P[i] * S[i] + p[MX_SAXS_POROD] / pow(q[i], 4) + p[MX_SAXS_BACKGROUND];
      assert_true(Rel(Iv[i], v) < 1e-12);
    }
  }
  /* colloid+liquid is the sum of its parts: sphere(scale) + scale_liquid/phi * sphere@hardsphere
     with radius_effective R_eff + hs_excess/2 (peer.sasmodels checks that kernel) */
  {
    MxSaxsSpec cl = Spec(MX_SAXS_COLLOID_LIQUID, 0);
    double     a[NPT], b[NPT], Rn;
    assert_int_equal(MxSaxsModelEval(&cl, P_CL, NPT, q, Iv, NULL, NULL, NULL, &Reff), 0);
    MxSphereAverages(0, NULL, P_CL[0], P_CL[1], 35, 3.0, 1.0, NULL, NULL, NULL, &Rn);
    assert_true(Rel(Reff, Rn + 0.5 * P_CL[MX_SAXS_HS_EXCESS]) < 1e-15);
    MxSphereIq(NPT, q, P_CL[0], P_CL[1], 35, 3.0, 1.0, P_CL[2], P_CL[3], a);
    MxSphereHardSphereIqReff(NPT, q, P_CL[0], P_CL[1], 35, 3.0, 1.0, P_CL[4], Reff, P_CL[5] / P_CL[4], 0.0, 0, b);
    for (int i = 0; i < NPT; i++) assert_true(Rel(Iv[i], a[i] + b[i]) < 1e-12);
  }
}

/* the Jacobian against Richardson-extrapolated central differences of Iv, every model with the
   Porod term, at pd = 0 (one grid point) too */
static void test_jacobian(void **state)
{
  (void)state;
  double q[NPT], J[NPT * MX_SAXS_NPAR], Ip[NPT], Im[NPT], Ip2[NPT], Im2[NPT], worst = 0.0;
  LogGrid(NPT, 2e-3, 0.5, q);
  for (int t = 0; t < MX_SAXS_NMODELS; t++)
    for (int pdcase = 0; pdcase < 2; pdcase++) {
      MxSaxsSpec sp = Spec((MxSaxsModelType)t, 1);
      double     p[MX_SAXS_NPAR];
      memcpy(p, t == 0 ? P_SPHERE : t == 1 ? P_HS : P_CL, sizeof p);
      p[MX_SAXS_POROD] = 3e-5;
      if (pdcase) p[MX_SAXS_PD] = 0.0;
      assert_int_equal(MxSaxsModelEval(&sp, p, NPT, q, NULL, J, NULL, NULL, NULL), 0);
      for (int k = 0; k < MX_SAXS_NPAR; k++) {
        /* linear parameters: any step is exact but for rounding, so a large one */
        const int lin = k == MX_SAXS_BACKGROUND || k == MX_SAXS_POROD || k == MX_SAXS_SCALE_LIQUID || (k == MX_SAXS_SCALE && t != 1);
        double    h   = (lin ? 0.1 : 2e-3) * (fabs(p[k]) > 0 ? fabs(p[k]) : 1.0), pk = p[k], cmax = 0.0; /* wide: S_PY values carry ~1e-10 rounding */
        if (k == MX_SAXS_PD && pdcase) continue; /* one-sided at pd = 0: checked below */
        p[k] = pk + h;
        MxSaxsModelEval(&sp, p, NPT, q, Ip, NULL, NULL, NULL, NULL);
        p[k] = pk - h;
        MxSaxsModelEval(&sp, p, NPT, q, Im, NULL, NULL, NULL, NULL);
        p[k] = pk + 0.5 * h;
        MxSaxsModelEval(&sp, p, NPT, q, Ip2, NULL, NULL, NULL, NULL);
        p[k] = pk - 0.5 * h;
        MxSaxsModelEval(&sp, p, NPT, q, Im2, NULL, NULL, NULL, NULL);
        p[k] = pk;
        for (int i = 0; i < NPT; i++) cmax = fmax(cmax, fabs(J[i * MX_SAXS_NPAR + k]));
        for (int i = 0; i < NPT; i++) {
          double d1 = (Ip[i] - Im[i]) / (2 * h), d2 = (Ip2[i] - Im2[i]) / h, fd = (4 * d2 - d1) / 3;
          /* allowed: 1e-6, plus the finite differences' own spread (S_PY rounding at small q sigma) */
          double e = fabs(J[i * MX_SAXS_NPAR + k] - fd) / fmax(cmax, 1e-300) - 10.0 * fabs(d1 - d2) / fmax(cmax, 1e-300);
          if (!MxSaxsParamUsed(&sp, k)) assert_true(J[i * MX_SAXS_NPAR + k] == 0.0);
          if (e > 1e-6) print_error("model %d pd %g param %s q %g: J %.10g fd %.10g\n", t, p[MX_SAXS_PD], MxSaxsParamNames[k], q[i], J[i * MX_SAXS_NPAR + k], fd);
          assert_true(e < 1e-6);
          worst = fmax(worst, e);
        }
      }
      if (pdcase) /* dI/dpd = 0 at pd = 0 (Iv is even in pd) */
        for (int i = 0; i < NPT; i++) assert_true(J[i * MX_SAXS_NPAR + MX_SAXS_PD] == 0.0);
    }
  print_message("Jacobian vs finite differences: max deviation %.2e of the column's largest entry\n", worst);
}

static MxSaxsModel NewModel(const char *model, const char *extra[])
{
  MxSaxsModel m;
  assert_int_equal(PetscOptionsSetValue(NULL, "-saxs_model", model), 0);
  for (int i = 0; extra && extra[i]; i += 2) assert_int_equal(PetscOptionsSetValue(NULL, extra[i], extra[i + 1]), 0);
  assert_int_equal(MxSaxsModelCreate(PETSC_COMM_SELF, &m), 0);
  assert_int_equal(MxSaxsModelSetFromOptions(m), 0);
  assert_int_equal(PetscOptionsClearValue(NULL, "-saxs_model"), 0);
  for (int i = 0; extra && extra[i]; i += 2) assert_int_equal(PetscOptionsClearValue(NULL, extra[i]), 0);
  return m;
}

static void AssertNoNaN(const MxSaxsResult *r)
{
  for (int k = 0; k < MX_SAXS_NPAR; k++) {
    assert_true(isfinite(r->p[k]));
    assert_false(isnan(r->err[k]));
  }
  for (int a = 0; a < r->nfree * r->nfree; a++) assert_false(isnan(r->corr[a]));
  assert_false(isnan(r->chi2_red));
  assert_true(r->reason[0] != 0);
}

/* noise-free data (1 % errors) of every model: the parameters come back to 1e-6 */
static void test_fit_exact(void **state)
{
  (void)state;
  static const char *models[] = {"sphere", "sphere@hardsphere", "colloid+liquid"};
  double             q[NPT], Iv[NPT], dI[NPT];
  LogGrid(NPT, 4e-3, 0.35, q);
  for (int t = 0; t < MX_SAXS_NMODELS; t++) {
    MxSaxsSpec   sp = Spec((MxSaxsModelType)t, t == 2);
    const double *truth = t == 0 ? P_SPHERE : t == 1 ? P_HS : P_CL;
    MxSaxsModel  m      = NewModel(models[t], NULL);
    MxSaxsResult r;
    double       S[NPT], S_fit[NPT], S_err[NPT];
    assert_int_equal(MxSaxsModelEval(&sp, truth, NPT, q, Iv, NULL, NULL, NULL, NULL), 0);
    for (int i = 0; i < NPT; i++) dI[i] = 0.01 * Iv[i];
    assert_int_equal(MxSaxsModelSetData(m, NPT, q, Iv, dI), 0);
    assert_int_equal(MxSaxsModelFit(m), 0);
    assert_int_equal(MxSaxsModelGetResult(m, &r), 0);
    if (!r.converged) print_error("%s: %s\n", models[t], r.reason);
    assert_true(r.converged);
    AssertNoNaN(&r);
    for (int k = 0; k < MX_SAXS_NPAR; k++) {
      if (!MxSaxsParamUsed(&sp, k)) continue;
      if (Rel(r.p[k], truth[k]) > 1e-6) print_error("%s: %s = %.12g, truth %.12g\n", models[t], MxSaxsParamNames[k], r.p[k], truth[k]);
      assert_true(Rel(r.p[k], truth[k]) < 1e-6);
    }
    assert_true(r.chi2_red < 1e-10);
    /* S = (Iv - background - porod/q^4)/P reproduces the model's S */
    assert_int_equal(MxSaxsModelGetCurves(m, NULL, NULL, S, S_err, S_fit, NULL, NULL), 0);
    for (int i = 0; i < NPT; i++) {
      assert_true(fabs(S[i] - S_fit[i]) < 1e-6 * fabs(S_fit[i]) + 1e-9);
      assert_true(S_err[i] > 0 && isfinite(S_err[i]));
    }
    print_message("%-18s %d iterations, radius %.10g pd %.10g\n", models[t], r.iterations, r.p[0], r.p[1]);
    assert_int_equal(MxSaxsModelDestroy(&m), 0);
  }
}

/* fixed parameters stay, bounds hold (and are reported), q range restricts the points */
static void test_fix_bounds_range(void **state)
{
  (void)state;
  MxSaxsSpec   sp = Spec(MX_SAXS_SPHERE, 0);
  double       q[NPT], Iv[NPT], dI[NPT];
  MxSaxsResult r;
  MxSaxsModel  m;
  const char  *fix[]   = {"-saxs_fix", "radius", "-saxs_radius", "44", NULL};
  const char  *bound[] = {"-saxs_pd_bounds", "0,0.05", "-saxs_q_range", "0.01:0.2", NULL};

  LogGrid(NPT, 4e-3, 0.35, q);
  MxSaxsModelEval(&sp, P_SPHERE, NPT, q, Iv, NULL, NULL, NULL, NULL);
  for (int i = 0; i < NPT; i++) dI[i] = 0.01 * Iv[i];
  m = NewModel("sphere", fix);
  assert_int_equal(MxSaxsModelSetData(m, NPT, q, Iv, dI), 0);
  assert_int_equal(MxSaxsModelFit(m), 0);
  assert_int_equal(MxSaxsModelGetResult(m, &r), 0);
  AssertNoNaN(&r);
  assert_true(r.fixed[MX_SAXS_RADIUS]);
  assert_true(r.p[MX_SAXS_RADIUS] == 44.0 && r.err[MX_SAXS_RADIUS] == 0.0);
  assert_int_equal(r.nfree, 3);
  assert_true(r.chi2_red > 1.0); /* the wrong radius shows */
  assert_int_equal(MxSaxsModelDestroy(&m), 0);

  m = NewModel("sphere", bound);
  assert_int_equal(MxSaxsModelSetData(m, NPT, q, Iv, dI), 0);
  assert_int_equal(MxSaxsModelFit(m), 0);
  assert_int_equal(MxSaxsModelGetResult(m, &r), 0);
  AssertNoNaN(&r);
  assert_true(r.p[MX_SAXS_PD] <= 0.05 && r.p[MX_SAXS_PD] >= 0.05 * (1 - 1e-12));
  assert_true(r.at_bound[MX_SAXS_PD]);
  assert_true(r.q_min >= 0.01 && r.q_max <= 0.2);
  {
    int inside = 0;
    for (int i = 0; i < NPT; i++) inside += q[i] >= 0.01 && q[i] <= 0.2;
    assert_int_equal(r.npoints, inside);
  }
  assert_int_equal(MxSaxsModelDestroy(&m), 0);
}

/* a fit that runs out of iterations says so with TAO's reason, and has no NaN; invalid points are
   dropped and counted; too few points is an error naming the range */
static void test_failures(void **state)
{
  (void)state;
  MxSaxsSpec   sp = Spec(MX_SAXS_SPHERE_HS, 0);
  double       q[NPT], Iv[NPT], dI[NPT];
  MxSaxsResult r;
  MxSaxsModel  m;
  const char  *maxit[] = {"-saxs_tao_max_it", "1", NULL};

  LogGrid(NPT, 4e-3, 0.3, q);
  MxSaxsModelEval(&sp, P_HS, NPT, q, Iv, NULL, NULL, NULL, NULL);
  for (int i = 0; i < NPT; i++) {
    dI[i] = 0.01 * Iv[i];
    Iv[i] *= 1.0 + 0.02 * ((i % 3) - 1); /* noise, so that one step does not end it */
  }
  m = NewModel("sphere@hardsphere", maxit);
  assert_int_equal(MxSaxsModelSetData(m, NPT, q, Iv, dI), 0);
  assert_int_equal(PetscOptionsSetValue(NULL, "-saxs_tao_max_it", "1"), 0); /* TAO reads its options at each fit */
  assert_int_equal(MxSaxsModelFit(m), 0);
  assert_int_equal(PetscOptionsClearValue(NULL, "-saxs_tao_max_it"), 0);
  assert_int_equal(MxSaxsModelGetResult(m, &r), 0);
  if (r.converged) print_error("max_it 1 converged: %s\n", r.reason);
  assert_false(r.converged);
  assert_string_equal(r.reason, "DIVERGED_MAXITS");
  AssertNoNaN(&r);
  assert_int_equal(MxSaxsModelDestroy(&m), 0);

  /* bad points dropped */
  q[3]  = NAN;
  dI[5] = 0.0;
  Iv[7]  = INFINITY;
  q[9]  = -1.0;
  m     = NewModel("sphere@hardsphere", NULL);
  assert_int_equal(MxSaxsModelSetData(m, NPT, q, Iv, dI), 0);
  assert_int_equal(MxSaxsModelFit(m), 0);
  assert_int_equal(MxSaxsModelGetResult(m, &r), 0);
  assert_int_equal(r.nskipped, 4);
  assert_int_equal(r.npoints, NPT - 4);
  AssertNoNaN(&r);
  /* too few points */
  assert_int_equal(MxSaxsModelSetData(m, 4, q + 20, Iv + 20, dI + 20), 0);
  ExpectError(MxSaxsModelFit(m), "4 valid points", "need more than the 5 free parameters", NULL);
  assert_int_equal(MxSaxsModelDestroy(&m), 0);
}

/* option errors name the option */
static void test_option_errors(void **state)
{
  (void)state;
  static const struct {
    const char *model, *opt, *val, *needle;
  } cases[] = {
    {"sphere", "-saxs_fix", "pd", "-saxs_fix pd needs its value, -saxs_pd VALUE"},
    {"sphere", "-saxs_fix", "volume", "unknown parameter 'volume'"},
    {"sphere", "-saxs_phi", "0.3", "model sphere has no parameter phi"},
    {"sphere", "-saxs_q_range", "0.1-0.2", "-saxs_q_range"},
    {"sphere", "-saxs_q_range", "0.2:0.1", "needs 0 <= q_min < q_max"},
    {"sphere", "-saxs_pd_bounds", "0,0.5", "-saxs_pd_bounds"},
    {"sphere@hardsphere", "-saxs_phi", "0.9", "outside the bounds"},
    {"sphere", "-saxs_scale_liquid_bounds", "0,1", "has no parameter scale_liquid"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    MxSaxsModel m;
    assert_int_equal(PetscOptionsSetValue(NULL, "-saxs_model", cases[c].model), 0);
    assert_int_equal(PetscOptionsSetValue(NULL, cases[c].opt, cases[c].val), 0);
    assert_int_equal(MxSaxsModelCreate(PETSC_COMM_SELF, &m), 0);
    ExpectError(MxSaxsModelSetFromOptions(m), cases[c].needle, NULL);
    assert_int_equal(PetscOptionsClearValue(NULL, cases[c].opt), 0);
    assert_int_equal(PetscOptionsClearValue(NULL, "-saxs_model"), 0);
    assert_int_equal(MxSaxsModelDestroy(&m), 0);
  }
}

/* ------------------------------------------------------------------ readers */

static char dir[256];

static void TmpPath(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", dir, name); }

static void WriteText(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void H5Vec(hid_t g, const char *name, int n, const double *v, const char *units)
{
  hsize_t d = (hsize_t)n;
  hid_t   s = H5Screate_simple(1, &d, NULL), ds = H5Dcreate2(g, name, H5T_NATIVE_DOUBLE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  assert_true(ds >= 0);
  assert_true(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0);
  if (units) assert_int_equal(MxH5WriteAttrString(ds, "units", units), 0);
  H5Dclose(ds);
  H5Sclose(s);
}

static void test_read_text(void **state)
{
  (void)state;
  char       p[512];
  MxSaxsData d;
  memset(&d, 0, sizeof d);

  TmpPath(p, sizeof p, "a.txt");
  WriteText(p, "# sample A\n# q [1/nm] I dI\n\n0.1 10 1\n  0.2,\t20, 2, 0.01\n# a comment\n0.3;30;3\n");
  assert_int_equal(MxSaxsDataReadText(p, MX_SAXS_Q_AUTO, &d), 0);
  assert_int_equal(d.n, 3);
  assert_true(Rel(d.q[1], 0.02) < 1e-15 && d.Iq[1] == 20 && d.Ierr[2] == 3);
  assert_non_null(strstr(d.origin, "1/nm"));
  assert_int_equal(MxSaxsDataReadText(p, MX_SAXS_Q_A, &d), 0); /* the option wins */
  assert_true(d.q[1] == 0.2);
  /* a header line before the data, no unit: 1/angstrom; through the dispatcher */
  TmpPath(p, sizeof p, "b.dat");
  WriteText(p, "<X> <Y> <dY>\n0.01 5 0.5\n0.02 4 0.4\n");
  assert_int_equal(MxSaxsDataRead(p, MX_SAXS_Q_AUTO, &d), 0);
  assert_int_equal(d.n, 2);
  assert_true(d.q[0] == 0.01);
  assert_int_equal(MxSaxsDataRead(p, MX_SAXS_Q_NM, &d), 0);
  assert_true(Rel(d.q[0], 0.001) < 1e-15);
  /* malformed: the file and the line */
  TmpPath(p, sizeof p, "bad.txt");
  WriteText(p, "# q I dI\n0.1 1 0.1\n0.2 2\n");
  ExpectError(MxSaxsDataReadText(p, MX_SAXS_Q_AUTO, &d), "bad.txt", "line 3", "expected 3 numbers", NULL);
  WriteText(p, "0.1 1 0.1\n0.2 2 x\n");
  ExpectError(MxSaxsDataReadText(p, MX_SAXS_Q_AUTO, &d), "bad.txt", "line 2", NULL);
  WriteText(p, "# nothing\n");
  ExpectError(MxSaxsDataReadText(p, MX_SAXS_Q_AUTO, &d), "bad.txt", "no data lines", NULL);
  TmpPath(p, sizeof p, "missing.txt");
  ExpectError(MxSaxsDataRead(p, MX_SAXS_Q_AUTO, &d), "missing.txt", "cannot open", NULL);
  assert_int_equal(MxSaxsDataDestroy(&d), 0);
}

static void test_read_hdf5(void **state)
{
  (void)state;
  char       p[512];
  MxSaxsData d;
  double     q[4] = {0.1, 0.2, 0.3, 0.4}, Iv[4] = {4, 3, 2, 1}, e[4] = {0.4, 0.3, 0.2, 0.1};
  hid_t      f, g, e1;
  memset(&d, 0, sizeof d);

  /* NXcanSAS: entry/data with NX_class NXdata + canSAS_class SASdata, Q in 1/nm */
  TmpPath(p, sizeof p, "nx.h5");
  f  = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  e1 = H5Gcreate2(f, "/sasentry01", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  assert_int_equal(MxH5WriteAttrString(e1, "canSAS_class", "SASentry"), 0);
  g = H5Gcreate2(f, "/sasentry01/sasdata01", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  assert_int_equal(MxH5WriteAttrString(g, "NX_class", "NXdata"), 0);
  assert_int_equal(MxH5WriteAttrString(g, "canSAS_class", "SASdata"), 0);
  assert_int_equal(MxH5WriteAttrString(g, "signal", "I"), 0);
  assert_int_equal(MxH5WriteAttrString(g, "I_axes", "Q"), 0);
  H5Vec(g, "Q", 4, q, "1/nm");
  H5Vec(g, "I", 4, Iv, "1/cm");
  H5Vec(g, "Sigma", 4, e, "1/cm");
  {
    hid_t ds = H5Dopen2(g, "I", H5P_DEFAULT);
    assert_int_equal(MxH5WriteAttrString(ds, "uncertainties", "Sigma"), 0);
    H5Dclose(ds);
  }
  H5Gclose(g);
  H5Gclose(e1);
  H5Fclose(f);
  assert_int_equal(MxSaxsDataRead(p, MX_SAXS_Q_AUTO, &d), 0);
  assert_int_equal(d.n, 4);
  assert_true(Rel(d.q[2], 0.03) < 1e-15 && d.Iq[2] == 2 && d.Ierr[2] == 0.2);
  assert_string_equal(d.I_units, "1/cm");
  assert_non_null(strstr(d.origin, "/sasentry01/sasdata01"));

  /* no uncertainties: an error naming the group */
  TmpPath(p, sizeof p, "nx_noerr.h5");
  f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  g = H5Gcreate2(f, "/data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  assert_int_equal(MxH5WriteAttrString(g, "NX_class", "SASdata"), 0);
  H5Vec(g, "Q", 4, q, "1/A");
  H5Vec(g, "I", 4, Iv, NULL);
  H5Gclose(g);
  H5Fclose(f);
  ExpectError(MxSaxsDataRead(p, MX_SAXS_Q_AUTO, &d), "nx_noerr.h5", "/data/I has no uncertainties", NULL);
  /* unknown q unit */
  f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
  g = H5Gopen2(f, "/data", H5P_DEFAULT);
  H5Vec(g, "Idev", 4, e, NULL);
  H5Ldelete(g, "Q", H5P_DEFAULT);
  H5Vec(g, "Q", 4, q, "degrees");
  H5Gclose(g);
  H5Fclose(f);
  ExpectError(MxSaxsDataRead(p, MX_SAXS_Q_AUTO, &d), "nx_noerr.h5", "/data/Q has units 'degrees'", NULL);

  /* an mxpcs analyze results file */
  TmpPath(p, sizeof p, "results.h5");
  f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  g = H5Gcreate2(f, "/xpcs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Gclose(g);
  g = H5Gcreate2(f, "/xpcs/saxs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Vec(g, "q", 4, q, "1/angstrom");
  H5Vec(g, "I", 4, Iv, "photons/pixel/pulse");
  H5Vec(g, "I_err", 3, e, "photons/pixel/pulse");
  H5Gclose(g);
  H5Fclose(f);
  ExpectError(MxSaxsDataRead(p, MX_SAXS_Q_AUTO, &d), "results.h5", "/xpcs/saxs/q, I, I_err have lengths 4, 4, 3", NULL);
  f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
  g = H5Gopen2(f, "/xpcs/saxs", H5P_DEFAULT);
  H5Ldelete(g, "I_err", H5P_DEFAULT);
  H5Gclose(g);
  H5Fclose(f);
  ExpectError(MxSaxsDataReadResults(p, &d), "results.h5", "/xpcs/saxs/I_err is missing", NULL);
  f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT);
  g = H5Gopen2(f, "/xpcs/saxs", H5P_DEFAULT);
  H5Vec(g, "I_err", 4, e, "photons/pixel/pulse");
  H5Gclose(g);
  H5Fclose(f);
  assert_int_equal(MxSaxsDataRead(p, MX_SAXS_Q_AUTO, &d), 0);
  assert_int_equal(d.n, 4);
  assert_true(d.q[3] == 0.4 && d.Iq[3] == 1 && d.Ierr[3] == 0.1);
  assert_string_equal(d.I_units, "photons/pixel/pulse");
  /* a results file without /xpcs/saxs, read as results */
  TmpPath(p, sizeof p, "nx.h5");
  ExpectError(MxSaxsDataReadResults(p, &d), "nx.h5", "/xpcs/saxs is missing", NULL);
  assert_int_equal(MxSaxsDataDestroy(&d), 0);
}

int main(int argc, char **argv)
{
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  if (MxErrorInstall() || MxH5Silence()) return 1;
  snprintf(dir, sizeof dir, "/tmp/mx_test_saxsfit_XXXXXX");
  if (!mkdtemp(dir)) return 1;
  {
    const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kernels),
      cmocka_unit_test(test_jacobian),
      cmocka_unit_test(test_fit_exact),
      cmocka_unit_test(test_fix_bounds_range),
      cmocka_unit_test(test_failures),
      cmocka_unit_test(test_option_errors),
      cmocka_unit_test(test_read_text),
      cmocka_unit_test(test_read_hdf5),
    };
    rc = cmocka_run_group_tests_name("saxsfit", tests, NULL, NULL);
  }
  {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) rc = rc ? rc : 1;
  }
  if (PetscFinalize()) return 1;
  return rc;
}
