/* The simulator's physics: truth tables, per-module speckle windows, one train of frames. */
#include "simimpl.h"
#include <mxpcs/models.h>
#include <math.h>

#define MX_KB 1.380649e-23
#define MX_R_GAS 8.314462618

/* linear interpolation in a uniform table starting at q = 0 */
static inline double Tab(const double *t, PetscInt n, double dq, double q)
{
  double x = q / dq;
  if (x <= 0) return t[0];
  if (x >= n - 1) return t[n - 1];
  PetscInt i = (PetscInt)x;
  double   f = x - i;
  return (1 - f) * t[i] + f * t[i + 1];
}

void MxSimModel(double q, void *ctx, double *Iq, double *HoverS)
{
  MxSim s = (MxSim)ctx;
  *Iq     = Tab(s->tab_I, s->ntab, s->tab_dq, q);
  *HoverS = Tab(s->tab_H, s->ntab, s->tab_dq, q) / Tab(s->tab_S, s->ntab, s->tab_dq, q);
}

static double SqPY(double qsigma, void *ctx) { return MxSqPercusYevick(qsigma, ctx); }

/* I(q), P(q), S(q), H(q) on a fine grid; D(t) and T(t) per pulse. */
PetscErrorCode MxSimTables(MxSim s)
{
  MxSimParams *p    = &s->p;
  double       qmax = 0;
  const MxPixelGeom *pix;

  PetscFunctionBeginUser;
  PetscCall(MxGeomGetPixels(s->geom, &pix));
  for (PetscInt i = 0; i < p->nmodules; i++)
    for (PetscInt k = 0; k < MX_MODPIX; k++) qmax = PetscMax(qmax, pix->q_inv_A[p->modules[i] * MX_MODPIX + k]);
  s->ntab   = 4096;
  s->tab_dq = 1.25 * qmax / (s->ntab - 1); /* room for the speckle windows' margins */
  PetscCall(PetscMalloc5(s->ntab, &s->tab_q, s->ntab, &s->tab_I, s->ntab, &s->tab_P, s->ntab, &s->tab_S, s->ntab, &s->tab_H));
  for (PetscInt i = 0; i < s->ntab; i++) s->tab_q[i] = i * s->tab_dq;
  s->tab_q[0] = 1e-6 * s->tab_dq; /* q = 0: the kernels' small-q series */
  MxSphereIq((size_t)s->ntab, s->tab_q, p->radius_A, p->pd, 35, 3.0, 1.0, 1.0, 0.0, s->tab_P);
  if (p->structure_py) {
    double Reff; /* S(q)'s radius: half -sim_hs_diameter_A, else the form factor's mean radius */
    MxSphereAverages(1, s->tab_q, p->radius_A, p->pd, 35, 3.0, 1.0, NULL, NULL, NULL, &Reff);
    MxHardSphereSq((size_t)s->ntab, s->tab_q, p->hs_diameter_A > 0 ? 0.5 * p->hs_diameter_A : Reff, p->phi, s->tab_S);
  } else
    for (PetscInt i = 0; i < s->ntab; i++) s->tab_S[i] = 1.0;
  /* H(q) = Ds/D0 + H_d(q sigma) (delta-gamma) or 1 */
  if (!strcmp(p->hydro, "deltagamma")) {
    /* H_d is smooth on the scale 1/sigma: a double integral at 192 points, interpolated */
    const PetscInt nc = 192;
    double        *qs, *hd, phi = p->phi, dqc = s->tab_q[s->ntab - 1] / (nc - 1), sig = p->hs_diameter_A > 0 ? p->hs_diameter_A : 2 * p->radius_A;
    PetscCall(PetscMalloc2(nc, &qs, nc, &hd));
    for (PetscInt i = 0; i < nc; i++) qs[i] = PetscMax(i * dqc, 1e-4 / sig) * sig;
    MxDeltaGammaHd((size_t)nc, qs, phi, SqPY, &phi, hd);
    for (PetscInt i = 0; i < s->ntab; i++) s->tab_H[i] = p->Ds_over_D0 + Tab(hd, nc, dqc, s->tab_q[i]);
    PetscCall(PetscFree2(qs, hd));
  } else
    for (PetscInt i = 0; i < s->ntab; i++) s->tab_H[i] = 1.0;
  /* I = c (P S + porod (q_ref/q)^4 P(q_ref) S(q_ref)), c so that I(q_ref) = photons */
  double Pr = Tab(s->tab_P, s->ntab, s->tab_dq, p->q_ref), Sr = Tab(s->tab_S, s->ntab, s->tab_dq, p->q_ref);
  double c  = p->photons / (Pr * Sr * (1 + p->porod));
  for (PetscInt i = 0; i < s->ntab; i++) {
    double q   = PetscMax(s->tab_q[i], 0.05 * p->q_ref);
    s->tab_I[i] = c * (s->tab_P[i] * s->tab_S[i] + p->porod * Pr * Sr * pow(p->q_ref / q, 4));
  }
  /* X-ray heating along the train: D and T of each interval n (between frames n and n+1, after
     pulses 0..n): diffusive by finite differences of the heat equation, averaged over the beam
     and the interval (heating.h); the adiabatic laws add a fixed rise per pulse */
  PetscCall(PetscMalloc2(p->npulses, &s->D_A2_s, p->npulses, &s->T_K));
  if (!strcmp(p->heating, "diffusive")) {
    MxHeatSample hs = {p->solvent, p->heat_phi, p->path_mm, p->T0_K, p->arrhenius || p->solvent == MX_SOLVENT_NMF ? p->Ea_kJ_mol : 0, MX_HC_KEV_A / s->lambda_A};
    double      *h;
    double       rmin = INFINITY, rmax = -INFINITY, *e;
    PetscCall(PetscMalloc2(p->npulses, &h, p->npulses, &e));
    PetscCall(MxHeatSolveFD(p->npulses, p->dt_s, p->tauI_s, NULL, &hs, p->dT_per_pulse_K, 0, 100, h, s->T_K, NULL));
    /* trains of other energies (SASE, -sim_train_energy_rms): a table over the train's mean
       relative energy, 9 points, cubic interpolation (the pulses of a train heat at their mean) */
    for (PetscInt t = 0; t < p->ntrains; t++) {
      double r = 0;
      MxSimPulseEnergies(p, t, e);
      for (PetscInt n = 0; n < p->npulses; n++) r += e[n] / p->npulses;
      rmin = PetscMin(rmin, r);
      rmax = PetscMax(rmax, r);
    }
    if (rmax - rmin > 1e-12 && p->dT_per_pulse_K > 0) {
      s->heat_K  = 9;
      s->heat_dr = (rmax - rmin) / (s->heat_K - 4) + 1e-9; /* one point beyond each end */
      s->heat_r0 = rmin - s->heat_dr;
      PetscCall(PetscMalloc1((size_t)s->heat_K * p->npulses, &s->heat_h));
      for (PetscInt k = 0; k < s->heat_K; k++) PetscCall(MxHeatSolveFD(p->npulses, p->dt_s, p->tauI_s, NULL, &hs, p->dT_per_pulse_K * PetscMax(0, s->heat_r0 + k * s->heat_dr), 0, 100, s->heat_h + k * p->npulses, NULL, NULL));
      for (size_t i = 0; i < (size_t)s->heat_K * p->npulses; i++) PetscCheck(isfinite(s->heat_h[i]), s->comm, PETSC_ERR_ARG_OUTOFRANGE, "options -sim_fluence_J_cm2 %g and -sim_train_energy_rms %g: the strongest train heats the sample beyond the solvent's viscosity law (boiling)", (double)p->fluence_J_cm2, (double)p->train_energy_rms);
    }
    for (PetscInt n = 0; n < p->npulses; n++) {
      PetscCheck(isfinite(h[n]), s->comm, PETSC_ERR_ARG_OUTOFRANGE, "option -sim_fluence_J_cm2: %g J/cm^2 heats the sample by %.0f K (%g K per pulse) by pulse %" PetscInt_FMT ", beyond the solvent's viscosity law (boiling)", (double)p->fluence_J_cm2, s->T_K[n], (double)p->dT_per_pulse_K, n);
      s->D_A2_s[n] = p->D0_um2_s * 1e8 * h[n];
      s->T_K[n] += p->T0_K;
    }
    PetscCall(PetscFree2(h, e));
  } else
    for (PetscInt n = 0; n < p->npulses; n++) {
      double T = p->T0_K, D = p->D0_um2_s * 1e8; /* um^2/s -> angstrom^2/s */
      if (!strcmp(p->heating, "linear")) D *= 1 + p->kappa_per_pulse * (n + 1);
      else if (!strcmp(p->heating, "stokes")) {
        /* Stokes-Einstein D = kT/(6 pi eta R_h), eta Arrhenius: D/D0 = T/T0 eta(T0)/eta(T) */
        T = p->T0_K + p->dT_per_pulse_K * (n + 1);
        D *= (T / p->T0_K) * exp(-p->Ea_kJ_mol * 1e3 / MX_R_GAS * (1 / T - 1 / p->T0_K));
      }
      s->D_A2_s[n] = D;
      s->T_K[n]    = T;
    }
  PetscFunctionReturn(0);
}

