/* MxG2Fit: g2 - 1 = beta exp(-2 Gamma tau) by weighted nonlinear least squares with PETSc/TAO
   (design.md 1.6), plus the closed-form zero-age extrapolation and weighted mean.
   See include/mxpcs/g2fit.h. */
#include <mxpcs/g2fit.h>
#include <mxpcs/lsq.h>
#include <mxpcs/sys.h>
#include <math.h>
#include <string.h>

static PetscLogEvent MX_G2FIT_EXP;

struct _p_MxG2Fit {
  MPI_Comm  comm;
  char     *prefix;       /* options prefix prepended to -fit_... (NULL: none) */
  PetscBool free_beta;    /* -fit_beta free */
  PetscBool from_options; /* TaoSetFromOptions() applies to every (re)created TAO */
  Tao       tao;          /* TAOBRGN unless -fit_tao_type says otherwise */
  Vec       x, xl, xu;    /* (u, beta): u = Gamma tau_scale, dimensionless */
  Vec       res;          /* n scaled residuals */
  Mat       J;            /* n x p dense Jacobian of res */
  PetscInt  n, p;         /* the shape x/res/J/tao were made for (0: none yet) */
  PetscInt  cap;          /* allocated length of t, y, w */
  double   *t, *y, *w;    /* accepted points: tau/tau_scale, y, 1/sigma */
  double    tau_scale;    /* s, 1/Gamma0 of the start value (else the largest |tau|) */
  double    c;            /* constant residual scale 1/|J(start)|: TAO's gradient tolerance is relative */
  double    beta_fixed;   /* beta when p == 1 */
  double    xtol;         /* -fit_xtol: converged when the Gauss-Newton step is below xtol relative */
};

/* Default TAO settings; the options database may override them afterwards. */
static PetscErrorCode MxG2FitTaoDefaults(MxG2Fit f)
{
  PetscBool isbrgn;

  PetscFunctionBegin;
  PetscCall(TaoSetType(f->tao, TAOBRGN));
  PetscCall(TaoSetOptionsPrefix(f->tao, f->prefix));
  PetscCall(TaoAppendOptionsPrefix(f->tao, "fit_"));
  /* convergence is the step test MxG2FitConvergenceTest(); the gradient tests stay available */
  PetscCall(TaoSetTolerances(f->tao, 0.0, 0.0, 0.0));
  PetscCall(TaoSetMaximumIterations(f->tao, 200));
  PetscCall(TaoSetMaximumFunctionEvaluations(f->tao, 4000));
  PetscCall(PetscObjectTypeCompare((PetscObject)f->tao, TAOBRGN, &isbrgn));
  if (isbrgn) PetscCall(TaoBRGNSetRegularizerWeight(f->tao, 0.0)); /* plain Gauss-Newton: no bias */
  if (f->from_options) PetscCall(TaoSetFromOptions(f->tao));
  PetscFunctionReturn(0);
}

/* Creates a g2 fitter with defaults (beta fixed, TAOBRGN). Not collective beyond comm. */
PetscErrorCode MxG2FitCreate(MPI_Comm comm, MxG2Fit *out)
{
  MxG2Fit f;

  PetscFunctionBeginUser;
  PetscCheck(out, comm, PETSC_ERR_ARG_NULL, "MxG2FitCreate: NULL output pointer");
  PetscCall(MxLogEventRegisterOnce("MxG2Fit", "MxG2FitExp", &MX_G2FIT_EXP));
  PetscCall(PetscNew(&f));
  f->comm = comm;
  f->xtol = 1e-10;
  PetscCall(TaoCreate(comm, &f->tao));
  PetscCall(MxG2FitTaoDefaults(f));
  *out = f;
  PetscFunctionReturn(0);
}

/* Prefix for all of this fitter's options (then -<prefix>fit_beta, -<prefix>fit_tao_...). Call before SetFromOptions. */
PetscErrorCode MxG2FitSetOptionsPrefix(MxG2Fit f, const char prefix[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(f->prefix));
  PetscCall(PetscStrallocpy(prefix, &f->prefix));
  PetscCall(TaoSetOptionsPrefix(f->tao, f->prefix));
  PetscCall(TaoAppendOptionsPrefix(f->tao, "fit_"));
  PetscFunctionReturn(0);
}

