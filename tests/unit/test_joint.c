/* Unit tests of the joint fit (include/mxpcs/joint.h): the heating laws, the dose law on two
   samples of different composition heated by one beam (their Gamma(q, age) from simulate's
   finite-difference heat solver, not the kernel the fit uses), and the dense sample's own
   hard-sphere diameter recovered from synthetic results files. The least-squares layer it solves
   with has its own tests: test_lsq.c. */
#include <mxpcs/joint.h>
#include <mxpcs/heating.h>
#include <mxpcs/models.h>
#include <mxpcs/schema.h>
#include <mxpcs/sys.h>
#include <math.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdint.h>
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
   fluence F of photons of E keV (0: 12.3, and the file does not say; < 0: -E keV, and the file
   does not say): its SAXS, and Gamma(q, age) with 1 % noise from the finite-difference heating */
static void WriteDoseSample(const char *path, double D0, double phi, double F, double E, unsigned long long seed)
{
  const int      nq = 8, nage = 6, wlen = 21, ns = 150, nint = 45;
  const double   dt = 2 / 4.513e6;
  double         q[8], age[6], gam[48], gerr[48], tau[20], qs[150], Iq[150], dI[150], h[45];
  MxHeatSample   hs = {MX_SOLVENT_DMF, phi, 0.9, 298.15, 0, fabs(E)};
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
  if (E > 0) PetscCallAbort(PETSC_COMM_SELF, MxOutScalar(o, MX_BEAM_ENERGY, E));
  PetscCallAbort(PETSC_COMM_SELF, MxOutClose(&o, 0, NULL));
}

static double ReadPath(const char *file, const char *dset)
{
  double v = NAN;
  hid_t  f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT), d = H5Dopen2(f, dset, H5P_DEFAULT);
  H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v);
  H5Dclose(d);
  H5Fclose(f);
  return v;
}

/* two dilute samples (PbS 0.005 and 0.02: jumps per pulse 1:2.3), one beam of 0.8 J/cm^2 of E keV
   photons (as WriteDoseSample): the dose law's fluence, +- its error, and both D0 */
static void FitDoseSamples(double E, double *Ff, double *Fe, double *D0f)
{
  const char *names[2] = {"a", "b"}, *files[2] = {"joint_dose_a.h5", "joint_dose_b.h5"};
  const double D0[2] = {57, 30}, phi[2] = {0.005, 0.02}, F = 0.8;
  MxJoint      j;
  for (int i = 0; i < 2; i++) WriteDoseSample(files[i], D0[i], phi[i], F, E, 17 + i);
  PetscCallAbort(PETSC_COMM_SELF, MxJointCreate(PETSC_COMM_SELF, &j));
  PetscCallAbort(PETSC_COMM_SELF, MxJointSetSampleNames(j, 2, names));
  PetscCallAbort(PETSC_COMM_SELF, MxJointSetFromOptions(j));
  for (int i = 0; i < 2; i++) PetscCallAbort(PETSC_COMM_SELF, MxJointAddResults(j, files[i]));
  PetscCallAbort(PETSC_COMM_SELF, MxJointSolve(j));
  PetscCallAbort(PETSC_COMM_SELF, MxJointWriteFile(j, "joint_dose.h5", NULL));
  PetscCallAbort(PETSC_COMM_SELF, MxJointDestroy(&j));
  *Ff = ReadPath("joint_dose.h5", "/joint/heating_k");
  *Fe = ReadPath("joint_dose.h5", "/joint/heating_k_err");
  print_message("%g keV: fluence %.4f +- %.4f J/cm^2 (truth %.2f)\n", fabs(E), *Ff, *Fe, F);
  for (int i = 0; i < 2; i++) {
    char p[64], pe[64];
    snprintf(p, sizeof p, "/hydro/%s/D0", names[i]);
    snprintf(pe, sizeof pe, "/hydro/%s/D0_err", names[i]);
    D0f[2 * i]     = ReadPath("joint_dose.h5", p);
    D0f[2 * i + 1] = ReadPath("joint_dose.h5", pe);
    print_message("  %s: D0 %.3f +- %.3f um^2/s (truth %.1f)\n", names[i], D0f[2 * i], D0f[2 * i + 1], D0[i]);
  }
  for (int i = 0; i < 2; i++) remove(files[i]);
  remove("joint_dose.h5");
}