static int NiceSize(int n)
{
  for (;; n++) {
    int m = n;
    for (int f = 2; f <= 7; f++)
      while (m % f == 0) m /= f;
    if (m == 1) return n;
  }
}

PetscErrorCode MxSimModuleSetUp(MxSim s, MxSimModule *m)
{
  MxSimParams       *p = &s->p;
  const MxPixelGeom *pix;
  const MxPanel     *panels;
  PetscInt           npan, sub = p->subpixels, ns = sub * sub;
  double             bx, by, px, k = 2 * M_PI / s->lambda_A, qxmin = 1e9, qxmax = -1e9, qymin = 1e9, qymax = -1e9;
  MxRng              g;

  PetscFunctionBeginUser;
  PetscCall(MxGeomGetPixels(s->geom, &pix));
  PetscCall(MxGeomGetPanels(s->geom, &npan, &panels));
  PetscCall(MxGeomGetBeamCenter(s->geom, &bx, &by));
  PetscCall(MxGeomGetPixelSize(s->geom, &px));
  PetscCall(PetscMalloc1((size_t)MX_MODPIX * ns * 2, &m->qsub));
  PetscCall(PetscMalloc4(MX_MODPIX, &m->Ibar, MX_MODPIX, &m->G, MX_MODPIX, &m->qbin, MX_MODPIX, &m->mask));
  PetscCall(PetscCalloc1(MX_MODPIX, &m->hot));
  for (PetscInt k2 = 0; k2 < MX_MODPIX * ns * 2; k2++) m->qsub[k2] = NAN;
  /* sub-pixel scattering vectors from the panel geometry (euxfel-format.md 3.3) */
  for (PetscInt ip = 0; ip < npan; ip++) {
    const MxPanel *pa = &panels[ip];
    if (pa->module != m->module) continue;
    for (int ss = pa->min_ss; ss <= pa->max_ss; ss++)
      for (int fs = pa->min_fs; fs <= pa->max_fs; fs++)
        for (int a = 0; a < sub; a++)
          for (int b = 0; b < sub; b++) {
            double u = fs - pa->min_fs + (b + 0.5) / sub, v = ss - pa->min_ss + (a + 0.5) / sub;
            double X = (pa->corner_x + u * pa->fs[0] + v * pa->ss[0]) / pa->res - bx;
            double Y = (pa->corner_y + u * pa->fs[1] + v * pa->ss[1]) / pa->res - by;
            double Z = s->distance_m + pa->coffset_m + (u * pa->fs[2] + v * pa->ss[2]) / pa->res;
            double R = sqrt(X * X + Y * Y + Z * Z), qx = k * X / R, qy = k * Y / R;
            size_t o = ((size_t)(ss * MX_NFS + fs) * ns + a * sub + b) * 2;
            m->qsub[o]     = (float)qx;
            m->qsub[o + 1] = (float)qy;
            qxmin = PetscMin(qxmin, qx);
            qxmax = PetscMax(qxmax, qx);
            qymin = PetscMin(qymin, qy);
            qymax = PetscMax(qymax, qy);
          }
  }
  PetscCheck(qxmin < qxmax, s->comm, PETSC_ERR_ARG_WRONG, "simulate: module %d has no panel in the geometry", m->module);
  /* window: spacing pixel/sub, margin of 4 speckle widths around the module's q extent */
  double dq = k * px / s->distance_m / sub, sig = p->beam_fwhm_um * 1e4 / (2 * sqrt(2 * log(2)));
  int    margin = (int)ceil(4.0 / (sig * dq)) + 2;
  int    nx = NiceSize((int)ceil((qxmax - qxmin) / dq) + 2 * margin), ny = NiceSize((int)ceil((qymax - qymin) / dq) + 2 * margin);
  PetscCheck(!MxSpeckleCreate(nx, ny, dq, 0.5 * (qxmin + qxmax), 0.5 * (qymin + qymax), p->beam_fwhm_um * 1e4, MxSimModel, s, &m->win), s->comm, PETSC_ERR_MEM, "simulate: cannot create the %d x %d speckle window of module %d (memory or FFTW plan)", nx, ny, m->module);
  /* each sub-pixel point's place in the window, once: every frame reads the field there */
  PetscCall(PetscCalloc1((size_t)MX_MODPIX * ns, &m->spt));
  for (size_t o = 0; o < (size_t)MX_MODPIX * ns; o++)
    if (!isnan(m->qsub[2 * o])) MxSpecklePointSetUp(&m->win, m->qsub[2 * o], m->qsub[2 * o + 1], &m->spt[o]);
  /* per pixel: model mean, relative solid angle x polarisation, truth q-bin */
  double omega0 = px * px / (s->distance_m * s->distance_m);
  for (PetscInt i = 0; i < MX_MODPIX; i++) {
    size_t gi = (size_t)m->module * MX_MODPIX + i;
    double q  = pix->q_inv_A[gi], Iq, h;
    MxSimModel(q, s, &Iq, &h);
    m->Ibar[i] = (float)Iq;
    m->G[i]    = (float)(pix->solid_angle[gi] / omega0 * pix->polarization[gi]);
    m->qbin[i] = (int)floor((q - s->bin_q0) / s->bin_dq);
    if (!pix->covered[gi] || m->qbin[i] < 0 || m->qbin[i] >= s->nbins) m->qbin[i] = -1;
    m->mask[i] = 0;
  }
  /* detector artifacts: fixed per module and memory cell, the same in every train */
  m->offset = m->gain = NULL;
  m->ihot   = NULL;
  if (p->artifacts) {
    PetscCall(PetscMalloc2((size_t)p->npulses * MX_MODPIX, &m->offset, (size_t)p->npulses * MX_MODPIX, &m->gain));
    MxRngInit(&g, (uint64_t)p->seed, 0xA27F, (uint64_t)m->module, 1);
    float *u, *w;
    PetscCall(PetscMalloc2(MX_MODPIX, &u, MX_MODPIX, &w));
    for (PetscInt i = 0; i < MX_MODPIX; i++) {
      u[i] = (float)MxRngNormal(&g);
      w[i] = (float)MxRngNormal(&g);
    }
    for (PetscInt c = 0; c < p->npulses; c++) {
      double ac = 1 + 0.5 * sin(2 * M_PI * c / 7.0); /* cell-dependent amplitude: pulse-locked stripes */
      for (PetscInt i = 0; i < MX_MODPIX; i++) {
        m->offset[c * MX_MODPIX + i] = (float)(p->offset_amp * (ac * u[i] + 0.5 * MxRngNormal(&g)));
        m->gain[c * MX_MODPIX + i]   = (float)(1 + p->gain_amp * (w[i] + MxRngNormal(&g)) / sqrt(2.0));
      }
    }
    PetscCall(PetscFree2(u, w));
    if (p->agipd) PetscCall(PetscCalloc1(MX_MODPIX, &m->ihot));
    for (PetscInt i = 0; i < MX_MODPIX; i++) {
      double r = MxRngUniform(&g);
      if (p->agipd) { /* its own dead and hot pixels (below) */
        m->ihot[i] = r >= p->dead_frac && r < p->dead_frac + p->hot_frac;
        continue;
      }
      if (r < p->dead_frac) m->mask[i] |= 1u << 14; /* DATA_STD_IS_ZERO */
      else if (r < p->dead_frac + p->hot_frac) {
        m->mask[i] |= 1u << 1; /* NOISE_OUT_OF_THRESHOLD */
        m->hot[i] = 1;
      }
    }
    for (PetscInt a = 0; a < p->masked_asics; a++) { /* a 64x64 ASIC flagged NON_SENSITIVE */
      int asic = (int)(MxRngUniform(&g) * 16), r0 = (asic / 2) * 64, c0 = (asic % 2) * 64;
      for (int ss = r0; ss < r0 + 64; ss++)
        for (int fs = c0; fs < c0 + 64; fs++) m->mask[ss * MX_NFS + fs] |= 1u << 19;
    }
  }
  /* agipd: static per pixel and per (cell, ASIC); dead, hot and wide pixels with the bits of
     the calibration's BadPixels (agipd-data.md 1) */
  m->gerr = m->cmcell = NULL;
  m->dead = NULL;
  if (p->agipd) {
    PetscCall(PetscMalloc2(MX_MODPIX, &m->gerr, (size_t)p->npulses * MX_NASIC, &m->cmcell));
    PetscCall(PetscCalloc1(MX_MODPIX, &m->dead));
    MxRngInit(&g, (uint64_t)p->seed, 0xA61D, (uint64_t)m->module, 4);
    for (PetscInt i = 0; i < MX_MODPIX; i++) m->gerr[i] = (float)(1 + p->gain_error * MxRngNormal(&g));
    for (PetscInt k = 0; k < p->npulses * MX_NASIC; k++) m->cmcell[k] = (float)(p->common_mode_cell * MxRngNormal(&g));
    for (PetscInt i = 0; i < MX_MODPIX; i++) {
      double r = MxRngUniform(&g);
      if (r < p->dead_frac) {
        m->dead[i] = 1;
        m->mask[i] |= 1u << 14 | 1u << 0; /* DATA_STD_IS_ZERO, OFFSET_OUT_OF_THRESHOLD */
      } else if (r < p->dead_frac + p->hot_frac) {
        m->hot[i] = 1;
        m->mask[i] |= 1u << 1; /* NOISE_OUT_OF_THRESHOLD */
      }
      if (p->wide_pixels && p->flag_wide && MxSimWideRow((int)(i / MX_NFS))) m->mask[i] |= 1u << 22; /* NON_STANDARD_SIZE */
    }
  }
  PetscFunctionReturn(0);
}

