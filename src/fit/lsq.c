/* MxLsq: bounded weighted least squares on TAO BRGN, the one layer every fit of mxpcs uses.
   See include/mxpcs/lsq.h. */
#include <mxpcs/lsq.h>
#include <math.h>
#include <string.h>

struct _p_MxLsq {
  char           *prefix;
  PetscBool       from_options;
  MxLsqResidualFn f;
  MxLsqJacobianFn jac;
  void           *ctx;
  MxLsqStepTest   test;
  double          xtol;
  PetscInt        maxit, maxfev;
  /* the TAO and its vectors, for one shape */
  Tao             tao;
  Vec             x, xl, xu, res;
  Mat             J;
  PetscInt        np, nr;      /* shape of the above (0: none yet) */
  double         *pw, *rw;     /* physical parameters, residuals */
  double         *Jw;          /* nr x np column-major Jacobian in scaled parameters */
  double         *rp, *rm;     /* finite-difference work */
  double         *A, *Ai, *g, *d;
  int            *freep;
  /* the problem being solved */
  MxLsqProblem   *P;
  double         *s;           /* np parameter scales */
  double          c;           /* residual scale */
  double          fhist[8];    /* objective of the last iterations (stagnation test) */
  int             nhist;
};

/* Physical parameters of the scaled TAO vector, projected onto the bounds (a solver must not
   evaluate the model outside them: pd < 0, phi >= 1). */
static void ToPhys(const MxLsq L, const PetscScalar *x, double *p)
{
  const MxLsqProblem *P = L->P;
  for (PetscInt j = 0; j < P->np; j++) p[j] = PetscMin(PetscMax(PetscRealPart(x[j]) * L->s[j], P->lo[j]), P->hi[j]);
}

/* L->pw = the physical parameters of the TAO vector X. */
static PetscErrorCode PhysOf(MxLsq L, Vec X)
{
  const PetscScalar *x;

  PetscFunctionBeginUser;
  PetscCall(VecGetArrayRead(X, &x));
  ToPhys(L, x, L->pw);
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscFunctionReturn(0);
}

/* Residuals at p; outside the model's domain: large finite residuals (TAO backs off). */
static int Eval(MxLsq L, const double *p, double *r)
{
  const MxLsqProblem *P = L->P;
  int                 e = L->f(p, r, L->ctx);
  for (PetscInt k = 0; !e && k < P->nr; k++)
    if (!isfinite(r[k])) e = 1;
  if (e)
    for (PetscInt k = 0; k < P->nr; k++) r[k] = 1e100 / sqrt((double)P->nr);
  return e;
}

/* Jacobian of the (unscaled) residuals with respect to the scaled parameters, column-major:
   the analytic one when given and finite, else central differences (one-sided at a bound). */
static void Jacobian(MxLsq L, const double *p0, double *J)
{
  const MxLsqProblem *P = L->P;
  double             *p = L->pw == p0 ? L->d : L->pw; /* a copy of p0 that may be changed */

  if (L->jac && !L->jac(p0, J, L->ctx)) {
    int ok = 1;
    for (PetscInt j = 0; j < P->np; j++)
      for (PetscInt k = 0; k < P->nr; k++) {
        J[j * P->nr + k] *= L->s[j];
        if (!isfinite(J[j * P->nr + k])) ok = 0;
      }
    if (ok) return;
  }
  for (PetscInt j = 0; j < P->np; j++) {
    double h = 1e-6 * PetscMax(fabs(p0[j] / L->s[j]), 1e-2) * L->s[j], hp = h, hm = h;
    if (p0[j] + hp > P->hi[j]) hp = 0;
    if (p0[j] - hm < P->lo[j]) hm = 0;
    if (hp == 0 && hm == 0) hp = h; /* bounds closer than h: step out anyway */
    for (PetscInt i = 0; i < P->np; i++) p[i] = p0[i];
    p[j] = p0[j] + hp;
    Eval(L, p, L->rp);
    p[j] = p0[j] - hm;
    Eval(L, p, L->rm);
    for (PetscInt k = 0; k < P->nr; k++) J[j * P->nr + k] = (L->rp[k] - L->rm[k]) / ((hp + hm) / L->s[j]);
  }
}

