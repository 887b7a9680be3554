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
/* The contrast in the fits: fixed at the given beta (the diagonal of C), free per curve, or one
   beta shared by the curves of a ring (all its age windows: MxG2FitExpShared). */
typedef enum { MX_G2FIT_BETA_FIXED, MX_G2FIT_BETA_FREE, MX_G2FIT_BETA_SHARED } MxG2FitBeta;
extern const char *const MxG2FitBetaNames[]; /* "fixed", "free", "shared" */

/* -fit_beta fixed|free|shared, and the TAO options with prefix -fit_ (e.g. -fit_tao_type). */
PetscErrorCode MxG2FitSetFromOptions(MxG2Fit f);
PetscErrorCode MxG2FitGetBetaFree(MxG2Fit f, PetscBool *free_beta);
PetscErrorCode MxG2FitGetBetaMode(MxG2Fit f, MxG2FitBeta *mode);
/* Weighted least squares of y = beta exp(-2 Gamma tau) (y = g2 - 1) over n points with errors
   sigma; beta fixed at beta0 unless -fit_beta free (then beta0 is the start; with shared, the
   caller passes the shared beta and it is fixed). Bounds Gamma >= 0,
   0 < beta <= 2. Errors from the Jacobian, scaled by the reduced chi^2 (as scipy's curve_fit
   with absolute_sigma=False). Not collective (PETSC_COMM_SELF TAO).
   Points with non-finite tau or y, or sigma not > 0, are skipped. Parameters are never NaN:
   converged = 0 with reason "too few points" (fewer valid points than parameters; gamma 0),
   or TAO's reason and its last iterate. Without degrees of freedom errors are +inf (as
   curve_fit) and chi2_red NaN. */
PetscErrorCode MxG2FitExp(MxG2Fit f, int n, const double *tau_s, const double *y, const double *sigma, double beta0, MxG2FitResult *r);
/* One beta shared by nset curves y = beta exp(-2 Gamma_s tau) (the age windows of a ring), fitted
   with the nset Gammas in one weighted least-squares problem (parameters Gamma_s of the sets with
   points, then beta), whatever -fit_beta says. Set s has n[s] points, stored one set after the
   other in tau_s, y, sigma; points are skipped as in MxG2FitExp. beta0 is the start (when in
   (0, 2], else the sets' log-linear intercepts). Out r[s] for each set: its gamma and gamma_err,
   and the shared beta and beta_err (the same in every set), chi2_red of the whole fit, converged
   and reason; errors from the covariance scaled by the reduced chi^2, as MxG2FitExp. A set
   without points has converged = 0, "too few points"; all sets do when there are fewer points
   than parameters. Not collective. */
PetscErrorCode MxG2FitExpShared(MxG2Fit f, int nset, const int *n, const double *tau_s, const double *y, const double *sigma, double beta0, MxG2FitResult *r);
/* The next fits start from fresh solvers, so that they give the same bits whatever this fitter
   fitted before (the jackknife's groups on any rank). Not collective. */
PetscErrorCode MxG2FitReset(MxG2Fit f);
PetscErrorCode MxG2FitDestroy(MxG2Fit *f);

/* Weighted polynomial fit y(x) = c0 + c1 x (+ c2 x^2) (order 1 or 2), weights 1/err^2;
   returns c0 = y(0) and its error (from the covariance, scaled by the reduced chi^2 when
   n > order+1). Returns nonzero when it cannot fit (too few finite points). */
int MxExtrapolateZero(int n, const double *x, const double *y, const double *err, int order, double *y0, double *y0_err);
/* Inverse-variance weighted mean of the finite entries and its error. */
int MxWeightedMean(int n, const double *x, const double *err, double *mean, double *mean_err);
