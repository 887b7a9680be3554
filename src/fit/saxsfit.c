/* MxSaxsModel: weighted least-squares fit of a SAXS model to I(q) with PETSc/TAO (BRGN, bounds),
   starting values from a grid search with the linear parameters projected out, errors and
   correlations from the Jacobian (design.md 1.7; seed paper Methods). See saxsfit.h, docs/fit.md. */
#include <mxpcs/saxsfit.h>
#include <mxpcs/lsq.h>
#include <mxpcs/sys.h>
#include <mxpcs/models.h>
#include <math.h>
#include <stdlib.h>

#define NP MX_SAXS_NPAR

int MxSaxsModelEvalPart(const MxSaxsSpec *spec, const double p[], size_t nq, const double *q, double *Iq, double *J, double *P, double *S, double *Reff, int nonlin); /* saxsmodel.c */

static PetscLogEvent MX_SAXS_FIT;

static int SaxsResidual(const double *x, double *r, void *ctx);
static int SaxsJacobian(const double *x, double *J, void *ctx);

struct _p_MxSaxsModel {
  MPI_Comm   comm;
  MxSaxsSpec spec;
  double     start[NP];      /* user starting values (NAN: from the data) */
  PetscBool  fixed[NP];
  double     lo[NP], hi[NP];
  double     q_min, q_max;   /* fitted range, 1/angstrom */
  double     xtol;           /* converged when every Gauss-Newton step component < xtol sigma */
  PetscBool  view;           /* -saxs_view */
  MxLsq      lsq;            /* the least-squares layer, prefix saxs_ (-saxs_tao_type ...) */
  /* data: the valid points as given, and the fitted subset (q, y, w = 1/Ierr) */
  PetscInt   n, ndropped;
  double    *q, *Iq, *Ierr;
  PetscInt   m;
  double    *fq, *fy, *fw;
  /* fit workspace */
  int        nfree, idx[NP];
  double     p[NP];          /* full parameter vector (fixed and unused slots included) */
  double     xs[NP];         /* typical size of the free parameter j */
  double    *Iw, *Jw;        /* m, m*NP model workspace */
  PetscBool  have;
  MxSaxsResult res;
};

/* ------------------------------------------------------------------ object basics */

PetscErrorCode MxSaxsModelCreate(MPI_Comm comm, MxSaxsModel *out)
{
  MxSaxsModel s;

  PetscFunctionBeginUser;
  PetscCheck(out, comm, PETSC_ERR_ARG_NULL, "MxSaxsModelCreate: NULL output pointer");
  PetscCall(MxLogEventRegisterOnce("MxSaxsModel", "MxSaxsModelFit", &MX_SAXS_FIT));
  PetscCall(PetscNew(&s));
  s->comm         = comm;
  s->spec.type    = MX_SAXS_SPHERE;
  s->spec.porod   = 0;
  s->spec.npts    = 35; /* sasmodels' defaults for radius_pd_n, radius_pd_nsigma */
  s->spec.nsigmas = 3.0;
  s->q_min        = 0.0;
  s->q_max        = INFINITY;
  s->xtol         = 1e-8;
  for (int k = 0; k < NP; k++) {
    s->start[k] = NAN;
    s->lo[k]    = 0.0;
    s->hi[k]    = INFINITY;
  }
  s->lo[MX_SAXS_RADIUS]     = 1.0;
  s->hi[MX_SAXS_RADIUS]     = 1e5;
  s->hi[MX_SAXS_PD]         = 0.3;
  s->lo[MX_SAXS_BACKGROUND] = -INFINITY;
  s->hi[MX_SAXS_PHI]        = 0.6;
  PetscCall(MxLsqCreate(&s->lsq));
  PetscCall(MxLsqSetOptionsPrefix(s->lsq, "saxs_"));
  PetscCall(MxLsqSetFunctions(s->lsq, SaxsResidual, SaxsJacobian, s));
  *out                      = s;
  PetscFunctionReturn(0);
}

PetscErrorCode MxSaxsModelSetType(MxSaxsModel s, MxSaxsModelType type, PetscBool porod)
{
  PetscFunctionBeginUser;
  PetscCheck(type >= 0 && type < MX_SAXS_NMODELS, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "MxSaxsModelSetType: unknown model %d", (int)type);
  s->spec.type  = type;
  s->spec.porod = porod ? 1 : 0;
  PetscFunctionReturn(0);
}

PetscErrorCode MxSaxsModelGetSpec(MxSaxsModel s, MxSaxsSpec *spec)
{
  PetscFunctionBeginUser;
  *spec = s->spec;
  PetscFunctionReturn(0);
}

PetscErrorCode MxSaxsModelSetParameter(MxSaxsModel s, int k, double value, PetscBool fixed)
{
  PetscFunctionBeginUser;
  PetscCheck(k >= 0 && k < NP, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "MxSaxsModelSetParameter: no parameter slot %d", k);
  PetscCheck(!fixed || isfinite(value), s->comm, PETSC_ERR_ARG_WRONG, "SAXS parameter %s: a fixed parameter needs a finite value", MxSaxsParamNames[k]);
  s->start[k] = value;
  s->fixed[k] = fixed;
  PetscFunctionReturn(0);
}