static PetscErrorCode TaoResidual(Tao tao, Vec X, Vec R, void *ctx)
{
  MxLsq              L = (MxLsq)ctx;
  PetscScalar       *r;

  PetscFunctionBeginUser;
  (void)tao;
  PetscCall(PhysOf(L, X));
  Eval(L, L->pw, L->rw);
  PetscCall(VecGetArray(R, &r));
  for (PetscInt k = 0; k < L->P->nr; k++) r[k] = L->c * L->rw[k];
  PetscCall(VecRestoreArray(R, &r));
  PetscFunctionReturn(0);
}

static PetscErrorCode TaoJacobian(Tao tao, Vec X, Mat J, Mat Jpre, void *ctx)
{
  MxLsq              L = (MxLsq)ctx;
  PetscScalar       *a;
  PetscInt           lda;

  PetscFunctionBeginUser;
  (void)tao;
  (void)Jpre;
  PetscCall(PhysOf(L, X));
  Jacobian(L, L->pw, L->Jw);
  PetscCall(MatDenseGetLDA(J, &lda));
  PetscCall(MatDenseGetArrayWrite(J, &a)); /* column-major */
  for (PetscInt j = 0; j < L->P->np; j++)
    for (PetscInt k = 0; k < L->P->nr; k++) a[j * lda + k] = L->c * L->Jw[j * L->P->nr + k];
  PetscCall(MatDenseRestoreArrayWrite(J, &a));
  PetscFunctionReturn(0);
}

/* 0.5 |r|^2 and J^T r, for TAO types that are not least squares (-<prefix>tao_type bqnls). */
static PetscErrorCode TaoObjGrad(Tao tao, Vec X, PetscReal *fval, Vec G, void *ctx)
{
  MxLsq              L = (MxLsq)ctx;
  PetscScalar       *g;
  double             s = 0.0;

  PetscFunctionBeginUser;
  (void)tao;
  PetscCall(PhysOf(L, X));
  Eval(L, L->pw, L->rw);
  Jacobian(L, L->pw, L->Jw);
  for (PetscInt k = 0; k < L->P->nr; k++) s += L->c * L->rw[k] * L->c * L->rw[k];
  *fval = 0.5 * s;
  PetscCall(VecGetArray(G, &g));
  for (PetscInt j = 0; j < L->P->np; j++) {
    double t = 0.0;
    for (PetscInt k = 0; k < L->P->nr; k++) t += L->c * L->Jw[j * L->P->nr + k] * L->c * L->rw[k];
    g[j] = t;
  }
  PetscCall(VecRestoreArray(G, &g));
  PetscFunctionReturn(0);
}

/* Normal matrix A = J^T J and gradient g = J^T r of the parameters freep[0..nf). */
static void Normal(MxLsq L, const double *J, const double *r, int nf)
{
  const PetscInt nr = L->P->nr;
  for (int a = 0; a < nf; a++) {
    const double *ja = J + (size_t)L->freep[a] * nr;
    double        t  = 0;
    for (PetscInt k = 0; k < nr; k++) t += ja[k] * r[k];
    L->g[a] = t;
    for (int b = 0; b <= a; b++) {
      const double *jb = J + (size_t)L->freep[b] * nr;
      double        u  = 0;
      for (PetscInt k = 0; k < nr; k++) u += ja[k] * jb[k];
      L->A[a * nf + b] = L->A[b * nf + a] = u;
    }
  }
}

/* TAO's own tests, then converged when the bound-projected Gauss-Newton step (of the unscaled
   residuals: the same step) is small in every parameter that is not pinned at a bound (a
   parameter at a bound whose step points outward is pinned); or when the objective has not moved
   (relative 1e-13) over 5 iterations, as happens at a minimum whose flat, poorly determined
   direction keeps a finite-difference step above xtol. */