/* Reads -fit_beta fixed|free and the TAO options with prefix -fit_ (-fit_tao_type, -fit_tao_gatol, ...). Collective on comm. */
PetscErrorCode MxG2FitSetFromOptions(MxG2Fit f)
{
  const char *modes[] = {"fixed", "free"};
  PetscInt    mode    = f->free_beta ? 1 : 0;

  PetscFunctionBeginUser;
  PetscOptionsBegin(f->comm, f->prefix, "g2 fits (MxG2Fit)", "MxG2Fit");
  PetscCall(PetscOptionsEList("-fit_beta", "Contrast beta in g2 - 1 = beta exp(-2 Gamma tau): fixed at the measured contrast or a free parameter", "MxG2FitExp", modes, 2, modes[mode], &mode, NULL));
  PetscCall(PetscOptionsReal("-fit_xtol", "Converged when the Gauss-Newton step is below this, relative to Gamma and beta", "MxG2FitExp", f->xtol, &f->xtol, NULL));
  PetscOptionsEnd();
  PetscCheck(f->xtol > 0, f->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -fit_xtol: %g must be > 0", (double)f->xtol);
  f->free_beta    = mode == 1 ? PETSC_TRUE : PETSC_FALSE;
  f->from_options = PETSC_TRUE;
  PetscCall(TaoSetFromOptions(f->tao));
  PetscFunctionReturn(0);
}

/* Whether beta is a free parameter (-fit_beta free). Not collective. */
PetscErrorCode MxG2FitGetBetaFree(MxG2Fit f, PetscBool *free_beta)
{
  PetscFunctionBeginUser;
  *free_beta = f->free_beta;
  PetscFunctionReturn(0);
}

/* Destroys the fitter (NULL-safe, sets *f = NULL). */
PetscErrorCode MxG2FitDestroy(MxG2Fit *pf)
{
  MxG2Fit f;

  PetscFunctionBeginUser;
  if (!pf || !*pf) PetscFunctionReturn(0);
  f = *pf;
  PetscCall(TaoDestroy(&f->tao));
  PetscCall(VecDestroy(&f->x));
  PetscCall(VecDestroy(&f->xl));
  PetscCall(VecDestroy(&f->xu));
  PetscCall(VecDestroy(&f->res));
  PetscCall(MatDestroy(&f->J));
  PetscCall(PetscFree3(f->t, f->y, f->w));
  PetscCall(PetscFree(f->prefix));
  PetscCall(PetscFree(f));
  *pf = NULL;
  PetscFunctionReturn(0);
}

/* (u, beta) from the TAO vector: beta is fixed when p == 1. */
static inline void MxG2FitParams(MxG2Fit f, const PetscScalar *x, double *u, double *b)
{
  *u = PetscRealPart(x[0]);
  *b = f->p == 2 ? PetscRealPart(x[1]) : f->beta_fixed;
}

/* Scaled residuals c (y_i - beta exp(-2 u t_i)) / sigma_i. */
static PetscErrorCode MxG2FitResidual(Tao tao, Vec X, Vec R, void *ctx)
{
  MxG2Fit            f = (MxG2Fit)ctx;
  const PetscScalar *x;
  PetscScalar       *r;
  double             u, b;

  PetscFunctionBeginUser;
  (void)tao;
  PetscCall(VecGetArrayRead(X, &x));
  PetscCall(VecGetArray(R, &r));
  MxG2FitParams(f, x, &u, &b);
  for (PetscInt i = 0; i < f->n; i++) r[i] = f->c * f->w[i] * (f->y[i] - b * exp(-2.0 * u * f->t[i]));
  PetscCall(VecRestoreArray(R, &r));
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscFunctionReturn(0);
}

/* Jacobian of the scaled residuals: d/du = 2 c b t e / sigma, d/dbeta = -c e / sigma, e = exp(-2 u t). */
static PetscErrorCode MxG2FitJacobian(Tao tao, Vec X, Mat J, Mat Jpre, void *ctx)
{
  MxG2Fit            f = (MxG2Fit)ctx;
  const PetscScalar *x;
  PetscScalar       *a;
  double             u, b;
  PetscInt           lda;

  PetscFunctionBeginUser;
  (void)tao;
  (void)Jpre;
  PetscCall(VecGetArrayRead(X, &x));
  MxG2FitParams(f, x, &u, &b);
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCall(MatDenseGetLDA(J, &lda));
  PetscCall(MatDenseGetArrayWrite(J, &a)); /* column-major */
  for (PetscInt i = 0; i < f->n; i++) {
    double e = exp(-2.0 * u * f->t[i]);
    a[i]     = 2.0 * f->c * f->w[i] * b * f->t[i] * e;
    if (f->p == 2) a[lda + i] = -f->c * f->w[i] * e;
  }
  PetscCall(MatDenseRestoreArrayWrite(J, &a));
  PetscFunctionReturn(0);
}

/* 0.5 |r|^2 and its gradient J^T r, for TAO types that are not least-squares (-fit_tao_type bqnls). */
static PetscErrorCode MxG2FitObjGrad(Tao tao, Vec X, PetscReal *fval, Vec G, void *ctx)
{
  MxG2Fit            f = (MxG2Fit)ctx;
  const PetscScalar *x;
  PetscScalar       *g;
  double             u, b, s = 0.0, gu = 0.0, gb = 0.0;

  PetscFunctionBeginUser;
  (void)tao;
  PetscCall(VecGetArrayRead(X, &x));
  MxG2FitParams(f, x, &u, &b);
  PetscCall(VecRestoreArrayRead(X, &x));
  for (PetscInt i = 0; i < f->n; i++) {
    double e = exp(-2.0 * u * f->t[i]), r = f->c * f->w[i] * (f->y[i] - b * e);
    s += r * r;
    gu += r * 2.0 * f->c * f->w[i] * b * f->t[i] * e;
    gb -= r * f->c * f->w[i] * e;
  }
  *fval = 0.5 * s;
  PetscCall(VecGetArray(G, &g));
  g[0] = gu;
  if (f->p == 2) g[1] = gb;
  PetscCall(VecRestoreArray(G, &g));
  PetscFunctionReturn(0);
}

/* TAO's default tests, then converged (CONVERGED_USER) when the bound-projected Gauss-Newton step
   of the unscaled problem, (J^T J)^-1 J^T r, is below xtol relative in u and beta: a test on the
   parameters themselves, which a gradient tolerance is not when Gamma and beta are correlated. */
static PetscErrorCode MxG2FitConvergenceTest(Tao tao, void *ctx)
{
  MxG2Fit            f = (MxG2Fit)ctx;
  TaoConvergedReason reason;
  Vec                X;
  const PetscScalar *x;
  double             u, b, A[3] = {0, 0, 0}, g[2] = {0, 0}, du = 0.0, db = 0.0;
  PetscBool          pin_u, pin_b;

  PetscFunctionBeginUser;
  PetscCall(TaoDefaultConvergenceTest(tao, NULL));
  PetscCall(TaoGetConvergedReason(tao, &reason));
  if (reason != TAO_CONTINUE_ITERATING) PetscFunctionReturn(0);
  PetscCall(TaoGetSolution(tao, &X));
  PetscCall(VecGetArrayRead(X, &x));
  MxG2FitParams(f, x, &u, &b);
  PetscCall(VecRestoreArrayRead(X, &x));
  for (PetscInt i = 0; i < f->n; i++) {
    double e = exp(-2.0 * u * f->t[i]), r = f->w[i] * (f->y[i] - b * e), ju = 2.0 * f->w[i] * b * f->t[i] * e, jb = -f->w[i] * e;
    A[0] += ju * ju;
    A[1] += ju * jb;
    A[2] += jb * jb;
    g[0] += ju * r;
    g[1] += jb * r;
  }
  pin_u = PETSC_FALSE;
  pin_b = f->p == 1 ? PETSC_TRUE : PETSC_FALSE;
  for (int pass = 0; pass < 2; pass++) { /* a component at its bound that would step outside is pinned */
    double det = A[0] * A[2] - A[1] * A[1];
    du = db = 0.0;
    if (!pin_u && !pin_b) {
      if (!(det > 0)) PetscFunctionReturn(0);
      du = -(A[2] * g[0] - A[1] * g[1]) / det;
      db = -(A[0] * g[1] - A[1] * g[0]) / det;
    } else if (!pin_u) {
      if (!(A[0] > 0)) PetscFunctionReturn(0);
      du = -g[0] / A[0];
    } else if (!pin_b) {
      if (!(A[2] > 0)) PetscFunctionReturn(0);
      db = -g[1] / A[2];
    }
    if (!pin_u && u <= 0 && du < 0) pin_u = PETSC_TRUE;
    else if (!pin_b && ((b >= 2 && db > 0) || (b <= 1e-12 && db < 0))) pin_b = PETSC_TRUE;
    else break;
  }
  if (!isfinite(du) || !isfinite(db)) PetscFunctionReturn(0);
  if (fabs(du) <= f->xtol * PetscMax(fabs(u), 1e-6) && fabs(db) <= f->xtol * PetscMax(fabs(b), 1e-6)) PetscCall(TaoSetConvergedReason(tao, TAO_CONVERGED_USER));
  PetscFunctionReturn(0);
}

/* Makes the vectors, Jacobian and (when the shape changes) a fresh TAO for n residuals and p parameters. */
static PetscErrorCode MxG2FitSetShape(MxG2Fit f, PetscInt n, PetscInt p)
{
  PetscFunctionBeginUser;
  if (f->n == n && f->p == p) PetscFunctionReturn(0);
  if (f->n) { /* TAOBRGN sets up its subsolver once, so a new shape needs a new TAO */
    PetscCall(TaoDestroy(&f->tao));
    PetscCall(TaoCreate(f->comm, &f->tao));
    PetscCall(MxG2FitTaoDefaults(f));
  }
  PetscCall(VecDestroy(&f->x));
  PetscCall(VecDestroy(&f->xl));
  PetscCall(VecDestroy(&f->xu));
  PetscCall(VecDestroy(&f->res));
  PetscCall(MatDestroy(&f->J));
  f->n = n;
  f->p = p;
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, p, &f->x));
  PetscCall(VecDuplicate(f->x, &f->xl));
  PetscCall(VecDuplicate(f->x, &f->xu));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, n, &f->res));
  PetscCall(MatCreateSeqDense(PETSC_COMM_SELF, n, p, NULL, &f->J));
  /* bounds Gamma >= 0, 0 < beta <= 2 */
  PetscCall(VecSetValue(f->xl, 0, 0.0, INSERT_VALUES));
  PetscCall(VecSetValue(f->xu, 0, PETSC_INFINITY, INSERT_VALUES));
  if (p == 2) {
    PetscCall(VecSetValue(f->xl, 1, 1e-12, INSERT_VALUES));
    PetscCall(VecSetValue(f->xu, 1, 2.0, INSERT_VALUES));
  }
  PetscCall(VecAssemblyBegin(f->xl));
  PetscCall(VecAssemblyEnd(f->xl));
  PetscCall(VecAssemblyBegin(f->xu));
  PetscCall(VecAssemblyEnd(f->xu));
  PetscCall(TaoSetSolution(f->tao, f->x));
  PetscCall(TaoSetVariableBounds(f->tao, f->xl, f->xu));
  PetscCall(TaoSetResidualRoutine(f->tao, f->res, MxG2FitResidual, f));
  PetscCall(TaoSetJacobianResidualRoutine(f->tao, f->J, f->J, MxG2FitJacobian, f));
  PetscCall(TaoSetObjectiveAndGradient(f->tao, NULL, MxG2FitObjGrad, f));
  {
    PetscBool isbrgn;
    Tao       it = f->tao; /* the TAO that iterates: BRGN's subsolver */
    PetscCall(PetscObjectTypeCompare((PetscObject)f->tao, TAOBRGN, &isbrgn));
    if (isbrgn) PetscCall(TaoBRGNGetSubsolver(f->tao, &it));
    PetscCall(TaoSetConvergenceTest(it, MxG2FitConvergenceTest, f));
  }
  PetscFunctionReturn(0);
}

