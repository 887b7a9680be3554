/* Unit tests of the heating kernels (src/models/heating.c) and simulate's finite-difference solver
   (src/sim/heatfd.c): the quadratures, the composition's dose against the worked estimate of
   docs/reference/heating.md 4, the viscosity laws against their tabulated values, and the analytic
   kernel against the finite-difference solution of the heat equation to 1e-4. */
#include <mxpcs/heating.h>
#include <mxpcs/models.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void test_quadrature(void **state)
{
  double x[32], w[32], m[4] = {0};
  (void)state;
  MxGaussLaguerre(32, x, w);
  for (int i = 0; i < 32; i++)
    for (int k = 0; k < 4; k++) m[k] += w[i] * pow(x[i], k);
  /* int exp(-x) x^k = k! */
  assert_true(fabs(m[0] - 1) < 1e-12 && fabs(m[1] - 1) < 1e-12 && fabs(m[2] - 2) < 1e-11 && fabs(m[3] - 6) < 1e-10);
  /* int exp(-x) exp(-a x) a = a/(1 + a): the kernel's intensity-weighted mean */
  for (double s = 0; s < 20; s += 0.7) {
    double acc = 0;
    for (int i = 0; i < 32; i++) acc += w[i] * MxHeatKernel(x[i], s);
    assert_true(fabs(acc - MxHeatKernelMean(s / 2)) < 1e-12);
  }
}

/* heating.md 4: E_p = 2.5 uJ in FWHM 2.5 um (F0 = 35.3 J/cm^2), NMF, L = 0.9 mm */
static void test_composition(void **state)
{
  const double phis[3] = {0.005, 0.02, 0}, mu[3] = {4.7, 12.7, 2.0}, tr[3] = {0.66, 0.32, 0.84}, dTe[3] = {69, 195, 27.5}, dTp[3] = {56, 116, 25};
  const double sigma_cm = 2.5e-4 / 2.3548, F0 = 2.5e-6 / (2 * M_PI * sigma_cm * sigma_cm);
  (void)state;
  assert_true(fabs(F0 - 35.3) < 0.1);
  for (int i = 0; i < 3; i++) {
    MxHeatSample s = {MX_SOLVENT_NMF, phis[i], 0.9, 298.15, 0, 0};
    MxHeatProps  p, p0;
    MxHeatSample e = s;
    e.path_mm      = 1e-9; /* the entrance value */
    assert_int_equal(MxHeatSampleProps(&s, &p), 0);
    assert_int_equal(MxHeatSampleProps(&e, &p0), 0);
    assert_true(fabs(p.mu_cm - mu[i]) < 0.1 * (i == 2 ? 0.5 : 1));
    assert_true(fabs(p.transmission - tr[i]) < 0.01);
    assert_true(fabs(F0 * p0.dT_per_J_cm2 - dTe[i]) < 0.02 * dTe[i]);
    assert_true(fabs(F0 * p.dT_per_J_cm2 - dTp[i]) < 0.02 * dTp[i]);
  }
  /* thermal diffusivities: DMF 9.5e-8, NMF 9.3e-8 m^2/s */
  MxHeatProps p;
  MxHeatSampleProps(&(MxHeatSample){MX_SOLVENT_DMF, 0, 1, 298.15, 0, 0}, &p);
  assert_true(fabs(p.alpha_m2_s - 9.5e-8) < 0.1e-8);
  MxHeatSampleProps(&(MxHeatSample){MX_SOLVENT_NMF, 0, 1, 298.15, 0, 0}, &p);
  assert_true(fabs(p.alpha_m2_s - 9.3e-8) < 0.1e-8);
  assert_int_not_equal(MxHeatSampleProps(&(MxHeatSample){MX_SOLVENT_NMF, -0.1, 1, 298.15, 0, 0}, &p), 0);
  assert_int_not_equal(MxHeatSampleProps(&(MxHeatSample){MX_SOLVENT_NMF, 0.1, 0, 298.15, 0, 0}, &p), 0);
}

