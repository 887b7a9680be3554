/* MxLsq: the one least-squares layer of mxpcs. Every nonlinear fit (g2 decays, SAXS models, the
   joint fit) is a bounded weighted least-squares problem of a few to tens of parameters and up to
   thousands of residuals, solved here with PETSc/TAO (BRGN, plain Gauss-Newton, unless
   -<prefix>tao_type says otherwise):
   - the residual is a plain callback; the Jacobian an optional analytic callback, else central
     finite differences (one-sided at a bound);
   - the iteration runs in scaled parameters x = p/scale, on residuals scaled by 1/|J(start)|_F, so
     that TAO's own tolerances (-<prefix>tao_gatol ...) are relative;
   - convergence is a test on the parameters: the bound-projected Gauss-Newton step below xtol,
     relative to each parameter (MX_LSQ_STEP_RELATIVE) or to its standard error
     (MX_LSQ_STEP_SIGMA); plus a stagnation test (objective unchanged over 5 iterations);
   - uncertainties, covariance and correlations from (J^T J)^-1 scaled by the reduced chi^2, as
     scipy's curve_fit and lmfit do by default; the matrix algebra is LAPACK's (OpenBLAS).
   Not collective: the TAO lives on PETSC_COMM_SELF. An MxLsq keeps its TAO between solves of the
   same shape (np, nr), so a fitter called thousands of times (g2 per ring and age window) does not
   build one per fit. */
#pragma once
#include <petsctao.h>

/* r[0..nr) = (model - data)/sigma (either sign) at the physical parameters p[0..np). Nonzero
   return: p is outside the model's domain (the step is rejected by a large residual). */
typedef int (*MxLsqResidualFn)(const double *p, double *r, void *ctx);
/* J[j * nr + k] = d r_k / d p_j (column-major nr x np) at p. Nonzero return: not available at p
   (the layer falls back to finite differences there). */
typedef int (*MxLsqJacobianFn)(const double *p, double *J, void *ctx);

typedef enum {
  MX_LSQ_STEP_RELATIVE, /* |step_j| <= xtol max(|p_j|, 1e-6 scale_j) */
  MX_LSQ_STEP_SIGMA     /* |step_j| <= xtol * standard error of p_j (chi2_red = 1) */
} MxLsqStepTest;

typedef struct {
  PetscInt     np, nr;
  double      *p;      /* in: start; out: best fit */
  double      *lo, *hi; /* bounds (may be -/+INFINITY) */
  double      *scale;  /* typical size of each parameter (NULL, or <= 0: |start|, or 1 when 0) */
  const char **names;  /* for messages (may be NULL) */
  /* results */
  double      *err;    /* np (INFINITY when undetermined or without degrees of freedom) */
  double      *cov;    /* np x np covariance of p (diagonal INFINITY, rest 0, when undetermined) */
  double      *corr;   /* np x np correlation matrix */
  double       chi2, chi2_red; /* chi2_red NaN when nr == np */
  PetscInt     its;
  int          converged; /* 1, or 0 with reason (the caller decides whether that is an error) */
  char         reason[64];
} MxLsqProblem;

typedef struct _p_MxLsq *MxLsq;

/* Allocate p, lo, hi, err, cov, corr for np parameters and nr residuals (scale stays NULL). */
PetscErrorCode MxLsqProblemCreate(PetscInt np, PetscInt nr, MxLsqProblem *P);
PetscErrorCode MxLsqProblemDestroy(MxLsqProblem *P);

PetscErrorCode MxLsqCreate(MxLsq *lsq);
PetscErrorCode MxLsqDestroy(MxLsq *lsq);
/* Options prefix of the TAO: "joint_" gives -joint_tao_type, -joint_tao_monitor, ... */
PetscErrorCode MxLsqSetOptionsPrefix(MxLsq lsq, const char prefix[]);
/* From now on every TAO of this MxLsq takes -<prefix>tao_* options (and lists them in -help). */
PetscErrorCode MxLsqSetFromOptions(MxLsq lsq);
/* The next solve starts from a fresh TAO, as the first one did: its result is then the same
   whatever this MxLsq solved before (a TAO kept from one solve to the next of the same shape
   carries state that can move the last bits). Not collective. */
PetscErrorCode MxLsqReset(MxLsq lsq);
/* The residual (required) and the analytic Jacobian (NULL: finite differences). */
PetscErrorCode MxLsqSetFunctions(MxLsq lsq, MxLsqResidualFn f, MxLsqJacobianFn jac, void *ctx);
/* Convergence test and tolerance (default MX_LSQ_STEP_RELATIVE, 1e-10). */
PetscErrorCode MxLsqSetStepTest(MxLsq lsq, MxLsqStepTest test, double xtol);
/* Iteration and function-evaluation limits (default 500, 20000). */
PetscErrorCode MxLsqSetMaxIterations(MxLsq lsq, PetscInt maxit, PetscInt maxfev);
/* Solve P. A start outside the bounds, fewer residuals than parameters, or a residual that is
   not finite at the start is an error naming the parameters. A fit that does not converge returns
   with converged = 0 and TAO's reason; one whose iterate turns non-finite returns the start,
   converged = 0, reason "non-finite iterate". */
PetscErrorCode MxLsqSolve(MxLsq lsq, MxLsqProblem *P);

/* Dense linear algebra of the fits, on LAPACK (row-major arrays; symmetric ones are their own
   transpose). Each returns nonzero when the matrix is singular to working precision. */
/* Inverse of the symmetric positive definite k x k A, Cholesky (dpotrf/dpotri) of the
   equilibrated D^-1/2 A D^-1/2 (parameters whose scales differ by decades). */
int MxSymInverse(int k, const double *A, double *Ainv);
/* Cholesky factor: A (n x n SPD, row-major) is replaced by its lower triangle L, A = L L^T
   (the strict upper triangle is zeroed). */
int MxCholesky(int n, double *A);
/* Solves A X = B for the general n x n A (row-major) and nrhs right-hand sides B (n x nrhs,
   row-major), LU with partial pivoting (dgesv); X overwrites B, A is destroyed. */
int MxLinearSolve(int n, int nrhs, double *A, double *B);
