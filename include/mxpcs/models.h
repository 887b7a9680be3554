/* Scattering and hydrodynamics kernels: plain C on arrays, no MPI, no state.
   Formulas, conventions and reference values: docs/reference/physics-reference.md. Units: q in
   1/angstrom, radii in angstrom, sld contrast drho in 1e-6/angstrom^2, intensities in 1/cm. */
#pragma once
#include <stddef.h>

/* Gaussian polydispersity grid exactly as sasmodels (weights.py GaussianDispersion):
   r_k = radius + linspace(-nsigmas*sigma, nsigmas*sigma, npts), sigma = pd*radius, r_k < 0
   dropped, w_k = exp(-(r_k-radius)^2/(2 sigma^2)) (unnormalised); pd = 0 gives one point.
   Returns the number of points written (<= npts). */
int MxPolyGaussGrid(double radius, double pd, int npts, double nsigmas, double *r, double *w);

/* 3 j1(x)/x = 3 (sin x - x cos x)/x^3 with the small-x series. */
double MxSph3j1x(double x);

/* sasmodels `sphere` with Gaussian pd (35 points, 3 sigma in sasmodels' defaults):
   I(q) = scale <F^2>(q)/<V> + background, F = 1e-2 drho V 3j1(qr)/(qr). */
void MxSphereIq(size_t nq, const double *q, double radius, double pd, int npts, double nsigmas, double drho, double scale, double background, double *Iq);
/* <F^2>/<V> and <F>/<V>... : the averaged pieces, for products (each may be NULL).
   Precisely (as sasmodels kernel.py Fq returns them): F2[i] = <F^2>(q_i), F1[i] = <F>(q_i), with F
   as above (F2 in 1e-4 (drho A^3)^2, F1 in 1e-2 drho A^3), *Vavg = <V> in A^3, *Reff = sum w_k r_k /
   sum w_k in A; so I = scale*F2/Vavg + background. */
void MxSphereAverages(size_t nq, const double *q, double radius, double pd, int npts, double nsigmas, double drho, double *F2, double *F1, double *Vavg, double *Reff);

/* Percus-Yevick hard-sphere S(q) (sasmodels `hardsphere`): radius_eff, volume fraction. */
void MxHardSphereSq(size_t nq, const double *q, double radius_eff, double phi, double *S);

/* sasmodels `sphere@hardsphere`, structure_factor_mode 0 (P*S) or 1 (beta), radius_effective
   = the number-weighted mean radius of the pd grid. I = scale*phi*(...)/<V> + background. */
void MxSphereHardSphereIq(size_t nq, const double *q, double radius, double pd, int npts, double nsigmas, double drho, double phi, double scale, double background, int beta_mode, double *Iq);
/* The same with S_PY's own radius (sasmodels radius_effective_mode 0, radius_effective =
   radius_eff, angstrom: half the hard-sphere diameter, which may exceed the form factor's radius);
   radius_eff <= 0 is mode 1 as above. */
void MxSphereHardSphereIqReff(size_t nq, const double *q, double radius, double pd, int npts, double nsigmas, double drho, double phi, double radius_eff, double scale, double background, int beta_mode, double *Iq);

/* Gauss-Legendre nodes x and weights w of order n on [-1, 1] (Newton on P_n; n <= 64). */
void MxGaussLegendre(int n, double *x, double *w);
/* Gauss-Laguerre nodes and weights of order n for int_0^inf exp(-x) f(x) dx (Newton; n <= 64). */
void MxGaussLaguerre(int n, double *x, double *w);

/* Beenakker-Mazur delta-gamma (physics-reference.md section 3). */
/* Sine integral Si(x) = Int_0^x sin t/t dt, relative error below 1e-15 (series for |x| <= 4,
   continued fraction of E1(ix) above). */
double MxSineIntegral(double x);
/* S_gamma0(y), with the series below y = 0.6. */
double MxDeltaGammaSg0(double y);
/* Ds/D0 = (2/pi) Int_0^inf (sin y/y)^2 / (1 + phi S_g0(y)) dy, converged to 1e-8. */
double MxDeltaGammaDs(double phi);
/* Distinct part H_d(q) for a given S(q): Sfun(x, ctx) returns S at x = q*sigma (sigma =
   2*radius); qsigma are the evaluation points. Double integral converged to 1e-6. */
typedef double (*MxSqFunction)(double qsigma, void *ctx);
void MxDeltaGammaHd(size_t n, const double *qsigma, double phi, MxSqFunction Sfun, void *ctx, double *Hd);
/* The PY S(q sigma) at volume fraction phi as an MxSqFunction (ctx: pointer to double phi). */
double MxSqPercusYevick(double qsigma, void *ctx);
/* BM-full variant: S_g with the gamma0 multipole terms (Jscatter table), Ds and H_d as above.
   phi*gamma0 between the table rows (phi = 0, 0.05, ..., 0.45): not-a-knot cubic spline. */
double MxDeltaGammaDsFull(double phi);
void   MxDeltaGammaHdFull(size_t n, const double *qsigma, double phi, MxSqFunction Sfun, void *ctx, double *Hd);

/* Quadrature of H_d, for convergence studies: adaptive Gauss-Kronrod in y (on pi intervals up
   to y = y_intervals*pi) and in |q - k| sigma, aiming at an absolute error tol on H_d; tail = 1
   adds the n^-4 tail estimate beyond the cut-off. Defaults (MxDeltaGammaQuadratureDefault, used
   by MxDeltaGammaHd/HdFull): tol 1e-7 (the estimates are conservative: the error measured against
   tol 1e-12 with 200 intervals is below 1e-8 for PY S(q) at phi <= 0.49), 40 intervals, tail on. */
typedef struct {
  double tol;
  int    y_intervals, tail;
} MxDeltaGammaQuadrature;
void MxDeltaGammaQuadratureDefault(MxDeltaGammaQuadrature *quad);
/* full = 0: S_g0 (MxDeltaGammaHd), 1: BM-full (MxDeltaGammaHdFull); quad NULL: the defaults. */
void MxDeltaGammaHdQuad(size_t n, const double *qsigma, double phi, int full, MxSqFunction Sfun, void *ctx, const MxDeltaGammaQuadrature *quad, double *Hd);

/* Empirical short-time self-diffusion curves Ds/D0(phi). */
double MxDsHardSphereASD(double phi);        /* 1 - 1.8315 phi (1 + 0.1195 phi - 0.70665 phi^2) */
double MxDsChargedSphere(double phi, double a_t); /* 1 - a_t phi^(4/3) */
