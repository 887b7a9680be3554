/* The jackknife's train groups fitted over the ranks (MxG2AgeJackknife on PETSC_COMM_WORLD) give
   the bits of all groups fitted on one rank (rank 0 alone, on PETSC_COMM_SELF), whatever the
   fitters solved before: rank 0's serial reference runs on a fitter that has made the full run's
   fits first, the spread run on fitters that have not (rank 0's) or that made other fits (the
   other ranks'). Synthetic g2 - 1 = beta exp(-2 Gamma tau) of 3 rings x 4 age windows, 7 train
   groups of uneven size with noise (a fixed formula: the same on every rank), fits with beta
   fixed and free (-fit_beta, the intercept's errors wanted). Run at 1, 2, 3 and 4 ranks
   (tests/tests.cmake, mpi.jackknife_ranks_nN). Prints what it compared; exit 1 on a difference. */
#include <mxpcs/g2age.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define NRING 4
#define NWIN  7
#define WLEN  21 /* frames per window: 20 lags */
#define NTAU  (WLEN - 1)
#define JK    7
#define NG    (NRING * NWIN * NTAU)

/* a reproducible noise in [-1, 1) */
static double Noise(unsigned k)
{
  k = k * 2654435761u + 12345u;
  k ^= k >> 13;
  k *= 0x5bd1e995u;
  k ^= k >> 15;
  return (k % 200001u) / 100000.0 - 1.0;
}

static int Same(const char *what, const double *a, const double *b, size_t n)
{
  if (!memcmp(a, b, n * sizeof *a)) return 1;
  for (size_t i = 0; i < n; i++)
    if (memcmp(&a[i], &b[i], sizeof *a)) {
      printf("FAIL %s[%zu]: %.17g (one rank) != %.17g (spread)\n", what, i, a[i], b[i]);
      break;
    }
  return 0;
}