static void test_viscosity(void **state)
{
  MxHeatSample dmf = {MX_SOLVENT_DMF, 0, 1, 298.15, 0, 0}, water = {MX_SOLVENT_WATER, 0, 1, 298.15, 0, 0}, arr = {MX_SOLVENT_DMF, 0, 1, 298.15, 12, 0};
  (void)state;
  /* heating.md 3: DMF 0.815 mPa s at 25 C, 0.618 at 50 C; water 0.890 at 25 C (CRC), the
     DIPPR fit within 3 % of it */
  assert_true(fabs(MxHeatViscosity(&dmf, 298.15) - 0.815e-3) < 0.005e-3);
  assert_true(fabs(MxHeatViscosity(&dmf, 323.15) - 0.618e-3) < 0.005e-3);
  assert_true(fabs(MxHeatViscosity(&water, 298.15) - 0.890e-3) < 0.03 * 0.890e-3);
  assert_true(isnan(MxHeatViscosity(&dmf, 500)));
  /* Arrhenius: D(T)/D(T0) = T/T0 exp(-Ea/R (1/T - 1/T0)) */
  double T = 310, ref = T / 298.15 * exp(-12e3 / 8.314462618 * (1 / T - 1 / 298.15));
  assert_true(fabs(MxHeatDFactor(&arr, T) - ref) < 1e-12);
  assert_true(fabs(MxHeatDFactor(&dmf, 298.15) - 1) < 1e-15);
}

/* a single pulse: the finite-difference profile against the analytic kernel */
static void test_pulse_fd(void **state)
{
  const PetscInt nr = 1200;
  double        *prof = malloc(sizeof(double) * nr), worst = 0;
  (void)state;
  for (double s = 0.5; s < 5; s *= 3) {
    PetscCallAbort(PETSC_COMM_SELF, MxHeatPulseFD(s, nr, 400, prof));
    for (PetscInt i = 0; i < nr; i++) {
      const double rho = (i + 0.5) * 12.0 / nr;
      worst = fmax(worst, fabs(prof[i] - MxHeatKernel(rho * rho, s)));
    }
  }
  print_message("single pulse: max |FD - kernel| = %.2e (of a peak of 1)\n", worst);
  assert_true(worst < 1e-4);
  free(prof);
}

/* a train: the interval means of the quadrature model, the closed form and the finite
   differences; the rises and D factors of heating.md 4 */
static void test_train(void **state)
{
  const PetscInt nint = 50;
  const double   dt = 0.443e-6, tauI = 12.1e-6;
  double         rise_m[50], rise_f[50], h_m[50], h_f[50], e[50], wr = 0, wh = 0, wc = 0;
  MxHeatModel    hm;
  MxHeatSample   dmf = {MX_SOLVENT_DMF, 0, 1, 298.15, 0, 0};
  (void)state;
  for (PetscInt k = 0; k < nint; k++) e[k] = 1 + 0.3 * sin(1.7 * k); /* uneven pulses */
  PetscCallAbort(PETSC_COMM_SELF, MxHeatModelCreate(nint, dt, tauI, e, &hm));
  MxHeatModelRise(hm, rise_m);
  MxHeatModelFactors(hm, &dmf, 2.0, h_m);
  PetscCallAbort(PETSC_COMM_SELF, MxHeatSolveFD(nint, dt, tauI, e, &dmf, 2.0, 0, 0, h_f, rise_f, NULL));
  for (PetscInt n = 0; n < nint; n++) {
    double c = 0; /* closed form: the interval mean of sum_k e_k 0.5/(1 + (t - t_k)/tau_I) */
    for (PetscInt k = 0; k <= n; k++) c += e[k] * 0.5 * tauI / dt * log((1 + (n + 1 - k) * dt / tauI) / (1 + (n - k) * dt / tauI));
    wc = fmax(wc, fabs(rise_m[n] - c) / c);
    wr = fmax(wr, fabs(rise_f[n] / 2.0 - c) / c);
    wh = fmax(wh, fabs(h_f[n] - h_m[n]) / h_m[n]);
  }
  print_message("train of 50: model vs closed form %.1e, FD rise vs closed form %.1e, FD D factor vs model %.1e (relative)\n", wc, wr, wh);
  assert_true(wc < 1e-9);
  assert_true(wr < 1e-4);
  assert_true(wh < 1e-4);
  PetscCallAbort(PETSC_COMM_SELF, MxHeatModelDestroy(&hm));
  /* heating.md 4 (equal pulses): rise/dT_c0 0.49 (first interval), 4.62 (age 4.4 us), 11.3
     (15 us), 14.2 (after 50 pulses); D/D(T0) for DMF at dT_c0 = 1 K: 1.008, 1.074, 1.185 */
  {
    const PetscInt n2 = 50, at[3] = {0, 10, 34};
    const double   r_ref[3] = {0.49, 4.62, 11.3}, h_ref[3] = {1.008, 1.074, 1.185};
    double         r[50], h[50];
    PetscCallAbort(PETSC_COMM_SELF, MxHeatModelCreate(n2, dt, tauI, NULL, &hm));
    MxHeatModelRise(hm, r);
    MxHeatModelFactors(hm, &dmf, 1.0, h);
    for (int i = 0; i < 3; i++) {
      assert_true(fabs(r[at[i]] - r_ref[i]) < 0.02 * r_ref[i] + 0.005);
      assert_true(fabs(h[at[i]] - h_ref[i]) < 0.003);
    }
    assert_true(fabs(r[49] - 14.2) < 0.3);
    PetscCallAbort(PETSC_COMM_SELF, MxHeatModelDestroy(&hm));
  }
}

