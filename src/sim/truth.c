/* DIR/truth.h5: every generating parameter and the derived truth (design.md section 4), written
   through MxOut: every path, units and NX_class from include/mxpcs/schema.def. */
#include "simimpl.h"
#include <mxpcs/schema.h>
#include <math.h>

/* the run directory's name: the last component of -o DIR */
static void RunName(const char dir[], char buf[], size_t len)
{
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--;
  size_t b = n;
  while (b > 0 && dir[b - 1] != '/') b--;
  snprintf(buf, len, "%.*s", (int)(n - b), dir + b);
}

/* The clean photon counts per contrast bin (count_acc summed over the trains on rank 0) */
static PetscErrorCode WriteCounts(MxSim s, MxOut o)
{
  PetscInt nb = s->nbins;
  double  *mean, *beta, *pooled, *frac, *n;
  hsize_t  d1[1] = {(hsize_t)nb}, d2[2] = {(hsize_t)nb, 3};

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc5(nb, &mean, nb, &beta, nb, &pooled, 3 * nb, &frac, nb, &n));
  for (PetscInt b = 0; b < nb; b++) {
    const double *a = s->count_acc + MX_NCOUNT * b;
    double        N = a[2], k1 = a[0] / N, k2 = a[1] / N, r1 = a[5] / N, r2 = a[6] / N;
    n[b]          = N;
    mean[b]       = N > 0 ? k1 : NAN;
    beta[b]       = N > 0 && r1 > 0 ? r2 / (r1 * r1) - 1 : NAN;
    pooled[b]     = N > 0 && k1 > 0 ? (k2 - k1) / (k1 * k1) - 1 : NAN;
    frac[3 * b]     = N > 0 ? a[3] / N : NAN;
    frac[3 * b + 1] = N > 0 ? a[4] / N : NAN;
    frac[3 * b + 2] = N > 0 ? (N - a[3] - a[4]) / N : NAN;
  }
  PetscCall(MxOutDoubles(o, MX_TRUTH_COUNTS_MEAN, 1, d1, mean));
  PetscCall(MxOutDoubles(o, MX_TRUTH_COUNTS_BETA, 1, d1, beta));
  PetscCall(MxOutDoubles(o, MX_TRUTH_COUNTS_BETA_POOLED, 1, d1, pooled));
  PetscCall(MxOutDoubles(o, MX_TRUTH_COUNTS_FRACTIONS, 2, d2, frac));
  PetscCall(MxOutDoubles(o, MX_TRUTH_COUNTS_SAMPLES, 1, d1, n));
  PetscCall(PetscFree5(mean, beta, pooled, frac, n));
  PetscFunctionReturn(0);
}