void MxSimOffsetResidual(const MxSimParams *p, int module, PetscInt cell, float *off)
{
  MxRng g;
  MxRngInit(&g, (uint64_t)p->seed, 0x0FF5E7 + (uint64_t)cell, (uint64_t)module, 5);
  for (PetscInt i = 0; i < MX_MODPIX; i++) off[i] = (float)(p->offset_residual * MxRngNormal(&g));
}

void MxSimCommonMode(const MxSimParams *p, int module, PetscInt itrain, float *cm)
{
  MxRng g;
  MxRngInit(&g, (uint64_t)p->seed, (uint64_t)itrain, (uint64_t)module, 6);
  for (PetscInt k = 0; k < p->npulses * MX_NASIC; k++) cm[k] = (float)(p->common_mode * MxRngNormal(&g));
}

PetscErrorCode MxSimSpikes(const MxSimParams *p, int module, PetscInt itrain, PetscInt *n, MxSimSpike **sp)
{
  MxRng g;

  PetscFunctionBeginUser;
  MxRngInit(&g, (uint64_t)p->seed, (uint64_t)itrain, (uint64_t)module, 7);
  *n = (PetscInt)MxRngPoisson(&g, p->spike_rate * p->npulses * MX_MODPIX);
  PetscCall(PetscMalloc1(*n + 1, sp));
  for (PetscInt j = 0; j < *n; j++) {
    (*sp)[j].frame   = (int)(MxRngUniform(&g) * p->npulses);
    (*sp)[j].pixel   = (int)(MxRngUniform(&g) * MX_MODPIX);
    (*sp)[j].photons = (float)(50 + 450 * MxRngUniform(&g));
  }
  PetscFunctionReturn(0);
}