/* Start value of u = Gamma tau_scale from the weighted log-linear fit ln y = ln beta - 2 u t of
   the points with y > 0 (weights (y/sigma)^2); intercept fixed at ln beta0 when beta is fixed or
   only one such point exists. Returns a finite u >= 0; *b_start the fitted beta (or beta0). */
static double MxG2FitStart(MxG2Fit f, PetscInt n, PetscBool free_beta, double beta0, double *b_start)
{
  double sw = 0, st = 0, stt = 0, sl = 0, stl = 0, u = NAN, lb0 = log(beta0);
  int    m  = 0;

  *b_start = beta0;
  for (PetscInt i = 0; i < n; i++) {
    if (!(f->y[i] > 0)) continue;
    double wi = f->y[i] * f->w[i] * f->y[i] * f->w[i], l = log(f->y[i]);
    sw += wi;
    st += wi * f->t[i];
    stt += wi * f->t[i] * f->t[i];
    sl += wi * l;
    stl += wi * f->t[i] * l;
    m++;
  }
  double det = sw * stt - st * st;
  if (free_beta && m >= 2 && det > 1e-12 * sw * stt) {
    double slope = (sw * stl - st * sl) / det, icpt = (sl - slope * st) / sw;
    u = -0.5 * slope;
    if (isfinite(icpt)) *b_start = PetscMin(PetscMax(exp(icpt), 1e-6), 2.0);
  } else if (m >= 1 && isfinite(lb0) && stt > 0) {
    u = -0.5 * (stl - lb0 * st) / stt;
  }
  if (!isfinite(*b_start) || !(*b_start > 0)) *b_start = 1.0;
  *b_start = PetscMin(*b_start, 2.0);
  if (!isfinite(u) || u <= 0) u = 0.5; /* a decay of e^-1 over the lags: neutral start */
  return u;
}

