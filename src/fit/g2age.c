/* Age-resolved decay rates, the zero-age extrapolation and the jackknife (include/mxpcs/g2age.h). */
#include <mxpcs/g2age.h>
#include <mxpcs/lsq.h>
#include <mxpcs/sys.h>
#include <math.h>

const char *const MxExtrapolationNames[] = {"linear", "quadratic", "exponential", "heating"};

/* ---------- the heating model: Gamma(q, w) = Gamma0(q) <h>_w(dT0), dT0 shared by the rings ---------- */

typedef struct {
  const MxG2AgeLayout *L;
  PetscInt             nset;       /* sets of the same windows (dose groups), each with its amplitude scale */
  const double        *scale;
  const double *const *gam, *const *ge; /* per set: nring x nwin */
  PetscInt             nr, *ring;  /* rings fitted */
  double              *h, *hw, *hw1; /* h_n; per set the window means at dT0 and at dT0 + d */
  double               hw_at;      /* the dT0 that hw holds when hw_ok: the Jacobian at the point */
  int                  hw_ok;      /* whose residual was just evaluated reuses its windows */
} HeatCtx;

int MxG2AgeHeatingWindows(const MxG2AgeLayout *L, double dT0, double *h, double *hw)
{
  MxHeatModelFactors(L->heat, L->heat_sample, dT0, h);
  for (PetscInt w = 0; w < L->nwin; w++) {
    double m = 0;
    for (PetscInt n = L->win_start[w]; n < L->win_start[w] + L->win_len - 1; n++) m += h[n];
    hw[w] = m / (L->win_len - 1);
    if (!isfinite(hw[w])) return 1;
  }
  return 0;
}

/* per set, the window means of the model's factors at dT0 scale_s; nonzero outside the domain */
static int HeatWindows(HeatCtx *c, double dT0, double *hw)
{
  for (PetscInt st = 0; st < c->nset; st++)
    if (MxG2AgeHeatingWindows(c->L, dT0 * c->scale[st], c->h, hw + st * c->L->nwin)) return 1;
  return 0;
}

/* hw at dT0, computed again only when dT0 changed (the same bits either way) */
static int HeatWindowsAt(HeatCtx *c, double dT0)
{
  if (c->hw_ok && c->hw_at == dT0) return 0;
  c->hw_ok = 0;
  if (HeatWindows(c, dT0, c->hw)) return 1;
  c->hw_at = dT0;
  c->hw_ok = 1;
  return 0;
}

static int Usable(const HeatCtx *c, PetscInt st, PetscInt r, PetscInt w)
{
  const double g = c->gam[st][r * c->L->nwin + w], e = c->ge[st][r * c->L->nwin + w];
  return isfinite(g) && e > 0 && isfinite(e);
}

/* p = (Gamma0 of each fitted ring, dT0) */
static int HeatResidual(const double *p, double *res, void *ctx)
{
  HeatCtx             *c = ctx;
  const MxG2AgeLayout *L = c->L;
  PetscInt             k = 0;
  if (HeatWindowsAt(c, p[c->nr])) return 1;
  for (PetscInt st = 0; st < c->nset; st++)
    for (PetscInt i = 0; i < c->nr; i++)
      for (PetscInt w = 0; w < L->nwin; w++) {
        const PetscInt r = c->ring[i];
        if (!Usable(c, st, r, w)) continue;
        res[k++] = (p[i] * c->hw[st * L->nwin + w] - c->gam[st][r * L->nwin + w]) / c->ge[st][r * L->nwin + w];
      }
  return 0;
}