/* The fractions of a Gaussian cloud (sigma sig) centred at x in a pixel [0, w) that fall in the
   pixel before, this one and the one after (all beyond an edge goes to that neighbour) */
static inline void CloudSplit(double x, double w, double sig, double fr[3])
{
  fr[0] = x < 6 * sig ? 0.5 * erfc(x / (sig * M_SQRT2)) : 0;
  fr[2] = w - x < 6 * sig ? 0.5 * erfc((w - x) / (sig * M_SQRT2)) : 0;
  fr[1] = 1 - fr[0] - fr[2];
}

/* agipd: the analog signal of k photons hitting pixel i, each at a point drawn from the field in
   the pixel (MxSpecklePhotonPoint; uniform without isub), shared over the 3x3 neighbourhood; at
   the module's edges the share beyond it stays in the pixel. A photon near an edge sees the
   intensity the neighbour sees there: uniform points would carry the pixel's own intensity to
   the edge, and charge sharing would then mix the two pixels' intensities, which a detector
   does not. */
static void ShareCharge(const MxSimParams *p, PetscInt i, uint32_t k, const float *isub, MxRng *g, double *A)
{
  int    ss = (int)(i / MX_NFS), fs = (int)(i % MX_NFS);
  double hx = p->pixel_um, hy = (p->wide_pixels && MxSimWideRow(ss) ? 2 : 1) * p->pixel_um, sig = p->charge_cloud_um;

  for (uint32_t j = 0; j < k; j++) {
    double fx[3], fy[3], u, v;
    if (isub) MxSpecklePhotonPoint(isub, MX_NSS, MX_NFS, 64, (int)p->subpixels, ss, fs, g, &u, &v);
    else {
      u = MxRngUniform(g);
      v = MxRngUniform(g);
    }
    CloudSplit(u * hx, hx, sig, fx);
    CloudSplit(v * hy, hy, sig, fy);
    if (fs == 0) fx[1] += fx[0], fx[0] = 0;
    if (fs == MX_NFS - 1) fx[1] += fx[2], fx[2] = 0;
    if (ss == 0) fy[1] += fy[0], fy[0] = 0;
    if (ss == MX_NSS - 1) fy[1] += fy[2], fy[2] = 0;
    for (int a = 0; a < 3; a++)
      if (fy[a] > 0)
        for (int b = 0; b < 3; b++)
          if (fx[b] > 0) A[(ss + a - 1) * MX_NFS + fs + b - 1] += fy[a] * fx[b];
  }
}