static PetscErrorCode Case(const char *beta_mode, int *bad)
{
  PetscMPIInt   rank, size;
  const double  dt = 443e-9, beta = 0.2;
  double        age[NWIN], g2sum[NG] = {0}, jk_g2[JK * NG] = {0}, bsum[NRING] = {0}, jk_b[JK * NRING] = {0}, jk_n[JK], g2err[NG], g2[NG];
  double        gam[NRING * NWIN], gerr[NRING * NWIN], g0[NRING], g0e[NRING], bf[NRING], bfe[NRING];
  double        ge1[NRING * NWIN], g0e1[NRING], bfe1[NRING], ge2[NRING * NWIN], g0e2[NRING], bfe2[NRING];
  double       *gJ1 = NULL, *g0J1 = NULL, *gJ2 = NULL, *g0J2 = NULL, n = 0;
  PetscInt      win_start[NWIN], K1 = 0, K2 = 0, fb1 = 0, fb2 = 0;
  MxG2Fit       ref = NULL, spread;
  MxG2AgeLayout L;

  PetscFunctionBeginUser;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  PetscCall(PetscOptionsSetValue(NULL, "-fit_beta", beta_mode));
  for (int w = 0; w < NWIN; w++) {
    win_start[w] = 5 * w;
    age[w]       = (win_start[w] + 0.5 * (WLEN - 1)) * dt;
  }
  L = (MxG2AgeLayout){.nring = NRING, .nwin = NWIN, .ntau = NTAU, .dt_s = dt, .age = age, .extrap_order = MX_EXTRAP_LINEAR, .win_start = win_start, .win_len = WLEN};
  /* groups of 6 .. 12 trains; each train's g2 - 1 and contrast with noise */
  for (int b = 0, t = 0; b < JK; b++) {
    jk_n[b] = 6 + b;
    for (int i = 0; i < (int)jk_n[b]; i++, t++) {
      for (int r = 0; r < NRING; r++) {
        jk_b[b * NRING + r] += beta * (1 + 0.05 * Noise(7919u * t + r));
        for (int w = 0; w < NWIN; w++) {
          const double G = 2e5 * (r + 1) * (1 + 0.2 * w); /* Gamma grows with q and age */
          for (int k = 0; k < NTAU; k++) {
            const size_t j = ((size_t)r * NWIN + w) * NTAU + k;
            jk_g2[(size_t)b * NG + j] += beta * exp(-2 * G * (k + 1) * dt) + 0.02 * Noise(104729u * t + 131u * (unsigned)j);
          }
        }
      }
    }
    n += jk_n[b];
  }
  for (int b = 0; b < JK; b++) {
    for (size_t j = 0; j < NG; j++) g2sum[j] += jk_g2[(size_t)b * NG + j];
    for (int r = 0; r < NRING; r++) bsum[r] += jk_b[b * NRING + r];
  }
  for (size_t j = 0; j < NG; j++) {
    g2[j]    = g2sum[j] / n + 1.0;
    g2err[j] = 0.02 / sqrt(n) * (1 + 0.1 * (j % NTAU));
  }
  double bm[NRING];
  for (int r = 0; r < NRING; r++) bm[r] = bsum[r] / n;

  if (!rank) { /* the reference: every group on rank 0 alone, after the full run's fits */
    PetscCall(MxG2FitCreate(PETSC_COMM_SELF, &ref));
    PetscCall(MxG2FitSetFromOptions(ref));
    { /* first fits of the same shapes to other curves: much faster decays under heavy noise */
      double gx[NG];
      for (size_t j = 0; j < NG; j++) gx[j] = 1.0 + beta * exp(-2 * 5e7 * ((j % NTAU) + 1) * dt) + 0.3 * Noise(31u * (unsigned)j + 7u);
      PetscCall(MxG2AgeFit(ref, &L, gx, g2err, bm, NULL, gam, gerr, g0, g0e, bf, bfe, PETSC_TRUE));
    }
    PetscCall(MxG2AgeFit(ref, &L, g2, g2err, bm, NULL, gam, gerr, g0, g0e, bf, bfe, PETSC_TRUE));
    PetscCall(PetscArraycpy(ge1, gerr, NRING * NWIN));
    PetscCall(PetscArraycpy(g0e1, g0e, NRING));
    PetscCall(PetscArraycpy(bfe1, bfe, NRING));
    PetscCall(MxG2AgeJackknife(PETSC_COMM_SELF, ref, &L, n, JK, g2sum, jk_g2, bsum, jk_b, jk_n, g2err, ge1, g0e1, bfe1, &K1, &gJ1, &g0J1, &fb1));
  }
  /* spread: rank 0's fitter fresh, the others' after a fit of their own data */
  PetscCall(MxG2FitCreate(PETSC_COMM_SELF, &spread));
  PetscCall(MxG2FitSetFromOptions(spread));
  if (rank) {
    double gg[NG];
    for (size_t j = 0; j < NG; j++) gg[j] = g2[j] * (1 + 1e-3 * rank);
    PetscCall(MxG2AgeFit(spread, &L, gg, g2err, bm, NULL, gam, gerr, g0, g0e, NULL, NULL, PETSC_TRUE));
  } else {
    PetscCall(PetscArraycpy(ge2, gerr, NRING * NWIN));
    PetscCall(PetscArraycpy(g0e2, g0e, NRING));
    PetscCall(PetscArraycpy(bfe2, bfe, NRING));
  }
  if (rank) PetscCall(MxG2AgeJackknife(PETSC_COMM_WORLD, spread, &L, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &K2, &gJ2, &g0J2, &fb2));
  else PetscCall(MxG2AgeJackknife(PETSC_COMM_WORLD, spread, &L, n, JK, g2sum, jk_g2, bsum, jk_b, jk_n, g2err, ge2, g0e2, bfe2, &K2, &gJ2, &g0J2, &fb2));
  if (!rank) {
    int ok = K1 == JK && K2 == K1 && fb1 == fb2 && gJ1 && gJ2 && g0J1 && g0J2;
    if (!ok) printf("FAIL groups %" PetscInt_FMT " and %" PetscInt_FMT " (of %d), fallbacks %" PetscInt_FMT " and %" PetscInt_FMT "\n", K1, K2, JK, fb1, fb2);
    else {
      ok &= Same("gamma_jackknife", gJ1, gJ2, (size_t)K1 * NRING * NWIN);
      ok &= Same("gamma0_jackknife", g0J1, g0J2, (size_t)K1 * NRING);
      ok &= Same("gamma_err", ge1, ge2, NRING * NWIN);
      ok &= Same("gamma0_err", g0e1, g0e2, NRING);
      ok &= Same("intercept_err", bfe1, bfe2, NRING);
      int finite = 1;
      for (int i = 0; i < NRING * NWIN; i++) finite &= isfinite(ge1[i]) && ge1[i] > 0;
      if (!finite) printf("FAIL: jackknife errors not all finite and > 0\n");
      ok &= finite;
    }
    printf("-fit_beta %s at %d rank(s): %" PetscInt_FMT " groups, errors of Gamma %s (first %.6g 1/s)\n", beta_mode, size, K2, ok ? "the same bits" : "DIFFER", ge2[0]);
    *bad += !ok;
  }
  PetscCall(PetscFree(gJ1));
  PetscCall(PetscFree(g0J1));
  PetscCall(PetscFree(gJ2));
  PetscCall(PetscFree(g0J2));
  PetscCall(MxG2FitDestroy(&ref));
  PetscCall(MxG2FitDestroy(&spread));
  PetscFunctionReturn(0);
}

int main(int argc, char **argv)
{
  int bad = 0;

  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(Case("fixed", &bad));
  PetscCall(Case("free", &bad));
  PetscCall(Case("shared", &bad));
  PetscCallMPI(MPI_Bcast(&bad, 1, MPI_INT, 0, PETSC_COMM_WORLD));
  PetscCall(PetscFinalize());
  return bad ? 1 : 0;
}