/* agipd: every map of the detector model; the per-train parts drawn again from their streams */
static PetscErrorCode WriteDetector(MxSim s, MxOut o, PetscInt ntw, const uint64_t *ids, const PetscInt *tidx)
{
  MxSimParams *p  = &s->p;
  PetscInt     nm = s->nmods, np = p->npulses, nspk = 0, cap = 64;
  size_t       npix = (size_t)nm * MX_MODPIX;
  hsize_t      d2[2], d3[3], d4[4];
  float       *f;
  uint8_t     *u;
  double      *spk;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc2(PetscMax(npix, (size_t)PetscMax(ntw, 1) * np * nm * MX_NASIC), &f, npix, &u));
  d3[0] = (hsize_t)nm;
  d3[1] = MX_NSS;
  d3[2] = MX_NFS;
  for (PetscInt i = 0; i < nm; i++) PetscCall(PetscArraycpy(f + i * MX_MODPIX, s->mods[i].gerr, MX_MODPIX));
  PetscCall(MxOutArray(o, MX_TRUTH_DETECTOR_RELATIVE_GAIN, H5T_NATIVE_FLOAT, 3, d3, f));
  for (PetscInt i = 0; i < nm; i++) PetscCall(PetscArraycpy(u + i * MX_MODPIX, s->mods[i].dead, MX_MODPIX));
  PetscCall(MxOutArray(o, MX_TRUTH_DETECTOR_DEAD, H5T_NATIVE_UINT8, 3, d3, u));
  for (PetscInt i = 0; i < nm; i++) PetscCall(PetscArraycpy(u + i * MX_MODPIX, s->mods[i].hot, MX_MODPIX));
  PetscCall(MxOutArray(o, MX_TRUTH_DETECTOR_HOT, H5T_NATIVE_UINT8, 3, d3, u));
  for (PetscInt i = 0; i < MX_MODPIX; i++) u[i] = p->wide_pixels && MxSimWideRow((int)(i / MX_NFS));
  PetscCall(MxOutArray(o, MX_TRUTH_DETECTOR_WIDE, H5T_NATIVE_UINT8, 2, d3 + 1, u));
  for (PetscInt i = 0; i < nm; i++) PetscCall(PetscArraycpy(f + i * np * MX_NASIC, s->mods[i].cmcell, np * MX_NASIC));
  d3[1] = (hsize_t)np;
  d3[2] = MX_NASIC;
  PetscCall(MxOutArray(o, MX_TRUTH_DETECTOR_COMMON_MODE_CELL, H5T_NATIVE_FLOAT, 3, d3, f));
  /* the per-frame common mode, (train, frame, module, ASIC) */
  {
    float *cm;
    PetscCall(PetscMalloc1((size_t)np * MX_NASIC, &cm));
    for (PetscInt t = 0; t < ntw; t++)
      for (PetscInt i = 0; i < nm; i++) {
        MxSimCommonMode(p, s->mods[i].module, tidx[t], cm);
        for (PetscInt n = 0; n < np; n++) PetscCall(PetscArraycpy(f + ((t * np + n) * nm + i) * MX_NASIC, cm + n * MX_NASIC, MX_NASIC));
      }
    PetscCall(PetscFree(cm));
    d4[0] = (hsize_t)ntw;
    d4[1] = (hsize_t)np;
    d4[2] = (hsize_t)nm;
    d4[3] = MX_NASIC;
    PetscCall(MxOutArray(o, MX_TRUTH_DETECTOR_COMMON_MODE, H5T_NATIVE_FLOAT, 4, d4, f));
  }
  PetscCall(PetscFree2(f, u));
  /* the offset residual: np x MX_MODPIX per module, when at most 4 (as the cell pattern) */
  if (nm <= 4) {
    PetscCall(PetscMalloc1((size_t)nm * np * MX_MODPIX, &f));
    for (PetscInt i = 0; i < nm; i++)
      for (PetscInt n = 0; n < np; n++) MxSimOffsetResidual(p, s->mods[i].module, n, f + (i * np + n) * (size_t)MX_MODPIX);
    d4[0] = (hsize_t)nm;
    d4[1] = (hsize_t)np;
    d4[2] = MX_NSS;
    d4[3] = MX_NFS;
    PetscCall(MxOutArray(o, MX_TRUTH_DETECTOR_OFFSET_RESIDUAL, H5T_NATIVE_FLOAT, 4, d4, f));
    PetscCall(PetscFree(f));
  }
  /* the zingers */
  PetscCall(PetscMalloc1(6 * cap, &spk));
  for (PetscInt t = 0; t < ntw; t++)
    for (PetscInt i = 0; i < nm; i++) {
      MxSimSpike *sp;
      PetscInt    n;
      PetscCall(MxSimSpikes(p, s->mods[i].module, tidx[t], &n, &sp));
      for (PetscInt j = 0; j < n; j++) {
        if (nspk == cap) {
          double *b;
          PetscCall(PetscMalloc1(12 * cap, &b));
          PetscCall(PetscArraycpy(b, spk, 6 * cap));
          PetscCall(PetscFree(spk));
          spk = b;
          cap *= 2;
        }
        double *r = spk + 6 * nspk++;
        r[0] = (double)ids[t];
        r[1] = sp[j].frame;
        r[2] = s->mods[i].module;
        r[3] = sp[j].pixel / MX_NFS;
        r[4] = sp[j].pixel % MX_NFS;
        r[5] = sp[j].photons;
      }
      PetscCall(PetscFree(sp));
    }
  d2[0] = (hsize_t)nspk;
  d2[1] = 6;
  PetscCall(MxOutDoubles(o, MX_TRUTH_DETECTOR_SPIKES, 2, d2, spk));
  PetscCall(MxOutScalar(o, MX_TRUTH_DETECTOR_SPIKE_COUNT, (double)nspk));
  PetscCall(PetscFree(spk));
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteTruth(MxSim s, MxOut o)
{
  MxSimParams *p = &s->p;
  hsize_t      d1[1], d2[2], d3[3], d4[4];
  double      *buf, energy;
  char         ident[PETSC_MAX_PATH_LEN];

  PetscFunctionBeginUser;
  RunName(s->outdir, ident, sizeof ident);
  PetscCall(MxOutWriteEntry(o, &(MxOutEntry){ident, NULL, "simulate", NULL, NULL}));
  PetscCall(MxGeomGetEnergy(s->geom, &energy));
  /* parameters */
  PetscCall(MxOutScalar(o, MX_PARAMS_RADIUS_A, p->radius_A));
  PetscCall(MxOutScalar(o, MX_PARAMS_RADIUS_PD, p->pd));
  PetscCall(MxOutScalar(o, MX_PARAMS_PHI, p->phi));
  PetscCall(MxOutScalar(o, MX_PARAMS_STRUCTURE_PY, p->structure_py));
  PetscCall(MxOutScalar(o, MX_PARAMS_HS_DIAMETER_A, p->hs_diameter_A > 0 ? p->hs_diameter_A : 2 * p->radius_A));
  PetscCall(MxOutScalar(o, MX_PARAMS_POROD, p->porod));
  PetscCall(MxOutScalar(o, MX_PARAMS_PHOTONS, p->photons));
  PetscCall(MxOutScalar(o, MX_PARAMS_Q_REF, p->q_ref));
  PetscCall(MxOutScalar(o, MX_PARAMS_BEAM_FWHM_UM, p->beam_fwhm_um));
  PetscCall(MxOutScalar(o, MX_PARAMS_SUBPIXELS, p->subpixels));
  PetscCall(MxOutScalar(o, MX_PARAMS_SASE_MODES, p->sase_modes));
  PetscCall(MxOutScalar(o, MX_PARAMS_PULSE_ENERGY_UJ, p->pulse_energy_uJ));
  PetscCall(MxOutScalar(o, MX_PARAMS_XGM_NOISE, p->xgm_noise));
  PetscCall(MxOutScalar(o, MX_PARAMS_ADU_PER_PHOTON, p->adu_per_photon));
  PetscCall(MxOutScalar(o, MX_PARAMS_GAIN_NOISE, p->gain_noise));
  PetscCall(MxOutScalar(o, MX_PARAMS_D0_UM2_S, p->D0_um2_s));
  PetscCall(MxOutScalar(o, MX_PARAMS_DS_OVER_D0, p->Ds_over_D0));
  PetscCall(MxOutScalar(o, MX_PARAMS_HYDRO_DELTAGAMMA, !strcmp(p->hydro, "deltagamma")));
  PetscCall(MxOutScalar(o, MX_PARAMS_T0_K, p->T0_K));
  PetscCall(MxOutScalar(o, MX_PARAMS_DT_PER_PULSE_K, p->dT_per_pulse_K));
  PetscCall(MxOutScalar(o, MX_PARAMS_EA_KJ_MOL, p->Ea_kJ_mol));
  if (!strcmp(p->heating, "diffusive")) {
    PetscCall(MxOutScalar(o, MX_PARAMS_FLUENCE_J_CM2, p->fluence_J_cm2));
    PetscCall(MxOutScalar(o, MX_PARAMS_HEATING_PHI, p->heat_phi));
    PetscCall(MxOutScalar(o, MX_PARAMS_PATH_MM, p->path_mm));
    PetscCall(MxOutScalar(o, MX_PARAMS_TAU_I_S, p->tauI_s));
    PetscCall(MxOutAttrString(o, MX_ROOT, "solvent", MxSolventNames[p->solvent]));
    PetscCall(MxOutAttrString(o, MX_ROOT, "viscosity", p->arrhenius || p->solvent == MX_SOLVENT_NMF ? "arrhenius" : "solvent"));
  }
  PetscCall(MxOutScalar(o, MX_PARAMS_KAPPA_PER_PULSE, p->kappa_per_pulse));
  PetscCall(MxOutScalar(o, MX_PARAMS_ARTIFACTS, p->artifacts));
  PetscCall(MxOutScalar(o, MX_PARAMS_OFFSET_AMP, p->offset_amp));
  PetscCall(MxOutScalar(o, MX_PARAMS_GAIN_AMP, p->gain_amp));
  PetscCall(MxOutScalar(o, MX_PARAMS_NTRAINS, p->ntrains));
  PetscCall(MxOutScalar(o, MX_PARAMS_NPULSES, p->npulses));
  PetscCall(MxOutScalar(o, MX_PARAMS_REP_RATE_MHZ, p->rep_rate_mhz));
  PetscCall(MxOutScalar(o, MX_PARAMS_PULSE_SPACING_S, p->dt_s));
  PetscCall(MxOutScalar(o, MX_PARAMS_SEED, p->seed));
  PetscCall(MxOutScalar(o, MX_PARAMS_DISTANCE_M, s->distance_m));
  PetscCall(MxOutScalar(o, MX_PARAMS_ENERGY_KEV, energy));
  PetscCall(MxOutScalar(o, MX_PARAMS_WAVELENGTH_A, s->lambda_A));
  PetscCall(MxOutScalar(o, MX_PARAMS_DEAD_FRAC, p->dead_frac));
  PetscCall(MxOutScalar(o, MX_PARAMS_HOT_FRAC, p->hot_frac));
  PetscCall(MxOutScalar(o, MX_PARAMS_PIXEL_UM, p->pixel_um));
  PetscCall(MxOutScalar(o, MX_PARAMS_DETECTOR_AGIPD, p->agipd));
  PetscCall(MxOutAttrString(o, MX_ROOT, "detector", p->agipd ? "agipd" : "ideal"));
  if (p->agipd) {
    PetscCall(MxOutAttrString(o, MX_ROOT, "units", p->units));
    PetscCall(MxOutScalar(o, MX_PARAMS_UNIT_SCALE, p->unit_scale));
    PetscCall(MxOutScalar(o, MX_PARAMS_GAIN_ERROR, p->gain_error));
    PetscCall(MxOutScalar(o, MX_PARAMS_OFFSET_RESIDUAL, p->offset_residual));
    PetscCall(MxOutScalar(o, MX_PARAMS_COMMON_MODE, p->common_mode));
    PetscCall(MxOutScalar(o, MX_PARAMS_COMMON_MODE_CELL, p->common_mode_cell));
    PetscCall(MxOutScalar(o, MX_PARAMS_NOISE, p->noise));
    PetscCall(MxOutScalar(o, MX_PARAMS_CHARGE_CLOUD_UM, p->charge_cloud_um));
    PetscCall(MxOutScalar(o, MX_PARAMS_SPIKE_RATE, p->spike_rate));
    PetscCall(MxOutScalar(o, MX_PARAMS_WIDE_PIXELS, p->wide_pixels));
    PetscCall(MxOutScalar(o, MX_PARAMS_FLAG_WIDE, p->flag_wide));
    PetscCall(MxOutScalar(o, MX_PARAMS_MEDIUM_GAIN_PHOTONS, p->medium_gain_photons));
  }
  PetscCall(MxOutAttrString(o, MX_ROOT, "preset", p->preset));
  PetscCall(MxOutAttrString(o, MX_ROOT, "heating", p->heating));
  PetscCall(MxOutAttrString(o, MX_ROOT, "hydro", p->hydro));
  /* q-dependent truth */
  d1[0] = (hsize_t)s->ntab;
  PetscCall(MxOutDoubles(o, MX_TRUTH_Q, 1, d1, s->tab_q));
  PetscCall(MxOutDoubles(o, MX_TRUTH_I, 1, d1, s->tab_I));
  PetscCall(MxOutDoubles(o, MX_TRUTH_P, 1, d1, s->tab_P));
  PetscCall(MxOutDoubles(o, MX_TRUTH_S, 1, d1, s->tab_S));
  PetscCall(MxOutDoubles(o, MX_TRUTH_H, 1, d1, s->tab_H));
  PetscCall(PetscMalloc1((size_t)s->ntab * p->npulses + 4 * s->nbins + 8, &buf));
  for (PetscInt i = 0; i < s->ntab; i++) buf[i] = p->D0_um2_s * s->tab_H[i] / s->tab_S[i];
  PetscCall(MxOutDoubles(o, MX_TRUTH_D_EFF, 1, d1, buf));
  for (PetscInt i = 0; i < s->ntab; i++) buf[i] = p->D0_um2_s * 1e8 * s->tab_q[i] * s->tab_q[i] * s->tab_H[i] / s->tab_S[i];
  PetscCall(MxOutDoubles(o, MX_TRUTH_GAMMA0, 1, d1, buf));
  /* per pulse: age, D, T and Gamma(q, age) */
  d1[0] = (hsize_t)p->npulses;
  for (PetscInt n = 0; n < p->npulses; n++) buf[n] = n * p->dt_s;
  PetscCall(MxOutDoubles(o, MX_TRUTH_AGE, 1, d1, buf));
  for (PetscInt n = 0; n < p->npulses; n++) buf[n] = s->D_A2_s[n] * 1e-8;
  PetscCall(MxOutDoubles(o, MX_TRUTH_D, 1, d1, buf));
  PetscCall(MxOutDoubles(o, MX_TRUTH_T, 1, d1, s->T_K));
  for (PetscInt i = 0; i < s->ntab; i++)
    for (PetscInt n = 0; n < p->npulses; n++) buf[i * p->npulses + n] = s->D_A2_s[n] * s->tab_q[i] * s->tab_q[i] * s->tab_H[i] / s->tab_S[i];
  d2[0] = (hsize_t)s->ntab;
  d2[1] = (hsize_t)p->npulses;
  PetscCall(MxOutDoubles(o, MX_TRUTH_GAMMA, 2, d2, buf));
  PetscCall(MxOutAttrString(o, MX_ROOT, "gamma_note", "Gamma(q, age_n) = D_n q^2 H(q)/S(q), D_n the D of the interval between frames n and n+1 (after pulses 0..n; zero dose is one pulse spacing before age 0), so g1(t1,t2) = exp(-sum of Gamma dt over the intervals)"));
  /* realised speckle contrast: <s^2>/<s>^2 - 1 of the noise-free speckle intensity s = I/<I>(q) */
  double *edges = buf, *bq = buf + s->nbins + 1, *beta = buf + 2 * s->nbins + 1, *cnt = buf + 3 * s->nbins + 1;
  for (PetscInt b = 0; b <= s->nbins; b++) edges[b] = s->bin_q0 + b * s->bin_dq;
  for (PetscInt b = 0; b < s->nbins; b++) {
    double *a = s->beta_acc + 3 * b;
    bq[b]     = s->bin_q0 + (b + 0.5) * s->bin_dq;
    beta[b]   = a[2] > 0 ? (a[1] / a[2]) / ((a[0] / a[2]) * (a[0] / a[2])) - 1 : NAN;
    cnt[b]    = a[2];
  }
  d1[0] = (hsize_t)s->nbins + 1;
  PetscCall(MxOutDoubles(o, MX_TRUTH_BETA_Q_EDGES, 1, d1, edges));
  d1[0] = (hsize_t)s->nbins;
  PetscCall(MxOutDoubles(o, MX_TRUTH_BETA_Q, 1, d1, bq));
  PetscCall(MxOutDoubles(o, MX_TRUTH_BETA, 1, d1, beta));
  PetscCall(MxOutDoubles(o, MX_TRUTH_BETA_SAMPLES, 1, d1, cnt));
  PetscCall(PetscFree(buf));
  PetscCall(WriteCounts(s, o));
  /* trains, pulse energies */
  {
    PetscInt  n = 0, *tidx;
    uint64_t *ids;
    double   *e;
    PetscCall(PetscMalloc3(p->ntrains, &ids, (size_t)p->ntrains * p->npulses, &e, p->ntrains, &tidx));
    for (PetscInt t = 0; t < p->ntrains; t++) {
      PetscBool miss = PETSC_FALSE;
      for (PetscInt i = 0; i < p->nmissing; i++) miss |= p->missing_trains[i] == t;
      if (miss) continue;
      MxSimPulseEnergies(p, t, e + n * p->npulses);
      tidx[n]  = t;
      ids[n++] = s->train_ids[t];
    }
    if (p->agipd) PetscCall(WriteDetector(s, o, n, ids, tidx));
    d1[0] = (hsize_t)n;
    PetscCall(MxOutArray(o, MX_TRUTH_TRAIN_IDS, H5T_NATIVE_UINT64, 1, d1, ids));
    d2[0] = (hsize_t)n;
    d2[1] = (hsize_t)p->npulses;
    PetscCall(MxOutDoubles(o, MX_TRUTH_PULSE_ENERGY, 2, d2, e));
    /* trains with a dud pulse (an XGM filter should drop exactly these) */
    n = 0;
    for (PetscInt i = 0; i < p->ndud; i++) ids[n++] = s->train_ids[p->dud_trains[i]];
    d1[0] = (hsize_t)n;
    PetscCall(MxOutArray(o, MX_TRUTH_DUD_TRAIN_IDS, H5T_NATIVE_UINT64, 1, d1, ids));
    PetscCall(PetscFree3(ids, e, tidx));
  }
  /* the detector: modules, q of every pixel, bad pixels, and the memory-cell pattern */
  {
    const MxPixelGeom *pix;
    int               *mods;
    double            *qm;
    uint32_t          *mk;
    PetscCall(MxGeomGetPixels(s->geom, &pix));
    PetscCall(PetscMalloc3(s->nmods, &mods, (size_t)s->nmods * MX_MODPIX, &qm, (size_t)s->nmods * MX_MODPIX, &mk));
    for (PetscInt i = 0; i < s->nmods; i++) {
      mods[i] = s->mods[i].module;
      PetscCall(PetscArraycpy(qm + i * MX_MODPIX, pix->q_inv_A + (size_t)mods[i] * MX_MODPIX, MX_MODPIX));
      PetscCall(PetscArraycpy(mk + i * MX_MODPIX, s->mods[i].mask, MX_MODPIX));
    }
    d1[0] = (hsize_t)s->nmods;
    PetscCall(MxOutArray(o, MX_TRUTH_DETECTOR_MODULES, H5T_NATIVE_INT, 1, d1, mods));
    d3[0] = (hsize_t)s->nmods;
    d3[1] = MX_NSS;
    d3[2] = MX_NFS;
    PetscCall(MxOutDoubles(o, MX_TRUTH_DETECTOR_Q_MAP, 3, d3, qm));
    PetscCall(MxOutArray(o, MX_TRUTH_DETECTOR_MASK, H5T_NATIVE_UINT32, 3, d3, mk));
    for (PetscInt i = 0; i < s->nmods; i++)
      for (PetscInt k = 0; k < MX_MODPIX; k++) qm[i * MX_MODPIX + k] = s->mods[i].G[k];
    PetscCall(MxOutDoubles(o, MX_TRUTH_DETECTOR_GEOM_FACTOR, 3, d3, qm));
    for (PetscInt i = 0; i < s->nmods; i++)
      for (PetscInt k = 0; k < MX_MODPIX; k++) qm[i * MX_MODPIX + k] = s->mods[i].Ibar[k];
    PetscCall(MxOutDoubles(o, MX_TRUTH_DETECTOR_I_MODEL, 3, d3, qm));
    PetscCall(PetscFree3(mods, qm, mk));
    if (p->artifacts && s->nmods <= 4) {
      float *off, *g;
      PetscCall(PetscMalloc2((size_t)s->nmods * p->npulses * MX_MODPIX, &off, (size_t)s->nmods * p->npulses * MX_MODPIX, &g));
      for (PetscInt i = 0; i < s->nmods; i++) {
        PetscCall(PetscArraycpy(off + (size_t)i * p->npulses * MX_MODPIX, s->mods[i].offset, (size_t)p->npulses * MX_MODPIX));
        PetscCall(PetscArraycpy(g + (size_t)i * p->npulses * MX_MODPIX, s->mods[i].gain, (size_t)p->npulses * MX_MODPIX));
      }
      d4[0] = (hsize_t)s->nmods;
      d4[1] = (hsize_t)p->npulses;
      d4[2] = MX_NSS;
      d4[3] = MX_NFS;
      PetscCall(MxOutArray(o, MX_TRUTH_DETECTOR_CELL_OFFSET, H5T_NATIVE_FLOAT, 4, d4, off));
      PetscCall(MxOutArray(o, MX_TRUTH_DETECTOR_CELL_GAIN, H5T_NATIVE_FLOAT, 4, d4, g));
      PetscCall(PetscFree2(off, g));
    }
  }
  PetscFunctionReturn(0);
}

PetscErrorCode MxSimWriteTruth(MxSim s, const char path[])
{
  MxOut o;

  PetscFunctionBeginUser;
  PetscCall(MxOutCreate(s->comm, path, &o));
  PetscErrorCode ierr = WriteTruth(s, o);
  PetscCall(MxOutClose(&o, ierr, NULL));
  PetscFunctionReturn(0);
}