/* Weighted least squares of y = beta exp(-2 Gamma tau) (design.md 1.6); see g2fit.h.
   Points with non-finite tau or y, or sigma not > 0, are left out. Not collective. */
PetscErrorCode MxG2FitExp(MxG2Fit f, int n, const double *tau_s, const double *y, const double *sigma, double beta0, MxG2FitResult *r)
{
  PetscInt           m = 0, p = f->free_beta ? 2 : 1;
  double             u, b, bstart = 1.0, chi2 = 0.0, A[3] = {0, 0, 0};
  const PetscScalar *xa;
  TaoConvergedReason reason;

  PetscFunctionBeginUser;
  PetscCheck(f && r, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "MxG2FitExp: NULL fitter or result");
  PetscCheck(n >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "MxG2FitExp: n = %d points, must be >= 0", n);
  PetscCall(PetscLogEventBegin(MX_G2FIT_EXP, 0, 0, 0, 0));
  PetscCall(PetscMemzero(r, sizeof(*r)));
  if (n > f->cap) {
    PetscCall(PetscFree3(f->t, f->y, f->w));
    PetscCall(PetscMalloc3(n, &f->t, n, &f->y, n, &f->w));
    f->cap = n;
  }
  f->tau_scale = 0.0;
  for (int i = 0; i < n; i++) {
    if (!isfinite(tau_s[i]) || !isfinite(y[i]) || !(sigma[i] > 0) || !isfinite(sigma[i])) continue;
    f->t[m] = tau_s[i];
    f->y[m] = y[i];
    f->w[m] = 1.0 / sigma[i];
    f->tau_scale = PetscMax(f->tau_scale, fabs(tau_s[i]));
    m++;
  }
  if (!(f->tau_scale > 0)) f->tau_scale = 1.0;
  for (PetscInt i = 0; i < m; i++) f->t[i] /= f->tau_scale;
  if (m >= p && m > 0) { /* rescale to the decay time of the start: u = Gamma/Gamma0 ~ 1 for any Gamma */
    double u0 = MxG2FitStart(f, m, f->free_beta, beta0, &bstart);
    f->tau_scale /= u0;
    for (PetscInt i = 0; i < m; i++) f->t[i] *= u0;
  }

  /* results that need no fit: too few points, or a fixed beta that is not a contrast */
  r->beta     = isfinite(beta0) ? beta0 : 0.0;
  r->beta_err = f->free_beta ? INFINITY : 0.0;
  r->gamma_err = INFINITY;
  r->chi2_red  = NAN;
  if (m < p || m == 0) {
    PetscCall(PetscStrncpy(r->reason, "too few points", sizeof(r->reason)));
    PetscCall(PetscLogEventEnd(MX_G2FIT_EXP, 0, 0, 0, 0));
    PetscFunctionReturn(0);
  }
  u = MxG2FitStart(f, m, f->free_beta, beta0, &bstart);
  if (!f->free_beta && !(beta0 > 0 && beta0 <= 2)) {
    r->gamma = u / f->tau_scale;
    PetscCall(PetscSNPrintf(r->reason, sizeof(r->reason), "fixed beta %g not in (0, 2]", beta0));
    PetscCall(PetscLogEventEnd(MX_G2FIT_EXP, 0, 0, 0, 0));
    PetscFunctionReturn(0);
  }
  f->beta_fixed = beta0;
  { /* c = 1/|J(start)|_F: the scaled Gauss-Newton Hessian is O(1), so -fit_tao_gatol is relative */
    double sj = 0.0, b0 = f->free_beta ? bstart : beta0;
    for (PetscInt i = 0; i < m; i++) {
      double e = exp(-2.0 * u * f->t[i]), ju = 2.0 * f->w[i] * b0 * f->t[i] * e, jb = f->w[i] * e;
      sj += ju * ju + (p == 2 ? jb * jb : 0.0);
    }
    f->c = sj > 0 && isfinite(sj) ? 1.0 / sqrt(sj) : 1.0;
  }

  PetscCall(MxG2FitSetShape(f, m, p));
  PetscCall(VecSetValue(f->x, 0, u, INSERT_VALUES));
  if (p == 2) PetscCall(VecSetValue(f->x, 1, bstart, INSERT_VALUES));
  PetscCall(VecAssemblyBegin(f->x));
  PetscCall(VecAssemblyEnd(f->x));
  PetscCall(TaoSolve(f->tao));
  PetscCall(TaoGetConvergedReason(f->tao, &reason));
  PetscCall(VecGetArrayRead(f->x, &xa));
  MxG2FitParams(f, xa, &u, &b);
  PetscCall(VecRestoreArrayRead(f->x, &xa));
  r->converged = reason > 0;
  PetscCall(PetscStrncpy(r->reason, TaoConvergedReasons[reason], sizeof(r->reason)));
  if (!isfinite(u) || !isfinite(b)) { /* never hand back NaN: fall back to the start */
    r->converged = 0;
    u            = MxG2FitStart(f, m, f->free_beta, beta0, &b);
    if (!f->free_beta) b = beta0;
    PetscCall(PetscStrncpy(r->reason, "non-finite iterate", sizeof(r->reason)));
  }

  /* covariance (J^T J)^-1 chi2/(m - p) of the unscaled residuals in (u, beta), as curve_fit */
  for (PetscInt i = 0; i < m; i++) {
    double e = exp(-2.0 * u * f->t[i]), res = f->w[i] * (f->y[i] - b * e);
    double ju = 2.0 * f->w[i] * b * f->t[i] * e, jb = -f->w[i] * e;
    chi2 += res * res;
    A[0] += ju * ju;
    A[1] += ju * jb;
    A[2] += jb * jb;
  }
  r->gamma = u / f->tau_scale;
  r->beta  = b;
  if (m > p) {
    double s2 = chi2 / (double)(m - p), vu = INFINITY, vb = INFINITY;
    r->chi2_red = s2;
    if (p == 1) {
      if (A[0] > 0) vu = s2 / A[0];
    } else {
      double det = A[0] * A[2] - A[1] * A[1];
      if (det > 0) {
        vu = s2 * A[2] / det;
        vb = s2 * A[0] / det;
      }
    }
    r->gamma_err = sqrt(vu) / f->tau_scale;
    if (p == 2) r->beta_err = sqrt(vb);
  }
  PetscCall(PetscLogEventEnd(MX_G2FIT_EXP, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}


/* Weighted polynomial fit and its value at x = 0 (design.md 1.6: Gamma(q, age) -> Gamma(q, 0)).
   Normal equations in z = (x - xm)/s for conditioning; y(0) = phi0 . c with phi0 = (1, z0, z0^2),
   z0 = -xm/s, var = phi0^T (A^T W A)^-1 phi0 (times chi2_red when n > order + 1). Not collective. */
int MxExtrapolateZero(int n, const double *x, const double *y, const double *err, int order, double *y0, double *y0_err)
{
  int    k = order + 1, m = 0;
  double xm = 0.0, s = 0.0, sw = 0.0, A[9] = {0}, b[3] = {0}, Ai[9], c[3] = {0}, phi0[3], chi2 = 0.0;

  if (order < 1 || order > 2 || n < 1) return 1;
  for (int i = 0; i < n; i++) { /* weighted centre and spread of the accepted points */
    if (!isfinite(x[i]) || !isfinite(y[i]) || !(err[i] > 0) || !isfinite(err[i])) continue;
    double w = 1.0 / (err[i] * err[i]);
    xm += w * x[i];
    sw += w;
    m++;
  }
  if (m < k || !(sw > 0)) return 1;
  xm /= sw;
  for (int i = 0; i < n; i++)
    if (isfinite(x[i]) && isfinite(y[i]) && err[i] > 0 && isfinite(err[i])) s = fmax(s, fabs(x[i] - xm));
  if (!(s > 0)) return 1; /* all x equal: no slope */
  for (int i = 0; i < n; i++) {
    if (!isfinite(x[i]) || !isfinite(y[i]) || !(err[i] > 0) || !isfinite(err[i])) continue;
    double w = 1.0 / (err[i] * err[i]), z = (x[i] - xm) / s, phi[3] = {1.0, z, z * z};
    for (int a = 0; a < k; a++) {
      b[a] += w * phi[a] * y[i];
      for (int bb = 0; bb < k; bb++) A[a * k + bb] += w * phi[a] * phi[bb];
    }
  }
  if (MxSymInverse(k, A, Ai)) return 1;
  for (int a = 0; a < k; a++)
    for (int bb = 0; bb < k; bb++) c[a] += Ai[a * k + bb] * b[bb];
  for (int i = 0; i < n; i++) {
    if (!isfinite(x[i]) || !isfinite(y[i]) || !(err[i] > 0) || !isfinite(err[i])) continue;
    double z = (x[i] - xm) / s, f = c[0] + c[1] * z + (k == 3 ? c[2] * z * z : 0.0), d = (y[i] - f) / err[i];
    chi2 += d * d;
  }
  phi0[0] = 1.0;
  phi0[1] = -xm / s;
  phi0[2] = phi0[1] * phi0[1];
  double v = 0.0, val = 0.0;
  for (int a = 0; a < k; a++) {
    val += phi0[a] * c[a];
    for (int bb = 0; bb < k; bb++) v += phi0[a] * Ai[a * k + bb] * phi0[bb];
  }
  if (m > k) v *= chi2 / (m - k);
  *y0     = val;
  *y0_err = sqrt(fmax(v, 0.0));
  return 0;
}

/* Inverse-variance weighted mean of the entries with finite x and err > 0; error 1/sqrt(sum w). Not collective. */
int MxWeightedMean(int n, const double *x, const double *err, double *mean, double *mean_err)
{
  double sw = 0.0, sx = 0.0;

  for (int i = 0; i < n; i++) {
    if (!isfinite(x[i]) || !(err[i] > 0) || !isfinite(err[i])) continue;
    double w = 1.0 / (err[i] * err[i]);
    sw += w;
    sx += w * x[i];
  }
  if (!(sw > 0) || !isfinite(sw)) return 1;
  *mean     = sx / sw;
  *mean_err = 1.0 / sqrt(sw);
  return 0;
}
