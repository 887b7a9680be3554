/* MxG2Fit: g2 - 1 = beta exp(-2 Gamma tau) by weighted nonlinear least squares with PETSc/TAO
   (design.md 1.6), plus the closed-form zero-age extrapolation and weighted mean.
   See include/mxpcs/g2fit.h. */
#include <mxpcs/g2fit.h>
#include <mxpcs/lsq.h>
#include <mxpcs/sys.h>
#include <math.h>
#include <string.h>

static PetscLogEvent MX_G2FIT_EXP;

const char *const MxG2FitBetaNames[] = {"fixed", "free", "shared"};

struct _p_MxG2Fit {
  MPI_Comm  comm;
  char     *prefix;       /* options prefix prepended to -fit_... (NULL: none) */
  MxG2FitBeta mode;       /* -fit_beta fixed|free|shared */
  MxLsq     lsq;          /* the least-squares layer, prefix <prefix>fit_ (-fit_tao_type ...) */
  MxLsq     lsq_sh;       /* the same for the shared-beta fits (their own shapes), same prefix */
  PetscBool from_options; /* SetFromOptions was called: the shared fits' fresh solvers read the options too */
  PetscInt  cap;          /* allocated length of t, y, w */
  double   *t, *y, *w;    /* accepted points: tau/tau_scale, y, 1/sigma */
  PetscInt  n, p;         /* points and parameters of the fit under way */
  double    tau_scale;    /* s, 1/Gamma0 of the start value (else the largest |tau|) */
  double    beta_fixed;   /* beta when p == 1 */
  double    xtol;         /* -fit_xtol: converged when the Gauss-Newton step is below xtol relative */
  PetscInt  nsh, *sh_off; /* shared fit: sets with points; set j's points sh_off[j] .. sh_off[j + 1] */
};

/* (u, beta) from the parameters: beta is fixed when p == 1. */
static inline void MxG2FitParams(MxG2Fit f, const double *x, double *u, double *b)
{
  *u = x[0];
  *b = f->p == 2 ? x[1] : f->beta_fixed;
}

/* Residuals (y_i - beta exp(-2 u t_i)) / sigma_i. */
static int MxG2FitResidual(const double *x, double *r, void *ctx)
{
  MxG2Fit f = (MxG2Fit)ctx;
  double  u, b;

  MxG2FitParams(f, x, &u, &b);
  for (PetscInt i = 0; i < f->n; i++) r[i] = f->w[i] * (f->y[i] - b * exp(-2.0 * u * f->t[i]));
  return 0;
}

/* Their Jacobian: d/du = 2 b t e / sigma, d/dbeta = -e / sigma, e = exp(-2 u t). */
static int MxG2FitJacobian(const double *x, double *J, void *ctx)
{
  MxG2Fit f = (MxG2Fit)ctx;
  double  u, b;

  MxG2FitParams(f, x, &u, &b);
  for (PetscInt i = 0; i < f->n; i++) {
    double e = exp(-2.0 * u * f->t[i]);
    J[i]     = 2.0 * f->w[i] * b * f->t[i] * e;
    if (f->p == 2) J[f->n + i] = -f->w[i] * e;
  }
  return 0;
}

/* Shared fit: x = (u_0 .. u_{nsh-1}, beta); residuals (y_i - beta exp(-2 u_j t_i)) / sigma_i of each set j. */
static int MxG2FitSharedResidual(const double *x, double *r, void *ctx)
{
  MxG2Fit      f = (MxG2Fit)ctx;
  const double b = x[f->nsh];

  for (PetscInt j = 0; j < f->nsh; j++)
    for (PetscInt i = f->sh_off[j]; i < f->sh_off[j + 1]; i++) r[i] = f->w[i] * (f->y[i] - b * exp(-2.0 * x[j] * f->t[i]));
  return 0;
}