PetscErrorCode MxSaxsModelSetBounds(MxSaxsModel s, int k, double lo, double hi)
{
  PetscFunctionBeginUser;
  PetscCheck(k >= 0 && k < NP, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "MxSaxsModelSetBounds: no parameter slot %d", k);
  PetscCheck(lo < hi && !isnan(lo) && !isnan(hi), s->comm, PETSC_ERR_ARG_OUTOFRANGE, "SAXS parameter %s: bounds %g,%g need lo < hi", MxSaxsParamNames[k], lo, hi);
  s->lo[k] = lo;
  s->hi[k] = hi;
  PetscFunctionReturn(0);
}

PetscErrorCode MxSaxsModelSetQRange(MxSaxsModel s, double q_min, double q_max)
{
  PetscFunctionBeginUser;
  PetscCheck(q_min >= 0 && q_max > q_min, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "SAXS q range %g:%g needs 0 <= q_min < q_max", q_min, q_max);
  s->q_min = q_min;
  s->q_max = q_max;
  PetscFunctionReturn(0);
}

/* "a:b", "a:" or ":b" in 1/angstrom */
static PetscErrorCode ParseQRange(MPI_Comm comm, const char *str, double *a, double *b)
{
  const char *colon = strchr(str, ':');
  char       *end;

  PetscFunctionBeginUser;
  PetscCheck(colon, comm, PETSC_ERR_ARG_WRONG, "option -saxs_q_range: '%s' is not a range q_min:q_max (1/angstrom)", str);
  *a = 0.0;
  *b = INFINITY;
  if (colon != str) {
    *a = strtod(str, &end);
    PetscCheck(end == colon, comm, PETSC_ERR_ARG_WRONG, "option -saxs_q_range: '%s': q_min is not a number", str);
  }
  if (colon[1]) {
    *b = strtod(colon + 1, &end);
    PetscCheck(*end == 0, comm, PETSC_ERR_ARG_WRONG, "option -saxs_q_range: '%s': q_max is not a number", str);
  }
  PetscCheck(*a >= 0 && *b > *a, comm, PETSC_ERR_ARG_OUTOFRANGE, "option -saxs_q_range: '%s' needs 0 <= q_min < q_max", str);
  PetscFunctionReturn(0);
}