/* The factors remembered (MxHeatModelFactors keeps the last 32 distinct sample and dT0) are the
   bits computed afresh: each of 40 dT0 values (more than it keeps) and a second sample that
   differs in one field only, asked for in turns, against a model that never saw them before. */
static void test_factors_memo(void **state)
{
  const PetscInt nint = 20;
  const double   dt = 0.443e-6, tauI = 12.1e-6;
  MxHeatModel    hm, fresh;
  MxHeatSample   dmf = {MX_SOLVENT_DMF, 0, 1, 298.15, 0, 0}, warm = dmf;
  double         h[20], hf[20];
  int            hits = 0;
  (void)state;
  warm.T0_K = 300.15;
  PetscCallAbort(PETSC_COMM_SELF, MxHeatModelCreate(nint, dt, tauI, NULL, &hm));
  for (int pass = 0; pass < 3; pass++)
    for (int i = 0; i < 40; i++) {
      const double        dT0 = 0.05 * (1 + (i * 7) % 40);
      const MxHeatSample *s   = (i + pass) % 3 ? &dmf : &warm;
      MxHeatModelFactors(hm, s, dT0, h);
      PetscCallAbort(PETSC_COMM_SELF, MxHeatModelCreate(nint, dt, tauI, NULL, &fresh));
      MxHeatModelFactors(fresh, s, dT0, hf);
      PetscCallAbort(PETSC_COMM_SELF, MxHeatModelDestroy(&fresh));
      assert_memory_equal(h, hf, sizeof h);
      /* the same point again: now from the memo, the same bits */
      MxHeatModelFactors(hm, s, dT0, h);
      assert_memory_equal(h, hf, sizeof h);
      hits++;
    }
  /* the two samples give different factors at one dT0: a memo that ignored the sample would not */
  MxHeatModelFactors(hm, &dmf, 1.0, h);
  MxHeatModelFactors(hm, &warm, 1.0, hf);
  assert_true(memcmp(h, hf, sizeof h) != 0);
  PetscCallAbort(PETSC_COMM_SELF, MxHeatModelDestroy(&hm));
  assert_int_equal(hits, 120);
}

/* The photon energy: NIST's tabulated points come back exactly, 12.3 keV gives the coefficients
   of heating.md 3 (interpolated there by hand), the Pb edges jump where NIST puts them, and the
   dose follows mu_en. (Against xraylib at other energies: tests/peer/xraylib_check.py.) */