static int HeatJacobian(const double *p, double *J, void *ctx)
{
  HeatCtx             *c = ctx;
  const MxG2AgeLayout *L = c->L;
  const double         d = 1e-4 * PetscMax(p[c->nr], 0.01);
  PetscInt             nres = 0, k = 0;
  if (HeatWindows(c, p[c->nr] + d, c->hw1) || HeatWindowsAt(c, p[c->nr])) return 1;
  for (PetscInt st = 0; st < c->nset; st++)
    for (PetscInt i = 0; i < c->nr; i++)
      for (PetscInt w = 0; w < L->nwin; w++) nres += Usable(c, st, c->ring[i], w);
  for (size_t j = 0; j < (size_t)(c->nr + 1) * nres; j++) J[j] = 0;
  for (PetscInt st = 0; st < c->nset; st++)
    for (PetscInt i = 0; i < c->nr; i++)
      for (PetscInt w = 0; w < L->nwin; w++) {
        const PetscInt r = c->ring[i], sw = st * L->nwin + w;
        if (!Usable(c, st, r, w)) continue;
        const double e = c->ge[st][r * L->nwin + w];
        J[(size_t)i * nres + k]     = c->hw[sw] / e;
        J[(size_t)c->nr * nres + k] = p[i] * (c->hw1[sw] - c->hw[sw]) / d / e;
        k++;
      }
  return 0;
}

PetscErrorCode MxG2AgeHeatingFit(const MxG2AgeLayout *L, PetscInt nset, const double *scale, const double *const *gam, const double *const *ge, double *gam0, double *g0err, double *dT0)
{
  HeatCtx      c = {.L = L, .nset = nset, .scale = scale, .gam = gam, .ge = ge};
  PetscInt     nres = 0, nint = 0;
  MxLsqProblem P;
  MxLsq        lsq;

  PetscFunctionBeginUser;
  for (PetscInt r = 0; r < L->nring; r++) gam0[r] = g0err[r] = NAN;
  if (dT0) dT0[0] = dT0[1] = NAN;
  for (PetscInt w = 0; w < L->nwin; w++) nint = PetscMax(nint, L->win_start[w] + L->win_len - 1);
  PetscCall(PetscMalloc4(L->nring, &c.ring, nint, &c.h, nset * L->nwin, &c.hw, nset * L->nwin, &c.hw1));
  for (PetscInt r = 0; r < L->nring; r++) {
    PetscInt m = 0;
    for (PetscInt st = 0; st < nset; st++)
      for (PetscInt w = 0; w < L->nwin; w++) m += Usable(&c, st, r, w);
    if (m) c.ring[c.nr++] = r;
    nres += m;
  }
  if (L->heat_dT0 > 0) { /* fixed: Gamma0 per ring in closed form */
    if (!HeatWindows(&c, L->heat_dT0, c.hw))
      for (PetscInt i = 0; i < c.nr; i++) {
        const PetscInt r = c.ring[i];
        double         sy = 0, shh = 0;
        for (PetscInt st = 0; st < nset; st++)
          for (PetscInt w = 0; w < L->nwin; w++) {
            if (!Usable(&c, st, r, w)) continue;
            const double iw = 1 / (ge[st][r * L->nwin + w] * ge[st][r * L->nwin + w]), hh = c.hw[st * L->nwin + w];
            sy += iw * gam[st][r * L->nwin + w] * hh;
            shh += iw * hh * hh;
          }
        gam0[r]  = sy / shh;
        g0err[r] = 1 / sqrt(shh);
      }
    if (dT0) {
      dT0[0] = L->heat_dT0;
      dT0[1] = 0;
    }
  } else if (c.nr >= 1 && nres > c.nr + 1) {
    PetscCall(MxLsqProblemCreate(c.nr + 1, nres, &P));
    for (PetscInt i = 0; i < c.nr; i++) {
      const PetscInt r = c.ring[i];
      P.p[i] = NAN;
      for (PetscInt st = 0; st < nset; st++)
        for (PetscInt w = 0; w < L->nwin && !isfinite(P.p[i]); w++)
          if (Usable(&c, st, r, w)) P.p[i] = gam[st][r * L->nwin + w];
      P.lo[i] = 0;
      P.hi[i] = INFINITY;
    }
    P.p[c.nr]  = 0.5; /* K */
    P.lo[c.nr] = 0;
    P.hi[c.nr] = INFINITY;
    PetscCall(MxLsqCreate(&lsq));
    PetscCall(MxLsqSetFunctions(lsq, HeatResidual, HeatJacobian, &c));
    PetscCall(MxLsqSetStepTest(lsq, MX_LSQ_STEP_SIGMA, 1e-4));
    PetscCall(MxLsqSolve(lsq, &P));
    if (P.converged) {
      for (PetscInt i = 0; i < c.nr; i++) {
        gam0[c.ring[i]]  = P.p[i];
        g0err[c.ring[i]] = P.err[i];
      }
      if (dT0) {
        dT0[0] = P.p[c.nr];
        dT0[1] = P.err[c.nr];
      }
    }
    PetscCall(MxLsqDestroy(&lsq));
    PetscCall(MxLsqProblemDestroy(&P));
  }
  PetscCall(PetscFree4(c.ring, c.h, c.hw, c.hw1));
  PetscFunctionReturn(0);
}

