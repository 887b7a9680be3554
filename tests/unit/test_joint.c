/* Unit tests of the heating laws of the joint fit (include/mxpcs/joint.h), and of its dose law on
   two samples of different composition heated by one beam, whose Gamma(q, age) come from
   simulate's finite-difference heat solver (not the kernel the fit uses). The least-squares
   layer it solves with has its own tests: test_lsq.c. */
#include <mxpcs/joint.h>
#include <mxpcs/heating.h>
#include <mxpcs/models.h>
#include <mxpcs/schema.h>
#include <mxpcs/sys.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

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

/* Gaussian noise, reproducible: Box-Muller on a 64-bit LCG */
static double Noise(unsigned long long *st)
{
  double u[2];
  for (int i = 0; i < 2; i++) {
    *st  = *st * 6364136223846793005ULL + 1442695040888963407ULL;
    u[i] = ((*st >> 11) + 0.5) / 9007199254740992.0;
  }
  return sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
}

/* an analyze results file of a dilute sample (S = H = 1) with free diffusion D0 heated by a
   fluence F: its SAXS, and Gamma(q, age) with 1 % noise from the finite-difference heating */
static void WriteSample(const char *path, double D0, double phi, double F, unsigned long long seed)
{
  const int      nq = 8, nage = 6, wlen = 21, ns = 150, nint = 45;
  const double   dt = 2 / 4.513e6;
  double         q[8], age[6], gam[48], gerr[48], tau[20], qs[150], Iq[150], dI[150], h[45];
  MxHeatSample   hs = {MX_SOLVENT_DMF, phi, 0.9, 298.15, 0};
  MxHeatProps    hp;
  MxOut          o;
  hsize_t        d1[1], d2[2];
  for (int i = 0; i < nq; i++) q[i] = 0.006 + 0.002 * i;
  for (int k = 0; k < wlen - 1; k++) tau[k] = (k + 1) * dt;
  assert_int_equal(MxHeatSampleProps(&hs, &hp), 0);
  PetscCallAbort(PETSC_COMM_SELF, MxHeatSolveFD(nint, dt, MxHeatTauI(2.5, hp.alpha_m2_s), NULL, &hs, F * hp.dT_per_J_cm2, 0, 100, h, NULL, NULL));
  for (int a = 0; a < nage; a++) {
    double m = 0;
    age[a] = (5 * a + 0.5 * (wlen - 1)) * dt;
    for (int n = 5 * a; n < 5 * a + wlen - 1; n++) m += h[n] / (wlen - 1);
    for (int i = 0; i < nq; i++) {
      const double g = D0 * 1e8 * q[i] * q[i] * m;
      gerr[i * nage + a] = 0.01 * g;
      gam[i * nage + a]  = g * (1 + 0.01 * Noise(&seed));
    }
  }
  for (int i = 0; i < ns; i++) qs[i] = 0.005 + 0.0006 * i;
  MxSphereIq(ns, qs, 29, 0.05, 35, 3, 1, 1, 0, Iq);
  for (int i = 0; i < ns; i++) {
    dI[i] = 0.01 * Iq[i];
    Iq[i] *= 1 + 0.01 * Noise(&seed);
  }
  PetscCallAbort(PETSC_COMM_SELF, MxOutCreate(PETSC_COMM_SELF, path, &o));
  d1[0] = ns;
  PetscCallAbort(PETSC_COMM_SELF, MxOutDoubles(o, MX_SAXS_Q, 1, d1, qs));
  PetscCallAbort(PETSC_COMM_SELF, MxOutDoubles(o, MX_SAXS_I, 1, d1, Iq));
  PetscCallAbort(PETSC_COMM_SELF, MxOutDoubles(o, MX_SAXS_I_ERR, 1, d1, dI));
  d1[0] = nq;
  PetscCallAbort(PETSC_COMM_SELF, MxOutDoubles(o, MX_QMAP_Q, 1, d1, q));
  d1[0] = nage;
  PetscCallAbort(PETSC_COMM_SELF, MxOutDoubles(o, MX_G2_AGE, 1, d1, age));
  d1[0] = wlen - 1;
  PetscCallAbort(PETSC_COMM_SELF, MxOutDoubles(o, MX_G2_TAU, 1, d1, tau));
  d2[0] = nq;
  d2[1] = nage;
  PetscCallAbort(PETSC_COMM_SELF, MxOutDoubles(o, MX_FIT_GAMMA, 2, d2, gam));
  PetscCallAbort(PETSC_COMM_SELF, MxOutDoubles(o, MX_FIT_GAMMA_ERR, 2, d2, gerr));
  PetscCallAbort(PETSC_COMM_SELF, MxOutScalar(o, MX_FIT_HEATING_PHI, phi));
  PetscCallAbort(PETSC_COMM_SELF, MxOutAttrString(o, MX_FIT_HEATING_PHI, "solvent", "dmf"));
  PetscCallAbort(PETSC_COMM_SELF, MxOutScalar(o, MX_FIT_HEATING_PATH_MM, 0.9));
  PetscCallAbort(PETSC_COMM_SELF, MxOutScalar(o, MX_FIT_HEATING_TAU_I, MxHeatTauI(2.5, hp.alpha_m2_s)));
  PetscCallAbort(PETSC_COMM_SELF, MxOutClose(&o, 0, NULL));
}