static PetscErrorCode StepTest(Tao tao, void *ctx)
{
  MxLsq              L = (MxLsq)ctx;
  MxLsqProblem      *P = L->P;
  TaoConvergedReason reason;
  Vec                X;
  double            *p = L->pw, step[256];
  int                nf = 0, ok = 1, small = 1;

  PetscFunctionBeginUser;
  PetscCall(TaoDefaultConvergenceTest(tao, NULL));
  PetscCall(TaoGetConvergedReason(tao, &reason));
  if (reason != TAO_CONTINUE_ITERATING) PetscFunctionReturn(0);
  if (P->np > 256) PetscFunctionReturn(0);
  PetscCall(TaoGetSolution(tao, &X));
  PetscCall(PhysOf(L, X));
  if (Eval(L, p, L->rw)) PetscFunctionReturn(0);
  {
    double fv = 0;
    for (PetscInt k = 0; k < P->nr; k++) fv += L->rw[k] * L->rw[k];
    L->fhist[L->nhist % 8] = fv;
    L->nhist++;
    if (L->nhist > 5 && fabs(L->fhist[(L->nhist - 6) % 8] - fv) <= 1e-13 * fv) {
      PetscCall(TaoSetConvergedReason(tao, TAO_CONVERGED_USER));
      PetscFunctionReturn(0);
    }
  }
  Jacobian(L, p, L->Jw);
  for (PetscInt j = 0; j < P->np; j++) step[j] = 0.0;
  for (int pass = 0; ok && pass <= P->np; pass++) {
    int changed = 0;
    nf          = 0;
    for (PetscInt j = 0; j < P->np; j++) {
      int pinned = pass && ((p[j] <= P->lo[j] && step[j] < 0) || (p[j] >= P->hi[j] && step[j] > 0));
      if (!pinned) L->freep[nf++] = (int)j;
    }
    Normal(L, L->Jw, L->rw, nf);
    if (nf && MxSymInverse(nf, L->A, L->Ai)) {
      ok = 0;
      break;
    }
    for (PetscInt j = 0; j < P->np; j++) step[j] = 0.0;
    for (int a = 0; a < nf; a++)
      for (int b = 0; b < nf; b++) step[L->freep[a]] -= L->Ai[a * nf + b] * L->g[b];
    for (int a = 0; a < nf; a++) {
      PetscInt j = L->freep[a];
      changed |= (p[j] <= P->lo[j] && step[j] < 0) || (p[j] >= P->hi[j] && step[j] > 0);
    }
    if (!changed) break;
  }
  if (!ok) PetscFunctionReturn(0);
  for (int a = 0; a < nf; a++) {
    PetscInt j   = L->freep[a];
    double   tol = L->test == MX_LSQ_STEP_SIGMA ? L->xtol * sqrt(L->Ai[a * nf + a]) : L->xtol * PetscMax(fabs(p[j] / L->s[j]), 1e-6);
    if (!isfinite(step[j]) || !(fabs(step[j]) <= tol)) small = 0;
  }
  if (small) PetscCall(TaoSetConvergedReason(tao, TAO_CONVERGED_USER));
  PetscFunctionReturn(0);
}

/* A TAO as every fit uses it; the options database may change any of it. */
static PetscErrorCode TaoDefaults(MxLsq L)
{
  PetscBool isbrgn;

  PetscFunctionBeginUser;
  PetscCall(TaoDestroy(&L->tao));
  PetscCall(TaoCreate(PETSC_COMM_SELF, &L->tao));
  PetscCall(TaoSetType(L->tao, TAOBRGN));
  PetscCall(TaoSetOptionsPrefix(L->tao, L->prefix));
  PetscCall(TaoSetTolerances(L->tao, 0.0, 0.0, 0.0)); /* convergence: the step test */
  PetscCall(TaoSetMaximumIterations(L->tao, L->maxit));
  PetscCall(TaoSetMaximumFunctionEvaluations(L->tao, L->maxfev));
  PetscCall(PetscObjectTypeCompare((PetscObject)L->tao, TAOBRGN, &isbrgn));
  if (isbrgn) PetscCall(TaoBRGNSetRegularizerWeight(L->tao, 0.0)); /* plain Gauss-Newton: no bias */
  if (L->from_options) PetscCall(TaoSetFromOptions(L->tao));
  L->np = L->nr = 0;
  PetscFunctionReturn(0);
}