PetscErrorCode MxG2AgeExtrapolate(const MxG2AgeLayout *L, MxExtrapolation method, const double *gam, const double *ge, double *gam0, double *g0err)
{
  double x[64];

  PetscFunctionBeginUser;
  if (method == MX_EXTRAP_HEATING) {
    const double one = 1;
    PetscCall(MxG2AgeHeatingFit(L, 1, &one, &gam, &ge, gam0, g0err, L->heat_out));
    PetscFunctionReturn(0);
  }
  for (PetscInt w = 0; w < L->nwin && w < 64; w++) x[w] = L->age[w] + 0.5 * L->dt_s; /* from zero dose */
  for (PetscInt r = 0; r < L->nring; r++) {
    const double *g = gam + r * L->nwin, *e = ge + r * L->nwin;
    if (L->nwin == 1) { /* Gamma at that age, not extrapolated (the summary says so) */
      gam0[r]  = g[0];
      g0err[r] = e[0];
    } else if (L->nwin > 64) gam0[r] = g0err[r] = NAN;
    else if (method == MX_EXTRAP_EXPONENTIAL) { /* ln Gamma linear in age */
      double lg[64], le[64], l0, l0e;
      for (PetscInt w = 0; w < L->nwin; w++) {
        lg[w] = g[w] > 0 ? log(g[w]) : NAN;
        le[w] = g[w] > 0 ? e[w] / g[w] : NAN;
      }
      if (MxExtrapolateZero((int)L->nwin, x, lg, le, 1, &l0, &l0e)) gam0[r] = g0err[r] = NAN;
      else {
        gam0[r]  = exp(l0);
        g0err[r] = gam0[r] * l0e;
      }
    } else if (MxExtrapolateZero((int)L->nwin, x, g, e, (int)method, &gam0[r], &g0err[r])) gam0[r] = g0err[r] = NAN;
  }
  PetscFunctionReturn(0);
}

/* The points of ring r, window w: lags with an error > 0 and a finite g2; returns how many. */
static int WindowPoints(const MxG2AgeLayout *L, const double *g2, const double *g2err, PetscInt r, PetscInt w, double *tau, double *y, double *sg)
{
  int m = 0;
  for (size_t k = 0; k < (size_t)L->ntau; k++) {
    size_t i = (r * L->nwin + w) * (size_t)L->ntau + k;
    if (!(g2err[i] > 0) || !isfinite(g2[i])) continue;
    tau[m] = (k + 1) * L->dt_s;
    y[m]   = g2[i] - 1;
    sg[m]  = g2err[i];
    m++;
  }
  return m;
}

/* One beta per ring shared by its age windows, fitted with their Gammas (MxG2FitExpShared): into
   gam/gerr when they are given (-fit_beta shared), into bfit/bfit_err when they are. */
