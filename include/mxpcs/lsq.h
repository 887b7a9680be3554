/* Bounded weighted nonlinear least squares with PETSc/TAO (BRGN, plain Gauss-Newton) for small
   problems (tens of parameters, thousands of residuals): the residual is a plain callback, the
   Jacobian central finite differences in scaled parameters, convergence a relative step test,
   uncertainties and correlations from (J^T J)^-1 scaled by the reduced chi^2 (as scipy's
   curve_fit and lmfit do by default). Not collective: TAO on PETSC_COMM_SELF. */
#pragma once
#include <petsctao.h>

/* r[0..nr) = (model - data)/sigma at the physical parameters p[0..np). Nonzero return: the
   parameters are outside the model's domain (the step is rejected by a large residual). */
typedef int (*MxLsqResidualFn)(const double *p, double *r, void *ctx);

typedef struct {
  PetscInt    np, nr;
  double     *p;            /* in: start; out: best fit */
  double     *lo, *hi;      /* bounds (may be -/+INFINITY) */
  double     *scale;        /* typical size of each parameter (NULL: |start|, or 1 when 0) */
  const char **names;       /* for messages */
  /* results */
  double     *err;          /* np (INFINITY when undetermined) */
  double     *corr;         /* np x np correlation matrix */
  double      chi2, chi2_red;
  PetscInt    its;
  int         converged;
  char        reason[64];
} MxLsqProblem;

/* Allocate p, lo, hi, scale (NULL), err, corr for np parameters and nr residuals. */
PetscErrorCode MxLsqProblemCreate(PetscInt np, PetscInt nr, MxLsqProblem *P);
PetscErrorCode MxLsqProblemDestroy(MxLsqProblem *P);
/* Solve. prefix: options prefix of the TAO (e.g. "joint_" gives -joint_tao_...); xtol the
   relative Gauss-Newton step at which it has converged. A non-finite residual at the start is
   an error naming the parameters; a fit that does not converge returns with converged = 0 and
   TAO's reason (the caller decides whether that is an error). */
PetscErrorCode MxLsqSolve(const char prefix[], MxLsqResidualFn f, void *ctx, double xtol, MxLsqProblem *P);

/* Inverse of the symmetric k x k matrix A (row-major, positive diagonal) by Gauss-Jordan with
   partial pivoting on the equilibrated D^-1/2 A D^-1/2 (parameters whose scales differ by
   decades). Returns nonzero when A is singular to working precision. */
int MxSymInverse(int k, const double *A, double *Ainv);
