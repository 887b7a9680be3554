/* MxAnalyze: results on rank 0 (means over trains, errors, fits), results.h5, summary. */
#include "analyzeimpl.h"
#include <mxpcs/g2age.h>
#include <mxpcs/viewer.h>
#include <sys/resource.h>
#include <cblas.h>
#include <math.h>

/* The results of a previous MxAnalyzeResults (a stream's live results are recomputed). */
static PetscErrorCode ResultsFree(MxAnalyze a)
{
  PetscFunctionBeginUser;
  if (a->C) PetscCall(PetscFree3(a->C, a->Craw, a->XC));
  if (a->g2) PetscCall(PetscFree4(a->g2, a->g2err, a->beta, a->beta_err));
  if (a->g2t) PetscCall(PetscFree2(a->g2t, a->g2t_err));
  if (a->gam) PetscCall(PetscFree4(a->gam, a->gam_err, a->gam0, a->gam0_err));
  if (a->Deff) PetscCall(PetscFree4(a->Deff, a->Deff_err, a->q, a->q_eff));
  if (a->gam_err_fit) PetscCall(PetscFree2(a->gam_err_fit, a->gam0_err_fit));
  if (a->beta_icpt) PetscCall(PetscFree3(a->beta_icpt, a->beta_icpt_err, a->beta_disagree));
  if (a->hetero) PetscCall(PetscFree3(a->hetero, a->beta_sp, a->beta_sp_err));
  PetscCall(PetscFree(a->gamJ));
  PetscCall(PetscFree(a->ring_empty));
  if (a->dose_gam) PetscCall(PetscFree4(a->dose_gam, a->dose_gam_err, a->dose_gam0, a->dose_gam0_err));
  PetscCall(PetscFree(a->dose_Gy));
  PetscCall(PetscFree(a->heat_hw));
  PetscFunctionReturn(0);
}

/* -g2_dose_bins: g2 and Gamma(q, age) of each group of trains (by XGM pulse energy), then the
   heating model over all groups at once, each at its group's relative pulse energy. Rank 0. */
static PetscErrorCode DoseResults(MxAnalyze a, const MxG2AgeLayout *L, const double *qm)
{
  PetscInt       nd;
  const double  *g2s, *g2q, *bs, *ns;
  const size_t   ng = (size_t)a->nring * a->nwin * L->ntau, nrw = (size_t)a->nring * a->nwin;
  double        *g2, *g2e, *beta, *g0, *e0, *scale;
  const double **gp, **ep;
  MxG2AgeLayout  Lb = *L;
  MxHeatProps    hp;

  PetscFunctionBeginUser;
  PetscCall(MxEngineGetDose(a->eng, &nd, &g2s, &g2q, &bs, &ns));
  PetscCall(PetscMalloc4(nd * nrw, &a->dose_gam, nd * nrw, &a->dose_gam_err, a->nring, &a->dose_gam0, a->nring, &a->dose_gam0_err));
  PetscCall(PetscMalloc1(nd * a->nwin, &a->dose_Gy));
  PetscCall(PetscMalloc5(ng, &g2, ng, &g2e, a->nring, &beta, a->nring, &g0, a->nring, &e0));
  PetscCall(PetscMalloc3(nd, &scale, nd, &gp, nd, &ep));
  Lb.extrap_order = MX_EXTRAP_LINEAR; /* per group only Gamma(q, age) is wanted */
  Lb.heat_out     = NULL;
  for (PetscInt b = 0; b < nd; b++) {
    const double n = ns[b];
    for (size_t i = 0; i < ng; i++) {
      double m = g2s[b * ng + i] / n, v = n > 1 ? (g2q[b * ng + i] / n - m * m) * n / (n - 1) : NAN;
      g2[i]  = m + 1;
      g2e[i] = sqrt(PetscMax(v, 0) / n);
    }
    for (PetscInt r = 0; r < a->nring; r++) beta[r] = bs[b * a->nring + r] / n;
    if (n >= 2) PetscCall(MxG2AgeFit(a->fit, &Lb, g2, g2e, beta, NULL, a->dose_gam + b * nrw, a->dose_gam_err + b * nrw, g0, e0, NULL, NULL, PETSC_TRUE));
    else
      for (size_t i = 0; i < nrw; i++) a->dose_gam[b * nrw + i] = a->dose_gam_err[b * nrw + i] = NAN;
    scale[b] = a->dose_rel[b];
    gp[b]    = a->dose_gam + b * nrw;
    ep[b]    = a->dose_gam_err + b * nrw;
  }
  PetscCall(MxG2AgeHeatingFit(L, nd, scale, gp, ep, a->dose_gam0, a->dose_gam0_err, a->dose_dT0));
  for (PetscInt r = 0; r < a->nring; r++) {
    g0[r] = a->dose_gam0[r] / (qm[r] * qm[r] * 1e8);
    e0[r] = a->dose_gam0_err[r] / (qm[r] * qm[r] * 1e8);
  }
  if (MxWeightedMean((int)a->nring, g0, e0, &a->dose_Deff_mean[0], &a->dose_Deff_mean[1])) a->dose_Deff_mean[0] = a->dose_Deff_mean[1] = NAN;
  /* the absorbed dose at the beam centre by each window's middle: pulses absorbed x dose per pulse */
  MxHeatSampleProps(&a->heat, &hp);
  for (PetscInt b = 0; b < nd; b++)
    for (PetscInt w = 0; w < a->nwin; w++) a->dose_Gy[b * a->nwin + w] = (a->win_start[w] + 0.5 * a->win_len) * a->dose_rel[b] * a->dose_dT0[0] / a->heat_per_fluence * hp.Gy_per_J_cm2;
  PetscCall(PetscFree5(g2, g2e, beta, g0, e0));
  PetscCall(PetscFree3(scale, gp, ep));
  PetscFunctionReturn(0);
}

/* What the mean image says of each ring: q_eff and F.
   q_eff, the q of D_eff = Gamma0/q^2. A ring's C - XC decays as the mean of its pixels'
   |g1|^2 weighted by their mean intensity squared (C sums I_p(t) I_p(t') over the pixels), so
   its Gamma is that weighted mean of D(q_p) q_p^2; with q^2 the same weighted mean of q_p^2, a
   D that is the same at every q comes out exactly, where the plain mean q is off by the
   intensity's slope across the ring (on the simulated liquid, near the structure factor's peak,
   up to 0.8 % in q, 1.6 % in D; physics.md section 8). The weights: the mean image (a->image,
   photons per pixel and pulse; pixels never valid left out), averaged over the pixels of each
   of MX_QEFF_SUB equal sub-ranges of the ring's q range, squared: a pixel's own mean carries
   its speckle and shot noise, which on weak rings moved q_eff by 0.5 % (the simulated liquid's
   outer ring, 48 trains); the sub-ranges' means move it by 0.04 % there. -fit_q_eff 0 (or no
   image, or no weight): the ring's mean q.
   From the same sub-range means m, the ring's intensity spread F = N sum_p m_p^2 / (sum_p m_p)^2
   over its N pixels in C (NaN without an image): C divides by the ring's mean intensities, so its
   speckle term is F beta (physics.md section 6); the sub-ranges hold I(q) across the ring and
   average out the pixels' noise and additive offsets. Rank 0. */