/* agipd: frame n of a train from its photon counts k: charge sharing, zingers, the memory-cell
   artifacts, gain error, offset residual, common mode, noise, bad pixels, gain stage, units */
static void DetectorFrame(MxSim s, MxSimModule *m, PetscInt n, const uint32_t *k, const float *isub, double *A, float *off, const float *cm, const MxSimSpike *spk, PetscInt nspk, MxRng *g, float *f, uint8_t *gain)
{
  MxSimParams *p  = &s->p;
  PetscInt     ns = p->subpixels * p->subpixels;

  if (p->charge_cloud_um > 0) {
    PetscArrayzero(A, MX_MODPIX);
    for (PetscInt i = 0; i < MX_MODPIX; i++)
      if (k[i]) ShareCharge(p, i, k[i], isub, g, A);
  } else
    for (PetscInt i = 0; i < MX_MODPIX; i++) A[i] = k[i];
  for (PetscInt j = 0; j < nspk; j++)
    if (spk[j].frame == n) A[spk[j].pixel] += spk[j].photons;
  if (p->offset_residual > 0) MxSimOffsetResidual(p, m->module, n, off);
  for (PetscInt i = 0; i < MX_MODPIX; i++) {
    if (isnan(m->qsub[(size_t)i * ns * 2])) { /* not covered by any panel */
      f[i]    = 0;
      gain[i] = 0;
      continue;
    }
    int    a = MxSimAsic((int)i);
    double v = A[i];
    if (m->offset) v = m->gain[n * MX_MODPIX + i] * (float)A[i] + m->offset[n * MX_MODPIX + i]; /* as ideal does */
    v *= m->gerr[i];
    if (p->offset_residual > 0) v += off[i];
    v += (double)m->cmcell[n * MX_NASIC + a] + cm[a];
    if (m->hot[i]) v += 20 + 5 * MxRngUniform(g) + 10 * p->noise * MxRngNormal(g);
    else if (p->noise > 0) v += p->noise * MxRngNormal(g);
    if (m->dead[i]) v = 0;
    gain[i] = v > p->medium_gain_photons ? 1 : 0;
    f[i]    = (float)(v * p->unit_scale);
  }
}