static void test_energy(void **state)
{
  /* el, E, mu, mu_en: NIST SRD 126 table 3 */
  const double grid[][4] = {{0, 10, 0.3854, 0.009849}, {1, 5, 19.12, 18.66}, {2, 20, 0.6178, 0.3867}, {3, 8, 11.63, 11.16}, {4, 40, 0.9872, 0.7466}, {5, 20, 86.36, 68.99}, {5, 13.0352, 162.1, 129.1}, {5, 15.53, 141.6, 108.3}, {5, 4, 1251, 1221}, {5, 50, 8.041, 6.74}};
  /* heating.md 3 at 12.3 keV (H C N O S Pb), 3-4 digits */
  const double mu123[6] = {0.381, 1.368, 2.163, 3.265, 27.5, 77.6}, muen123[6] = {0.0104, 1.067, 1.831, 2.893, 26.4, 72.9};
  double       mu, muen, a, b;
  (void)state;
  for (size_t i = 0; i < sizeof grid / sizeof grid[0]; i++) {
    assert_int_equal(MxHeatElementCoefficients((int)grid[i][0], grid[i][1], &mu, &muen), 0);
    assert_true(fabs(mu / grid[i][2] - 1) < 1e-12 && fabs(muen / grid[i][3] - 1) < 1e-12);
  }
  /* (heating.md interpolated log-log straight, which puts mu of C, N, O 1-2.5 % high; mu_en of
     C..Pb agrees to 0.6 %, H's, 1 % of the solvent's absorption, to 5 %) */
  for (int e = 0; e < 6; e++) {
    assert_int_equal(MxHeatElementCoefficients(e, 12.3, &mu, &muen), 0);
    assert_true(fabs(mu / mu123[e] - 1) < 0.03 && fabs(muen / muen123[e] - 1) < (e ? 0.006 : 0.05));
  }
  /* Pb: below and above L3, L2, L1 */
  const double edges[3] = {13.0352, 15.2, 15.8608};
  for (int k = 0; k < 3; k++) {
    assert_int_equal(MxHeatElementCoefficients(5, edges[k] * (1 - 1e-9), &a, &muen), 0);
    assert_int_equal(MxHeatElementCoefficients(5, edges[k], &b, &muen), 0);
    assert_true(b / a > 1.1);
  }
  /* between the points: monotone for the light elements */
  double prev = INFINITY;
  for (double E = 4; E <= 50; E *= 1.01) {
    assert_int_equal(MxHeatElementCoefficients(1, E, &mu, &muen), 0);
    assert_true(mu < prev && muen <= mu);
    prev = mu;
  }
  /* out of the table */
  assert_int_not_equal(MxHeatElementCoefficients(0, 3.99, &mu, &muen), 0);
  assert_int_not_equal(MxHeatElementCoefficients(0, 50.01, &mu, &muen), 0);
  assert_int_not_equal(MxHeatElementCoefficients(0, NAN, &mu, &muen), 0);
  assert_int_not_equal(MxHeatElementCoefficients(6, 12, &mu, &muen), 0);
  MxHeatProps p, q;
  assert_int_not_equal(MxHeatSampleProps(&(MxHeatSample){MX_SOLVENT_DMF, 0.01, 1, 298.15, 0, 60}, &p), 0);
  /* 0 is 12.3 keV; a thin sample's jump per fluence is mu_en/C_v, so it scales with mu_en */
  assert_int_equal(MxHeatSampleProps(&(MxHeatSample){MX_SOLVENT_WATER, 0, 1e-9, 298.15, 0, 0}, &p), 0);
  assert_int_equal(MxHeatSampleProps(&(MxHeatSample){MX_SOLVENT_WATER, 0, 1e-9, 298.15, 0, 12.3}, &q), 0);
  assert_true(p.dT_per_J_cm2 == q.dT_per_J_cm2);
  assert_int_equal(MxHeatSampleProps(&(MxHeatSample){MX_SOLVENT_WATER, 0, 1e-9, 298.15, 0, 8}, &q), 0);
  {
    double h8, o8, h12, o12, w = 2 * 1.008 / 18.015;
    MxHeatElementCoefficients(0, 8, &a, &h8);
    MxHeatElementCoefficients(3, 8, &a, &o8);
    MxHeatElementCoefficients(0, 12.3, &a, &h12);
    MxHeatElementCoefficients(3, 12.3, &a, &o12);
    assert_true(fabs(q.dT_per_J_cm2 / p.dT_per_J_cm2 / ((w * h8 + (1 - w) * o8) / (w * h12 + (1 - w) * o12)) - 1) < 1e-3);
  }
}

/* MX_HEATING_DUMP: "E mu_cm" of the solvents alone and with PbS at phi 0.02, for
   tests/peer/xraylib_check.py */
static int Dump(void)
{
  printf("# E_keV nmf dmf water nmf+0.02PbS dmf+0.02PbS water+0.02PbS (linear attenuation, 1/cm)\n");
  for (double E = 4.05; E <= 49.9; E *= 1.0137) {
    printf("%.10g", E);
    for (int k = 0; k < 6; k++) {
      MxHeatProps p;
      if (MxHeatSampleProps(&(MxHeatSample){(MxSolvent)(k % 3), k < 3 ? 0 : 0.02, 1, 298.15, 0, E}, &p)) return 1;
      printf(" %.10g", p.mu_cm);
    }
    printf("\n");
  }
  return 0;
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_quadrature), cmocka_unit_test(test_composition), cmocka_unit_test(test_viscosity), cmocka_unit_test(test_pulse_fd), cmocka_unit_test(test_train), cmocka_unit_test(test_factors_memo), cmocka_unit_test(test_energy),
  };
  int rc;
  if (getenv("MX_HEATING_DUMP")) return Dump();
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  if (PetscFinalize()) return 1;
  return rc;
}