static void test_dose_two_samples(void **state)
{
  const double D0[2] = {57, 30}, F = 0.8;
  double       Ff, Fe, d[4];
  (void)state;
  /* 12.3 keV, and 9 keV (jumps per fluence 1.9x and 1.4x those at 12.3), the results files giving
     the energy as analyze writes it */
  for (int k = 0; k < 2; k++) {
    FitDoseSamples(k ? 9 : 0, &Ff, &Fe, d);
    assert_true(fabs(Ff - F) < 3 * Fe + 0.01 * F && Fe < 0.1 * F);
    for (int i = 0; i < 2; i++) assert_true(fabs(d[2 * i] - D0[i]) < 3 * d[2 * i + 1] + 0.005 * D0[i]);
  }
  /* the same 9 keV samples taken for 12.3 keV ones: the fluence is off */
  FitDoseSamples(-9, &Ff, &Fe, d);
  assert_true(fabs(Ff - F) > 0.1 * F);
}

/* ---- the dense sample's own hard-sphere diameter (issue 17) ---- */

#define HS_R     29.0  /* form factor radius (angstrom): 2R = 58 A */
#define HS_PD    0.05
#define HS_SIG   63.0  /* hard-sphere diameter of the liquid: the hydrodynamic 6.3 nm, not 2R */
#define HS_PHI   0.30
#define HS_DS    0.23  /* Ds/D0 */
#define HS_D0L   5.0   /* um^2/s, the liquid's (given) */
#define HS_D0C   57.0  /* um^2/s, the colloid's (fitted) */

static unsigned long long rng_state = 17u;

static double Gauss(void) { return Noise(&rng_state); }

static double SqPY(double qsigma, void *ctx) { return MxSqPercusYevick(qsigma, ctx); }

/* An `mxpcs analyze` results file with only what the joint fit reads: I(q) with 1 % errors and
   Gamma(q, age) = D0 q^2 H/S (no heating) with 1.5 % errors, Gaussian noise on both. The
   liquid: I = c2 P S_PY(q; sigma_HS, phi), H = Ds/D0 + H_d(q sigma_HS; phi). */