static PetscErrorCode FreeShape(MxLsq L)
{
  PetscFunctionBeginUser;
  PetscCall(VecDestroy(&L->x));
  PetscCall(VecDestroy(&L->xl));
  PetscCall(VecDestroy(&L->xu));
  PetscCall(VecDestroy(&L->res));
  PetscCall(MatDestroy(&L->J));
  PetscCall(PetscFree5(L->pw, L->rw, L->Jw, L->rp, L->rm));
  PetscCall(PetscFree5(L->A, L->Ai, L->g, L->d, L->freep));
  PetscFunctionReturn(0);
}

/* The vectors, work arrays and (when the shape changes: BRGN sets up its subsolver once) a
   fresh TAO for np parameters and nr residuals. */
static PetscErrorCode SetShape(MxLsq L, PetscInt np, PetscInt nr)
{
  PetscFunctionBeginUser;
  if (L->np == np && L->nr == nr && L->tao) PetscFunctionReturn(0);
  if (L->np || !L->tao) PetscCall(TaoDefaults(L));
  PetscCall(FreeShape(L));
  PetscCall(PetscMalloc5(np, &L->pw, nr, &L->rw, (size_t)nr * np, &L->Jw, nr, &L->rp, nr, &L->rm));
  PetscCall(PetscMalloc5((size_t)np * np, &L->A, (size_t)np * np, &L->Ai, np, &L->g, np, &L->d, np, &L->freep));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, np, &L->x));
  PetscCall(VecDuplicate(L->x, &L->xl));
  PetscCall(VecDuplicate(L->x, &L->xu));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, nr, &L->res));
  PetscCall(MatCreateSeqDense(PETSC_COMM_SELF, nr, np, NULL, &L->J));
  PetscCall(TaoSetSolution(L->tao, L->x));
  PetscCall(TaoSetVariableBounds(L->tao, L->xl, L->xu));
  PetscCall(TaoSetResidualRoutine(L->tao, L->res, TaoResidual, L));
  PetscCall(TaoSetJacobianResidualRoutine(L->tao, L->J, L->J, TaoJacobian, L));
  PetscCall(TaoSetObjectiveAndGradient(L->tao, NULL, TaoObjGrad, L));
  {
    PetscBool isbrgn;
    Tao       it = L->tao; /* the TAO that iterates: BRGN's subsolver */
    PetscCall(PetscObjectTypeCompare((PetscObject)L->tao, TAOBRGN, &isbrgn));
    if (isbrgn) PetscCall(TaoBRGNGetSubsolver(L->tao, &it));
    PetscCall(TaoSetConvergenceTest(it, StepTest, L));
  }
  L->np = np;
  L->nr = nr;
  PetscFunctionReturn(0);
}

PetscErrorCode MxLsqCreate(MxLsq *out)
{
  MxLsq L;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&L));
  L->test   = MX_LSQ_STEP_RELATIVE;
  L->xtol   = 1e-10;
  L->maxit  = 500;
  L->maxfev = 20000;
  *out      = L;
  PetscFunctionReturn(0);
}

PetscErrorCode MxLsqDestroy(MxLsq *pl)
{
  PetscFunctionBeginUser;
  if (!pl || !*pl) PetscFunctionReturn(0);
  PetscCall(FreeShape(*pl));
  PetscCall(TaoDestroy(&(*pl)->tao));
  PetscCall(PetscFree((*pl)->prefix));
  PetscCall(PetscFree(*pl));
  PetscFunctionReturn(0);
}

PetscErrorCode MxLsqSetOptionsPrefix(MxLsq L, const char prefix[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(L->prefix));
  PetscCall(PetscStrallocpy(prefix, &L->prefix));
  if (L->tao) PetscCall(TaoSetOptionsPrefix(L->tao, L->prefix));
  PetscFunctionReturn(0);
}

PetscErrorCode MxLsqSetFromOptions(MxLsq L)
{
  PetscFunctionBeginUser;
  L->from_options = PETSC_TRUE;
  PetscCall(FreeShape(L));
  PetscCall(TaoDefaults(L)); /* registers -<prefix>tao_* now (and lists them under -help) */
  PetscFunctionReturn(0);
}