/* Its Jacobian: d/du_j = 2 b t e / sigma on set j's points, d/dbeta = -e / sigma. */
static int MxG2FitSharedJacobian(const double *x, double *J, void *ctx)
{
  MxG2Fit        f = (MxG2Fit)ctx;
  const PetscInt n = f->sh_off[f->nsh];
  const double   b = x[f->nsh];

  for (size_t k = 0; k < (size_t)n * f->nsh; k++) J[k] = 0.0;
  for (PetscInt j = 0; j < f->nsh; j++)
    for (PetscInt i = f->sh_off[j]; i < f->sh_off[j + 1]; i++) {
      double e                    = exp(-2.0 * x[j] * f->t[i]);
      J[(size_t)j * n + i]        = 2.0 * f->w[i] * b * f->t[i] * e;
      J[(size_t)f->nsh * n + i]   = -f->w[i] * e;
    }
  return 0;
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
  PetscCall(MxLsqCreate(&f->lsq));
  PetscCall(MxLsqSetOptionsPrefix(f->lsq, "fit_"));
  PetscCall(MxLsqSetFunctions(f->lsq, MxG2FitResidual, MxG2FitJacobian, f));
  PetscCall(MxLsqSetMaxIterations(f->lsq, 200, 4000));
  PetscCall(MxLsqCreate(&f->lsq_sh));
  PetscCall(MxLsqSetOptionsPrefix(f->lsq_sh, "fit_"));
  PetscCall(MxLsqSetFunctions(f->lsq_sh, MxG2FitSharedResidual, MxG2FitSharedJacobian, f));
  PetscCall(MxLsqSetMaxIterations(f->lsq_sh, 200, 4000));
  *out = f;
  PetscFunctionReturn(0);
}

/* Prefix for all of this fitter's options (then -<prefix>fit_beta, -<prefix>fit_tao_...). Call before SetFromOptions. */
PetscErrorCode MxG2FitSetOptionsPrefix(MxG2Fit f, const char prefix[])
{
  char full[256];

  PetscFunctionBeginUser;
  PetscCall(PetscFree(f->prefix));
  PetscCall(PetscStrallocpy(prefix, &f->prefix));
  PetscCall(PetscSNPrintf(full, sizeof full, "%sfit_", prefix ? prefix : ""));
  PetscCall(MxLsqSetOptionsPrefix(f->lsq, full));
  PetscCall(MxLsqSetOptionsPrefix(f->lsq_sh, full));
  PetscFunctionReturn(0);
}