PetscErrorCode MxSimModuleDestroy(MxSimModule *m)
{
  PetscFunctionBeginUser;
  MxSpeckleDestroy(&m->win);
  PetscCall(PetscFree(m->qsub));
  PetscCall(PetscFree(m->spt));
  PetscCall(PetscFree4(m->Ibar, m->G, m->qbin, m->mask));
  PetscCall(PetscFree(m->hot));
  if (m->offset) PetscCall(PetscFree2(m->offset, m->gain));
  if (m->gerr) PetscCall(PetscFree2(m->gerr, m->cmcell));
  PetscCall(PetscFree(m->dead));
  PetscCall(PetscFree(m->ihot));
  PetscFunctionReturn(0);
}

/* One train of one module: speckle evolution, photons, detector. Random streams depend only
   on (seed, train, module), never on the rank. clean (agipd, or NULL): each pixel-frame's
   photons as the detector collected them, before its own effects (-sim_clean_copy). */
PetscErrorCode MxSimTrainModule(MxSim s, MxSimModule *m, PetscInt itrain, const double *e, float *frames, uint8_t *gain, float *clean)
{
  MxSimParams *p  = &s->p;
  PetscInt     ns = p->subpixels * p->subpixels, nspk = 0;
  MxRng        gs, gp, gd;
  uint32_t    *k   = NULL;
  double      *A   = NULL;
  float       *off = NULL, *cm = NULL, *isub = NULL;
  MxSimSpike  *spk = NULL;

  PetscFunctionBeginUser;
  MxRngInit(&gs, (uint64_t)p->seed, (uint64_t)itrain, (uint64_t)m->module, 2);
  MxRngInit(&gp, (uint64_t)p->seed, (uint64_t)itrain, (uint64_t)m->module, 3);
  if (p->agipd) { /* the detector's own streams: the photons (gp) are those of ideal */
    MxRngInit(&gd, (uint64_t)p->seed, (uint64_t)itrain, (uint64_t)m->module, 8);
    PetscCall(PetscMalloc4(MX_MODPIX, &k, MX_MODPIX, &A, MX_MODPIX, &off, (size_t)p->npulses * MX_NASIC, &cm));
    MxSimCommonMode(p, m->module, itrain, cm);
    if (p->charge_cloud_um > 0) PetscCall(PetscMalloc1((size_t)MX_MODPIX * ns, &isub)); /* the field at each sub-pixel point, for the photons' points */
    PetscCall(MxSimSpikes(p, m->module, itrain, &nspk, &spk));
  }
  MxSpeckleInit(&m->win, &gs); /* a fresh sample: 100 ms between trains decorrelates it */
  const double *D = s->D_A2_s;
  double       *Dt = NULL;
  if (s->heat_K) { /* this train's heating, at its mean relative pulse energy */
    double r = 0, x;
    for (PetscInt n = 0; n < p->npulses; n++) r += e[n] / p->npulses;
    x = (r - s->heat_r0) / s->heat_dr;
    PetscInt k0 = PetscMin(PetscMax((PetscInt)floor(x) - 1, 0), s->heat_K - 4);
    PetscCall(PetscMalloc1(p->npulses, &Dt));
    for (PetscInt n = 0; n < p->npulses; n++) {
      double v = 0;
      for (PetscInt i = 0; i < 4; i++) { /* Lagrange through k0 .. k0 + 3 */
        double w = 1;
        for (PetscInt j = 0; j < 4; j++)
          if (j != i) w *= (x - (k0 + j)) / (double)(i - j);
        v += w * s->heat_h[(k0 + i) * p->npulses + n];
      }
      Dt[n] = p->D0_um2_s * 1e8 * v;
    }
    D = Dt;
  }
  for (PetscInt n = 0; n < p->npulses; n++) {
    float *f = frames + (size_t)n * MX_MODPIX;
    if (n) MxSpeckleAdvance(&m->win, &gs, D[n - 1] * p->dt_s); /* the interval after pulse n - 1 */
    MxSpeckleField(&m->win);
    for (PetscInt i = 0; i < MX_MODPIX; i++) {
      const float *qs = m->qsub + (size_t)i * ns * 2;
      if (isnan(qs[0])) { /* not covered by any panel */
        f[i] = 0;
        if (k) k[i] = 0;
        if (clean) clean[(size_t)n * MX_MODPIX + i] = 0;
        if (isub)
          for (PetscInt j = 0; j < ns; j++) isub[(size_t)i * ns + j] = NAN;
        continue;
      }
      double sp = 0;
      for (PetscInt j = 0; j < ns; j++) {
        const double y = MxSpecklePointIntensity(&m->win, &m->spt[(size_t)i * ns + j]);
        if (isub) isub[(size_t)i * ns + j] = (float)y;
        sp += y;
      }
      sp /= ns;
      if (m->qbin[i] >= 0 && m->Ibar[i] > 0) { /* realised speckle contrast, noise-free */
        double *b = s->beta_acc + 3 * (itrain * s->nbins + m->qbin[i]), r = sp / m->Ibar[i];
        b[0] += r;
        b[1] += r * r;
        b[2] += 1;
      }
      double   mu = e[n] * m->G[i] * sp;
      uint32_t c  = MxRngPoisson(&gp, mu);
      int      seam = MxSimWideRow((int)(i / MX_NFS));
      if (seam && p->agipd && p->wide_pixels) c += MxRngPoisson(&gd, mu); /* twice the area; the other pixels' photons stay those of ideal */
      if (m->qbin[i] >= 0 && m->Ibar[i] > 0 && !seam) { /* the clean photon counts' statistics (standard-size pixels: the same in ideal and agipd) */
        double *a = s->count_acc + MX_NCOUNT * (itrain * s->nbins + m->qbin[i]), mu0 = e[n] * m->G[i] * m->Ibar[i], kk = c;
        a[0] += kk;
        a[1] += kk * kk;
        a[2] += 1;
        a[3] += c == 0;
        a[4] += c == 1;
        if (mu0 > 0) {
          a[5] += kk / mu0;
          a[6] += kk * (kk - 1) / (mu0 * mu0);
        }
      }
      if (k) {
        k[i] = c;
        if (clean) clean[(size_t)n * MX_MODPIX + i] = (float)c; /* -sim_clean_copy */
        if (m->ihot && m->ihot[i]) (void)MxRngUniform(&gp); /* ideal's hot value */
        continue;
      }
      double v = c;
      if (m->offset) v = m->gain[n * MX_MODPIX + i] * c + m->offset[n * MX_MODPIX + i];
      if (m->mask[i] & (1u << 14)) v = 0;
      if (m->hot[i]) v += 20 + 5 * MxRngUniform(&gp);
      if (p->gain_noise > 0 && c) v *= 1 + p->gain_noise * MxRngNormal(&gp);
      f[i] = (float)(v * p->adu_per_photon);
    }
    if (k) DetectorFrame(s, m, n, k, isub, A, off, cm + n * MX_NASIC, spk, nspk, &gd, f, gain + (size_t)n * MX_MODPIX);
  }
  PetscCall(PetscFree(Dt));
  if (k) PetscCall(PetscFree4(k, A, off, cm));
  PetscCall(PetscFree(isub));
  PetscCall(PetscFree(spk));
  PetscFunctionReturn(0);
}
