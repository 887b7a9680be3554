/* Fits of age-resolved g2 with PETSc/TAO and the zero-age extrapolation. */
#pragma once
#include <petsctao.h>

typedef struct _p_MxG2Fit *MxG2Fit;

typedef struct {
  double gamma, gamma_err;   /* 1/s */
  double beta, beta_err;     /* fixed: the given beta, err 0 */
  double chi2_red;
  int    converged;          /* 1, or 0 with reason below */
  char   reason[64];         /* TAO's converged reason */
} MxG2FitResult;

PetscErrorCode MxG2FitCreate(MPI_Comm comm, MxG2Fit *f);
/* Prefix for this fitter's options (-<prefix>fit_beta, -<prefix>fit_tao_...); before SetFromOptions. */
PetscErrorCode MxG2FitSetOptionsPrefix(MxG2Fit f, const char prefix[]);
/* -fit_beta fixed|free, and the TAO options with prefix -fit_ (e.g. -fit_tao_type). */
PetscErrorCode MxG2FitSetFromOptions(MxG2Fit f);
PetscErrorCode MxG2FitGetBetaFree(MxG2Fit f, PetscBool *free_beta);
/* Weighted least squares of y = beta exp(-2 Gamma tau) (y = g2 - 1) over n points with errors
   sigma; beta fixed at beta0 unless -fit_beta free (then beta0 is the start). Bounds Gamma >= 0,
   0 < beta <= 2. Errors from the Jacobian, scaled by the reduced chi^2 (as scipy's curve_fit
   with absolute_sigma=False). Not collective (PETSC_COMM_SELF TAO).
   Points with non-finite tau or y, or sigma not > 0, are skipped. Parameters are never NaN:
   converged = 0 with reason "too few points" (fewer valid points than parameters; gamma 0),
   or TAO's reason and its last iterate. Without degrees of freedom errors are +inf (as
   curve_fit) and chi2_red NaN. */
PetscErrorCode MxG2FitExp(MxG2Fit f, int n, const double *tau_s, const double *y, const double *sigma, double beta0, MxG2FitResult *r);
PetscErrorCode MxG2FitDestroy(MxG2Fit *f);

/* Weighted polynomial fit y(x) = c0 + c1 x (+ c2 x^2) (order 1 or 2), weights 1/err^2;
   returns c0 = y(0) and its error (from the covariance, scaled by the reduced chi^2 when
   n > order+1). Returns nonzero when it cannot fit (too few finite points). */
int MxExtrapolateZero(int n, const double *x, const double *y, const double *err, int order, double *y0, double *y0_err);
/* Inverse-variance weighted mean of the finite entries and its error. */
int MxWeightedMean(int n, const double *x, const double *err, double *mean, double *mean_err);
