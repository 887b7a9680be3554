/* MxLsqSolve: small bounded least-squares problems on TAO BRGN. See include/mxpcs/lsq.h. */
#include <mxpcs/lsq.h>
#include <math.h>
#include <string.h>

typedef struct {
  MxLsqResidualFn f;
  void           *ctx;
  MxLsqProblem   *P;
  double         *s, *pw, *rw; /* scales; physical parameter and residual work arrays */
  double          xtol;
  int             bad;         /* the model failed at the last point */
  double          fhist[8];    /* objective of the last iterations (stagnation test) */
  int             nhist;
} LsqCtx;

static void ToPhys(const LsqCtx *c, const PetscScalar *x, double *p)
{
  for (PetscInt i = 0; i < c->P->np; i++) p[i] = PetscRealPart(x[i]) * c->s[i];
}

/* Residuals at scaled x; outside the model's domain: large finite residuals (TAO backs off). */
static int Eval(LsqCtx *c, const double *p, double *r)
{
  int e = c->f(p, r, c->ctx);
  for (PetscInt k = 0; !e && k < c->P->nr; k++)
    if (!isfinite(r[k])) e = 1;
  if (e)
    for (PetscInt k = 0; k < c->P->nr; k++) r[k] = 1e100 / sqrt((double)c->P->nr);
  return e;
}

static PetscErrorCode Residual(Tao tao, Vec X, Vec R, void *ctx)
{
  LsqCtx            *c = (LsqCtx *)ctx;
  const PetscScalar *x;
  PetscScalar       *r;

  PetscFunctionBeginUser;
  (void)tao;
  PetscCall(VecGetArrayRead(X, &x));
  ToPhys(c, x, c->pw);
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCall(VecGetArray(R, &r));
  c->bad = Eval(c, c->pw, c->rw);
  for (PetscInt k = 0; k < c->P->nr; k++) r[k] = c->rw[k];
  PetscCall(VecRestoreArray(R, &r));
  PetscFunctionReturn(0);
}

/* Central differences in the scaled parameters, one-sided at a bound. */
static PetscErrorCode FDJacobian(LsqCtx *c, const double *p0, double *J /* nr x np, column-major */)
{
  MxLsqProblem *P = c->P;
  double       *rp, *rm, *p;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(P->nr, &rp, P->nr, &rm, P->np, &p));
  for (PetscInt j = 0; j < P->np; j++) {
    double h = 1e-6 * PetscMax(fabs(p0[j] / c->s[j]), 1e-2) * c->s[j], hp = h, hm = h;
    if (p0[j] + hp > P->hi[j]) hp = 0;
    if (p0[j] - hm < P->lo[j]) hm = 0;
    if (hp == 0 && hm == 0) hp = h; /* bounds closer than h: step out anyway */
    PetscCall(PetscArraycpy(p, p0, P->np));
    p[j] = p0[j] + hp;
    Eval(c, p, rp);
    p[j] = p0[j] - hm;
    Eval(c, p, rm);
    for (PetscInt k = 0; k < P->nr; k++) J[j * P->nr + k] = (rp[k] - rm[k]) / ((hp + hm) / c->s[j]);
  }
  PetscCall(PetscFree3(rp, rm, p));
  PetscFunctionReturn(0);
}

static PetscErrorCode Jacobian(Tao tao, Vec X, Mat J, Mat Jpre, void *ctx)
{
  LsqCtx            *c = (LsqCtx *)ctx;
  const PetscScalar *x;
  PetscScalar       *a;
  double            *p;
  PetscInt           lda;

  PetscFunctionBeginUser;
  (void)tao;
  (void)Jpre;
  PetscCall(PetscMalloc1(c->P->np, &p));
  PetscCall(VecGetArrayRead(X, &x));
  ToPhys(c, x, p);
  PetscCall(VecRestoreArrayRead(X, &x));
  PetscCall(MatDenseGetLDA(J, &lda));
  PetscCheck(lda == c->P->nr, PETSC_COMM_SELF, PETSC_ERR_PLIB, "unexpected leading dimension");
  PetscCall(MatDenseGetArrayWrite(J, &a));
  PetscCall(FDJacobian(c, p, a));
  PetscCall(MatDenseRestoreArrayWrite(J, &a));
  PetscCall(PetscFree(p));
  PetscFunctionReturn(0);
}