static void WriteSample(const char path[], int dense)
{
  enum { NS = 90, NQ = 6, NA = 3 };
  double  qs[NS], Iq[NS], dI[NS], S[NS], q[NQ], Sr[NQ], H[NQ], qsig[NQ], age[NA] = {2e-6, 6e-6, 10e-6}, g[NQ * NA], ge[NQ * NA];
  double  phi = HS_PHI, qa = dense ? 0.03 : 0.005, qb = dense ? 0.16 : 0.1;
  hsize_t ns = NS, nq = NQ, na = NA, d2[2] = {NQ, NA};
  MxOut   o;

  for (int i = 0; i < NS; i++) qs[i] = qa + (qb - qa) * i / (NS - 1);
  MxSphereIq(NS, qs, HS_R, HS_PD, 35, 3.0, 1.0, dense ? 0.02 : 0.01, 0.0, Iq);
  if (dense) MxHardSphereSq(NS, qs, 0.5 * HS_SIG, HS_PHI, S);
  for (int i = 0; i < NS; i++) {
    Iq[i] = Iq[i] * (dense ? S[i] : 1) + 1e-3;
    dI[i] = 0.01 * Iq[i];
    Iq[i] += dI[i] * Gauss();
  }
  for (int k = 0; k < NQ; k++) {
    q[k]    = 0.085 + 0.01 * k;
    qsig[k] = q[k] * HS_SIG;
    Sr[k] = H[k] = 1;
  }
  if (dense) {
    MxHardSphereSq(NQ, q, 0.5 * HS_SIG, HS_PHI, Sr);
    MxDeltaGammaHd(NQ, qsig, phi, SqPY, &phi, H);
    for (int k = 0; k < NQ; k++) H[k] += HS_DS;
  }
  for (int k = 0; k < NQ; k++)
    for (int a = 0; a < NA; a++) {
      double G      = (dense ? HS_D0L : HS_D0C) * 1e8 * q[k] * q[k] * H[k] / Sr[k];
      ge[k * NA + a] = 0.015 * G;
      g[k * NA + a]  = G + ge[k * NA + a] * Gauss();
    }
  assert_int_equal(MxOutCreate(PETSC_COMM_SELF, path, &o), 0);
  assert_int_equal(MxOutDoubles(o, MX_SAXS_Q, 1, &ns, qs), 0);
  assert_int_equal(MxOutDoubles(o, MX_SAXS_I, 1, &ns, Iq), 0);
  assert_int_equal(MxOutDoubles(o, MX_SAXS_I_ERR, 1, &ns, dI), 0);
  assert_int_equal(MxOutDoubles(o, MX_QMAP_Q, 1, &nq, q), 0);
  assert_int_equal(MxOutDoubles(o, MX_G2_AGE, 1, &na, age), 0);
  {
    double  tau[8]; /* windows of 9 frames 443 ns apart */
    hsize_t nt = 8;
    for (int k = 0; k < 8; k++) tau[k] = (k + 1) * 0.443e-6;
    assert_int_equal(MxOutDoubles(o, MX_G2_TAU, 1, &nt, tau), 0);
  }
  assert_int_equal(MxOutDoubles(o, MX_FIT_GAMMA, 2, d2, g), 0);
  assert_int_equal(MxOutDoubles(o, MX_FIT_GAMMA_ERR, 2, d2, ge), 0);
  assert_int_equal(MxOutClose(&o, 0, NULL), 0);
}

static double ReadScalar(hid_t f, MxSchemaId id, const char sample[])
{
  char   path[256];
  double v = NAN;
  assert_int_equal(MxSchemaPath(id, path, sizeof path, sample), 0);
  hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
  assert_true(d >= 0);
  assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) >= 0);
  H5Dclose(d);
  return v;
}

typedef struct {
  double sig, sig_err, phi, phi_err, Ds, Ds_err, R, chi2;
} HsFit;

/* The joint fit of the two files with the options given (the liquid's diameter free or fixed). */
static HsFit JointFit(const char dir[], const char hs_opt[])
{
  const char *names[] = {"colloid", "liquid"};
  char        fc[PETSC_MAX_PATH_LEN], fl[PETSC_MAX_PATH_LEN], out[PETSC_MAX_PATH_LEN], opts[256];
  MxJoint     j;
  HsFit       r;

  snprintf(fc, sizeof fc, "%s/colloid.h5", dir);
  snprintf(fl, sizeof fl, "%s/liquid.h5", dir);
  snprintf(out, sizeof out, "%s/joint.h5", dir);
  snprintf(opts, sizeof opts, "-joint_heating none -colloid_hydro_D0 0 -liquid_joint_dense 1 -liquid_hydro_D0 %g -liquid_joint_hs_diameter_A %s", HS_D0L, hs_opt);
  assert_int_equal(PetscOptionsClear(NULL), 0);
  assert_int_equal(PetscOptionsInsertString(NULL, opts), 0);
  assert_int_equal(MxJointCreate(PETSC_COMM_SELF, &j), 0);
  assert_int_equal(MxJointSetSampleNames(j, 2, names), 0);
  assert_int_equal(MxJointSetFromOptions(j), 0);
  assert_int_equal(MxJointAddResults(j, fc), 0);
  assert_int_equal(MxJointAddResults(j, fl), 0);
  assert_int_equal(MxJointSolve(j), 0);
  assert_int_equal(MxJointView(j, PETSC_VIEWER_STDOUT_SELF), 0);
  assert_int_equal(MxJointWriteFile(j, out, NULL), 0);
  assert_int_equal(MxJointDestroy(&j), 0);
  hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(f >= 0);
  r.sig     = ReadScalar(f, MX_SAXS_SAMPLE_HS_DIAMETER, "liquid");
  r.sig_err = ReadScalar(f, MX_SAXS_SAMPLE_HS_DIAMETER_ERR, "liquid");
  r.phi     = ReadScalar(f, MX_SAXS_SAMPLE_PHI, "liquid");
  r.phi_err = ReadScalar(f, MX_SAXS_SAMPLE_PHI_ERR, "liquid");
  r.Ds      = ReadScalar(f, MX_HYDRO_DS_OVER_D0, "liquid");
  r.Ds_err  = ReadScalar(f, MX_HYDRO_DS_OVER_D0_ERR, "liquid");
  r.R       = ReadScalar(f, MX_SAXS_SAMPLE_RADIUS, "liquid");
  r.chi2    = ReadScalar(f, MX_SAXS_SAMPLE_CHI2, "liquid");
  H5Fclose(f);
  unlink(out);
  return r;
}