#define MX_QEFF_SUB 8
static PetscErrorCode RingsImageWeights(MxAnalyze a, const double *qmean, double *qe, double *F)
{
  const int         *roi = NULL, *iq = NULL;
  const double      *edges = NULL;
  const MxPixelGeom *pix = NULL;
  double            *n, *s, *s2;

  PetscFunctionBeginUser;
  for (PetscInt r = 0; r < a->nring; r++) {
    qe[r] = qmean[r];
    F[r]  = NAN;
  }
  if (!a->image) PetscFunctionReturn(0);
  PetscCall(MxRingsGetMap(a->rings, &roi));
  PetscCall(MxRingsGetEdges(a->rings, NULL, &edges, NULL));
  PetscCall(MxRingsGetRingIndices(a->rings, &iq, NULL));
  PetscCall(MxGeomGetPixels(a->geom, &pix));
  PetscCall(PetscCalloc3((size_t)a->nring * MX_QEFF_SUB, &n, (size_t)a->nring * MX_QEFF_SUB, &s, (size_t)a->nring * MX_QEFF_SUB, &s2));
  for (PetscInt i = 0; i < a->nimg_mod; i++)
    for (size_t p = 0; p < MX_MODPIX; p++) {
      const size_t g = (size_t)a->img_mod[i] * MX_MODPIX + p;
      const int    r = roi[g] - 1;
      const double x = a->image[(size_t)i * MX_MODPIX + p], q = pix->q_inv_A[g];
      if (r < 0 || r >= a->nring || !isfinite(x)) continue;
      const double lo = edges[iq[r]], hi = edges[iq[r] + 1];
      const int    k  = PetscMax(0, PetscMin(MX_QEFF_SUB - 1, (int)floor((q - lo) / (hi - lo) * MX_QEFF_SUB)));
      n[r * MX_QEFF_SUB + k] += 1;
      s[r * MX_QEFF_SUB + k] += x;
      s2[r * MX_QEFF_SUB + k] += q * q;
    }
  for (PetscInt r = 0; r < a->nring; r++) {
    double sw = 0, swq = 0, sm = 0, sn = 0;
    for (int k = 0; k < MX_QEFF_SUB; k++) {
      const size_t j = (size_t)r * MX_QEFF_SUB + k;
      if (n[j] == 0) continue;
      const double m = s[j] / n[j]; /* the sub-range's mean image; weight m^2 for each of its pixels */
      sw += m * m * n[j];
      swq += m * m * s2[j];
      sm += m * n[j];
      sn += n[j];
    }
    if (a->q_eff_on && sw > 0 && swq > 0) qe[r] = sqrt(swq / sw);
    if (sm > 0) F[r] = sn * sw / (sm * sm);
  }
  PetscCall(PetscFree3(n, s, s2));
  PetscFunctionReturn(0);
}

/* The age windows and the heating model of the train as the fits use them (every rank builds
   the same: the jackknife's groups are fitted on all ranks). PetscFree(*age) and
   MxHeatModelDestroy(hm) when done; L->heat_out is NULL. */
static PetscErrorCode LayoutCreate(MxAnalyze a, MxG2AgeLayout *L, double **age, MxHeatModel *hm)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(a->nwin, age));
  for (PetscInt w = 0; w < a->nwin; w++) (*age)[w] = (a->win_start[w] + 0.5 * (a->win_len - 1)) * a->dt_s;
  *L = (MxG2AgeLayout){.nring = a->nring, .nwin = a->nwin, .ntau = a->win_len - 1, .dt_s = a->dt_s, .age = *age, .extrap_order = a->extrap_order};
  { /* the heating model of the train: pulses 0 .. of the frames, weighted by the XGM's energies */
    PetscInt nint = a->win_start[a->nwin - 1] + a->win_len - 1;
    double  *e = NULL, em = 0;
    if (a->xgm_mean) {
      PetscCall(PetscMalloc1(nint, &e));
      for (PetscInt k = 0; k < nint; k++) em += a->xgm_mean[k] / nint;
      for (PetscInt k = 0; k < nint; k++) e[k] = a->xgm_mean[k] / em;
      for (PetscInt k = 0; k < nint; k++)
        if (!(e[k] >= 0 && isfinite(e[k]))) {
          PetscCall(PetscFree(e)); /* no usable XGM profile: equal pulses */
          break;
        }
    }
    PetscCall(MxHeatModelCreate(nint, a->dt_s, a->heat_tauI_s, e, hm));
    PetscCall(PetscFree(e));
    L->win_start   = a->win_start;
    L->win_len     = a->win_len;
    L->heat        = *hm;
    L->heat_sample = &a->heat;
    L->heat_dT0    = a->heat_fluence * a->heat_per_fluence;
    L->heat_out    = NULL;
  }
  PetscFunctionReturn(0);
}

/* The other ranks' part of rank 0's MxAnalyzeResults: the jackknife's groups that fall to them
   (MxG2AgeJackknife; the same layout, rank 0's sums). Collective with rank 0's call. */
