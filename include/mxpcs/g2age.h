/* Age-resolved decay rates: Gamma(q, age) from the g2 of each age window (g2 - 1 = beta
   exp(-2 Gamma tau), include/mxpcs/g2fit.h), Gamma(q, 0) by the zero-age extrapolation, and their
   errors by a delete-a-group jackknife over trains. Not collective (rank 0 of analyze). */
#pragma once
#include <mxpcs/g2fit.h>

typedef struct {
  PetscInt      nring, nwin, ntau; /* rings, age windows, lags per window (tau_k = (k + 1) dt_s) */
  double        dt_s;              /* pulse spacing */
  const double *age;               /* nwin: the windows' mean ages (s) */
  PetscInt      extrap_order;      /* 1 linear, 2 quadratic in age, 3 exponential (ln Gamma linear) */
} MxG2AgeLayout;

/* Gamma per ring and window from g2 (not - 1; nring x nwin x ntau) with errors g2err and the
   contrast beta (nring); then Gamma0 per ring, weighted by gerr, or by wgam_err when gerr is
   NULL. gerr and g0err may be NULL. quiet: no PetscInfo for fits that do not converge. */
PetscErrorCode MxG2AgeFit(MxG2Fit fit, const MxG2AgeLayout *L, const double *g2, const double *g2err, const double *beta, const double *wgam_err, double *gam, double *gerr, double *gam0, double *g0err, PetscBool quiet);

/* Delete-a-group jackknife (train index mod jk; groups without trains are skipped): each group's
   trains are left out in turn, g2 and the contrast recomputed from the sums without them (n
   trains in all; g2sum, bsum the sums of g2 - 1 and contrast; jk_g2, jk_b, jk_n per group), the
   fits and the extrapolation redone with the full run's weights (g2err, gam_err). The spread of
   the K estimates gives errors that include what the fits cannot see: g2 at different lags and
   overlapping age windows share trains, so their errors are correlated. gam_err and gam0_err
   become the jackknife errors; a ring where a sample has no estimate keeps the fit errors
   (*fallback counts them). Out: *K groups used (0: off, nothing allocated), *gamJ K x nring x
   nwin and *g0J K x nring samples (PetscFree them). */
PetscErrorCode MxG2AgeJackknife(MxG2Fit fit, const MxG2AgeLayout *L, double n, PetscInt jk, const double *g2sum, const double *jk_g2, const double *bsum, const double *jk_b, const double *jk_n, const double *g2err, double *gam_err, double *gam0_err, PetscInt *K, double **gamJ, double **g0J, PetscInt *fallback);