/* Reads -fit_beta fixed|free|shared and the TAO options with prefix -fit_ (-fit_tao_type, -fit_tao_gatol, ...). Collective on comm. */
PetscErrorCode MxG2FitSetFromOptions(MxG2Fit f)
{
  PetscInt mode = (PetscInt)f->mode;

  PetscFunctionBeginUser;
  PetscOptionsBegin(f->comm, f->prefix, "g2 fits (MxG2Fit)", "MxG2Fit");
  PetscCall(PetscOptionsEList("-fit_beta", "Contrast beta in g2 - 1 = beta exp(-2 Gamma tau): fixed at the measured contrast (the diagonal of C), free per ring and age window, or shared: one per ring fitted across all age windows with their Gammas", "MxG2FitExp", MxG2FitBetaNames, 3, MxG2FitBetaNames[mode], &mode, NULL));
  PetscCall(PetscOptionsReal("-fit_xtol", "Converged when the Gauss-Newton step is below this, relative to Gamma and beta", "MxG2FitExp", f->xtol, &f->xtol, NULL));
  PetscOptionsEnd();
  PetscCheck(f->xtol > 0, f->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -fit_xtol: %g must be > 0", (double)f->xtol);
  f->mode = (MxG2FitBeta)mode;
  PetscCall(MxLsqSetFromOptions(f->lsq));
  PetscCall(MxLsqSetFromOptions(f->lsq_sh));
  f->from_options = PETSC_TRUE;
  PetscFunctionReturn(0);
}

/* Whether beta is a free parameter (-fit_beta free). Not collective. */
PetscErrorCode MxG2FitGetBetaFree(MxG2Fit f, PetscBool *free_beta)
{
  PetscFunctionBeginUser;
  *free_beta = f->mode == MX_G2FIT_BETA_FREE ? PETSC_TRUE : PETSC_FALSE;
  PetscFunctionReturn(0);
}

/* -fit_beta fixed|free|shared. Not collective. */
PetscErrorCode MxG2FitGetBetaMode(MxG2Fit f, MxG2FitBeta *mode)
{
  PetscFunctionBeginUser;
  *mode = f->mode;
  PetscFunctionReturn(0);
}

/* The next fits start from fresh solvers (MxLsqReset): their results no longer depend on the
   fits made before. Not collective. */
PetscErrorCode MxG2FitReset(MxG2Fit f)
{
  PetscFunctionBeginUser;
  PetscCall(MxLsqReset(f->lsq));
  PetscCall(MxLsqReset(f->lsq_sh));
  PetscFunctionReturn(0);
}

/* Destroys the fitter (NULL-safe, sets *f = NULL). */
PetscErrorCode MxG2FitDestroy(MxG2Fit *pf)
{
  MxG2Fit f;

  PetscFunctionBeginUser;
  if (!pf || !*pf) PetscFunctionReturn(0);
  f = *pf;
  PetscCall(MxLsqDestroy(&f->lsq));
  PetscCall(MxLsqDestroy(&f->lsq_sh));
  PetscCall(PetscFree3(f->t, f->y, f->w));
  PetscCall(PetscFree(f->prefix));
  PetscCall(PetscFree(f));
  *pf = NULL;
  PetscFunctionReturn(0);
}

/* Start value of u = Gamma tau_scale from the weighted log-linear fit ln y = ln beta - 2 u t of
   the points with y > 0 (weights (y/sigma)^2); intercept fixed at ln beta0 when beta is fixed or
   only one such point exists. Returns a finite u >= 0; *b_start the fitted beta (or beta0). */
static double MxG2FitStart(const double *t, const double *y, const double *w, PetscInt n, PetscBool free_beta, double beta0, double *b_start)
{
  double sw = 0, st = 0, stt = 0, sl = 0, stl = 0, u = NAN, lb0 = log(beta0);
  int    m  = 0;

  *b_start = beta0;
  for (PetscInt i = 0; i < n; i++) {
    if (!(y[i] > 0)) continue;
    double wi = y[i] * w[i] * y[i] * w[i], l = log(y[i]);
    sw += wi;
    st += wi * t[i];
    stt += wi * t[i] * t[i];
    sl += wi * l;
    stl += wi * t[i] * l;
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
  PetscBool    free_beta = f->mode == MX_G2FIT_BETA_FREE ? PETSC_TRUE : PETSC_FALSE;
  PetscInt     m = 0, p = free_beta ? 2 : 1;
  double       u, bstart = 1.0;
  MxLsqProblem P;
  const char  *names[2] = {"u = Gamma tau_s", "beta"};

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
    double u0 = MxG2FitStart(f->t, f->y, f->w, m, free_beta, beta0, &bstart);
    f->tau_scale /= u0;
    for (PetscInt i = 0; i < m; i++) f->t[i] *= u0;
  }

  /* results that need no fit: too few points, or a fixed beta that is not a contrast */
  r->beta     = isfinite(beta0) ? beta0 : 0.0;
  r->beta_err = free_beta ? INFINITY : 0.0;
  r->gamma_err = INFINITY;
  r->chi2_red  = NAN;
  if (m < p || m == 0) {
    PetscCall(PetscStrncpy(r->reason, "too few points", sizeof(r->reason)));
    PetscCall(PetscLogEventEnd(MX_G2FIT_EXP, 0, 0, 0, 0));
    PetscFunctionReturn(0);
  }
  u = MxG2FitStart(f->t, f->y, f->w, m, free_beta, beta0, &bstart);
  if (!free_beta && !(beta0 > 0 && beta0 <= 2)) {
    r->gamma = u / f->tau_scale;
    PetscCall(PetscSNPrintf(r->reason, sizeof(r->reason), "fixed beta %g not in (0, 2]", beta0));
    PetscCall(PetscLogEventEnd(MX_G2FIT_EXP, 0, 0, 0, 0));
    PetscFunctionReturn(0);
  }
  f->beta_fixed = beta0;
  f->n          = m;
  f->p          = p;

  /* u >= 0; 0 < beta <= 2; both O(1) already (u ~ 1 by the rescaling above) */
  PetscCall(MxLsqProblemCreate(p, m, &P));
  P.names = names;
  PetscCall(PetscMalloc1(p, &P.scale));
  P.p[0]     = u;
  P.lo[0]    = 0.0;
  P.scale[0] = 1.0;
  if (p == 2) {
    P.p[1]     = bstart;
    P.lo[1]    = 1e-12;
    P.hi[1]    = 2.0;
    P.scale[1] = 1.0;
  }
  PetscCall(MxLsqSetStepTest(f->lsq, MX_LSQ_STEP_RELATIVE, f->xtol));
  PetscCall(MxLsqSolve(f->lsq, &P));
  r->converged = P.converged;
  PetscCall(PetscStrncpy(r->reason, P.reason, sizeof(r->reason)));
  r->gamma = P.p[0] / f->tau_scale;
  r->beta  = p == 2 ? P.p[1] : beta0;
  if (m > p) { /* covariance (J^T J)^-1 chi2/(m - p), as curve_fit */
    r->chi2_red  = P.chi2_red;
    r->gamma_err = P.err[0] / f->tau_scale;
    if (p == 2) r->beta_err = P.err[1];
  }
  PetscCall(PetscFree(P.scale));
  PetscCall(MxLsqProblemDestroy(&P));
  PetscCall(PetscLogEventEnd(MX_G2FIT_EXP, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}


/* One beta shared by nset curves, each with its own Gamma (see g2fit.h). Each set's points are
   rescaled to its own start decay time, as in MxG2FitExp, so that every u_j ~ 1. Not collective. */
PetscErrorCode MxG2FitExpShared(MxG2Fit f, int nset, const int *n, const double *tau_s, const double *y, const double *sigma, double beta0, MxG2FitResult *r)
{
  PetscInt     ntot = 0, m = 0, np, *set;
  double      *tsc, bsum = 0.0;
  int          nb = 0;
  PetscBool    b0ok = beta0 > 0 && beta0 <= 2 ? PETSC_TRUE : PETSC_FALSE;
  MxLsqProblem P;

  PetscFunctionBeginUser;
  PetscCheck(f && r && n, PETSC_COMM_SELF, PETSC_ERR_ARG_NULL, "MxG2FitExpShared: NULL fitter, counts or results");
  PetscCheck(nset >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "MxG2FitExpShared: %d sets, must be >= 1", nset);
  for (int s = 0; s < nset; s++) {
    PetscCheck(n[s] >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "MxG2FitExpShared: set %d has %d points, must be >= 0", s, n[s]);
    ntot += n[s];
  }
  PetscCall(PetscLogEventBegin(MX_G2FIT_EXP, 0, 0, 0, 0));
  if (ntot > f->cap) {
    PetscCall(PetscFree3(f->t, f->y, f->w));
    PetscCall(PetscMalloc3(ntot, &f->t, ntot, &f->y, ntot, &f->w));
    f->cap = ntot;
  }
  PetscCall(PetscMalloc3(nset + 1, &f->sh_off, nset, &set, nset, &tsc));
  f->nsh = 0;
  for (int s = 0, i0 = 0; s < nset; i0 += n[s], s++) { /* the valid points of each set, in its own time scale */
    PetscInt m0 = m;
    double   ts = 0.0, u0, bs;
    PetscCall(PetscMemzero(&r[s], sizeof(r[s])));
    r[s].gamma_err = r[s].beta_err = INFINITY;
    r[s].chi2_red  = NAN;
    for (int i = i0; i < i0 + n[s]; i++) {
      if (!isfinite(tau_s[i]) || !isfinite(y[i]) || !(sigma[i] > 0) || !isfinite(sigma[i])) continue;
      f->t[m] = tau_s[i];
      f->y[m] = y[i];
      f->w[m] = 1.0 / sigma[i];
      ts      = PetscMax(ts, fabs(tau_s[i]));
      m++;
    }
    if (m == m0) continue; /* no points: no Gamma for this set */
    if (!(ts > 0)) ts = 1.0;
    for (PetscInt i = m0; i < m; i++) f->t[i] /= ts;
    u0 = MxG2FitStart(f->t + m0, f->y + m0, f->w + m0, m - m0, b0ok ? PETSC_FALSE : PETSC_TRUE, beta0, &bs);
    for (PetscInt i = m0; i < m; i++) f->t[i] *= u0;
    tsc[f->nsh]       = ts / u0;
    set[f->nsh]       = s;
    f->sh_off[f->nsh] = m0;
    f->nsh++;
    bsum += bs;
    nb++;
  }
  f->sh_off[f->nsh] = m;
  np                = f->nsh + 1;
  for (int s = 0; s < nset; s++) {
    r[s].beta = b0ok ? beta0 : 0.0;
    PetscCall(PetscStrncpy(r[s].reason, "too few points", sizeof(r[s].reason)));
  }
  if (f->nsh == 0 || m < np) {
    PetscCall(PetscFree3(f->sh_off, set, tsc));
    PetscCall(PetscLogEventEnd(MX_G2FIT_EXP, 0, 0, 0, 0));
    PetscFunctionReturn(0);
  }

  /* u_j >= 0 (~1 by the rescaling), 0 < beta <= 2 starting at beta0, else the sets' log-linear intercepts */
  PetscCall(MxLsqProblemCreate(np, m, &P));
  PetscCall(PetscMalloc1(np, &P.scale));
  for (PetscInt j = 0; j < f->nsh; j++) {
    P.p[j]     = 1.0;
    P.lo[j]    = 0.0;
    P.scale[j] = 1.0;
  }
  P.p[f->nsh]     = b0ok ? beta0 : PetscMin(PetscMax(bsum / nb, 1e-6), 2.0);
  P.lo[f->nsh]    = 1e-12;
  P.hi[f->nsh]    = 2.0;
  P.scale[f->nsh] = 1.0;
  { /* a fresh solver for every ring: BRGN's subsolver keeps the sizes of an earlier problem
       after a failed solve ("Cannot change local size of Amat"), seen on uncorrected keV data */
    char full[256];
    PetscCall(MxLsqDestroy(&f->lsq_sh));
    PetscCall(MxLsqCreate(&f->lsq_sh));
    PetscCall(PetscSNPrintf(full, sizeof full, "%sfit_", f->prefix ? f->prefix : ""));
    PetscCall(MxLsqSetOptionsPrefix(f->lsq_sh, full));
    PetscCall(MxLsqSetFunctions(f->lsq_sh, MxG2FitSharedResidual, MxG2FitSharedJacobian, f));
    PetscCall(MxLsqSetMaxIterations(f->lsq_sh, 200, 4000));
    if (f->from_options) PetscCall(MxLsqSetFromOptions(f->lsq_sh));
  }
  PetscCall(MxLsqSetStepTest(f->lsq_sh, MX_LSQ_STEP_RELATIVE, f->xtol));
  PetscCall(MxLsqSolve(f->lsq_sh, &P));
  for (PetscInt j = 0; j < f->nsh; j++) {
    MxG2FitResult *rs = &r[set[j]];
    rs->converged     = P.converged;
    PetscCall(PetscStrncpy(rs->reason, P.reason, sizeof(rs->reason)));
    rs->gamma = P.p[j] / tsc[j];
    rs->beta  = P.p[f->nsh];
    if (m > np) { /* covariance (J^T J)^-1 chi2/(m - np), as curve_fit */
      rs->chi2_red  = P.chi2_red;
      rs->gamma_err = P.err[j] / tsc[j];
      rs->beta_err  = P.err[f->nsh];
    }
  }
  for (int s = 0; s < nset; s++) r[s].beta = P.p[f->nsh]; /* sets without points too: the ring's beta */
  PetscCall(PetscFree(P.scale));
  PetscCall(MxLsqProblemDestroy(&P));
  PetscCall(PetscFree3(f->sh_off, set, tsc));
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