PetscErrorCode MxSaxsModelSetFromOptions(MxSaxsModel s)
{
  static const char *starts[NP] = {"-saxs_radius", "-saxs_pd", "-saxs_scale", "-saxs_background", "-saxs_phi", "-saxs_scale_liquid", "-saxs_porod_amplitude", "-saxs_hs_excess"};
  static const char *helps[NP]  = {"Mean sphere radius (angstrom), starting value (default: grid search on the data)", "Relative Gaussian width of the radius distribution sigma_r/radius (sasmodels radius_pd), starting value", "Scale: I units per sasmodels sphere (1/cm at sld contrast 1e-6/A^2), starting value (default: linear least squares)", "Flat background (I units), starting value", "Hard-sphere volume fraction of the Percus-Yevick S(q), starting value", "colloid+liquid: amplitude of the liquid part scale_liquid P(q) S(q), starting value", "Amplitude of the porod/q^4 low-q term (I units * angstrom^-4), starting value", "colloid+liquid: hard-sphere diameter of S_PY minus 2 radius_effective of the form factor (angstrom, >= 0), starting value (default 0.1 radius); -saxs_fix hs_excess -saxs_hs_excess 0: the diameter tied to 2R"};
  PetscInt    model = s->spec.type, nfix = NP, npts = s->spec.npts;
  PetscBool   porod = s->spec.porod ? PETSC_TRUE : PETSC_FALSE, porod_set;
  char       *fix[NP], fixn[NP][64];
  char        qr[128] = "", opt[64], help[160];
  double      nsig = s->spec.nsigmas, start_opt[NP], bnd[NP][2];
  PetscBool   start_set[NP], bnd_set[NP];

  PetscFunctionBeginUser;
  PetscOptionsBegin(s->comm, NULL, "SAXS model fit (MxSaxsModel)", "MxSaxsModel");
  PetscCall(PetscOptionsEList("-saxs_model", "SAXS model: sphere (polydisperse), sphere@hardsphere (sasmodels P*S with Percus-Yevick S), colloid+liquid (seed paper: scale P + scale_liquid P S)", "MxSaxsModelSetType", MxSaxsModelTypes, MX_SAXS_NMODELS, MxSaxsModelTypes[model], &model, NULL));
  porod = model == MX_SAXS_COLLOID_LIQUID ? PETSC_TRUE : porod;
  PetscCall(PetscOptionsBool("-saxs_porod", "Add a porod/q^4 low-q term (default on for colloid+liquid, as the seed paper's liquid model)", "MxSaxsModelSetType", porod, &porod, &porod_set));
  for (int k = 0; k < NP; k++) {
    start_opt[k] = s->start[k];
    PetscCall(PetscOptionsReal(starts[k], helps[k], "MxSaxsModelSetParameter", start_opt[k], &start_opt[k], &start_set[k]));
  }
  PetscCall(PetscOptionsStringArray("-saxs_fix", "Parameters held at their starting value, e.g. radius,pd (names: radius pd scale background phi scale_liquid porod hs_excess)", "MxSaxsModelSetParameter", fix, &nfix, NULL));
  for (PetscInt i = 0; i < nfix && nfix < NP; i++) { /* copies, so that an error below leaks nothing */
    snprintf(fixn[i], sizeof fixn[i], "%s", fix[i]);
    PetscCall(PetscFree(fix[i]));
    fix[i] = fixn[i];
  }
  for (int k = 0; k < NP; k++) {
    PetscInt two = 2;
    bnd[k][0]    = s->lo[k];
    bnd[k][1]    = s->hi[k];
    PetscCall(PetscSNPrintf(opt, sizeof opt, "-saxs_%s_bounds", MxSaxsParamNames[k]));
    PetscCall(PetscSNPrintf(help, sizeof help, "Bounds lo,hi of %s (default %g,%g; inf allowed)", MxSaxsParamNames[k], s->lo[k], s->hi[k]));
    PetscCall(PetscOptionsRealArray(opt, help, "MxSaxsModelSetBounds", bnd[k], &two, &bnd_set[k]));
    PetscCheck(!bnd_set[k] || two == 2, s->comm, PETSC_ERR_ARG_WRONG, "option %s needs two values lo,hi", opt);
  }
  PetscCall(PetscOptionsString("-saxs_q_range", "Fitted q range q_min:q_max in 1/angstrom (either side may be empty)", "MxSaxsModelSetQRange", qr, qr, sizeof qr, NULL));
  PetscCall(PetscOptionsInt("-saxs_pd_npts", "Points of the Gaussian size-distribution grid (sasmodels radius_pd_n)", "MxSaxsModelEval", npts, &npts, NULL));
  PetscCall(PetscOptionsReal("-saxs_pd_nsigmas", "Half-width of the size-distribution grid in sigmas (sasmodels radius_pd_nsigma)", "MxSaxsModelEval", nsig, &nsig, NULL));
  PetscCall(PetscOptionsReal("-saxs_xtol", "Converged when every Gauss-Newton step is below xtol times the parameter's standard error", "MxSaxsModelFit", s->xtol, &s->xtol, NULL));
  PetscCall(PetscOptionsBool("-saxs_view", "Print the fitted parameters", "MxSaxsModelView", s->view, &s->view, NULL));
  PetscOptionsEnd();

  PetscCheck(npts >= 1 && npts <= 1000, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -saxs_pd_npts: %d must be in 1..1000", (int)npts);
  PetscCheck(nsig > 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -saxs_pd_nsigmas: %g must be > 0", nsig);
  PetscCheck(s->xtol > 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -saxs_xtol: %g must be > 0", s->xtol);
  s->spec.npts    = (int)npts;
  s->spec.nsigmas = nsig;
  PetscCall(MxSaxsModelSetType(s, (MxSaxsModelType)model, porod));
  for (int k = 0; k < NP; k++) {
    if (bnd_set[k]) {
      PetscCall(PetscSNPrintf(opt, sizeof opt, "-saxs_%s_bounds", MxSaxsParamNames[k]));
      PetscCheck(bnd[k][0] < bnd[k][1], s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option %s: %g,%g needs lo < hi", opt, bnd[k][0], bnd[k][1]);
      PetscCheck(MxSaxsParamUsed(&s->spec, k), s->comm, PETSC_ERR_ARG_WRONG, "option %s: model %s has no parameter %s%s", opt, MxSaxsModelTypes[model], MxSaxsParamNames[k], k == MX_SAXS_POROD ? " (add -saxs_porod 1)" : "");
      s->lo[k] = bnd[k][0];
      s->hi[k] = bnd[k][1];
    }
    if (start_set[k]) {
      PetscCheck(MxSaxsParamUsed(&s->spec, k), s->comm, PETSC_ERR_ARG_WRONG, "option %s: model %s has no parameter %s%s", starts[k], MxSaxsModelTypes[model], MxSaxsParamNames[k], k == MX_SAXS_POROD ? " (add -saxs_porod 1)" : "");
      PetscCheck(isfinite(start_opt[k]), s->comm, PETSC_ERR_ARG_WRONG, "option %s: %g is not a finite number", starts[k], start_opt[k]);
      s->start[k] = start_opt[k];
    }
  }
  PetscCheck(s->hi[MX_SAXS_PD] * nsig < 1.0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -saxs_pd_bounds: upper bound %g times -saxs_pd_nsigmas %g must be < 1 (no negative radii on the size grid)", s->hi[MX_SAXS_PD], nsig);
  PetscCheck(s->lo[MX_SAXS_RADIUS] > 0 && s->lo[MX_SAXS_PD] >= 0, s->comm, PETSC_ERR_ARG_OUTOFRANGE, "options -saxs_radius_bounds, -saxs_pd_bounds: radius must stay > 0 and pd >= 0");
  if (nfix < NP) {
    for (PetscInt i = 0; i < nfix; i++) {
      int k = -1;
      for (int j = 0; j < NP; j++)
        if (!strcmp(fix[i], MxSaxsParamNames[j])) k = j;
      PetscCheck(k >= 0, s->comm, PETSC_ERR_ARG_WRONG, "option -saxs_fix: unknown parameter '%s' (radius, pd, scale, background, phi, scale_liquid, porod, hs_excess)", fix[i]);
      PetscCheck(MxSaxsParamUsed(&s->spec, k), s->comm, PETSC_ERR_ARG_WRONG, "option -saxs_fix: model %s has no parameter %s", MxSaxsModelTypes[model], fix[i]);
      PetscCheck(isfinite(s->start[k]), s->comm, PETSC_ERR_ARG_WRONG, "option -saxs_fix %s needs its value, %s VALUE", fix[i], starts[k]);
      s->fixed[k] = PETSC_TRUE;
    }
  }
  for (int k = 0; k < NP; k++)
    if (MxSaxsParamUsed(&s->spec, k) && isfinite(s->start[k]))
      PetscCheck(s->start[k] >= s->lo[k] && s->start[k] <= s->hi[k], s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option %s: %g is outside the bounds [%g, %g] of %s", starts[k], s->start[k], s->lo[k], s->hi[k], MxSaxsParamNames[k]);
  if (qr[0]) {
    double a, b;
    PetscCall(ParseQRange(s->comm, qr, &a, &b));
    PetscCall(MxSaxsModelSetQRange(s, a, b));
  }
  PetscCall(MxLsqSetFromOptions(s->lsq)); /* registers -saxs_tao_* (and lists them under -help) */
  (void)porod_set;
  PetscFunctionReturn(0);
}

PetscErrorCode MxSaxsModelSetData(MxSaxsModel s, PetscInt n, const double *q, const double *Iq, const double *Ierr)
{
  PetscInt k = 0;

  PetscFunctionBeginUser;
  PetscCheck(n >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "MxSaxsModelSetData: n = %d", (int)n);
  PetscCall(PetscFree3(s->q, s->Iq, s->Ierr));
  PetscCall(PetscMalloc3(n ? n : 1, &s->q, n ? n : 1, &s->Iq, n ? n : 1, &s->Ierr));
  for (PetscInt i = 0; i < n; i++) {
    if (!(isfinite(q[i]) && q[i] > 0 && isfinite(Iq[i]) && isfinite(Ierr[i]) && Ierr[i] > 0)) continue;
    s->q[k]  = q[i];
    s->Iq[k]  = Iq[i];
    s->Ierr[k] = Ierr[i];
    k++;
  }
  s->n        = k;
  s->ndropped = n - k;
  s->have     = PETSC_FALSE;
  PetscFunctionReturn(0);
}

PetscErrorCode MxSaxsModelDestroy(MxSaxsModel *ps)
{
  MxSaxsModel s;

  PetscFunctionBeginUser;
  if (!ps || !*ps) PetscFunctionReturn(0);
  s = *ps;
  PetscCall(PetscFree3(s->q, s->Iq, s->Ierr));
  PetscCall(PetscFree3(s->fq, s->fy, s->fw));
  PetscCall(PetscFree2(s->Iw, s->Jw));
  PetscCall(MxLsqDestroy(&s->lsq));
  PetscCall(PetscFree(s));
  *ps = NULL;
  PetscFunctionReturn(0);
}

/* ------------------------------------------------------------------ starting values */

/* Weighted linear least squares of the linear parameters (scale, background, scale_liquid,
   porod) at the nonlinear ones in p (radius, pd, phi): columns from the model's Jacobian
   (exact: the model is linear in them). Free linear parameters that land outside their bounds
   are clipped and the rest refitted. Writes them into p; returns chi2 (INFINITY on failure). */
static double LinearSolve(MxSaxsModel s, double *p)
{
  static const int lin[4] = {MX_SAXS_SCALE, MX_SAXS_BACKGROUND, MX_SAXS_SCALE_LIQUID, MX_SAXS_POROD};
  int              cols[4], nc = 0, clipped[NP] = {0};
  double           chi2 = 0.0;

  for (int a = 0; a < 4; a++)
    if (MxSaxsParamUsed(&s->spec, lin[a]) && !s->fixed[lin[a]]) cols[nc++] = lin[a];
  for (int a = 0; a < 4; a++)
    if (MxSaxsParamUsed(&s->spec, lin[a]) && !s->fixed[lin[a]]) p[lin[a]] = 0.0;
  if (MxSaxsModelEvalPart(&s->spec, p, (size_t)s->m, s->fq, s->Iw, s->Jw, NULL, NULL, NULL, 0)) return INFINITY;
  /* s->Iw now holds the fixed part (free linear parameters at 0) */
  for (int pass = 0; pass <= nc; pass++) {
    double A[16] = {0}, Ai[16], b[4] = {0}, x[4] = {0};
    int    act[4], na = 0, again = 0;
    for (int a = 0; a < nc; a++)
      if (!clipped[cols[a]]) act[na++] = cols[a];
    for (PetscInt i = 0; i < s->m; i++) {
      double w2 = s->fw[i] * s->fw[i], res = s->fy[i] - s->Iw[i];
      const double *Ji = s->Jw + i * NP;
      for (int a = 0; a < nc; a++)
        if (clipped[cols[a]]) res -= Ji[cols[a]] * p[cols[a]];
      for (int a = 0; a < na; a++) {
        b[a] += w2 * Ji[act[a]] * res;
        for (int c = 0; c < na; c++) A[a * na + c] += w2 * Ji[act[a]] * Ji[act[c]];
      }
    }
    if (na && MxSymInverse(na, A, Ai)) return INFINITY;
    for (int a = 0; a < na; a++)
      for (int c = 0; c < na; c++) x[a] += Ai[a * na + c] * b[c];
    for (int a = 0; a < na; a++) {
      int k = act[a];
      p[k]  = x[a];
      if (p[k] < s->lo[k] || p[k] > s->hi[k]) {
        p[k]       = p[k] < s->lo[k] ? s->lo[k] : s->hi[k];
        clipped[k] = 1;
        again      = 1;
      }
    }
    if (!again) break;
  }
  for (PetscInt i = 0; i < s->m; i++) {
    double v = s->Iw[i], r;
    const double *Ji = s->Jw + i * NP;
    for (int a = 0; a < nc; a++) v += Ji[cols[a]] * p[cols[a]];
    r = s->fw[i] * (v - s->fy[i]);
    chi2 += r * r;
  }
  return isfinite(chi2) ? chi2 : INFINITY;
}

/* Starting values: given ones are kept; radius, pd and phi not given are chosen on a grid (radius
   log-spaced over 0.5/q_max .. 10/q_min, then refined +-10 %), the linear parameters solved at
   each node; the node with the lowest chi^2 wins. */
static PetscErrorCode StartValues(MxSaxsModel s, double *p)
{
  double       qlo = INFINITY, qhi = 0.0, best = INFINITY, bp[NP];
  const double pd_grid[]  = {0.02, 0.08, 0.15, 0.25};
  const double phi_grid[] = {0.05, 0.15, 0.25, 0.35, 0.45};
  int          npd = 4, nphi = 5, nR = 80;
  double       R_lo, R_hi;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < s->m; i++) {
    qlo = PetscMin(qlo, s->fq[i]);
    qhi = PetscMax(qhi, s->fq[i]);
  }
  for (int k = 0; k < NP; k++) p[k] = isfinite(s->start[k]) ? s->start[k] : 0.0;
  R_lo = PetscMax(s->lo[MX_SAXS_RADIUS], 0.5 / qhi);
  R_hi = PetscMin(s->hi[MX_SAXS_RADIUS], 10.0 / qlo);
  if (!(R_hi > R_lo)) R_hi = R_lo;
  for (int k = 0; k < NP; k++) bp[k] = p[k];
  for (int stage = 0; stage < 2; stage++) {
    double Rc = bp[MX_SAXS_RADIUS];
    int    nr = isfinite(s->start[MX_SAXS_RADIUS]) ? 1 : (stage == 0 ? nR : 21);
    int    na = isfinite(s->start[MX_SAXS_PD]) ? 1 : (stage == 0 ? npd : 1);
    int    nb = (!MxSaxsParamUsed(&s->spec, MX_SAXS_PHI) || isfinite(s->start[MX_SAXS_PHI])) ? 1 : (stage == 0 ? nphi : 1);
    if (stage == 1 && nr == 1) break;
    for (int ir = 0; ir < nr; ir++)
      for (int ia = 0; ia < na; ia++)
        for (int ib = 0; ib < nb; ib++) {
          double t[NP], chi2;
          for (int k = 0; k < NP; k++) t[k] = stage ? bp[k] : p[k];
          if (!isfinite(s->start[MX_SAXS_RADIUS])) {
            t[MX_SAXS_RADIUS] = stage == 0 ? (nr > 1 ? R_lo * pow(R_hi / R_lo, ir / (double)(nr - 1)) : R_lo) : Rc * (0.9 + 0.2 * ir / (double)(nr - 1));
            t[MX_SAXS_RADIUS] = PetscMin(PetscMax(t[MX_SAXS_RADIUS], s->lo[MX_SAXS_RADIUS]), s->hi[MX_SAXS_RADIUS]);
          }
          if (stage == 0 && !isfinite(s->start[MX_SAXS_PD])) t[MX_SAXS_PD] = PetscMin(PetscMax(pd_grid[ia], s->lo[MX_SAXS_PD]), s->hi[MX_SAXS_PD]);
          if (stage == 0 && nb > 1) t[MX_SAXS_PHI] = PetscMin(PetscMax(phi_grid[ib], s->lo[MX_SAXS_PHI]), s->hi[MX_SAXS_PHI]);
          if (MxSaxsParamUsed(&s->spec, MX_SAXS_HS_EXCESS) && !isfinite(s->start[MX_SAXS_HS_EXCESS])) /* a tenth of the radius, within its bounds */
            t[MX_SAXS_HS_EXCESS] = PetscMin(PetscMax(0.1 * t[MX_SAXS_RADIUS], s->lo[MX_SAXS_HS_EXCESS]), s->hi[MX_SAXS_HS_EXCESS]);
          chi2 = LinearSolve(s, t);
          if (chi2 < best) {
            best = chi2;
            for (int k = 0; k < NP; k++) bp[k] = t[k];
          }
        }
  }
  PetscCheck(isfinite(best), PETSC_COMM_SELF, PETSC_ERR_NOT_CONVERGED, "SAXS fit: no finite starting point (model %s; data all zero?)", MxSaxsModelTypes[s->spec.type]);
  /* the best node; given starting values (also of linear parameters) win over the grid's */
  for (int k = 0; k < NP; k++) p[k] = isfinite(s->start[k]) ? s->start[k] : bp[k];
  /* pd = 0 is a stationary point of chi^2 (even in pd): never start there */
  if (!s->fixed[MX_SAXS_PD] && p[MX_SAXS_PD] == 0.0) p[MX_SAXS_PD] = PetscMin(0.02, 0.5 * s->hi[MX_SAXS_PD]);
  PetscFunctionReturn(0);
}

/* ------------------------------------------------------------------ least-squares callbacks */

/* Weighted residuals w_i (I_i - y_i) at the free parameters x (the layer keeps them in bounds). */
static int SaxsResidual(const double *x, double *r, void *ctx)
{
  MxSaxsModel s = (MxSaxsModel)ctx;

  for (int j = 0; j < s->nfree; j++) s->p[s->idx[j]] = x[j];
  if (MxSaxsModelEval(&s->spec, s->p, (size_t)s->m, s->fq, s->Iw, NULL, NULL, NULL, NULL)) return 1;
  for (PetscInt i = 0; i < s->m; i++) r[i] = s->fw[i] * (s->Iw[i] - s->fy[i]);
  return 0;
}

/* Their analytic Jacobian (the model's, column-major over the free parameters). */
static int SaxsJacobian(const double *x, double *J, void *ctx)
{
  MxSaxsModel s = (MxSaxsModel)ctx;

  for (int j = 0; j < s->nfree; j++) s->p[s->idx[j]] = x[j];
  if (MxSaxsModelEval(&s->spec, s->p, (size_t)s->m, s->fq, s->Iw, s->Jw, NULL, NULL, NULL)) return 1;
  for (int j = 0; j < s->nfree; j++)
    for (PetscInt i = 0; i < s->m; i++) J[j * s->m + i] = s->fw[i] * s->Jw[i * NP + s->idx[j]];
  return 0;
}

/* ------------------------------------------------------------------ the fit */

PetscErrorCode MxSaxsModelFit(MxSaxsModel s)
{
  MxSaxsResult      *r = &s->res;
  double             p0[NP];
  MxLsqProblem       P;
  const char        *names[NP];
  int                nf = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(MX_SAXS_FIT, 0, 0, 0, 0));
  PetscCall(PetscMemzero(r, sizeof(*r)));
  s->have = PETSC_FALSE;
  /* the fitted subset */
  PetscCall(PetscFree3(s->fq, s->fy, s->fw));
  PetscCall(PetscMalloc3(s->n ? s->n : 1, &s->fq, s->n ? s->n : 1, &s->fy, s->n ? s->n : 1, &s->fw));
  s->m     = 0;
  r->q_min = INFINITY;
  r->q_max = 0.0;
  for (PetscInt i = 0; i < s->n; i++) {
    if (s->q[i] < s->q_min || s->q[i] > s->q_max) continue;
    s->fq[s->m] = s->q[i];
    s->fy[s->m] = s->Iq[i];
    s->fw[s->m] = 1.0 / s->Ierr[i];
    r->q_min    = PetscMin(r->q_min, s->q[i]);
    r->q_max    = PetscMax(r->q_max, s->q[i]);
    s->m++;
  }
  r->spec     = s->spec;
  r->npoints  = s->m;
  r->nskipped = s->ndropped;
  for (int k = 0; k < NP; k++) {
    r->used[k]  = MxSaxsParamUsed(&s->spec, k);
    r->fixed[k] = r->used[k] && s->fixed[k];
    r->lo[k]    = s->lo[k];
    r->hi[k]    = s->hi[k];
    if (r->used[k] && !r->fixed[k]) s->idx[nf++] = k;
  }
  s->nfree = r->nfree = nf;
  for (int j = 0; j < nf; j++) r->free_index[j] = s->idx[j];
  PetscCheck(s->m > nf, PETSC_COMM_SELF, PETSC_ERR_ARG_SIZ, "SAXS fit (%s): %d valid points in the q range %g:%g 1/angstrom, need more than the %d free parameters", MxSaxsModelTypes[s->spec.type], (int)s->m, s->q_min, s->q_max, nf);
  PetscCall(PetscFree2(s->Iw, s->Jw));
  PetscCall(PetscMalloc2(s->m, &s->Iw, (size_t)s->m * NP, &s->Jw));

  PetscCall(StartValues(s, p0));
  for (int k = 0; k < NP; k++) {
    if (r->used[k]) p0[k] = PetscMin(PetscMax(p0[k], s->lo[k]), s->hi[k]);
    else p0[k] = 0.0;
    s->p[k]     = p0[k];
    r->start[k] = p0[k];
  }
  { /* parameter scales: the fit runs in x = p/xs, O(1) */
    double ytyp = 0.0;
    for (PetscInt i = 0; i < s->m; i++) ytyp = PetscMax(ytyp, fabs(s->fy[i]));
    if (!(ytyp > 0)) ytyp = 1.0;
    for (int j = 0; j < nf; j++) {
      int    k  = s->idx[j];
      double xs = fabs(p0[k]);
      switch (k) {
      case MX_SAXS_PD:
      case MX_SAXS_PHI:
        xs = 0.1;
        break;
      case MX_SAXS_BACKGROUND:
        xs = PetscMax(xs, 1e-3 * ytyp);
        break;
      case MX_SAXS_POROD:
        if (!(xs > 0)) xs = 1e-3 * ytyp * pow(r->q_min, 4);
        break;
      default:
        if (!(xs > 0)) xs = k == MX_SAXS_SCALE_LIQUID && p0[MX_SAXS_SCALE] > 0 ? p0[MX_SAXS_SCALE] : 1.0;
      }
      s->xs[j] = xs;
    }
  }
  PetscCall(MxLsqProblemCreate(nf, s->m, &P));
  PetscCall(PetscMalloc1(nf, &P.scale));
  for (int j = 0; j < nf; j++) {
    int k      = s->idx[j];
    P.p[j]     = p0[k];
    P.lo[j]    = s->lo[k];
    P.hi[j]    = s->hi[k];
    P.scale[j] = s->xs[j];
    names[j]   = MxSaxsParamNames[k];
  }
  P.names = names;
  for (int k = 0; k < NP; k++) s->p[k] = p0[k]; /* fixed and unused slots */
  if (nf) {
    PetscCall(MxLsqSetStepTest(s->lsq, MX_LSQ_STEP_SIGMA, s->xtol));
    PetscCall(MxLsqSolve(s->lsq, &P));
  } else { /* every parameter fixed: chi^2 of the model as given */
    double *rr;
    PetscCall(PetscMalloc1(s->m, &rr));
    P.chi2 = SaxsResidual(NULL, rr, s) ? INFINITY : 0.0;
    for (PetscInt i = 0; i < s->m; i++) P.chi2 += rr[i] * rr[i];
    P.chi2_red  = P.chi2 / (double)s->m;
    P.converged = 1;
    PetscCall(PetscStrncpy(P.reason, "all parameters fixed", sizeof P.reason));
    PetscCall(PetscFree(rr));
  }
  for (int j = 0; j < nf; j++) s->p[s->idx[j]] = P.p[j];
  r->converged  = P.converged;
  r->iterations = (int)P.its;
  PetscCall(PetscStrncpy(r->reason, P.reason, sizeof(r->reason)));

  /* covariance (J^T J)^-1 chi2/(m - nfree) of the weighted residuals, as scipy's curve_fit;
     singular: errors infinite (as curve_fit), no correlation */
  for (int k = 0; k < NP; k++) {
    r->p[k]   = s->p[k];
    r->err[k] = 0.0;
    if (r->used[k] && !r->fixed[k]) r->at_bound[k] = s->p[k] <= s->lo[k] || s->p[k] >= s->hi[k];
  }
  r->chi2     = P.chi2;
  r->chi2_red = P.chi2_red;
  if (MxSaxsModelEval(&s->spec, s->p, 0, NULL, NULL, NULL, NULL, NULL, &r->radius_effective)) r->radius_effective = s->p[MX_SAXS_RADIUS];
  for (int a = 0; a < nf; a++) {
    r->err[s->idx[a]] = P.err[a];
    for (int b = 0; b < nf; b++) {
      r->cov[a * nf + b]  = P.cov[a * nf + b];
      r->corr[a * nf + b] = P.corr[a * nf + b];
    }
  }
  PetscCall(PetscFree(P.scale));
  PetscCall(MxLsqProblemDestroy(&P));
  s->have = PETSC_TRUE;
  PetscCall(PetscLogEventEnd(MX_SAXS_FIT, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

PetscErrorCode MxSaxsModelGetResult(MxSaxsModel s, MxSaxsResult *r)
{
  PetscFunctionBeginUser;
  PetscCheck(s->have, PETSC_COMM_SELF, PETSC_ERR_ORDER, "MxSaxsModelGetResult: no fit yet (call MxSaxsModelFit)");
  *r = s->res;
  PetscFunctionReturn(0);
}

PetscErrorCode MxSaxsModelGetData(MxSaxsModel s, PetscInt *n, const double **q, const double **Iq, const double **Ierr)
{
  PetscFunctionBeginUser;
  if (n) *n = s->n;
  if (q) *q = s->q;
  if (Iq) *Iq = s->Iq;
  if (Ierr) *Ierr = s->Ierr;
  PetscFunctionReturn(0);
}

PetscErrorCode MxSaxsModelGetCurves(MxSaxsModel s, double *I_fit, double *P, double *S, double *S_err, double *S_fit, double *S_liq, double *S_liq_err)
{
  double *Im, *Pm, *Sm, *A = NULL;
  double  po, bg;

  PetscFunctionBeginUser;
  PetscCheck(s->have, PETSC_COMM_SELF, PETSC_ERR_ORDER, "MxSaxsModelGetCurves: no fit yet (call MxSaxsModelFit)");
  PetscCall(PetscMalloc3(s->n ? s->n : 1, &Im, s->n ? s->n : 1, &Pm, s->n ? s->n : 1, &Sm));
  PetscCheck(!MxSaxsModelEval(&s->spec, s->res.p, (size_t)s->n, s->q, Im, NULL, Pm, Sm, NULL), PETSC_COMM_SELF, PETSC_ERR_MEM, "SAXS model: out of memory");
  po = s->spec.porod ? s->res.p[MX_SAXS_POROD] : 0.0;
  bg = s->res.p[MX_SAXS_BACKGROUND];
  if (s->spec.type == MX_SAXS_COLLOID_LIQUID && (S_liq || S_liq_err)) { /* <F^2>/<V> alone */
    MxSaxsSpec sp = s->spec;
    double     pp[NP];
    PetscCall(PetscArraycpy(pp, s->res.p, NP));
    sp.type            = MX_SAXS_SPHERE;
    sp.porod           = 0;
    pp[MX_SAXS_SCALE]      = 1.0;
    pp[MX_SAXS_BACKGROUND] = 0.0;
    PetscCall(PetscMalloc1(s->n ? s->n : 1, &A));
    PetscCheck(!MxSaxsModelEval(&sp, pp, (size_t)s->n, s->q, A, NULL, NULL, NULL, NULL), PETSC_COMM_SELF, PETSC_ERR_MEM, "SAXS model: out of memory");
  }
  for (PetscInt i = 0; i < s->n; i++) {
    const double q4 = pow(s->q[i], 4), sub = s->Iq[i] - bg - po / q4;
    if (I_fit) I_fit[i] = Im[i];
    if (P) P[i] = Pm[i];
    if (S) S[i] = sub / Pm[i];
    if (S_err) S_err[i] = s->Ierr[i] / fabs(Pm[i]);
    if (S_fit) S_fit[i] = Sm[i];
    if (A) {
      const double sl = s->res.p[MX_SAXS_SCALE_LIQUID] * A[i];
      if (S_liq) S_liq[i] = (sub - s->res.p[MX_SAXS_SCALE] * A[i]) / sl;
      if (S_liq_err) S_liq_err[i] = s->Ierr[i] / fabs(sl);
    }
  }
  PetscCall(PetscFree(A));
  PetscCall(PetscFree3(Im, Pm, Sm));
  PetscFunctionReturn(0);
}

void MxSaxsResultRadiusSigma(const MxSaxsResult *r, double *sigma_r, double *sigma_r_err)
{
  const double R = r->p[MX_SAXS_RADIUS], pd = r->p[MX_SAXS_PD];
  int          iR = -1, ip = -1;
  double       var;

  for (int a = 0; a < r->nfree; a++) {
    if (r->free_index[a] == MX_SAXS_RADIUS) iR = a;
    if (r->free_index[a] == MX_SAXS_PD) ip = a;
  }
  /* var(pd R) = pd^2 var R + R^2 var pd + 2 pd R cov(R, pd) */
  var = (iR >= 0 ? pd * pd * r->cov[iR * r->nfree + iR] : 0.0) + (ip >= 0 ? R * R * r->cov[ip * r->nfree + ip] : 0.0);
  if (iR >= 0 && ip >= 0 && isfinite(r->cov[iR * r->nfree + ip])) var += 2.0 * pd * R * r->cov[iR * r->nfree + ip];
  *sigma_r     = pd * R;
  *sigma_r_err = sqrt(PetscMax(var, 0.0));
}

void MxSaxsResultHsDiameter(const MxSaxsResult *r, double *sigma_hs, double *sigma_hs_err)
{
  int    iR = -1, ih = -1;
  double var;

  for (int a = 0; a < r->nfree; a++) {
    if (r->free_index[a] == MX_SAXS_RADIUS) iR = a;
    if (r->free_index[a] == MX_SAXS_HS_EXCESS) ih = a;
  }
  /* sigma_HS = 2 R_eff(R) + hs_excess, d R_eff/dR = 1 on the symmetric grid */
  var = (iR >= 0 ? 4.0 * r->cov[iR * r->nfree + iR] : 0.0) + (ih >= 0 ? r->cov[ih * r->nfree + ih] : 0.0);
  if (iR >= 0 && ih >= 0 && isfinite(r->cov[iR * r->nfree + ih])) var += 4.0 * r->cov[iR * r->nfree + ih];
  *sigma_hs     = 2.0 * r->radius_effective;
  *sigma_hs_err = sqrt(PetscMax(var, 0.0));
}

PetscErrorCode MxSaxsModelView(MxSaxsModel s, PetscViewer v)
{
  const MxSaxsResult *r = &s->res;
  static const char  *units[NP] = {"A", "", "", "", "", "", "A^-4", "A"};

  PetscFunctionBeginUser;
  if (!s->have) {
    PetscCall(PetscViewerASCIIPrintf(v, "SAXS model %s: not fitted\n", MxSaxsModelTypes[s->spec.type]));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscViewerASCIIPrintf(v, "SAXS model %s%s: %d points, q %.5g..%.5g 1/A, chi2_red %.6g, %s after %d iterations (%s)\n", MxSaxsModelTypes[r->spec.type], r->spec.porod ? " + porod/q^4" : "", (int)r->npoints, r->q_min, r->q_max, r->chi2_red, r->converged ? "converged" : "NOT converged", r->iterations, r->reason));
  if (r->nskipped) PetscCall(PetscViewerASCIIPrintf(v, "  %d points left out (non-finite, q <= 0 or Ierr <= 0)\n", (int)r->nskipped));
  for (int k = 0; k < NP; k++) {
    if (!r->used[k]) continue;
    PetscCall(PetscViewerASCIIPrintf(v, "  %-13s %.8g +- %.3g %s%s%s\n", MxSaxsParamNames[k], r->p[k], r->err[k], units[k], r->fixed[k] ? " (fixed)" : "", r->at_bound[k] ? " (at bound)" : ""));
  }
  {
    double sr, sr_err;
    MxSaxsResultRadiusSigma(r, &sr, &sr_err);
    PetscCall(PetscViewerASCIIPrintf(v, "  %-13s %.8g +- %.3g A\n", "radius_sigma", sr, sr_err));
  }
  if (r->spec.type != MX_SAXS_SPHERE) PetscCall(PetscViewerASCIIPrintf(v, "  %-13s %.8g A\n", "radius_eff", r->radius_effective));
  if (r->used[MX_SAXS_HS_EXCESS]) {
    double sg, sg_err;
    MxSaxsResultHsDiameter(r, &sg, &sg_err);
    PetscCall(PetscViewerASCIIPrintf(v, "  %-13s %.8g +- %.3g A (hard-sphere diameter of S_PY)\n", "hs_diameter", sg, sg_err));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxSaxsModelViewFromOptions(MxSaxsModel s)
{
  PetscFunctionBeginUser;
  if (s->view) PetscCall(MxSaxsModelView(s, PETSC_VIEWER_STDOUT_SELF));
  PetscFunctionReturn(0);
}
