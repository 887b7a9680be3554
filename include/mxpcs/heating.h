/* X-ray heating from dose, with heat diffusion out of the beam (docs/reference/heating.md; the
   physics and its assumptions: docs/physics.md "X-ray heating").
   A Gaussian pulse (sigma = FWHM/2.355, 1/e radius w0 = sqrt(2) sigma) of effective fluence F
   (J/cm^2) raises the temperature at the beam centre by the path-averaged
     dT_c0 = F mu_en,mix (1 - exp(-mu L))/(mu L) / C_v,
   with the sample's composition (particle volume fraction phi of PbS in a solvent). The heat
   spreads radially (the sample is long compared with the beam):
     dT(r, t) = dT_c0 w0^2/(w0^2 + 4 alpha t) exp(-r^2/(w0^2 + 4 alpha t)),
   whose intensity-weighted mean is (dT_c0/2)/(1 + t/tau_I), tau_I = sigma^2/alpha. The pulses of
   a train add; the motion between frames n and n+1 happens in a sample that has absorbed pulses
   0..n, so zero dose lies one pulse spacing before the first interval. D follows
   Stokes-Einstein, D(T)/D(T0) = (T/T0) eta(T0)/eta(T), with the solvent's viscosity law, and is
   averaged over the beam profile and over the interval (D itself, not T).
   Kernels: plain C, no MPI. */
#pragma once
#include <petscsys.h>

typedef enum { MX_SOLVENT_NMF, MX_SOLVENT_DMF, MX_SOLVENT_WATER } MxSolvent;
/* "nmf", "dmf", "water", then the enum's name and prefix, NULL (for PetscOptionsEnum) */
extern const char *const MxSolventNames[];

/* A sample as the heating sees it. Ea_kJ_mol > 0 replaces the solvent's viscosity law by an
   Arrhenius law with that activation energy; NMF has no verified law, so it needs one. */
typedef struct {
  MxSolvent solvent;
  double    phi;       /* volume fraction of the particles (PbS) */
  double    path_mm;   /* sample thickness along the beam */
  double    T0_K;      /* temperature before the train */
  double    Ea_kJ_mol; /* > 0: Arrhenius viscosity; 0: the solvent's own law */
  double    energy_keV; /* photon energy (MX_HEAT_EMIN_KEV .. MX_HEAT_EMAX_KEV; 0: 12.3 keV) */
} MxHeatSample;

#define MX_HEAT_DEFAULT_KEV 12.3
#define MX_HEAT_EMIN_KEV    4.0
#define MX_HEAT_EMAX_KEV    50.0

/* mu/rho and mu_en/rho (cm^2/g) of element el (0..5: H C N O S Pb) at E_keV: NIST SRD 126,
   a log-log cubic spline through its tabulated energies between the edges of Pb (L3 13.035,
   L2 15.200, L1 15.861 keV). Nonzero outside [MX_HEAT_EMIN_KEV, MX_HEAT_EMAX_KEV] or for another el. */
int MxHeatElementCoefficients(int el, double E_keV, double *mu, double *muen);

/* What the composition gives at the sample's photon energy (NIST SRD 126;
   docs/reference/heating.md 3) */
typedef struct {
  double mu_cm, muen_cm;  /* linear attenuation and energy-absorption coefficients (1/cm) */
  double Cv_J_cm3K;       /* volumetric heat capacity */
  double alpha_m2_s;      /* thermal diffusivity of the solvent */
  double transmission;    /* exp(-mu L) */
  double dT_per_J_cm2;    /* path-averaged centre jump dT_c0 per unit fluence (K cm^2/J) */
  double Gy_per_J_cm2;    /* the path-averaged centre dose per pulse per unit fluence (Gy cm^2/J) */
} MxHeatProps;

/* Properties of s; nonzero when s is out of range (phi outside [0, 0.74), path <= 0, T0 <= 0,
   the photon energy outside the coefficients' table). */
int MxHeatSampleProps(const MxHeatSample *s, MxHeatProps *p);
/* The solvent's viscosity (Pa s) at T: DMF and water DIPPR-101 (Perry's 8th ed. table 2-313),
   or Arrhenius when Ea_kJ_mol > 0 (eta(T0) then the solvent's value at 298.15 K). NaN outside
   the law's range. */
double MxHeatViscosity(const MxHeatSample *s, double T_K);
/* D(T)/D(T0) = (T/T0) eta(T0)/eta(T) */
double MxHeatDFactor(const MxHeatSample *s, double T_K);
/* tau_I = sigma^2/alpha (s) of a beam of FWHM fwhm_um in a medium of diffusivity alpha */
double MxHeatTauI(double fwhm_um, double alpha_m2_s);
/* The single-pulse kernel dT/dT_c0 at r^2 = u w0^2, time t = s tau_c (tau_c = tau_I/2). */
double MxHeatKernel(double u, double s);
/* Its intensity-weighted mean at t = x tau_I: 0.5/(1 + x). */
double MxHeatKernelMean(double x);

/* The heating model of a train of pulses (spacing dt, tau_I, relative pulse energies e_k, 1 when
   NULL): per interval n (between frames n and n+1, pulses 0..n absorbed), the temperature rise
   theta at quadrature nodes over the beam (Gauss-Laguerre in r^2/w0^2) and the interval
   (Gauss-Legendre), per unit dT_c0. The factors h_n = <D(T0 + dT_c0 theta)>/D(T0) then cost one
   viscosity per node. */
typedef struct _p_MxHeatModel *MxHeatModel;
PetscErrorCode MxHeatModelCreate(PetscInt nint, double dt_s, double tauI_s, const double *pulse_rel, MxHeatModel *hm);
/* h[0..nint): beam- and interval-averaged D/D(T0) for a centre jump dT0_K per pulse. */
void MxHeatModelFactors(MxHeatModel hm, const MxHeatSample *s, double dT0_K, double *h);
/* rise[0..nint): the intensity-weighted, interval-mean temperature rise per unit dT_c0 */
void MxHeatModelRise(MxHeatModel hm, double *rise);
PetscErrorCode MxHeatModelDestroy(MxHeatModel *hm);

/* simulate's solver (not the kernel above, so that a test of the fit against a simulation is not
   circular): the radial heat equation dT/dt = alpha (1/r) d/dr (r dT/dr) by Crank-Nicolson finite
   volumes (src/sim/heatfd.c), nr cells on 0 <= r <= R (R = 12 w0, or 7 widths of the last
   profile; nr 0: R/(0.01 w0)), each pulse added as dT0 e_k exp(-r^2/w0^2) at t_k = k dt (e_k 1
   when e is NULL), nsub time steps per pulse spacing (0: 400). Out, per interval n < nint (each
   may be NULL): h[n] the beam- and interval-averaged D/D(T0) of sample s (trapezoids in r and t),
   rise[n] the intensity-weighted interval-mean rise (K), Tc[n] the intensity-weighted rise just
   after pulse n (K). */
PetscErrorCode MxHeatSolveFD(PetscInt nint, double dt_s, double tauI_s, const double *e, const MxHeatSample *s, double dT0_K, PetscInt nr, PetscInt nsub, double *h, double *rise, double *Tc);
/* One pulse of unit height on 12 w0 (nr cells), advanced to t = probe_s tau_c in nsteps steps:
   profile[i] at r_i = (i + 1/2) 12 w0/nr. */
PetscErrorCode MxHeatPulseFD(double probe_s, PetscInt nr, PetscInt nsteps, double *profile);