static PetscErrorCode G2AgeFitShared(MxG2Fit fit, const MxG2AgeLayout *L, const double *g2, const double *g2err, const double *beta, double *gam, double *gerr, double *bfit, double *bfit_err, PetscBool quiet)
{
  size_t         ntau = (size_t)L->ntau, nall = (size_t)L->nwin * ntau;
  double        *tau, *y, *sg;
  int           *n;
  MxG2FitResult *rs;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc5(nall, &tau, nall, &y, nall, &sg, L->nwin, &n, L->nwin, &rs));
  for (PetscInt r = 0; r < L->nring; r++) {
    int m = 0, ok = 0;
    for (PetscInt w = 0; w < L->nwin; w++) {
      n[w] = WindowPoints(L, g2, g2err, r, w, tau + m, y + m, sg + m);
      m += n[w];
    }
    PetscCall(MxG2FitExpShared(fit, (int)L->nwin, n, tau, y, sg, beta[r], rs));
    for (PetscInt w = 0; w < L->nwin; w++) {
      ok |= rs[w].converged;
      if (gam) gam[r * L->nwin + w] = rs[w].converged ? rs[w].gamma : NAN;
      if (gerr) gerr[r * L->nwin + w] = rs[w].converged ? rs[w].gamma_err : NAN;
    }
    if (bfit) {
      bfit[r]     = ok ? rs[0].beta : NAN;
      bfit_err[r] = ok ? rs[0].beta_err : NAN;
    }
    if (!ok && !quiet) PetscCall(PetscInfo(NULL, "ring %" PetscInt_FMT ": g2 fit with a shared beta did not converge (%s)\n", r, rs[0].reason));
  }
  PetscCall(PetscFree5(tau, y, sg, n, rs));
  PetscFunctionReturn(0);
}

int MxG2AgeBetaDisagree(double beta, double beta_err, double bfit, double bfit_err)
{
  double d = beta - bfit, sg = sqrt(beta_err * beta_err + bfit_err * bfit_err);
  return isfinite(d) && isfinite(sg) && fabs(d) > 3 * sg;
}

/* Gamma(q, age) by the g2 fits (g2 - 1 = beta exp(-2 Gamma tau)) and Gamma(q, 0) by the
   extrapolation, from g2 (not - 1) with errors g2err and the contrast beta; gerr/g0err may be
   NULL. bfit/bfit_err (NULL, or nring): the fitted intercept per ring (g2age.h). quiet: no
   PetscInfo for fits that do not converge. */