/* A fresh TAO for the next solve: what it does then no longer depends on what this MxLsq solved
   before (BRGN's subsolver keeps state from one solve to the next of the same shape, which moves
   where a fit stops within its tolerance, in the last bits). */
PetscErrorCode MxLsqReset(MxLsq L)
{
  PetscFunctionBeginUser;
  PetscCall(FreeShape(L));
  PetscCall(TaoDefaults(L));
  PetscFunctionReturn(0);
}

PetscErrorCode MxLsqSetFunctions(MxLsq L, MxLsqResidualFn f, MxLsqJacobianFn jac, void *ctx)
{
  PetscFunctionBeginUser;
  L->f   = f;
  L->jac = jac;
  L->ctx = ctx;
  PetscFunctionReturn(0);
}

PetscErrorCode MxLsqSetStepTest(MxLsq L, MxLsqStepTest test, double xtol)
{
  PetscFunctionBeginUser;
  PetscCheck(xtol > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "least squares: step tolerance %g must be > 0", xtol);
  L->test = test;
  L->xtol = xtol;
  PetscFunctionReturn(0);
}

PetscErrorCode MxLsqSetMaxIterations(MxLsq L, PetscInt maxit, PetscInt maxfev)
{
  PetscFunctionBeginUser;
  L->maxit  = maxit;
  L->maxfev = maxfev;
  if (L->tao) {
    PetscCall(TaoSetMaximumIterations(L->tao, maxit));
    PetscCall(TaoSetMaximumFunctionEvaluations(L->tao, maxfev));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxLsqProblemCreate(PetscInt np, PetscInt nr, MxLsqProblem *P)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(P, sizeof *P));
  P->np = np;
  P->nr = nr;
  PetscCall(PetscCalloc6(np, &P->p, np, &P->lo, np, &P->hi, np, &P->err, np * np, &P->cov, np * np, &P->corr));
  for (PetscInt j = 0; j < np; j++) {
    P->lo[j] = -INFINITY;
    P->hi[j] = INFINITY;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxLsqProblemDestroy(MxLsqProblem *P)
{
  PetscFunctionBeginUser;
  if (P->p) PetscCall(PetscFree6(P->p, P->lo, P->hi, P->err, P->cov, P->corr));
  PetscFunctionReturn(0);
}

/* chi^2 and the covariance (J^T J)^-1 chi2_red of the physical parameters at P->p. */
static void Covariance(MxLsq L, MxLsqProblem *P)
{
  const PetscInt np = P->np;
  int            nf = (int)np;

  Eval(L, P->p, L->rw);
  P->chi2 = 0;
  for (PetscInt k = 0; k < P->nr; k++) P->chi2 += L->rw[k] * L->rw[k];
  P->chi2_red = P->nr > np ? P->chi2 / (double)(P->nr - np) : NAN;
  Jacobian(L, P->p, L->Jw);
  for (int j = 0; j < nf; j++) L->freep[j] = j;
  Normal(L, L->Jw, L->rw, nf);
  for (PetscInt j = 0; j < np * np; j++) {
    P->corr[j] = (j / np == j % np) ? 1.0 : 0.0;
    P->cov[j]  = (j / np == j % np) ? INFINITY : 0.0;
  }
  for (PetscInt i = 0; i < np; i++) P->err[i] = INFINITY; /* undetermined until shown otherwise */
  if (MxSymInverse(nf, L->A, L->Ai)) return;             /* singular: some parameter is not determined */
  for (PetscInt i = 0; i < np; i++)
    for (PetscInt j = 0; j < np; j++) P->corr[i * np + j] = L->Ai[i * np + j] / sqrt(L->Ai[i * np + i] * L->Ai[j * np + j]);
  if (!isfinite(P->chi2_red)) return; /* no degrees of freedom: errors +inf, as curve_fit */
  for (PetscInt i = 0; i < np; i++)
    for (PetscInt j = 0; j < np; j++) P->cov[i * np + j] = L->Ai[i * np + j] * P->chi2_red * L->s[i] * L->s[j];
  for (PetscInt i = 0; i < np; i++) P->err[i] = sqrt(PetscMax(P->cov[i * np + i], 0.0));
}

PetscErrorCode MxLsqSolve(MxLsq L, MxLsqProblem *P)
{
  TaoConvergedReason reason;
  PetscScalar       *xa, *la, *ua;
  double            *p0;
  char               names[512] = "";
  int                e;

  PetscFunctionBeginUser;
  PetscCheck(L->f, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "least squares: no residual function (MxLsqSetFunctions)");
  PetscCheck(P->nr >= P->np && P->np > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "least squares: %" PetscInt_FMT " data points for %" PetscInt_FMT " free parameters", P->nr, P->np);
  for (PetscInt j = 0; j < P->np; j++) {
    PetscCheck(P->lo[j] <= P->hi[j] && P->p[j] >= P->lo[j] && P->p[j] <= P->hi[j], PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "least squares: start value %g of %s outside its bounds [%g, %g]", P->p[j], P->names ? P->names[j] : "a parameter", P->lo[j], P->hi[j]);
    size_t l = strlen(names);
    snprintf(names + l, sizeof names - l, "%s%s=%g", j ? ", " : "", P->names ? P->names[j] : "p", P->p[j]);
  }
  PetscCall(SetShape(L, P->np, P->nr));
  PetscCall(PetscMalloc2(P->np, &L->s, P->np, &p0));
  L->P     = P;
  L->nhist = 0;
  for (PetscInt j = 0; j < P->np; j++) {
    L->s[j] = P->scale && P->scale[j] > 0 ? P->scale[j] : fabs(P->p[j]) > 0 ? fabs(P->p[j]) : 1.0;
    p0[j]   = P->p[j];
  }
  e = Eval(L, P->p, L->rw);
  if (e) {
    PetscCall(PetscFree2(L->s, p0));
    L->P = NULL;
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "least squares: the model is not finite at the start values (%s)", names);
  }
  { /* c = 1/|J(start)|_F: the scaled Gauss-Newton Hessian is O(1), TAO's tolerances relative */
    double sj = 0.0;
    Jacobian(L, P->p, L->Jw);
    for (PetscInt k = 0; k < P->nr * P->np; k++) sj += L->Jw[k] * L->Jw[k];
    L->c = sj > 0 && isfinite(sj) ? 1.0 / sqrt(sj) : 1.0;
  }
  PetscCall(VecGetArray(L->x, &xa));
  PetscCall(VecGetArray(L->xl, &la));
  PetscCall(VecGetArray(L->xu, &ua));
  for (PetscInt j = 0; j < P->np; j++) {
    xa[j] = P->p[j] / L->s[j];
    la[j] = isfinite(P->lo[j]) ? P->lo[j] / L->s[j] : PETSC_NINFINITY;
    ua[j] = isfinite(P->hi[j]) ? P->hi[j] / L->s[j] : PETSC_INFINITY;
  }
  PetscCall(VecRestoreArray(L->x, &xa));
  PetscCall(VecRestoreArray(L->xl, &la));
  PetscCall(VecRestoreArray(L->xu, &ua));
  PetscCall(TaoSetVariableBounds(L->tao, L->xl, L->xu));
  PetscCall(TaoSolve(L->tao));
  PetscCall(TaoGetConvergedReason(L->tao, &reason));
  PetscCall(TaoGetIterationNumber(L->tao, &P->its));
  P->converged = reason > 0;
  snprintf(P->reason, sizeof P->reason, "%s", TaoConvergedReasons[reason]);
  PetscCall(VecGetArray(L->x, &xa));
  ToPhys(L, xa, P->p);
  PetscCall(VecRestoreArray(L->x, &xa));
  for (PetscInt j = 0; j < P->np; j++)
    if (!isfinite(P->p[j])) { /* never hand back NaN: the start, flagged */
      for (PetscInt i = 0; i < P->np; i++) P->p[i] = p0[i];
      P->converged = 0;
      snprintf(P->reason, sizeof P->reason, "non-finite iterate");
      break;
    }
  Covariance(L, P);
  PetscCall(PetscFree2(L->s, p0));
  L->P = NULL;
  PetscFunctionReturn(0);
}
