/* DIR/truth.h5: every generating parameter and the derived truth (design.md section 4). */
#include "simimpl.h"
#include <math.h>

static PetscErrorCode Scalar(MxSim s, hid_t f, const char *name, double v, const char *units)
{
  char path[256];

  PetscFunctionBeginUser;
  snprintf(path, sizeof path, "/params/%s", name);
  PetscCall(MxH5WriteArray(s->comm, f, path, H5T_NATIVE_DOUBLE, 0, NULL, &v, units));
  PetscFunctionReturn(0);
}

static PetscErrorCode Array(MxSim s, hid_t f, const char *path, int rank, const hsize_t *dims, const double *v, const char *units)
{
  PetscFunctionBeginUser;
  PetscCall(MxH5WriteArray(s->comm, f, path, H5T_NATIVE_DOUBLE, rank, dims, v, units));
  PetscFunctionReturn(0);
}

PetscErrorCode MxSimWriteTruth(MxSim s, const char path[])
{
  MxSimParams *p = &s->p;
  hid_t        f, fapl = H5Pcreate(H5P_FILE_ACCESS);
  hsize_t      d1[1], d2[2], d3[3], d4[4];
  double      *buf, energy;

  PetscFunctionBeginUser;
  H5Pset_fapl_mpio(fapl, s->comm, MPI_INFO_NULL);
  f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  MxH5Call(f, s->comm, "%s: cannot create the truth file", path);
  PetscCall(MxGeomGetEnergy(s->geom, &energy));
  /* parameters */
  PetscCall(Scalar(s, f, "radius_A", p->radius_A, "angstrom"));
  PetscCall(Scalar(s, f, "radius_pd", p->pd, ""));
  PetscCall(Scalar(s, f, "phi", p->phi, ""));
  PetscCall(Scalar(s, f, "structure_py", p->structure_py, ""));
  PetscCall(Scalar(s, f, "porod", p->porod, ""));
  PetscCall(Scalar(s, f, "photons", p->photons, "photons/pixel/pulse"));
  PetscCall(Scalar(s, f, "q_ref", p->q_ref, "1/angstrom"));
  PetscCall(Scalar(s, f, "beam_fwhm_um", p->beam_fwhm_um, "um"));
  PetscCall(Scalar(s, f, "subpixels", p->subpixels, ""));
  PetscCall(Scalar(s, f, "sase_modes", p->sase_modes, ""));
  PetscCall(Scalar(s, f, "pulse_energy_uJ", p->pulse_energy_uJ, "uJ"));
  PetscCall(Scalar(s, f, "xgm_noise", p->xgm_noise, ""));
  PetscCall(Scalar(s, f, "adu_per_photon", p->adu_per_photon, ""));
  PetscCall(Scalar(s, f, "gain_noise", p->gain_noise, ""));
  PetscCall(Scalar(s, f, "D0_um2_s", p->D0_um2_s, "um^2/s"));
  PetscCall(Scalar(s, f, "Ds_over_D0", p->Ds_over_D0, ""));
  PetscCall(Scalar(s, f, "hydro_deltagamma", !strcmp(p->hydro, "deltagamma"), ""));
  PetscCall(Scalar(s, f, "T0_K", p->T0_K, "K"));
  PetscCall(Scalar(s, f, "dT_per_pulse_K", p->dT_per_pulse_K, "K"));
  PetscCall(Scalar(s, f, "Ea_kJ_mol", p->Ea_kJ_mol, "kJ/mol"));
  PetscCall(Scalar(s, f, "kappa_per_pulse", p->kappa_per_pulse, ""));
  PetscCall(Scalar(s, f, "artifacts", p->artifacts, ""));
  PetscCall(Scalar(s, f, "offset_amp", p->offset_amp, "photons"));
  PetscCall(Scalar(s, f, "gain_amp", p->gain_amp, ""));
  PetscCall(Scalar(s, f, "ntrains", p->ntrains, ""));
  PetscCall(Scalar(s, f, "npulses", p->npulses, ""));
  PetscCall(Scalar(s, f, "rep_rate_mhz", p->rep_rate_mhz, "MHz"));
  PetscCall(Scalar(s, f, "pulse_spacing_s", p->dt_s, "s"));
  PetscCall(Scalar(s, f, "seed", p->seed, ""));
  PetscCall(Scalar(s, f, "distance_m", s->distance_m, "m"));
  PetscCall(Scalar(s, f, "energy_keV", energy, "keV"));
  PetscCall(Scalar(s, f, "wavelength_A", s->lambda_A, "angstrom"));
  PetscCall(MxH5WriteAttrString(f, "preset", p->preset));
  PetscCall(MxH5WriteAttrString(f, "heating", p->heating));
  PetscCall(MxH5WriteAttrString(f, "hydro", p->hydro));
  /* q-dependent truth */
  d1[0] = (hsize_t)s->ntab;
  PetscCall(Array(s, f, "/truth/q", 1, d1, s->tab_q, "1/angstrom"));
  PetscCall(Array(s, f, "/truth/I", 1, d1, s->tab_I, "photons/pixel/pulse"));
  PetscCall(Array(s, f, "/truth/P", 1, d1, s->tab_P, "1/cm"));
  PetscCall(Array(s, f, "/truth/S", 1, d1, s->tab_S, ""));
  PetscCall(Array(s, f, "/truth/H", 1, d1, s->tab_H, ""));
  PetscCall(PetscMalloc1((size_t)s->ntab * p->npulses + 4 * s->nbins + 8, &buf));
  for (PetscInt i = 0; i < s->ntab; i++) buf[i] = p->D0_um2_s * s->tab_H[i] / s->tab_S[i];
  PetscCall(Array(s, f, "/truth/D_eff", 1, d1, buf, "um^2/s"));
  for (PetscInt i = 0; i < s->ntab; i++) buf[i] = p->D0_um2_s * 1e8 * s->tab_q[i] * s->tab_q[i] * s->tab_H[i] / s->tab_S[i];
  PetscCall(Array(s, f, "/truth/gamma0", 1, d1, buf, "1/s"));
  /* per pulse: age, D, T and Gamma(q, age) */
  d1[0] = (hsize_t)p->npulses;
  for (PetscInt n = 0; n < p->npulses; n++) buf[n] = n * p->dt_s;
  PetscCall(Array(s, f, "/truth/age", 1, d1, buf, "s"));
  for (PetscInt n = 0; n < p->npulses; n++) buf[n] = s->D_A2_s[n] * 1e-8;
  PetscCall(Array(s, f, "/truth/D", 1, d1, buf, "um^2/s"));
  PetscCall(Array(s, f, "/truth/T", 1, d1, s->T_K, "K"));
  for (PetscInt i = 0; i < s->ntab; i++)
    for (PetscInt n = 0; n < p->npulses; n++) buf[i * p->npulses + n] = s->D_A2_s[n] * s->tab_q[i] * s->tab_q[i] * s->tab_H[i] / s->tab_S[i];
  d2[0] = (hsize_t)s->ntab;
  d2[1] = (hsize_t)p->npulses;
  PetscCall(Array(s, f, "/truth/gamma", 2, d2, buf, "1/s"));
  PetscCall(MxH5WriteAttrString(f, "gamma_note", "Gamma(q, age_n) = D(age_n) q^2 H(q)/S(q); between pulses n and n+1 the modes relax with the trapezoid of D, so g1(t1,t2) = exp(-int Gamma dt)"));
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
  PetscCall(Array(s, f, "/truth/beta_q_edges", 1, d1, edges, "1/angstrom"));
  d1[0] = (hsize_t)s->nbins;
  PetscCall(Array(s, f, "/truth/beta_q", 1, d1, bq, "1/angstrom"));
  PetscCall(Array(s, f, "/truth/beta", 1, d1, beta, ""));
  PetscCall(Array(s, f, "/truth/beta_samples", 1, d1, cnt, "pixel-frames"));
  PetscCall(PetscFree(buf));
  /* trains, pulse energies */
  {
    PetscInt  n = 0;
    uint64_t *ids;
    double   *e;
    PetscCall(PetscMalloc2(p->ntrains, &ids, (size_t)p->ntrains * p->npulses, &e));
    for (PetscInt t = 0; t < p->ntrains; t++) {
      PetscBool miss = PETSC_FALSE;
      for (PetscInt i = 0; i < p->nmissing; i++) miss |= p->missing_trains[i] == t;
      if (miss) continue;
      MxSimPulseEnergies(p, t, e + n * p->npulses);
      ids[n++] = s->train_ids[t];
    }
    d1[0] = (hsize_t)n;
    PetscCall(MxH5WriteArray(s->comm, f, "/truth/train_ids", H5T_NATIVE_UINT64, 1, d1, ids, NULL));
    d2[0] = (hsize_t)n;
    d2[1] = (hsize_t)p->npulses;
    PetscCall(Array(s, f, "/truth/pulse_energy", 2, d2, e, "relative"));
    /* trains with a dud pulse (an XGM filter should drop exactly these) */
    n = 0;
    for (PetscInt i = 0; i < p->ndud; i++) ids[n++] = s->train_ids[p->dud_trains[i]];
    d1[0] = (hsize_t)n;
    PetscCall(MxH5WriteArray(s->comm, f, "/truth/dud_train_ids", H5T_NATIVE_UINT64, 1, d1, ids, NULL));
    PetscCall(PetscFree2(ids, e));
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
    PetscCall(MxH5WriteArray(s->comm, f, "/detector/modules", H5T_NATIVE_INT, 1, d1, mods, NULL));
    d3[0] = (hsize_t)s->nmods;
    d3[1] = MX_NSS;
    d3[2] = MX_NFS;
    PetscCall(MxH5WriteArray(s->comm, f, "/detector/q_map", H5T_NATIVE_DOUBLE, 3, d3, qm, "1/angstrom"));
    PetscCall(MxH5WriteArray(s->comm, f, "/detector/mask", H5T_NATIVE_UINT32, 3, d3, mk, NULL));
    for (PetscInt i = 0; i < s->nmods; i++)
      for (PetscInt k = 0; k < MX_MODPIX; k++) qm[i * MX_MODPIX + k] = s->mods[i].G[k];
    PetscCall(MxH5WriteArray(s->comm, f, "/detector/geom_factor", H5T_NATIVE_DOUBLE, 3, d3, qm, ""));
    for (PetscInt i = 0; i < s->nmods; i++)
      for (PetscInt k = 0; k < MX_MODPIX; k++) qm[i * MX_MODPIX + k] = s->mods[i].Ibar[k];
    PetscCall(MxH5WriteArray(s->comm, f, "/detector/I_model", H5T_NATIVE_DOUBLE, 3, d3, qm, "photons/pixel/pulse"));
    PetscCall(PetscFree3(mods, qm, mk));
    if (p->artifacts && s->nmods <= 4) {
      float *o, *g;
      PetscCall(PetscMalloc2((size_t)s->nmods * p->npulses * MX_MODPIX, &o, (size_t)s->nmods * p->npulses * MX_MODPIX, &g));
      for (PetscInt i = 0; i < s->nmods; i++) {
        PetscCall(PetscArraycpy(o + (size_t)i * p->npulses * MX_MODPIX, s->mods[i].offset, (size_t)p->npulses * MX_MODPIX));
        PetscCall(PetscArraycpy(g + (size_t)i * p->npulses * MX_MODPIX, s->mods[i].gain, (size_t)p->npulses * MX_MODPIX));
      }
      d4[0] = (hsize_t)s->nmods;
      d4[1] = (hsize_t)p->npulses;
      d4[2] = MX_NSS;
      d4[3] = MX_NFS;
      PetscCall(MxH5WriteArray(s->comm, f, "/detector/cell_offset", H5T_NATIVE_FLOAT, 4, d4, o, "photons"));
      PetscCall(MxH5WriteArray(s->comm, f, "/detector/cell_gain", H5T_NATIVE_FLOAT, 4, d4, g, ""));
      PetscCall(PetscFree2(o, g));
    }
  }
  MxH5Call(H5Fclose(f), s->comm, "%s: closing failed", path);
  PetscFunctionReturn(0);
}