/* The liquid's S(q) peak and H(q) set by sigma_HS = 63 A, its form factor by 2R = 58 A: the joint
   fit recovers sigma_HS, phi and Ds/D0 within 3 of their errors; the old assumption sigma_HS = 2R
   (the diameter fixed at 58 A) cannot fit the peak (SAXS chi^2 150 times larger) and biases phi
   by 20 errors of the right model. */
static void test_hs_diameter_recovery(void **state)
{
  char  dir[] = "/tmp/mxpcs_test_joint_XXXXXX", path[PETSC_MAX_PATH_LEN];
  HsFit fr, tied;

  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/colloid.h5", dir);
  WriteSample(path, 0);
  snprintf(path, sizeof path, "%s/liquid.h5", dir);
  WriteSample(path, 1);
  fr   = JointFit(dir, "0");
  tied = JointFit(dir, "58");
  printf("  free:  sigma_HS %.3f +- %.3f A (truth %g), phi %.4f +- %.4f (truth %g), Ds/D0 %.4f +- %.4f (truth %g), R %.3f, SAXS chi2 %.1f\n", fr.sig, fr.sig_err, HS_SIG, fr.phi, fr.phi_err, HS_PHI, fr.Ds, fr.Ds_err, HS_DS, fr.R, fr.chi2);
  printf("  2R:    sigma_HS %.3f (fixed), phi %.4f +- %.4f, Ds/D0 %.4f +- %.4f, SAXS chi2 %.1f\n", tied.sig, tied.phi, tied.phi_err, tied.Ds, tied.Ds_err, tied.chi2);
  assert_true(fr.sig_err > 0 && fr.sig_err < 1.0);
  assert_true(fabs(fr.sig - HS_SIG) < 3 * fr.sig_err);
  assert_true(fr.phi_err > 0 && fabs(fr.phi - HS_PHI) < 3 * fr.phi_err);
  assert_true(fr.Ds_err > 0 && fabs(fr.Ds - HS_DS) < 3 * fr.Ds_err);
  assert_true(fabs(fr.R - HS_R) < 0.05);
  /* the old assumption: a much worse SAXS fit, and phi off by more than 5 errors of the right model */
  assert_true(tied.sig == 58.0 && tied.chi2 > 4 * fr.chi2);
  assert_true(fabs(tied.phi - HS_PHI) > 5 * fr.phi_err);
  unlink(path);
  snprintf(path, sizeof path, "%s/colloid.h5", dir);
  unlink(path);
  rmdir(dir);
}

int main(int argc, char **argv)
{
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_heating_laws),
    cmocka_unit_test(test_dose_two_samples),
    cmocka_unit_test(test_hs_diameter_recovery),
  };
  rc = cmocka_run_group_tests_name("joint", tests, NULL, NULL);
  if (PetscFinalize()) return 1;
  return rc;
}