static double ReadScalar(const char *file, const char *dset)
{
  double v = NAN;
  hid_t  f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT), d = H5Dopen2(f, dset, H5P_DEFAULT);
  H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v);
  H5Dclose(d);
  H5Fclose(f);
  return v;
}

/* two dilute samples (PbS 0.005 and 0.02: jumps per pulse 1:2.3), one beam of 0.8 J/cm^2: the dose
   law recovers the fluence and both D0 */
static void test_dose_two_samples(void **state)
{
  const char *names[2] = {"a", "b"}, *files[2] = {"joint_dose_a.h5", "joint_dose_b.h5"};
  const double D0[2] = {57, 30}, phi[2] = {0.005, 0.02}, F = 0.8;
  MxJoint      j;
  (void)state;
  for (int i = 0; i < 2; i++) WriteSample(files[i], D0[i], phi[i], F, 17 + i);
  PetscCallAbort(PETSC_COMM_SELF, MxJointCreate(PETSC_COMM_SELF, &j));
  PetscCallAbort(PETSC_COMM_SELF, MxJointSetSampleNames(j, 2, names));
  PetscCallAbort(PETSC_COMM_SELF, MxJointSetFromOptions(j));
  for (int i = 0; i < 2; i++) PetscCallAbort(PETSC_COMM_SELF, MxJointAddResults(j, files[i]));
  PetscCallAbort(PETSC_COMM_SELF, MxJointSolve(j));
  PetscCallAbort(PETSC_COMM_SELF, MxJointWriteFile(j, "joint_dose.h5", NULL));
  PetscCallAbort(PETSC_COMM_SELF, MxJointDestroy(&j));
  double Ff = ReadScalar("joint_dose.h5", "/joint/heating_k"), Fe = ReadScalar("joint_dose.h5", "/joint/heating_k_err");
  print_message("fluence %.4f +- %.4f J/cm^2 (truth %.2f)\n", Ff, Fe, F);
  assert_true(fabs(Ff - F) < 3 * Fe + 0.01 * F && Fe < 0.1 * F);
  for (int i = 0; i < 2; i++) {
    char p[64], pe[64];
    snprintf(p, sizeof p, "/hydro/%s/D0", names[i]);
    snprintf(pe, sizeof pe, "/hydro/%s/D0_err", names[i]);
    double d = ReadScalar("joint_dose.h5", p), de = ReadScalar("joint_dose.h5", pe);
    print_message("%s: D0 %.3f +- %.3f um^2/s (truth %.1f)\n", names[i], d, de, D0[i]);
    assert_true(fabs(d - D0[i]) < 3 * de + 0.005 * D0[i]);
  }
  for (int i = 0; i < 2; i++) remove(files[i]);
  remove("joint_dose.h5");
}

int main(int argc, char **argv)
{
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_heating_laws),
    cmocka_unit_test(test_dose_two_samples),
  };
  rc = cmocka_run_group_tests_name("joint", tests, NULL, NULL);
  if (PetscFinalize()) return 1;
  return rc;
}
