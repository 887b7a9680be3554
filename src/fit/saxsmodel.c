/* SAXS model kernels with their Jacobian: the polydisperse sphere form factor on sasmodels'
   Gaussian grid, the Percus-Yevick S(q), and the models of design.md 1.7 built from them.
   Values reproduce include/mxpcs/models.h (which matches sasmodels 1.0.6); see saxsfit.h.
   Not collective; no state. */
#include <mxpcs/saxsfit.h>
#include <mxpcs/models.h>
#include <complex.h>
#include <math.h>
#include <stdlib.h>

#define MX_4PI_3 4.18879020478639 /* sasmodels kernel_header.c M_4PI_3, as src/models/sphere.c */

const char *const MxSaxsModelTypes[] = {"sphere", "sphere@hardsphere", "colloid+liquid"};
const char *const MxSaxsParamNames[] = {"radius", "pd", "scale", "background", "phi", "scale_liquid", "porod", "hs_excess"};

int MxSaxsParamUsed(const MxSaxsSpec *spec, int k)
{
  switch (k) {
  case MX_SAXS_RADIUS:
  case MX_SAXS_PD:
  case MX_SAXS_SCALE:
  case MX_SAXS_BACKGROUND:
    return 1;
  case MX_SAXS_PHI:
    return spec->type != MX_SAXS_SPHERE;
  case MX_SAXS_SCALE_LIQUID:
  case MX_SAXS_HS_EXCESS:
    return spec->type == MX_SAXS_COLLOID_LIQUID;
  case MX_SAXS_POROD:
    return spec->porod != 0;
  default:
    return 0;
  }
}

/* d/dx of 3 j1(x)/x = 3 sin x/x^2 - 3 f/x, with the series -x/5 + x^3/70 - x^5/2520 below 0.1
   (the branch point of MxSph3j1x). */
static double Sph3j1xPrime(double x, double f)
{
  if (fabs(x) < 0.1) {
    const double x2 = x * x;
    return x * (-1. / 5. + x2 * (1. / 70. + x2 * (-1. / 2520.)));
  }
  return 3.0 * (sin(x) / (x * x) - f / x);
}

/* 1/S_PY(X = q sigma, phi) for complex arguments (physics-reference.md 1): below X = 8 the series
   1/S = 1 + 24 phi sum_k (-1)^k X^2k/(2k+1)! [A/(2k+3) + B/(2k+4) + G/(2k+6)] (the Fourier transform
   of c(r) = -(A + B r/sigma + G (r/sigma)^3) term by term: no cancellation), above it sasmodels'
   closed form. Used only for derivatives by complex steps, which are then exact to rounding. */
static double complex PYInverse(double complex X, double complex phi)
{
  const double complex D = 1.0 / ((1.0 - phi) * (1.0 - phi));
  const double complex A = ((1.0 + 2.0 * phi) * D) * ((1.0 + 2.0 * phi) * D);
  const double complex B = -6.0 * phi * ((1.0 + 0.5 * phi) * D) * ((1.0 + 0.5 * phi) * D);
  const double complex G = 0.5 * phi * A;

  if (creal(X) < 8.0) {
    double complex sum = 0.0, t = 1.0; /* t = (-1)^k X^2k/(2k+1)! */
    for (int k = 0; k < 80; k++) {
      const double complex term = t * (A / (2 * k + 3) + B / (2 * k + 4) + G / (2 * k + 6));
      sum += term;
      if (k > 4 && cabs(term) < 1e-18 * cabs(sum)) break;
      t *= -X * X / ((2.0 * k + 2.0) * (2.0 * k + 3.0));
    }
    return 1.0 + 24.0 * phi * sum;
  }
  {
    const double complex X2 = X * X, X4 = X2 * X2, Sx = csin(X), Cx = ccos(X);
    const double complex FF = ((G * ((4. * X2 - 24.) * X * Sx - (X4 - 12. * X2 + 24.) * Cx + 24.) / X2 + B * (2. * X * Sx - (X2 - 2.) * Cx - 2.)) / X + A * (Sx - X * Cx)) / X;
    return 1.0 + 24.0 * phi * FF / X2;
  }
}