/* In-place Cholesky of the n x n SPD matrix A (row-major); 0 on success. */
static int Cholesky(int n, double *A)
{
  for (int j = 0; j < n; j++) {
    double d = A[j * n + j];
    for (int k = 0; k < j; k++) d -= A[j * n + k] * A[j * n + k];
    if (!(d > 0)) return 1;
    A[j * n + j] = sqrt(d);
    for (int i = j + 1; i < n; i++) {
      double s = A[i * n + j];
      for (int k = 0; k < j; k++) s -= A[i * n + k] * A[j * n + k];
      A[i * n + j] = s / A[j * n + j];
    }
  }
  return 0;
}

/* x = A^-1 b with the Cholesky factor L (lower, row-major). */
static void CholSolve(int n, const double *L, const double *b, double *x)
{
  for (int i = 0; i < n; i++) {
    double s = b[i];
    for (int k = 0; k < i; k++) s -= L[i * n + k] * x[k];
    x[i] = s / L[i * n + i];
  }
  for (int i = n - 1; i >= 0; i--) {
    double s = x[i];
    for (int k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
}

/* Normal matrix and gradient of the free parameters (those not pinned at a bound). */
static void Normal(const MxLsqProblem *P, const double *J, const double *r, const int *freep, int nf, double *A, double *g)
{
  for (int a = 0; a < nf; a++) {
    const double *ja = J + (size_t)freep[a] * P->nr;
    double        s  = 0;
    for (PetscInt k = 0; k < P->nr; k++) s += ja[k] * r[k];
    g[a] = s;
    for (int b = 0; b <= a; b++) {
      const double *jb = J + (size_t)freep[b] * P->nr;
      double        t  = 0;
      for (PetscInt k = 0; k < P->nr; k++) t += ja[k] * jb[k];
      A[a * nf + b] = A[b * nf + a] = t;
    }
  }
}

/* TAO's own tests, then converged when the Gauss-Newton step is below xtol relative in every
   parameter (a parameter at a bound whose step points outward is pinned). */
static PetscErrorCode StepTest(Tao tao, void *ctx)
{
  LsqCtx            *c = (LsqCtx *)ctx;
  MxLsqProblem      *P = c->P;
  TaoConvergedReason reason;
  Vec                X;
  const PetscScalar *x;
  double            *p, *J, *r, *A, *g, *d;
  int               *freep, nf = 0, ok = 1;

  PetscFunctionBeginUser;
  PetscCall(TaoDefaultConvergenceTest(tao, NULL));
  PetscCall(TaoGetConvergedReason(tao, &reason));
  if (reason != TAO_CONTINUE_ITERATING) PetscFunctionReturn(0);
  PetscCall(TaoGetSolution(tao, &X));
  PetscCall(PetscMalloc3(P->np, &p, (size_t)P->nr * P->np, &J, P->nr, &r));
  PetscCall(PetscMalloc4((size_t)P->np * P->np, &A, P->np, &g, P->np, &d, P->np, &freep));
  PetscCall(VecGetArrayRead(X, &x));
  ToPhys(c, x, p);
  PetscCall(VecRestoreArrayRead(X, &x));
  if (Eval(c, p, r)) ok = 0;
  if (ok) { /* stagnation: the objective has not moved (relative 1e-13) over 5 iterations, as
               happens when the minimum is reached but the finite-difference Gauss-Newton step in
               a flat, poorly determined direction stays above xtol */
    double fv = 0;
    for (PetscInt k = 0; k < P->nr; k++) fv += r[k] * r[k];
    c->fhist[c->nhist % 8] = fv;
    c->nhist++;
    if (c->nhist > 5 && fabs(c->fhist[(c->nhist - 6) % 8] - fv) <= 1e-13 * fv) {
      PetscCall(PetscFree3(p, J, r));
      PetscCall(PetscFree4(A, g, d, freep));
      PetscCall(TaoSetConvergedReason(tao, TAO_CONVERGED_USER));
      PetscFunctionReturn(0);
    }
  }
  if (ok) PetscCall(FDJacobian(c, p, J));
  for (int pass = 0; ok && pass < 3; pass++) {
    int changed = 0;
    nf          = 0;
    for (PetscInt j = 0; j < P->np; j++) freep[nf++] = (int)j;
    if (pass) {
      nf = 0;
      for (PetscInt j = 0; j < P->np; j++) {
        int pinned = (p[j] <= P->lo[j] && d[j] > 0) || (p[j] >= P->hi[j] && d[j] < 0); /* d = -step */
        if (!pinned) freep[nf++] = (int)j;
      }
    }
    Normal(P, J, r, freep, nf, A, g);
    if (Cholesky(nf, A)) {
      ok = 0;
      break;
    }
    double tmp[256];
    if (nf > 256) {
      ok = 0;
      break;
    }
    CholSolve(nf, A, g, tmp);
    for (PetscInt j = 0; j < P->np; j++) d[j] = 0;
    for (int a = 0; a < nf; a++) d[freep[a]] = tmp[a];
    for (PetscInt j = 0; j < P->np; j++) changed |= (p[j] <= P->lo[j] && d[j] > 0) || (p[j] >= P->hi[j] && d[j] < 0);
    if (!changed) break;
  }
  if (ok) {
    int small = 1;
    for (PetscInt j = 0; j < P->np; j++) {
      int pinned = (p[j] <= P->lo[j] && d[j] > 0) || (p[j] >= P->hi[j] && d[j] < 0);
      if (!pinned && !(fabs(d[j]) <= c->xtol * PetscMax(fabs(p[j] / c->s[j]), 1e-6))) small = 0;
    }
    if (small) PetscCall(TaoSetConvergedReason(tao, TAO_CONVERGED_USER));
  }
  PetscCall(PetscFree3(p, J, r));
  PetscCall(PetscFree4(A, g, d, freep));
  PetscFunctionReturn(0);
}

PetscErrorCode MxLsqProblemCreate(PetscInt np, PetscInt nr, MxLsqProblem *P)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(P, sizeof *P));
  P->np = np;
  P->nr = nr;
  PetscCall(PetscCalloc5(np, &P->p, np, &P->lo, np, &P->hi, np, &P->err, np * np, &P->corr));
  for (PetscInt j = 0; j < np; j++) {
    P->lo[j] = -INFINITY;
    P->hi[j] = INFINITY;
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxLsqProblemDestroy(MxLsqProblem *P)
{
  PetscFunctionBeginUser;
  if (P->p) PetscCall(PetscFree5(P->p, P->lo, P->hi, P->err, P->corr));
  PetscFunctionReturn(0);
}

PetscErrorCode MxLsqSolve(const char prefix[], MxLsqResidualFn f, void *ctx, double xtol, MxLsqProblem *P)
{
  LsqCtx             c = {f, ctx, P, NULL, NULL, NULL, xtol, 0, {0}, 0};
  Tao                tao, sub;
  Vec                x, xl, xu, res;
  Mat                J;
  TaoConvergedReason reason;
  PetscScalar       *xa;
  char               names[512] = "";

  PetscFunctionBeginUser;
  PetscCheck(P->nr >= P->np && P->np > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "least squares: %" PetscInt_FMT " data points for %" PetscInt_FMT " free parameters", P->nr, P->np);
  for (PetscInt j = 0; j < P->np; j++) {
    PetscCheck(P->lo[j] <= P->hi[j] && P->p[j] >= P->lo[j] && P->p[j] <= P->hi[j], PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "least squares: start value %g of %s outside its bounds [%g, %g]", P->p[j], P->names ? P->names[j] : "a parameter", P->lo[j], P->hi[j]);
    size_t l = strlen(names);
    snprintf(names + l, sizeof names - l, "%s%s=%g", j ? ", " : "", P->names ? P->names[j] : "p", P->p[j]);
  }
  PetscCall(PetscMalloc3(P->np, &c.s, P->np, &c.pw, P->nr, &c.rw));
  for (PetscInt j = 0; j < P->np; j++) c.s[j] = P->scale && P->scale[j] > 0 ? P->scale[j] : fabs(P->p[j]) > 0 ? fabs(P->p[j]) : 1.0;
  if (Eval(&c, P->p, c.rw)) {
    PetscCall(PetscFree3(c.s, c.pw, c.rw));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "least squares: the model is not finite at the start values (%s)", names);
  }
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, P->np, &x));
  PetscCall(VecDuplicate(x, &xl));
  PetscCall(VecDuplicate(x, &xu));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, P->nr, &res));
  PetscCall(MatCreateSeqDense(PETSC_COMM_SELF, P->nr, P->np, NULL, &J));
  PetscCall(VecGetArray(x, &xa));
  for (PetscInt j = 0; j < P->np; j++) xa[j] = P->p[j] / c.s[j];
  PetscCall(VecRestoreArray(x, &xa));
  PetscCall(VecGetArray(xl, &xa));
  for (PetscInt j = 0; j < P->np; j++) xa[j] = isfinite(P->lo[j]) ? P->lo[j] / c.s[j] : PETSC_NINFINITY;
  PetscCall(VecRestoreArray(xl, &xa));
  PetscCall(VecGetArray(xu, &xa));
  for (PetscInt j = 0; j < P->np; j++) xa[j] = isfinite(P->hi[j]) ? P->hi[j] / c.s[j] : PETSC_INFINITY;
  PetscCall(VecRestoreArray(xu, &xa));

  PetscCall(TaoCreate(PETSC_COMM_SELF, &tao));
  PetscCall(TaoSetType(tao, TAOBRGN));
  PetscCall(TaoSetOptionsPrefix(tao, prefix));
  PetscCall(TaoSetTolerances(tao, 0.0, 0.0, 0.0));
  PetscCall(TaoSetMaximumIterations(tao, 500));
  PetscCall(TaoSetMaximumFunctionEvaluations(tao, 20000));
  PetscCall(TaoBRGNSetRegularizerWeight(tao, 0.0));
  PetscCall(TaoSetSolution(tao, x));
  PetscCall(TaoSetVariableBounds(tao, xl, xu));
  PetscCall(TaoSetResidualRoutine(tao, res, Residual, &c));
  PetscCall(TaoSetJacobianResidualRoutine(tao, J, J, Jacobian, &c));
  PetscCall(TaoSetFromOptions(tao));
  {
    PetscBool isbrgn;
    sub = tao;
    PetscCall(PetscObjectTypeCompare((PetscObject)tao, TAOBRGN, &isbrgn));
    if (isbrgn) PetscCall(TaoBRGNGetSubsolver(tao, &sub));
    PetscCall(TaoSetConvergenceTest(sub, StepTest, &c));
  }
  PetscCall(TaoSolve(tao));
  PetscCall(TaoGetConvergedReason(tao, &reason));
  PetscCall(TaoGetIterationNumber(tao, &P->its));
  P->converged = reason > 0;
  snprintf(P->reason, sizeof P->reason, "%s", TaoConvergedReasons[reason]);
  PetscCall(VecGetArray(x, &xa));
  ToPhys(&c, xa, P->p);
  PetscCall(VecRestoreArray(x, &xa));

  /* chi^2, and the covariance (J^T J)^-1 chi2_red of the physical parameters */
  {
    double *Jm, *A, *g, *col;
    int    *freep, nf = 0;
    Eval(&c, P->p, c.rw);
    P->chi2 = 0;
    for (PetscInt k = 0; k < P->nr; k++) P->chi2 += c.rw[k] * c.rw[k];
    P->chi2_red = P->nr > P->np ? P->chi2 / (double)(P->nr - P->np) : NAN;
    PetscCall(PetscMalloc5((size_t)P->nr * P->np, &Jm, (size_t)P->np * P->np, &A, P->np, &g, P->np, &col, P->np, &freep));
    PetscCall(FDJacobian(&c, P->p, Jm));
    for (PetscInt j = 0; j < P->np; j++) freep[nf++] = (int)j;
    Normal(P, Jm, c.rw, freep, nf, A, g);
    for (PetscInt j = 0; j < P->np * P->np; j++) P->corr[j] = (j / P->np == j % P->np) ? 1.0 : 0.0;
    if (!Cholesky(nf, A)) {
      double *cov;
      PetscCall(PetscMalloc1((size_t)P->np * P->np, &cov));
      for (int j = 0; j < nf; j++) { /* column j of the inverse (in scaled units) */
        for (int i = 0; i < nf; i++) g[i] = i == j;
        CholSolve(nf, A, g, col);
        for (int i = 0; i < nf; i++) cov[i * P->np + j] = col[i];
      }
      double f2 = isfinite(P->chi2_red) ? P->chi2_red : INFINITY;
      for (PetscInt i = 0; i < P->np; i++) P->err[i] = sqrt(cov[i * P->np + i] * f2) * c.s[i];
      for (PetscInt i = 0; i < P->np; i++)
        for (PetscInt j = 0; j < P->np; j++) P->corr[i * P->np + j] = cov[i * P->np + j] / sqrt(cov[i * P->np + i] * cov[j * P->np + j]);
      PetscCall(PetscFree(cov));
    } else
      for (PetscInt i = 0; i < P->np; i++) P->err[i] = INFINITY; /* singular: some parameter is not determined */
    PetscCall(PetscFree5(Jm, A, g, col, freep));
  }
  PetscCall(TaoDestroy(&tao));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&xl));
  PetscCall(VecDestroy(&xu));
  PetscCall(VecDestroy(&res));
  PetscCall(MatDestroy(&J));
  PetscCall(PetscFree3(c.s, c.pw, c.rw));
  PetscFunctionReturn(0);
}