PetscErrorCode MxG2AgeFit(MxG2Fit fit, const MxG2AgeLayout *L, const double *g2, const double *g2err, const double *beta, const double *wgam_err, double *gam, double *gerr, double *gam0, double *g0err, double *bfit, double *bfit_err, PetscBool quiet)
{
  size_t        ntau = (size_t)L->ntau;
  const double *age  = L->age;
  double       *tau, *y, *sg, *e0 = NULL, *bw = NULL, *bwe = NULL;
  MxG2FitBeta   mode;

  PetscFunctionBeginUser;
  PetscCall(MxG2FitGetBetaMode(fit, &mode));
  if (mode == MX_G2FIT_BETA_SHARED) PetscCall(G2AgeFitShared(fit, L, g2, g2err, beta, gam, gerr, bfit, bfit_err, quiet));
  else if (bfit && mode == MX_G2FIT_BETA_FIXED) PetscCall(G2AgeFitShared(fit, L, g2, g2err, beta, NULL, NULL, bfit, bfit_err, PETSC_TRUE)); /* for the report only */
  if (bfit && mode == MX_G2FIT_BETA_FREE) PetscCall(PetscMalloc2(L->nwin, &bw, L->nwin, &bwe));
  PetscCall(PetscMalloc3(ntau, &tau, ntau, &y, ntau, &sg));
  for (PetscInt r = 0; r < L->nring && mode != MX_G2FIT_BETA_SHARED; r++) {
    for (PetscInt w = 0; w < L->nwin; w++) {
      MxG2FitResult fr;
      int           m = WindowPoints(L, g2, g2err, r, w, tau, y, sg);
      PetscCall(MxG2FitExp(fit, m, tau, y, sg, beta[r], &fr));
      gam[r * L->nwin + w] = fr.converged ? fr.gamma : NAN;
      if (gerr) gerr[r * L->nwin + w] = fr.converged ? fr.gamma_err : NAN;
      if (!fr.converged && !quiet) PetscCall(PetscInfo(NULL, "ring %" PetscInt_FMT " age %g s: g2 fit did not converge (%s)\n", r, age[w], fr.reason));
      if (bw) {
        bw[w]  = fr.converged ? fr.beta : NAN;
        bwe[w] = fr.converged ? fr.beta_err : NAN;
      }
    }
    if (bw && MxWeightedMean((int)L->nwin, bw, bwe, &bfit[r], &bfit_err[r])) bfit[r] = bfit_err[r] = NAN; /* free: the windows' betas */
  }
  PetscCall(PetscFree2(bw, bwe));
  if (!g0err) PetscCall(PetscMalloc1(L->nring, &e0));
  PetscCall(MxG2AgeExtrapolate(L, (MxExtrapolation)L->extrap_order, gam, gerr ? gerr : wgam_err, gam0, g0err ? g0err : e0));
  PetscCall(PetscFree(e0));
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
PetscErrorCode MxG2AgeJackknife(MPI_Comm comm, MxG2Fit fit, const MxG2AgeLayout *L, double n, PetscInt jk, const double *g2sum, const double *jk_g2, const double *bsum, const double *jk_b, const double *jk_n, const double *g2err, double *gam_err, double *gam0_err, double *bfit_err, PetscInt *Kout, double **gamJ, double **g0J, PetscInt *fallback)
{
  const size_t ntau = (size_t)L->ntau, ng = (size_t)L->nring * L->nwin * ntau, nrw = (size_t)L->nring * L->nwin;
  double      *in = NULL, *g2m, *bm, *gJ = NULL, *g0 = NULL, *bJ = NULL, *bJe, *mine, *all = NULL;
  PetscInt     K  = 0;
  PetscMPIInt  rank, size;
  int          want_b;

  PetscFunctionBeginUser;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  *g0J      = NULL;
  *gamJ     = NULL;
  *Kout     = 0;
  *fallback = 0;
  { /* rank 0's run: its size, its groups, whether the intercept's errors are wanted */
    double hdr[3] = {n, (double)jk, bfit_err ? 1.0 : 0.0};
    PetscCallMPI(MPI_Bcast(hdr, 3, MPI_DOUBLE, 0, comm));
    n      = hdr[0];
    jk     = (PetscInt)hdr[1];
    want_b = hdr[2] != 0;
  }
  if (jk < 2) PetscFunctionReturn(0);
  /* and its sums, the full run's g2 errors and the Gamma errors that weight the extrapolation */
  const size_t nin = ng + (size_t)jk * ng + (size_t)L->nring + (size_t)jk * L->nring + (size_t)jk + ng + nrw;
  PetscCall(PetscMalloc1(nin, &in));
  double *G2sum = in, *JkG2 = G2sum + ng, *Bsum = JkG2 + (size_t)jk * ng, *JkB = Bsum + L->nring, *JkN = JkB + (size_t)jk * L->nring, *G2err = JkN + jk, *Wgam = G2err + ng;
  if (!rank) {
    PetscCall(PetscArraycpy(G2sum, g2sum, ng));
    PetscCall(PetscArraycpy(JkG2, jk_g2, (size_t)jk * ng));
    PetscCall(PetscArraycpy(Bsum, bsum, L->nring));
    PetscCall(PetscArraycpy(JkB, jk_b, (size_t)jk * L->nring));
    PetscCall(PetscArraycpy(JkN, jk_n, jk));
    PetscCall(PetscArraycpy(G2err, g2err, ng));
    PetscCall(PetscArraycpy(Wgam, gam_err, nrw));
  }
  PetscCallMPI(MPI_Bcast(in, (int)nin, MPI_DOUBLE, 0, comm));
  for (PetscInt b = 0; b < jk; b++) K += JkN[b] > 0 && JkN[b] < n;
  if (K < 2) {
    PetscCall(PetscFree(in));
    PetscFunctionReturn(0);
  }
  /* the groups in turn over the ranks (group k on rank k mod size), each from fresh solvers, so
     that a group's fits give the same bits on any rank and in any order */
  const size_t row = nrw + L->nring + (want_b ? L->nring : 0);
  PetscMPIInt  nmine = 0;
  for (PetscInt k = rank; k < K; k += size) nmine++;
  PetscCall(PetscMalloc4(ng, &g2m, L->nring, &bm, L->nring, &bJe, (size_t)nmine * row + 1, &mine));
  PetscErrorCode ierr = 0;
  for (PetscInt b = 0, k = 0, j = 0; b < jk && !ierr; b++) {
    double nn = n - JkN[b];
    if (!(JkN[b] > 0 && nn > 0)) continue;
    if (k++ % size != rank) continue;
    double *o = mine + (size_t)j++ * row; /* Gamma per ring and window, Gamma0 per ring, the intercept per ring */
    for (size_t i = 0; i < ng; i++) g2m[i] = (G2sum[i] - JkG2[(size_t)b * ng + i]) / nn + 1.0;
    for (PetscInt r = 0; r < L->nring; r++) bm[r] = (Bsum[r] - JkB[b * L->nring + r]) / nn;
    ierr = MxG2FitReset(fit);
    if (!ierr) ierr = MxG2AgeFit(fit, L, g2m, G2err, bm, Wgam, o, NULL, o + nrw, NULL, want_b ? o + nrw + L->nring : NULL, want_b ? bJe : NULL, PETSC_TRUE);
  }
  PetscCall(MxErrorSync(comm, ierr));
  { /* the samples to rank 0, in the groups' order */
    PetscMPIInt *cnt = NULL, *dsp = NULL;
    if (!rank) {
      PetscCall(PetscMalloc1((size_t)K * row, &all));
      PetscCall(PetscMalloc2(size, &cnt, size, &dsp));
      for (PetscMPIInt p = 0, off = 0; p < size; p++) {
        PetscMPIInt m = 0;
        for (PetscInt k = p; k < K; k += size) m++;
        cnt[p] = m * (PetscMPIInt)row;
        dsp[p] = off;
        off += cnt[p];
      }
    }
    PetscCallMPI(MPI_Gatherv(mine, nmine * (PetscMPIInt)row, MPI_DOUBLE, all, cnt, dsp, MPI_DOUBLE, 0, comm));
    if (!rank) {
      PetscCall(PetscMalloc1((size_t)K * nrw, &gJ));
      PetscCall(PetscMalloc1((size_t)K * L->nring, &g0));
      if (want_b) PetscCall(PetscMalloc1((size_t)K * L->nring, &bJ));
      for (PetscMPIInt p = 0; p < size; p++)
        for (PetscInt k = p, j = 0; k < K; k += size, j++) {
          const double *o = all + dsp[p] + (size_t)j * row;
          PetscCall(PetscArraycpy(gJ + (size_t)k * nrw, o, nrw));
          PetscCall(PetscArraycpy(g0 + (size_t)k * L->nring, o + nrw, L->nring));
          if (want_b) PetscCall(PetscArraycpy(bJ + (size_t)k * L->nring, o + nrw + L->nring, L->nring));
        }
      PetscCall(PetscFree2(cnt, dsp));
      PetscCall(PetscFree(all));
    }
  }
  PetscCall(PetscFree4(g2m, bm, bJe, mine));
  PetscCall(PetscFree(in));
  *Kout = K;
  if (rank) PetscFunctionReturn(0);
  *g0J = g0;

  /* sigma^2 = (K - 1)/K sum_k (x_k - mean)^2 */
  for (PetscInt r = 0; r < L->nring; r++) {
    for (PetscInt w = bJ ? -2 : -1; w < L->nwin; w++) { /* w = -1: Gamma0; -2: the intercept */
      double s = 0, s2 = 0, m;
      int    ok = 1;
      for (PetscInt k = 0; k < K; k++) {
        double x = w == -2 ? bJ[k * L->nring + r] : w < 0 ? (*g0J)[k * L->nring + r] : gJ[((size_t)k * L->nring + r) * L->nwin + w];
        ok &= isfinite(x);
        s += x;
      }
      if (!ok) {
        if (w == -1) (*fallback)++;
        continue;
      }
      m = s / K;
      for (PetscInt k = 0; k < K; k++) {
        double x = w == -2 ? bJ[k * L->nring + r] : w < 0 ? (*g0J)[k * L->nring + r] : gJ[((size_t)k * L->nring + r) * L->nwin + w];
        s2 += (x - m) * (x - m);
      }
      if (w == -2) bfit_err[r] = sqrt((K - 1.0) / K * s2);
      else if (w < 0) gam0_err[r] = sqrt((K - 1.0) / K * s2);
      else gam_err[r * L->nwin + w] = sqrt((K - 1.0) / K * s2);
    }
  }
  PetscCall(PetscFree(bJ));
  *gamJ = gJ; /* written: the joint fit takes the windows' correlation from it */
  PetscFunctionReturn(0);
}