/* dS_PY/d(radius_eff) and dS_PY/dphi at S = s: complex steps of 1/S, dS = -S^2 d(1/S). */
static void PYDerivatives(double q, double reff, double phi, double s, double *ds_reff, double *ds_phi)
{
  const double h = 1e-30, X = 2.0 * q * reff;

  *ds_reff = -s * s * cimag(PYInverse(X + h * _Complex_I, phi)) / h * 2.0 * q;
  *ds_phi  = -s * s * cimag(PYInverse(X, phi + h * _Complex_I)) / h;
}

/* MxSaxsModelEval; nonlin = 0 leaves the radius, pd and phi columns of J at 0 (the grid search of
   the starting values needs only the linear ones, and the S_PY derivatives are the costly part). */
int MxSaxsModelEvalPart(const MxSaxsSpec *spec, const double p[], size_t nq, const double *q, double *Iq, double *J, double *P, double *S, double *Reff, int nonlin)
{
  const int    npts = spec->npts > 1 ? spec->npts : 1;
  const double R = p[MX_SAXS_RADIUS], pd = p[MX_SAXS_PD], sc = p[MX_SAXS_SCALE], bg = p[MX_SAXS_BACKGROUND];
  const double phi = MxSaxsParamUsed(spec, MX_SAXS_PHI) ? p[MX_SAXS_PHI] : 0.0;
  const double sl  = MxSaxsParamUsed(spec, MX_SAXS_SCALE_LIQUID) ? p[MX_SAXS_SCALE_LIQUID] : 0.0;
  const double po  = spec->porod ? p[MX_SAXS_POROD] : 0.0;
  const double hx  = MxSaxsParamUsed(spec, MX_SAXS_HS_EXCESS) ? p[MX_SAXS_HS_EXCESS] : 0.0; /* S_PY's radius: reff + hx/2 */
  const int    hs  = spec->type != MX_SAXS_SPHERE;
  double      *r = malloc(3 * (size_t)npts * sizeof(double)), *w, *dr_pd;
  double       wsum = 0.0, total = 0.0, V = 0.0, dV_R = 0.0, dV_pd = 0.0, reff = 0.0, dreff_R = 0.0, dreff_pd = 0.0;
  int          n;

  if (!r) {
    for (size_t i = 0; i < nq; i++) {
      if (Iq) Iq[i] = NAN;
      if (P) P[i] = NAN;
      if (S) S[i] = NAN;
      if (J)
        for (int k = 0; k < MX_SAXS_NPAR; k++) J[i * MX_SAXS_NPAR + k] = NAN;
    }
    if (Reff) *Reff = NAN;
    return 1;
  }
  w     = r + npts;
  dr_pd = w + npts;
  n     = MxPolyGaussGrid(R, pd, spec->npts, spec->nsigmas, r, w);
  for (int k = 0; k < n; k++) {
    wsum += w[k];
    dr_pd[k] = pd > 0 ? (r[k] - R) / pd : 0.0; /* r_k = R (1 + pd t_k): d r_k/d pd = R t_k */
  }
  /* normalised weights as sasmodels (kernel.py), then sums over the total weight */
  for (int k = 0; k < n; k++) {
    w[k] /= wsum;
    if (!(w[k] > 0.0)) w[k] = 0.0;
    total += w[k];
  }
  if (total == 0.0) total = 1.0;
  for (int k = 0; k < n; k++) {
    const double Vk = MX_4PI_3 * r[k] * r[k] * r[k], dVdr = 3.0 * Vk / r[k], drR = R != 0 ? r[k] / R : 1.0;
    V += w[k] * Vk;
    dV_R += w[k] * dVdr * drR;
    dV_pd += w[k] * dVdr * dr_pd[k];
    reff += w[k] * r[k];
    dreff_R += w[k] * drR;
    dreff_pd += w[k] * dr_pd[k];
  }
  V /= total;
  dV_R /= total;
  dV_pd /= total;
  reff /= total;
  dreff_R /= total;
  dreff_pd /= total;
  if (V == 0.0) V = 1.0; /* kernel.py: shell_volume == 0 -> 1 */
  reff += 0.5 * hx;
  if (Reff) *Reff = reff;

  for (size_t i = 0; i < nq; i++) {
    double F2 = 0.0, dF2_R = 0.0, dF2_pd = 0.0, A, dA_R, dA_pd, s = 1.0, ds_reff = 0.0, ds_phi = 0.0, q4;

    for (int k = 0; k < n; k++) {
      const double rk = r[k], Vk = MX_4PI_3 * rk * rk * rk, x = q[i] * rk, f = MxSph3j1x(x);
      const double form = Vk * f, F2k = 1.0e-4 * form * form;
      /* dF2/dr = 1e-4 * 2 V^2 f (3 f/r + q f'(qr)) */
      const double dF2dr = 1.0e-4 * 2.0 * Vk * Vk * f * (3.0 * f / rk + q[i] * Sph3j1xPrime(x, f));
      F2 += w[k] * F2k;
      dF2_R += w[k] * dF2dr * (R != 0 ? rk / R : 1.0);
      dF2_pd += w[k] * dF2dr * dr_pd[k];
    }
    F2 /= total;
    dF2_R /= total;
    dF2_pd /= total;
    A     = F2 / V;
    dA_R  = dF2_R / V - F2 * dV_R / (V * V);
    dA_pd = dF2_pd / V - F2 * dV_pd / (V * V);
    if (hs) {
      MxHardSphereSq(1, &q[i], reff, phi, &s);
      if (J && nonlin) PYDerivatives(q[i], reff, phi, s, &ds_reff, &ds_phi);
    }
    q4 = q[i] * q[i] * q[i] * q[i];
    if (Iq) {
      double v;
      switch (spec->type) {
      case MX_SAXS_SPHERE_HS:
        v = sc * phi * A * s;
        break;
      case MX_SAXS_COLLOID_LIQUID:
        v = sc * A + sl * A * s;
        break;
      default:
        v = sc * A;
      }
      Iq[i] = v + bg + (spec->porod ? po / q4 : 0.0);
    }
    if (P) P[i] = spec->type == MX_SAXS_SPHERE_HS ? sc * phi * A : spec->type == MX_SAXS_COLLOID_LIQUID ? (sc + sl) * A : sc * A;
    if (S) S[i] = spec->type == MX_SAXS_COLLOID_LIQUID ? (sc + sl != 0.0 ? (sc + sl * s) / (sc + sl) : 1.0) : s;
    if (J) {
      double *Ji = J + i * MX_SAXS_NPAR;
      /* d(A S)/dtheta for the structured parts, through radius_effective */
      const double dAS_R = dA_R * s + A * ds_reff * dreff_R, dAS_pd = dA_pd * s + A * ds_reff * dreff_pd;
      for (int k = 0; k < MX_SAXS_NPAR; k++) Ji[k] = 0.0;
      Ji[MX_SAXS_BACKGROUND] = 1.0;
      if (!nonlin) { /* the linear parameters only */
        if (spec->porod) Ji[MX_SAXS_POROD] = 1.0 / q4;
        Ji[MX_SAXS_SCALE] = spec->type == MX_SAXS_SPHERE_HS ? phi * A * s : A;
        if (spec->type == MX_SAXS_COLLOID_LIQUID) Ji[MX_SAXS_SCALE_LIQUID] = A * s;
        continue;
      }
      if (spec->porod) Ji[MX_SAXS_POROD] = 1.0 / q4;
      switch (spec->type) {
      case MX_SAXS_SPHERE_HS:
        Ji[MX_SAXS_RADIUS] = sc * phi * dAS_R;
        Ji[MX_SAXS_PD]     = sc * phi * dAS_pd;
        Ji[MX_SAXS_SCALE]  = phi * A * s;
        Ji[MX_SAXS_PHI]    = sc * A * (s + phi * ds_phi);
        break;
      case MX_SAXS_COLLOID_LIQUID:
        Ji[MX_SAXS_RADIUS]       = sc * dA_R + sl * dAS_R;
        Ji[MX_SAXS_PD]           = sc * dA_pd + sl * dAS_pd;
        Ji[MX_SAXS_SCALE]        = A;
        Ji[MX_SAXS_SCALE_LIQUID] = A * s;
        Ji[MX_SAXS_PHI]          = sl * A * ds_phi;
        Ji[MX_SAXS_HS_EXCESS]    = sl * A * ds_reff * 0.5;
        break;
      default:
        Ji[MX_SAXS_RADIUS] = sc * dA_R;
        Ji[MX_SAXS_PD]     = sc * dA_pd;
        Ji[MX_SAXS_SCALE]  = A;
      }
    }
  }
  free(r);
  return 0;
}

int MxSaxsModelEval(const MxSaxsSpec *spec, const double p[], size_t nq, const double *q, double *Iq, double *J, double *P, double *S, double *Reff)
{
  return MxSaxsModelEvalPart(spec, p, nq, q, Iq, J, P, S, Reff, 1);
}