PetscErrorCode MxAnalyzeJackknifeShare(MxAnalyze a)
{
  double       *age, *gamJ = NULL, *g0J = NULL;
  MxG2AgeLayout L;
  MxHeatModel   hm;
  PetscInt      K, fallback;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(MX_AN_FIT, 0, 0, 0, 0));
  PetscCall(LayoutCreate(a, &L, &age, &hm));
  PetscCall(MxG2AgeJackknife(a->comm, a->fit, &L, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &K, &gamJ, &g0J, &fallback));
  PetscCall(PetscFree(gamJ));
  PetscCall(PetscFree(g0J));
  PetscCall(PetscFree(age));
  PetscCall(MxHeatModelDestroy(&hm));
  PetscCall(PetscLogEventEnd(MX_AN_FIT, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* Means and errors over trains, TAO fits per ring and age, zero-age extrapolation. Rank 0, with
   the other ranks in JackknifeShare (MxAnalyzeJackknifeShare) at the same time. */
PetscErrorCode MxAnalyzeResults(MxAnalyze a)
{
  size_t          nf = (size_t)a->nf, nC = (size_t)a->nring * nf * nf, ntau = (size_t)a->win_len - 1;
  const double   *qm;
  const PetscInt *npix;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(MX_AN_FIT, 0, 0, 0, 0));
  PetscCall(ResultsFree(a));
  PetscCall(MxRingsGetRings(a->rings, NULL, &qm, &npix));
  /* means over the trains used and their errors */
  size_t ng = (size_t)a->nring * a->nwin * ntau;
  PetscCall(PetscMalloc3(nC, &a->C, nC, &a->Craw, nC, &a->XC));
  PetscCall(PetscMalloc4(ng, &a->g2, ng, &a->g2err, a->nring, &a->beta, a->nring, &a->beta_err));
  PetscCall(PetscMalloc2((size_t)a->nring * (nf - 1) + 1, &a->g2t, (size_t)a->nring * (nf - 1) + 1, &a->g2t_err));
  PetscCall(MxEngineGetMeans(a->eng, a->C, a->Craw, a->XC, a->g2, a->g2err, a->g2t, a->g2t_err, a->beta, a->beta_err));
  /* fits: g2 - 1 = beta exp(-2 Gamma tau) per ring and age; then Gamma(q, 0) */
  PetscCall(PetscMalloc4(a->nring * a->nwin, &a->gam, a->nring * a->nwin, &a->gam_err, a->nring, &a->gam0, a->nring, &a->gam0_err));
  PetscCall(PetscMalloc4(a->nring, &a->Deff, a->nring, &a->Deff_err, a->nring, &a->q, a->nring, &a->q_eff));
  PetscCall(PetscArraycpy(a->q, qm, a->nring));
  PetscCall(PetscMalloc3(a->nring, &a->hetero, a->nring, &a->beta_sp, a->nring, &a->beta_sp_err));
  PetscCall(RingsImageWeights(a, a->q, a->q_eff, a->hetero));
  for (PetscInt r = 0; r < a->nring; r++) { /* the speckle contrast: beta without the ring's I(q) spread */
    a->beta_sp[r]     = a->beta[r] / a->hetero[r];
    a->beta_sp_err[r] = a->beta_err[r] / a->hetero[r];
  }
  qm = a->q_eff; /* from here on: the q of D_eff */
  double       *age;
  MxG2AgeLayout L;
  MxHeatModel   hm;
  PetscCall(LayoutCreate(a, &L, &age, &hm));
  L.heat_out = a->heat_dT0;
  PetscCall(PetscMalloc3(a->nring, &a->beta_icpt, a->nring, &a->beta_icpt_err, a->nring, &a->beta_disagree));
  PetscCall(MxG2AgeFit(a->fit, &L, a->g2, a->g2err, a->beta, NULL, a->gam, a->gam_err, a->gam0, a->gam0_err, a->beta_icpt, a->beta_icpt_err, PETSC_FALSE));
  PetscCall(PetscMalloc2(a->nring * a->nwin, &a->gam_err_fit, a->nring, &a->gam0_err_fit));
  PetscCall(PetscArraycpy(a->gam_err_fit, a->gam_err, a->nring * a->nwin));
  PetscCall(PetscArraycpy(a->gam0_err_fit, a->gam0_err, a->nring));
  { /* every extrapolation, for the report of how much they differ (the fits' errors) */
    double *g0, *e0;
    PetscCall(PetscMalloc2(a->nring, &g0, a->nring, &e0));
    for (int m = MX_EXTRAP_LINEAR; m <= MX_EXTRAP_HEATING; m++) {
      PetscCall(MxG2AgeExtrapolate(&L, (MxExtrapolation)m, a->gam, a->gam_err, g0, e0));
      for (PetscInt r = 0; r < a->nring; r++) {
        g0[r] /= qm[r] * qm[r] * 1e8; /* D_eff in um^2/s */
        e0[r] /= qm[r] * qm[r] * 1e8;
      }
      if (MxWeightedMean((int)a->nring, g0, e0, &a->alt_Deff_mean[m - 1], &a->alt_Deff_mean_err[m - 1])) a->alt_Deff_mean[m - 1] = a->alt_Deff_mean_err[m - 1] = NAN;
    }
    L.heat_out = NULL; /* the jackknife's samples leave the run's dT0 alone */
    {
      double *hn;
      PetscCall(PetscMalloc1(a->win_start[a->nwin - 1] + a->win_len, &hn));
      PetscCall(PetscMalloc1(a->nwin, &a->heat_hw));
      if (!isfinite(a->heat_dT0[0]) || MxG2AgeHeatingWindows(&L, a->heat_dT0[0], hn, a->heat_hw))
        for (PetscInt w = 0; w < a->nwin; w++) a->heat_hw[w] = NAN;
      PetscCall(PetscFree(hn));
    }
    PetscCall(PetscFree2(g0, e0));
  }
  if (a->ndose > 0) PetscCall(DoseResults(a, &L, qm));
  double *g0J = NULL; /* jackknife: Gamma0 of each group-deleted sample, K x nring */
  {
    PetscInt      jk;
    const double *g2sum, *jk_g2, *bsum, *jk_b, *jk_n;
    PetscCall(MxEngineGetJackknife(a->eng, &jk, &g2sum, &jk_g2, &bsum, &jk_b, &jk_n));
    PetscCall(MxG2AgeJackknife(a->comm, a->fit, &L, a->ntrains_used, jk, g2sum, jk_g2, bsum, jk_b, jk_n, a->g2err, a->gam_err, a->gam0_err, a->beta_icpt_err, &a->jk_groups_used, &a->gamJ, &g0J, &a->jk_fallback));
  }
  for (PetscInt r = 0; r < a->nring; r++) {
    a->Deff[r]     = a->gam0[r] / (qm[r] * qm[r]) * 1e-8; /* angstrom^2/s -> um^2/s */
    a->Deff_err[r] = a->gam0_err[r] / (qm[r] * qm[r]) * 1e-8;
  }
  /* a ring with no photons in some frame of the trains used (zero mean intensity) has no
     defined C_n: it is reported and left out, never averaged in as NaN */
  PetscCall(PetscCalloc1(a->nring + 1, &a->ring_empty));
  a->nring_empty = 0;
  for (PetscInt r = 0; r < a->nring; r++) {
    const double *C = a->C + (size_t)r * a->nf * a->nf;
    for (PetscInt t = 0; t < a->nf && !a->ring_empty[r]; t++)
      if (!isfinite(C[t * a->nf + t])) a->ring_empty[r] = 1;
    if (a->ring_empty[r]) {
      a->nring_empty++;
      a->Deff[r] = a->Deff_err[r] = NAN;
    }
  }
  /* the diagonal contrast against the fits' intercept: flagged beyond 3 sigma (both errors) */
  a->nbeta_disagree = 0;
  for (PetscInt r = 0; r < a->nring; r++) {
    a->beta_disagree[r] = !a->ring_empty[r] && MxG2AgeBetaDisagree(a->beta[r], a->beta_err[r], a->beta_icpt[r], a->beta_icpt_err[r]);
    a->nbeta_disagree += a->beta_disagree[r];
  }
  /* D_eff_mean, weighted by the rings' errors; with the jackknife, its error comes from the
     same group-deleted samples (weights fixed), so the rings' correlation is in it too */
  if (MxWeightedMean((int)a->nring, a->Deff, a->Deff_err, &a->Deff_mean, &a->Deff_mean_err)) a->Deff_mean = a->Deff_mean_err = NAN;
  {
    double *ef, m, e;
    PetscCall(PetscMalloc1(a->nring, &ef));
    for (PetscInt r = 0; r < a->nring; r++) ef[r] = a->gam0_err_fit[r] / (qm[r] * qm[r]) * 1e-8;
    a->Deff_mean_err_fit = MxWeightedMean((int)a->nring, a->Deff, ef, &m, &e) ? NAN : e;
    PetscCall(PetscFree(ef));
  }
  if (g0J && isfinite(a->Deff_mean)) {
    PetscInt K = a->jk_groups_used;
    double   sw = 0, s = 0, s2 = 0, *dm;
    int      ok = 1;
    PetscCall(PetscCalloc1(K, &dm));
    for (PetscInt r = 0; r < a->nring; r++) {
      if (!isfinite(a->Deff[r]) || !(a->Deff_err[r] > 0) || !isfinite(a->Deff_err[r])) continue;
      double w = 1.0 / (a->Deff_err[r] * a->Deff_err[r]);
      sw += w;
      for (PetscInt k = 0; k < K; k++) dm[k] += w * g0J[k * a->nring + r] / (qm[r] * qm[r]) * 1e-8;
    }
    for (PetscInt k = 0; k < K; k++) {
      dm[k] /= sw;
      ok &= isfinite(dm[k]);
      s += dm[k];
    }
    for (PetscInt k = 0; k < K; k++) s2 += (dm[k] - s / K) * (dm[k] - s / K);
    if (ok) a->Deff_mean_err = sqrt((K - 1.0) / K * s2);
    PetscCall(PetscFree(dm));
  }
  PetscCall(PetscFree(g0J));
  PetscCall(PetscFree(age));
  PetscCall(MxHeatModelDestroy(&hm));
  PetscCall(MxAnalyzeSaxsResults(a));
  (void)npix;
  PetscCall(PetscLogEventEnd(MX_AN_FIT, 0, 0, 0, 0));
  PetscFunctionReturn(0);
}

/* the NXentry: the run's identity and times, the instrument as analyze used it */
static PetscErrorCode WriteEntry(MxAnalyze a, MxOut o)
{
  MxRunInfo   info;
  const char *dir;
  char        ident[PETSC_MAX_PATH_LEN + 32], start[32];
  MxOutEntry  e;

  PetscFunctionBeginUser;
  if (a->stream) { /* the stream's endpoint and its first train's time */
    memset(&info, 0, sizeof info);
    dir = a->stream_ident;
    snprintf(ident, sizeof ident, "%s", a->stream_ident);
    snprintf(start, sizeof start, "%s", a->stream_start);
  } else {
    PetscCall(MxReaderGetRunInfo(a->reader, &info, &dir));
    if (info.proposal || info.run) snprintf(ident, sizeof ident, "p%06u/r%04u", info.proposal, info.run);
    else snprintf(ident, sizeof ident, "%s", dir);
    snprintf(start, sizeof start, "%s", info.created);
  }
  if (!start[0]) { /* files without METADATA (format 0.5): the first file's modification time */
    PetscMPIInt rank;
    MPI_Comm_rank(a->comm, &rank);
    if (!rank) MxIsoTimeFile(dir, start, sizeof start);
    PetscCallMPI(MPI_Bcast(start, sizeof start, MPI_CHAR, 0, a->comm));
  }
  e = (MxOutEntry){ident, start, "analyze", a->opts, "NXxpcs"};
  PetscCall(MxOutWriteEntry(o, &e));
  PetscCall(MxOutWriteInstrument(o, a->geom));
  PetscCall(MxOutScalar(o, MX_DETECTOR_FRAME_TIME, a->dt_s));
  PetscCall(MxOutScalar(o, MX_DETECTOR_COUNT_TIME, a->count_time));
  PetscFunctionReturn(0);
}


/* /xpcs/corrections: what the detector corrections were and what they did (rank 0). */
static PetscErrorCode WriteCorrections(MxAnalyze a, MxOut o)
{
  const MxDetCorrStats *st = &a->dc_stats;
  MxCommonModeKind      cm;
  MxPhotonizeKind       ph;
  double                thr, maxph, adu = 1, mean[MX_NMOD], rms[MX_NMOD], none[MX_NMOD], noise[MX_NMOD], hist[3], ch[4];
  int64_t               mods[MX_NMOD];
  hsize_t               d1[1];
  const char           *names = "common_mode photonize droplet spikes";

  PetscFunctionBeginUser;
  PetscCall(MxDetCorrGetKinds(a->dc, &cm, &ph, &thr, &maxph));
  if (!a->stream) PetscCall(MxReaderGetAduPerPhoton(a->reader, &adu));
  PetscCall(MxOutString(o, MX_CORRECTIONS_COMMON_MODE, MxCommonModeNames[cm]));
  PetscCall(MxOutString(o, MX_CORRECTIONS_PHOTONIZE, MxPhotonizeNames[ph]));
  PetscCall(MxOutScalar(o, MX_CORRECTIONS_THRESHOLD, ph == MX_PHOTONIZE_NONE ? NAN : thr));
  PetscCall(MxOutScalar(o, MX_CORRECTIONS_MAX_PHOTONS, maxph));
  PetscCall(MxOutScalar(o, MX_CORRECTIONS_ADU_PER_PHOTON, adu));
  for (PetscInt i = 0; i < a->run.nmod; i++) {
    const int m = (int)a->run.mods[i];
    const double n = st->cm_n[m];
    mods[i]  = m;
    mean[i]  = n > 0 ? st->cm_sum[m] / n : NAN;
    rms[i]   = n > 0 ? sqrt(PetscMax(st->cm_sq[m] / n, 0)) : NAN;
    none[i]  = n + st->cm_none[m] > 0 ? st->cm_none[m] / (n + st->cm_none[m]) : NAN;
    noise[i] = st->noise_n[m] > 0 ? sqrt(st->noise_sum[m] / st->noise_n[m]) : NAN;
  }
  d1[0] = (hsize_t)a->run.nmod;
  PetscCall(MxOutArray(o, MX_CORRECTIONS_MODULES, H5T_NATIVE_INT64, 1, d1, mods));
  PetscCall(MxOutDoubles(o, MX_CORRECTIONS_CM_MEAN, 1, d1, mean));
  PetscCall(MxOutDoubles(o, MX_CORRECTIONS_CM_RMS, 1, d1, rms));
  PetscCall(MxOutDoubles(o, MX_CORRECTIONS_CM_NONE, 1, d1, none));
  PetscCall(MxOutDoubles(o, MX_CORRECTIONS_NOISE, 1, d1, noise));
  PetscCall(MxOutScalar(o, MX_CORRECTIONS_NOISE_VAR_CONTRAST, a->dc_noise_var));
  const double nh = st->hist[0] + st->hist[1] + st->hist[2], ng = st->good + st->spikes;
  for (int k = 0; k < 3; k++) hist[k] = nh > 0 ? st->hist[k] / nh : NAN;
  ch[0] = ng > 0 ? st->changed_cm / ng : NAN;
  ch[1] = ng > 0 ? st->changed_ph / ng : NAN;
  ch[2] = ng > 0 ? st->changed_droplet / ng : NAN;
  ch[3] = ng > 0 ? st->spikes / ng : NAN;
  d1[0] = 3;
  PetscCall(MxOutDoubles(o, MX_CORRECTIONS_PHOTON_HISTOGRAM, 1, d1, hist));
  d1[0] = 4;
  PetscCall(MxOutDoubles(o, MX_CORRECTIONS_CHANGED, 1, d1, ch));
  PetscCall(MxOutAttrString(o, MX_CORRECTIONS_CHANGED, "names", names));
  PetscCall(MxOutScalar(o, MX_CORRECTIONS_PIXEL_FRAMES, ng));
  PetscFunctionReturn(0);
}


/* The summary's lines on the detector corrections (rank 0). */
static PetscErrorCode ViewCorrections(MxAnalyze a, PetscViewer v)
{
  const MxDetCorrStats *st = &a->dc_stats;
  char                  what[256];
  const double          nh = st->hist[0] + st->hist[1] + st->hist[2], ng = st->good + st->spikes;

  PetscFunctionBeginUser;
  PetscCall(MxDetCorrDescribe(a->dc, what, sizeof what));
  PetscCall(PetscViewerASCIIPrintf(v, "  corrections: %s", what));
  if (ng > 0) PetscCall(PetscViewerASCIIPrintf(v, "; changed %.3g %% of the pixel-frames' counts (common mode), %.3g %% values (photonise), %.3g %% spikes", 100 * st->changed_cm / ng, 100 * st->changed_ph / ng, 100 * st->spikes / ng));
  PetscCall(PetscViewerASCIIPrintf(v, "\n"));
  for (PetscInt i = 0; i < a->run.nmod; i++) {
    const int m = (int)a->run.mods[i];
    if (st->cm_n[m] <= 0) continue;
    PetscCall(PetscViewerASCIIPrintf(v, "    module %2d: common mode %.3f +- %.3f photons (mean, rms over ASIC-frames), noise %.3f photons, %.2g %% of ASIC-frames without an estimate\n", m, st->cm_sum[m] / st->cm_n[m], sqrt(PetscMax(st->cm_sq[m] / st->cm_n[m], 0)), st->noise_n[m] > 0 ? sqrt(st->noise_sum[m] / st->noise_n[m]) : NAN, 100 * st->cm_none[m] / (st->cm_n[m] + st->cm_none[m])));
  }
  if (nh > 0) PetscCall(PetscViewerASCIIPrintf(v, "    ring pixel-frames with 0 / 1 / 2+ photons: %.4f / %.4f / %.4f\n", st->hist[0] / nh, st->hist[1] / nh, st->hist[2] / nh));
  if (a->dc_noise_var > 0) PetscCall(PetscViewerASCIIPrintf(v, "    continuous values: noise variance %.4g photons^2 taken out of the contrast\n", a->dc_noise_var));
  if (a->shot_noise != 1) PetscCall(PetscViewerASCIIPrintf(v, "    continuous values: a photon's shot noise %.4g (-corr_shot_noise) taken out of the contrast\n", a->shot_noise));
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteAll(MxAnalyze a, MxOut o)
{
  size_t      nf = (size_t)a->nf, ntau = (size_t)a->win_len - 1;
  hsize_t     d1[1], d2[2], d3[3];
  double     *t, *tau, *age;
  PetscInt    nids = a->ntrain_ids_used;
  PetscInt    nm   = a->nimg_mod; /* every rank: the modules read */
  const hid_t inttype = MPIU_INT == MPI_INT ? H5T_NATIVE_INT : H5T_NATIVE_INT64;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Bcast(&nids, 1, MPIU_INT, 0, a->comm));
  PetscCall(WriteEntry(a, o));
  /* /xpcs */
  PetscCall(MxRingsWrite(a->rings, o));
  d1[0] = (hsize_t)a->saxs_nbins;
  PetscCall(MxOutDoubles(o, MX_SAXS_Q, 1, d1, a->saxs_q));
  PetscCall(MxOutDoubles(o, MX_SAXS_I, 1, d1, a->saxs_I));
  PetscCall(MxOutDoubles(o, MX_SAXS_I_ERR, 1, d1, a->saxs_err));
  d2[0] = (hsize_t)a->saxs_nbins;
  d2[1] = nf;
  PetscCall(MxOutDoubles(o, MX_SAXS_I_PULSE, 2, d2, a->saxs_Ip));
  PetscCall(MxOutDoubles(o, MX_SAXS_I_PULSE_ERR, 2, d2, a->saxs_Ip_err));
  {
    hsize_t di[3] = {(hsize_t)nm, MX_NSS, MX_NFS}, dm[1] = {(hsize_t)nm};
    PetscCall(MxOutArray(o, MX_SAXS_IMAGE, H5T_NATIVE_FLOAT, 3, di, a->image));
    PetscCall(MxOutArray(o, MX_SAXS_IMAGE_MODULES, inttype, 1, dm, a->img_mod));
  }
  PetscCall(PetscMalloc3(nf, &t, ntau + 1, &tau, a->nwin, &age));
  for (size_t k = 0; k < nf; k++) t[k] = k * a->dt_s;
  for (size_t k = 0; k < ntau; k++) tau[k] = (k + 1) * a->dt_s;
  for (PetscInt w = 0; w < a->nwin; w++) age[w] = (a->win_start[w] + 0.5 * (a->win_len - 1)) * a->dt_s;
  d1[0] = nf;
  PetscCall(MxOutDoubles(o, MX_TWOTIME_T, 1, d1, t));
  d3[0] = (hsize_t)a->nring;
  d3[1] = d3[2] = nf;
  PetscCall(MxOutDoubles(o, MX_TWOTIME_C, 3, d3, a->C));
  PetscCall(MxOutDoubles(o, MX_TWOTIME_C_RAW, 3, d3, a->Craw));
  PetscCall(MxOutDoubles(o, MX_TWOTIME_XC, 3, d3, a->XC));
  d1[0] = ntau;
  PetscCall(MxOutDoubles(o, MX_G2_TAU, 1, d1, tau));
  d1[0] = (hsize_t)a->nwin;
  PetscCall(MxOutDoubles(o, MX_G2_AGE, 1, d1, age));
  d3[0] = (hsize_t)a->nring;
  d3[1] = (hsize_t)a->nwin;
  d3[2] = ntau;
  PetscCall(MxOutDoubles(o, MX_G2_G2, 3, d3, a->g2));
  PetscCall(MxOutDoubles(o, MX_G2_G2_ERR, 3, d3, a->g2err));
  {
    double *tt;
    hsize_t dt[1] = {nf - 1}, d2t[2] = {(hsize_t)a->nring, nf - 1};
    PetscCall(PetscMalloc1(nf, &tt));
    for (size_t k = 0; k + 1 < nf; k++) tt[k] = (k + 1) * a->dt_s;
    PetscCall(MxOutDoubles(o, MX_G2_TRAIN_TAU, 1, dt, tt));
    PetscCall(PetscFree(tt));
    PetscCall(MxOutDoubles(o, MX_G2_TRAIN, 2, d2t, a->g2t));
    PetscCall(MxOutDoubles(o, MX_G2_TRAIN_ERR, 2, d2t, a->g2t_err));
  }
  d1[0] = (hsize_t)a->nring;
  PetscCall(MxOutDoubles(o, MX_CONTRAST_BETA, 1, d1, a->beta));
  PetscCall(MxOutDoubles(o, MX_CONTRAST_BETA_ERR, 1, d1, a->beta_err));
  PetscCall(MxOutDoubles(o, MX_CONTRAST_HETEROGENEITY, 1, d1, a->hetero));
  PetscCall(MxOutDoubles(o, MX_CONTRAST_BETA_SPECKLE, 1, d1, a->beta_sp));
  PetscCall(MxOutDoubles(o, MX_CONTRAST_BETA_SPECKLE_ERR, 1, d1, a->beta_sp_err));
  PetscCall(MxOutDoubles(o, MX_CONTRAST_BETA_INTERCEPT, 1, d1, a->beta_icpt));
  PetscCall(MxOutDoubles(o, MX_CONTRAST_BETA_INTERCEPT_ERR, 1, d1, a->beta_icpt_err));
  PetscCall(MxOutArray(o, MX_CONTRAST_BETA_DISAGREE, H5T_NATIVE_INT, 1, d1, a->beta_disagree));
  PetscCall(MxOutScalar(o, MX_CONTRAST_SHOT_NOISE, a->shot_noise));
  {
    MxG2FitBeta mode;
    PetscCall(MxG2FitGetBetaMode(a->fit, &mode));
    PetscCall(MxOutString(o, MX_CONTRAST_FIT_BETA, MxG2FitBetaNames[mode]));
  }
  d2[0] = (hsize_t)a->nring;
  d2[1] = (hsize_t)a->nwin;
  PetscCall(MxOutDoubles(o, MX_FIT_GAMMA, 2, d2, a->gam));
  PetscCall(MxOutDoubles(o, MX_FIT_GAMMA_ERR, 2, d2, a->gam_err));
  PetscCall(MxOutDoubles(o, MX_FIT_GAMMA0, 1, d1, a->gam0));
  PetscCall(MxOutDoubles(o, MX_FIT_GAMMA0_ERR, 1, d1, a->gam0_err));
  PetscCall(MxOutDoubles(o, MX_FIT_D_EFF, 1, d1, a->Deff));
  PetscCall(MxOutDoubles(o, MX_FIT_Q_EFF, 1, d1, a->q_eff));
  PetscCall(MxOutDoubles(o, MX_FIT_D_EFF_ERR, 1, d1, a->Deff_err));
  PetscCall(MxOutScalar(o, MX_FIT_D_EFF_MEAN, a->Deff_mean));
  PetscCall(MxOutScalar(o, MX_FIT_D_EFF_MEAN_ERR, a->Deff_mean_err));
  /* the errors the fits propagate (treating lags and age windows as independent), beside */
  PetscCall(MxOutDoubles(o, MX_FIT_GAMMA_ERR_FIT, 2, d2, a->gam_err_fit));
  PetscCall(MxOutDoubles(o, MX_FIT_GAMMA0_ERR_FIT, 1, d1, a->gam0_err_fit));
  PetscCall(MxOutScalar(o, MX_FIT_D_EFF_MEAN_ERR_FIT, a->Deff_mean_err_fit));
  PetscCall(MxOutScalar(o, MX_FIT_JACKKNIFE_GROUPS, (double)a->jk_groups_used));
  {
    hsize_t d4[1] = {4};
    PetscCall(MxOutStrings(o, MX_FIT_EXTRAPOLATIONS, 4, MxExtrapolationNames));
    PetscCall(MxOutAttrString(o, MX_FIT_EXTRAPOLATIONS, "used", MxExtrapolationNames[a->extrap_order - 1]));
    PetscCall(MxOutDoubles(o, MX_FIT_D_EFF_MEAN_BY_EXTRAPOLATION, 1, d4, a->alt_Deff_mean));
    PetscCall(MxOutDoubles(o, MX_FIT_D_EFF_MEAN_BY_EXTRAPOLATION_ERR, 1, d4, a->alt_Deff_mean_err));
    PetscCall(MxOutScalar(o, MX_FIT_HEATING_DT0_K, a->heat_dT0[0]));
    PetscCall(MxOutScalar(o, MX_FIT_HEATING_DT0_K_ERR, a->heat_dT0[1]));
    PetscCall(MxOutScalar(o, MX_FIT_HEATING_FLUENCE, a->heat_dT0[0] / a->heat_per_fluence));
    PetscCall(MxOutScalar(o, MX_FIT_HEATING_FLUENCE_ERR, a->heat_dT0[1] / a->heat_per_fluence));
    PetscCall(MxOutScalar(o, MX_FIT_HEATING_TAU_I, a->heat_tauI_s));
    d4[0] = (hsize_t)a->nwin;
    PetscCall(MxOutDoubles(o, MX_FIT_HEATING_H, 1, d4, a->heat_hw));
    PetscCall(MxOutScalar(o, MX_FIT_HEATING_PHI, a->heat.phi));
    PetscCall(MxOutScalar(o, MX_FIT_HEATING_PATH_MM, a->heat.path_mm));
    PetscCall(MxOutAttrString(o, MX_FIT_HEATING_PHI, "solvent", MxSolventNames[a->heat.solvent]));
    PetscCall(MxOutAttrDouble(o, MX_FIT_HEATING_PHI, "Ea_kJ_mol", a->heat.Ea_kJ_mol));
    PetscCall(MxOutAttrDouble(o, MX_FIT_HEATING_PHI, "T0_K", a->heat.T0_K));
  }
  if (a->ndose > 0) { /* the dose-resolved view */
    hsize_t dd[1] = {(hsize_t)a->ndose}, d3[3] = {(hsize_t)a->ndose, (hsize_t)a->nring, (hsize_t)a->nwin}, dw[2] = {(hsize_t)a->ndose, (hsize_t)a->nwin}, dq[1] = {(hsize_t)a->nring};
    const double *ns;
    const double *unused[3];
    PetscInt      nd;
    PetscCall(MxEngineGetDose(a->eng, &nd, &unused[0], &unused[1], &unused[2], &ns));
    PetscCall(MxOutDoubles(o, MX_FIT_DOSE_PULSE_ENERGY_REL, 1, dd, a->dose_rel));
    PetscCall(MxOutDoubles(o, MX_FIT_DOSE_NTRAINS, 1, dd, ns));
    PetscCall(MxOutDoubles(o, MX_FIT_DOSE_GAMMA, 3, d3, a->dose_gam));
    PetscCall(MxOutDoubles(o, MX_FIT_DOSE_GAMMA_ERR, 3, d3, a->dose_gam_err));
    PetscCall(MxOutDoubles(o, MX_FIT_DOSE_GY, 2, dw, a->dose_Gy));
    PetscCall(MxOutDoubles(o, MX_FIT_DOSE_GAMMA0, 1, dq, a->dose_gam0));
    PetscCall(MxOutDoubles(o, MX_FIT_DOSE_GAMMA0_ERR, 1, dq, a->dose_gam0_err));
    PetscCall(MxOutScalar(o, MX_FIT_DOSE_D_EFF_MEAN, a->dose_Deff_mean[0]));
    PetscCall(MxOutScalar(o, MX_FIT_DOSE_D_EFF_MEAN_ERR, a->dose_Deff_mean[1]));
    PetscCall(MxOutScalar(o, MX_FIT_DOSE_FLUENCE, a->dose_dT0[0] / a->heat_per_fluence));
    PetscCall(MxOutScalar(o, MX_FIT_DOSE_FLUENCE_ERR, a->dose_dT0[1] / a->heat_per_fluence));
  }
  if (a->jk_groups_used) {
    hsize_t d3j[3] = {(hsize_t)a->jk_groups_used, (hsize_t)a->nring, (hsize_t)a->nwin};
    PetscCall(MxOutDoubles(o, MX_FIT_GAMMA_JACKKNIFE, 3, d3j, a->gamJ));
  }
  d1[0] = (hsize_t)nids;
  PetscCall(MxOutArray(o, MX_META_TRAIN_IDS, H5T_NATIVE_UINT64, 1, d1, a->train_ids_used));
  PetscCall(MxOutScalar(o, MX_META_NO_NEIGHBOUR, a->nleft_noneighbour));
  PetscCall(MxOutScalar(o, MX_META_CORR_XC, a->xc ? 1 : 0));
  PetscCall(MxOutScalar(o, MX_META_DROPPED_INTENSITY, (double)a->ndrop));
  PetscCall(MxOutScalar(o, MX_META_DROPPED_XGM, (double)a->ndrop_xgm));
  PetscCall(MxOutScalar(o, MX_META_RINGS_NO_PHOTONS, (double)a->nring_empty));
  PetscCall(MxOutScalar(o, MX_META_NONFINITE, *a->nnonfinite));
  {
    PetscInt nd;
    PetscCall(MxRingsGetDropped(a->rings, &nd));
    PetscCall(MxOutScalar(o, MX_META_RINGS_FEW_PIXELS, (double)nd));
  }
  { /* what the reader skipped (bad trains, modules without data): counted and listed */
    PetscInt    na, nd;
    const char *text;
    na   = nd = 0;
    text = "";
    if (!a->stream) PetscCall(MxReaderGetAnomalies(a->reader, &na, &text, &nd));
    PetscCall(MxOutScalar(o, MX_META_DROPPED_READING, (double)nd));
    PetscCall(MxOutScalar(o, MX_META_ANOMALIES_COUNT, (double)na));
    PetscCall(MxOutString(o, MX_META_ANOMALIES, text));
  }
  {
    PetscInt        ntr, n = 0;
    const uint64_t *tid;
    uint64_t       *ids;
    ntr = a->run.ntr;
    tid = a->run.tid;
    PetscCall(PetscMalloc1(ntr + 1, &ids));
    for (PetscInt i = 0; i < ntr; i++)
      if (a->drop[i] == 2) ids[n++] = tid[i];
    d1[0] = (hsize_t)n;
    PetscCall(MxOutArray(o, MX_META_IDS_DROPPED_XGM, H5T_NATIVE_UINT64, 1, d1, ids));
    n = 0;
    for (PetscInt i = 0; i < ntr; i++)
      if (a->drop[i] == 1) ids[n++] = tid[i];
    d1[0] = (hsize_t)n;
    PetscCall(MxOutArray(o, MX_META_IDS_DROPPED_INTENSITY, H5T_NATIVE_UINT64, 1, d1, ids));
    n = 0;
    for (PetscInt i = 0; i < ntr; i++)
      if (a->unread[i] > 0) ids[n++] = tid[i];
    d1[0] = (hsize_t)n;
    PetscCall(MxOutArray(o, MX_META_IDS_DROPPED_UNREADABLE, H5T_NATIVE_UINT64, 1, d1, ids));
    PetscCall(MxOutScalar(o, MX_META_DROPPED_UNREADABLE, (double)n));
    PetscCall(PetscFree(ids));
  }
  if (a->xgm_mean) {
    PetscCall(MxOutScalar(o, MX_META_WITHOUT_XGM, (double)a->nxgm_missing));
    d1[0] = (hsize_t)a->nf;
    PetscCall(MxOutDoubles(o, MX_META_PULSE_ENERGY, 1, d1, a->xgm_mean));
    PetscCall(MxOutAttrString(o, MX_META, "xgm_source", a->xgm_used));
  }
  PetscCall(WriteCorrections(a, o));
  /* the pyXpcsViewer items and the NXxpcs groups, from the same numbers */
  {
    MxViewerData v;
    int         *sbin;
    PetscCall(PetscMalloc1((size_t)MX_NMOD * MX_MODPIX, &sbin));
    PetscCall(MxAnalyzeStaticBins(a, sbin));
    v = (MxViewerData){.geom = a->geom, .rings = a->rings, .static_bin = sbin, .nq = a->nring, .nf = a->nf, .nage = a->nwin, .ntau = (PetscInt)ntau, .ns = a->saxs_nbins, .frame_time = a->dt_s, .age_start = a->win_start, .C = a->C, .g2 = a->g2, .g2_err = a->g2err, .g2_train = a->g2t, .g2_train_err = a->g2t_err, .saxs_q = a->saxs_q, .saxs_I = a->saxs_I, .saxs_I_pulse = a->saxs_Ip, .nimage = nm, .image_mod = a->img_mod, .image = a->image};
    PetscErrorCode ierr = MxViewerWrite(o, &v);
    PetscCall(PetscFree(sbin));
    PetscCall(ierr);
  }
  PetscCall(PetscFree3(t, tau, age));
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeWrite(MxAnalyze a, const char path[])
{
  MxOut     o;
  PetscBool replaced;

  PetscFunctionBeginUser;
  PetscCall(PetscLogEventBegin(MX_AN_WRITE, 0, 0, 0, 0));
  PetscCall(MxOutCreate(a->comm, path, &o));
  PetscErrorCode ierr = WriteAll(a, o);
  PetscCall(MxOutClose(&o, ierr, &replaced));
  PetscCall(PetscLogEventEnd(MX_AN_WRITE, 0, 0, 0, 0));
  if (!a->write_quiet) PetscCall(PetscPrintf(a->comm, "mxpcs %s: %s %s\n", a->stream ? "online" : "analyze", replaced ? "replaced" : "wrote", path));
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeView(MxAnalyze a, PetscViewer v)
{
  PetscMPIInt rank;
  PetscInt    ntr, nd;

  PetscFunctionBeginUser;
  MPI_Comm_rank(a->comm, &rank);
  ntr = a->run.ntr;
  nd  = 0;
  if (!a->stream) PetscCall(MxReaderGetAnomalies(a->reader, NULL, NULL, &nd));
  {
    PetscInt r = a->resumed_at, rmax;
    PetscCallMPI(MPI_Allreduce(&r, &rmax, 1, MPIU_INT, MPI_MAX, a->comm));
    if (rmax >= 0) PetscCall(PetscViewerASCIIPrintf(v, "mxpcs analyze: resumed from the checkpoint in %s (rank 0 at train %" PetscInt_FMT ")\n", a->ckpt_dir, a->resumed_at));
  }
  PetscCall(PetscViewerASCIIPrintf(v, "mxpcs %s: %g of %" PetscInt_FMT " trains used (%g left out without a neighbouring train, %" PetscInt_FMT " intensity outliers dropped, %" PetscInt_FMT " dropped while reading), %" PetscInt_FMT " rings, %" PetscInt_FMT " frames/train, age windows of %" PetscInt_FMT " pulses (%" PetscInt_FMT "), neighbour-train correction %s\n", a->stream ? "online" : "analyze", a->ntrains_used, ntr, a->nleft_noneighbour, a->ndrop, nd, a->nring, a->nf, a->win_len, a->nwin, a->xc ? "on" : "off"));
  if (!rank) {
    MxG2FitBeta mode;
    PetscCall(MxG2FitGetBetaMode(a->fit, &mode));
    PetscCall(PetscViewerASCIIPrintf(v, "  ring   q[1/A]     beta          intercept       Gamma0[1/s]            D_eff[um^2/s]\n"));
    for (PetscInt r = 0; r < a->nring; r++) PetscCall(PetscViewerASCIIPrintf(v, "  %4" PetscInt_FMT "  %.5f  %.4f+-%.4f  %.4f+-%.4f%s %10.4g+-%-10.3g  %8.3f+-%.3f\n", r, a->q[r], a->beta[r], a->beta_err[r], a->beta_icpt[r], a->beta_icpt_err[r], a->beta_disagree[r] ? "*" : " ", a->gam0[r], a->gam0_err[r], a->Deff[r], a->Deff_err[r]));
    PetscCall(PetscViewerASCIIPrintf(v, "  contrast: beta from the diagonal of C, intercept from the g2 fits (-fit_beta %s: %s); %" PetscInt_FMT " of %" PetscInt_FMT " rings (*) differ by more than 3 sigma\n", MxG2FitBetaNames[mode], mode == MX_G2FIT_BETA_SHARED ? "one beta per ring shared by the age windows, used in the fits" : mode == MX_G2FIT_BETA_FREE ? "weighted mean of the windows' free betas" : "a shared-beta fit for this check; the fits use the diagonal", a->nbeta_disagree, a->nring));
    PetscCall(PetscViewerASCIIPrintf(v, "  speckle contrast beta/F, F the spread of I(q) across the ring (C, its diagonal and the fits all carry F; Gamma does not):"));
    for (PetscInt r = 0; r < a->nring; r++) PetscCall(PetscViewerASCIIPrintf(v, " %.4f (F %.4f)%s", a->beta_sp[r], a->hetero[r], r + 1 < a->nring ? "," : "\n"));
    if (a->nbeta_disagree > 0) {
      MxPhotonizeKind ph;
      PetscCall(MxDetCorrGetKinds(a->dc, NULL, &ph, NULL, NULL));
      PetscCall(PetscViewerASCIIPrintf(v, "  hint: the contrast from the diagonal looks biased (detector noise, data not photonised, charge sharing)%s%s\n", mode == MX_G2FIT_BETA_SHARED ? "; the fits already use the shared beta" : "; consider -fit_beta shared",
                                       ph == MX_PHOTONIZE_NONE ? "; values not photonised: -reader_photonize droplet, or a photon's shot noise in them with -corr_shot_noise (1 + g^2 for a gain spread g; docs/analyze.md)" : ""));
    }
    PetscCall(PetscViewerASCIIPrintf(v, "  D_eff_mean = %.3f +- %.3f um^2/s (extrapolated to zero dose: %s)\n", a->Deff_mean, a->Deff_mean_err, MxExtrapolationNames[a->extrap_order - 1]));
    if (a->q_eff_on) {
      double lo = INFINITY, hi = -INFINITY;
      for (PetscInt r = 0; r < a->nring; r++) {
        lo = PetscMin(lo, a->q_eff[r] / a->q[r] - 1);
        hi = PetscMax(hi, a->q_eff[r] / a->q[r] - 1);
      }
      PetscCall(PetscViewerASCIIPrintf(v, "  D_eff = Gamma0/q_eff^2, q_eff the ring's rms q weighted by its pixels' mean intensity squared: %+.2f .. %+.2f %% from the mean q above (-fit_q_eff 0: the mean q)\n", 100 * lo, 100 * hi));
    }
    PetscCall(PetscViewerASCIIPrintf(v, "  by extrapolation (fit errors):"));
    for (int m = 0; m < 4; m++) PetscCall(PetscViewerASCIIPrintf(v, "%s %s %.3f +- %.3f (%+.1f %%)", m ? "," : "", MxExtrapolationNames[m], a->alt_Deff_mean[m], a->alt_Deff_mean_err[m], 100 * (a->alt_Deff_mean[m] / a->alt_Deff_mean[a->extrap_order - 1] - 1)));
    if (a->ndose > 0) {
      PetscCall(PetscViewerASCIIPrintf(v, "\n  dose-resolved (%" PetscInt_FMT " groups of trains by XGM pulse energy, relative", a->ndose));
      for (PetscInt b = 0; b < a->ndose; b++) PetscCall(PetscViewerASCIIPrintf(v, " %.3f", a->dose_rel[b]));
      PetscCall(PetscViewerASCIIPrintf(v, "): D_eff_mean %.3f +- %.3f um^2/s, effective fluence %.3g +- %.2g J/cm^2", a->dose_Deff_mean[0], a->dose_Deff_mean[1], a->dose_dT0[0] / a->heat_per_fluence, a->dose_dT0[1] / a->heat_per_fluence));
    }
    PetscCall(PetscViewerASCIIPrintf(v, "\n  heating model (%s, PbS phi %g, %g mm, %.4g keV, tau_I %.3g us): dT_c0 = %.3g +- %.2g K per pulse (%s), effective fluence %.3g J/cm^2\n", MxSolventNames[a->heat.solvent], a->heat.phi, a->heat.path_mm, a->heat.energy_keV, a->heat_tauI_s * 1e6, a->heat_dT0[0], a->heat_dT0[1], a->heat_fluence > 0 ? "fixed" : "fitted", a->heat_dT0[0] / a->heat_per_fluence));
    if (a->jk_groups_used) PetscCall(PetscViewerASCIIPrintf(v, "  errors: jackknife over %" PetscInt_FMT " train groups (the fits alone give +- %.3f for D_eff_mean)%s\n", a->jk_groups_used, a->Deff_mean_err_fit, a->jk_fallback ? "; some rings keep fit errors" : ""));
    else PetscCall(PetscViewerASCIIPrintf(v, "  errors: from the fits (lags and age windows taken as independent; -g2_jackknife N for a jackknife over train groups)\n"));
    PetscCall(ViewCorrections(a, v));
    if (a->xgm_mean) PetscCall(PetscViewerASCIIPrintf(v, "  XGM %s: %" PetscInt_FMT " trains dropped (a pulse below %g of the median energy, or mean energy beyond %g robust sigmas), %" PetscInt_FMT " trains without an XGM record kept\n", a->xgm_used, a->ndrop_xgm, (double)a->xgm_min_frac, (double)a->xgm_sigma, a->nxgm_missing));
    else if (strcmp(a->xgm, "off")) PetscCall(PetscViewerASCIIPrintf(v, "  XGM: no XGM record found beside the run; no pulse-energy filter\n"));
    for (PetscInt r = 0; r < a->nring && a->ring_empty; r++) {
      if (!a->ring_empty[r]) continue;
      /* a ring none of whose pixels was valid in any train (the files' mask flags them all, e.g.
         a NON_SENSITIVE ASIC over it: the rings are made before the files' masks are read) */
      PetscInt    nvalid = -1;
      const int  *roi    = NULL;
      if (a->image && !MxRingsGetMap(a->rings, &roi)) {
        nvalid = 0;
        for (PetscInt i = 0; i < a->nimg_mod; i++)
          for (size_t p = 0; p < MX_MODPIX; p++)
            nvalid += roi[(size_t)a->img_mod[i] * MX_MODPIX + p] == r + 1 && isfinite(a->image[(size_t)i * MX_MODPIX + p]);
      }
      if (nvalid == 0) PetscCall(PetscViewerASCIIPrintf(v, "  ring %" PetscInt_FMT " (q = %.5f 1/A): none of its pixels was valid in any train used (all flagged by the files' masks or -mask_file, or not finite): C, g2 and rates undefined, left out of D_eff_mean\n", r, a->q[r]));
      else PetscCall(PetscViewerASCIIPrintf(v, "  ring %" PetscInt_FMT " (q = %.5f 1/A): zero mean intensity in some frame of the trains used (no photons): C, g2 and rates undefined, left out of D_eff_mean\n", r, a->q[r]));
    }
    {
      PetscInt nd;
      PetscCall(MxRingsGetDropped(a->rings, &nd));
      if (nd > 0) PetscCall(PetscViewerASCIIPrintf(v, "  %" PetscInt_FMT " ring(s) dropped: too few good pixels (-rings_min_pixels; `mxpcs qmap` lists the rings)\n", nd));
    }
    if (a->nunread > 0) PetscCall(PetscViewerASCIIPrintf(v, "  %g train(s) dropped because their frames could not be read (corrupted file?): listed in /xpcs/meta/train_ids_dropped_unreadable; -strict makes this an error\n", a->nunread));
    if (a->nnonfinite && *a->nnonfinite > 0) PetscCall(PetscViewerASCIIPrintf(v, "  %.0f pixel values were NaN or inf where the mask does not flag them: masked (-strict makes this an error)\n", *a->nnonfinite));
    if (a->nwin == 1) PetscCall(PetscViewerASCIIPrintf(v, "  note: one age window, so Gamma0 is Gamma at age %g s, not extrapolated to zero age (use a smaller -g2_age_step or -g2_age_window)\n", (a->win_start[0] + 0.5 * (a->win_len - 1)) * a->dt_s));
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeSetWriteQuiet(MxAnalyze a, PetscBool quiet)
{
  PetscFunctionBeginUser;
  a->write_quiet = quiet;
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeGetReader(MxAnalyze a, MxReader *r)
{
  PetscFunctionBeginUser;
  *r = a->reader;
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeGetRingResults(MxAnalyze a, PetscInt *nring, PetscInt *nwin, const double **q, const double **beta, const double **gamma, const double **Deff, double *Deff_mean)
{
  PetscFunctionBeginUser;
  *nring     = a->nring;
  *nwin      = a->nwin;
  *q         = a->q;
  *beta      = a->beta;
  *gamma     = a->gam;
  *Deff      = a->Deff;
  *Deff_mean = a->Deff_mean;
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeViewFromOptions(MxAnalyze a)
{
  PetscFunctionBeginUser;
  if (!a->view_set) {
    PetscCall(MxAnalyzeView(a, PETSC_VIEWER_STDOUT_(a->comm)));
    PetscFunctionReturn(0);
  }
  PetscCall(PetscViewerPushFormat(a->viewer, a->vformat));
  PetscCall(MxAnalyzeView(a, a->viewer));
  PetscCall(PetscViewerPopFormat(a->viewer));
  PetscFunctionReturn(0);
}

PetscErrorCode MxAnalyzeDestroy(MxAnalyze *pa)
{
  MxAnalyze a = *pa;

  PetscFunctionBeginUser;
  if (!a) PetscFunctionReturn(0);
  PetscCall(PetscViewerDestroy(&a->viewer));
  PetscCall(MxReaderDestroy(&a->reader));
  PetscCall(MxGeomDestroy(&a->geom));
  PetscCall(MxRingsDestroy(&a->rings));
  PetscCall(MxG2FitDestroy(&a->fit));
  PetscCall(MxDetCorrDestroy(&a->dc));
  PetscCall(PetscFree(a->ring_flag));
  PetscCall(PetscFree(a->ranges));
  PetscCall(PetscFree(a->ring_off));
  PetscCall(PetscFree(a->ring_pix));
  if (a->saxs_bin) PetscCall(PetscFree2(a->saxs_bin, a->corr));
  PetscCall(MxEngineDestroy(&a->eng)); /* and the table's arrays (a->unread, a->nnonfinite, a->nread) */
  PetscCall(PetscFree(a->win_start));
  PetscCall(ResultsFree(a));
  if (a->saxs_q) PetscCall(PetscFree5(a->saxs_q, a->saxs_I, a->saxs_err, a->saxs_Ip, a->saxs_Ip_err));
  PetscCall(PetscFree(a->train_ids_used));
  PetscCall(PetscFree(a->drop));
  PetscCall(PetscFree(a->dose_bin));
  if (a->dose_rel) PetscCall(PetscFree2(a->dose_rel, a->dose_n));

  PetscCall(PetscFree(a->xgm_mean));
  PetscCall(PetscFree(a->opts));
  PetscCall(PetscFree(a->image));
  PetscCall(PetscFree(a));
  *pa = NULL;
  PetscFunctionReturn(0);
}

/* Throughput per rank and the correlation kernel against a bare cblas_ssyrk of the same shape
   in the same process (design.md section 5). Collective. */
PetscErrorCode MxAnalyzeBench(MxAnalyze a)
{
  PetscMPIInt rank;
  int         npr = 0;
  double      bare = 0, bytes, t_bare;
  float      *M, *Cf;

  PetscFunctionBeginUser;
  MPI_Comm_rank(a->comm, &rank);
  struct rusage ru; /* peak memory of the analysis, before the bare-BLAS comparison allocates */
  getrusage(RUSAGE_SELF, &ru);
  double rss_mib = ru.ru_maxrss / 1024.0;
  npr = a->ring_off[a->nring];
  PetscCall(PetscMalloc2((size_t)a->nf * PetscMax(npr, 1), &M, (size_t)a->nf * a->nf, &Cf));
  for (size_t k = 0; k < (size_t)a->nf * PetscMax(npr, 1); k++) M[k] = (float)((k * 2654435761u) % 7);
  {
    int    reps = 0;
    double t0   = MPI_Wtime();
    do {
      cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)a->nf, npr, 1.0f, M, npr, 0.0f, Cf, (int)a->nf);
      reps++;
    } while (MPI_Wtime() - t0 < 0.5 && reps < 200);
    t_bare = (MPI_Wtime() - t0) / reps;
    bare   = (double)a->nf * (a->nf + 1) * npr / t_bare;
  }
  PetscCall(PetscFree2(M, Cf));
  PetscInt nread = a->nread ? (PetscInt)*a->nread : 0;
  bytes = (double)nread * a->nf * a->npix * sizeof(float);
  double tot = a->t_read + a->t_corr + a->t_comm;
  PetscCall(PetscSynchronizedPrintf(a->comm, "[rank %d] %" PetscInt_FMT " trains (%.0f frames, %.2f GB of frames over %zu pixels): %.0f frames/s, %.3f GB/s; time: read %.1f %%, correlate %.1f %%, reduce %.1f %%; kernel %.2f GFLOP/s = %.0f %% of a bare cblas_ssyrk (%d x %d: %.2f GFLOP/s); peak memory %.0f MiB\n", rank, nread, (double)nread * a->nf, bytes / 1e9, a->npix, nread * a->nf / PetscMax(tot, 1e-9), bytes / 1e9 / PetscMax(tot, 1e-9), 100 * a->t_read / PetscMax(tot, 1e-9), 100 * a->t_corr / PetscMax(tot, 1e-9), 100 * a->t_comm / PetscMax(tot, 1e-9), a->flops / PetscMax(a->t_kernel, 1e-12) / 1e9, 100 * (a->flops / PetscMax(a->t_kernel, 1e-12)) / PetscMax(bare, 1), (int)a->nf, npr, bare / 1e9, rss_mib));
  PetscCall(PetscSynchronizedFlush(a->comm, PETSC_STDOUT));
  if (!a->stream) PetscCall(MxReaderViewReadStats(a->reader, a->comm, tot));
  if (a->dc_acc && !a->stream) { /* the detector corrections' share of the read (issue 13: at most 20 %) */
    MxReadStats rs;
    char        what[256];
    PetscCall(MxReaderGetReadStats(a->reader, &rs));
    PetscCall(MxDetCorrDescribe(a->dc, what, sizeof what));
    const double t_dc = ((const MxDetCorrStats *)a->dc_acc)->t, t_rd = rs.t_io + rs.t_inflate + rs.t_finish + rs.t_hdf5 + rs.t_read_caller;
    PetscCall(PetscSynchronizedPrintf(a->comm, "[rank %d] detector corrections (%s): %.3f s = %.1f %% of the read (pread, inflate, mask pass, both threads: %.3f s)\n", rank, what, t_dc, 100 * t_dc / PetscMax(t_rd, 1e-9), t_rd));
    PetscCall(PetscSynchronizedFlush(a->comm, PETSC_STDOUT));
  }
  { /* against the facility: EuXFEL delivers 10 trains/s; the run's rate is its trains over the
       slowest rank's loop time (reading, correlating, reducing; set-up and fits excluded) */
    PetscMPIInt size;
    PetscInt    ntr;
    double      tmax;
    MPI_Comm_size(a->comm, &size);
    ntr = a->run.ntr;
    PetscCallMPI(MPI_Allreduce(&tot, &tmax, 1, MPI_DOUBLE, MPI_MAX, a->comm));
    double rate = ntr / PetscMax(tmax, 1e-9);
    PetscCall(PetscPrintf(a->comm, "facility rate: 10 trains/s of %" PetscInt_FMT " frames; this run: %.1f trains/s on %d rank(s) = %.2fx the facility; %d rank(s) at this rate per rank would keep up\n", a->nf, rate, size, rate / 10.0, (int)ceil(10.0 / (rate / size))));
  }
  PetscFunctionReturn(0);
}
