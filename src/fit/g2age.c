/* Age-resolved decay rates, the zero-age extrapolation and the jackknife (include/mxpcs/g2age.h). */
#include <mxpcs/g2age.h>
#include <math.h>

/* Gamma(q, age) by the g2 fits (g2 - 1 = beta exp(-2 Gamma tau)) and Gamma(q, 0) by the
   extrapolation, from g2 (not - 1) with errors g2err and the contrast beta; gerr/g0err may be
   NULL. quiet: no PetscInfo for fits that do not converge. */
PetscErrorCode MxG2AgeFit(MxG2Fit fit, const MxG2AgeLayout *L, const double *g2, const double *g2err, const double *beta, const double *wgam_err, double *gam, double *gerr, double *gam0, double *g0err, PetscBool quiet)
{
  size_t  ntau = (size_t)L->ntau;
  const double *age = L->age;
  double *tau, *y, *sg, e0;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(ntau, &tau, ntau, &y, ntau, &sg));
  for (PetscInt r = 0; r < L->nring; r++) {
    for (PetscInt w = 0; w < L->nwin; w++) {
      MxG2FitResult fr;
      int           m = 0;
      for (size_t k = 0; k < ntau; k++) {
        size_t i = (r * L->nwin + w) * ntau + k;
        if (!(g2err[i] > 0) || !isfinite(g2[i])) continue;
        tau[m] = (k + 1) * L->dt_s;
        y[m]   = g2[i] - 1;
        sg[m]  = g2err[i];
        m++;
      }
      PetscCall(MxG2FitExp(fit, m, tau, y, sg, beta[r], &fr));
      gam[r * L->nwin + w] = fr.converged ? fr.gamma : NAN;
      if (gerr) gerr[r * L->nwin + w] = fr.converged ? fr.gamma_err : NAN;
      if (!fr.converged && !quiet) PetscCall(PetscInfo(NULL, "ring %" PetscInt_FMT " age %g s: g2 fit did not converge (%s)\n", r, age[w], fr.reason));
    }
    const double *ge = gerr ? gerr : wgam_err; /* the jackknife samples use the full run's weights */
    double       *e  = g0err ? &g0err[r] : &e0;
    if (L->nwin >= 2) {
      if (L->extrap_order == 3) { /* exponential: ln Gamma linear in age */
        double lg[64], le[64], l0, l0e;
        for (PetscInt w = 0; w < L->nwin && w < 64; w++) {
          double g = gam[r * L->nwin + w], eg = ge[r * L->nwin + w];
          lg[w]    = g > 0 ? log(g) : NAN;
          le[w]    = g > 0 ? eg / g : NAN;
        }
        if (L->nwin > 64 || MxExtrapolateZero((int)L->nwin, age, lg, le, 1, &l0, &l0e)) gam0[r] = *e = NAN;
        else {
          gam0[r] = exp(l0);
          *e      = gam0[r] * l0e;
        }
      } else if (MxExtrapolateZero((int)L->nwin, age, gam + r * L->nwin, ge + r * L->nwin, (int)L->extrap_order, &gam0[r], e)) gam0[r] = *e = NAN;
    } else {
      gam0[r] = gam[r * L->nwin];
      *e      = ge[r * L->nwin];
    }
  }
  PetscCall(PetscFree3(tau, y, sg));
  PetscFunctionReturn(0);
}

/* Delete-a-group jackknife (train index mod K; groups without trains are skipped): each group's
   trains are left out in turn, g2 and the contrast recomputed from the sums without them, and
   the fits and the extrapolation redone with the full run's weights. The spread of the K
   estimates gives errors that include what the fits cannot see: g2 at different lags and
   overlapping age windows share trains, so their errors are correlated. gamma_err and
   gamma0_err become the jackknife errors; a ring where a sample has no estimate keeps the fit
   errors (counted). *g0J: K x nring Gamma0 samples for the D_eff_mean error, NULL when off. */
PetscErrorCode MxG2AgeJackknife(MxG2Fit fit, const MxG2AgeLayout *L, double n, PetscInt jk, const double *g2sum, const double *jk_g2, const double *bsum, const double *jk_b, const double *jk_n, const double *g2err, double *gam_err, double *gam0_err, PetscInt *Kout, double **gamJ, double **g0J, PetscInt *fallback)
{
  size_t  ntau = (size_t)L->ntau, ng = (size_t)L->nring * L->nwin * ntau;
  double *g2m, *bm, *gJ;
  PetscInt K   = 0;

  PetscFunctionBeginUser;
  *g0J      = NULL;
  *gamJ     = NULL;
  *Kout     = 0;
  *fallback = 0;
  if (jk < 2) PetscFunctionReturn(0);
  for (PetscInt b = 0; b < jk; b++) K += jk_n[b] > 0 && jk_n[b] < n;
  if (K < 2) PetscFunctionReturn(0);
  PetscCall(PetscMalloc2(ng, &g2m, L->nring, &bm));
  PetscCall(PetscMalloc1((size_t)K * L->nring * L->nwin, &gJ));
  PetscCall(PetscMalloc1((size_t)K * L->nring, g0J));
  for (PetscInt b = 0, k = 0; b < jk; b++) {
    double nn = n - jk_n[b];
    if (!(jk_n[b] > 0 && nn > 0)) continue;
    for (size_t i = 0; i < ng; i++) g2m[i] = (g2sum[i] - jk_g2[(size_t)b * ng + i]) / nn + 1.0;
    for (PetscInt r = 0; r < L->nring; r++) bm[r] = (bsum[r] - jk_b[b * L->nring + r]) / nn;
    PetscCall(MxG2AgeFit(fit, L, g2m, g2err, bm, gam_err, gJ + (size_t)k * L->nring * L->nwin, NULL, *g0J + (size_t)k * L->nring, NULL, PETSC_TRUE));
    k++;
  }
  
  /* sigma^2 = (K - 1)/K sum_k (x_k - mean)^2 */
  for (PetscInt r = 0; r < L->nring; r++) {
    for (PetscInt w = -1; w < L->nwin; w++) { /* w = -1: Gamma0 */
      double s = 0, s2 = 0, m;
      int    ok = 1;
      for (PetscInt k = 0; k < K; k++) {
        double x = w < 0 ? (*g0J)[k * L->nring + r] : gJ[((size_t)k * L->nring + r) * L->nwin + w];
        ok &= isfinite(x);
        s += x;
      }
      if (!ok) {
        if (w < 0) (*fallback)++;
        continue;
      }
      m = s / K;
      for (PetscInt k = 0; k < K; k++) {
        double x = w < 0 ? (*g0J)[k * L->nring + r] : gJ[((size_t)k * L->nring + r) * L->nwin + w];
        s2 += (x - m) * (x - m);
      }
      if (w < 0) gam0_err[r] = sqrt((K - 1.0) / K * s2);
      else gam_err[r * L->nwin + w] = sqrt((K - 1.0) / K * s2);
    }
  }
  PetscCall(PetscFree2(g2m, bm));
  *gamJ = gJ; /* written: the joint fit takes the windows' correlation from it */
  *Kout = K;
  PetscFunctionReturn(0);
}

