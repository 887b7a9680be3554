/* Sphere form factor with Gaussian polydispersity, Percus-Yevick hard-sphere S(q) and their
   product, written to reproduce sasmodels 1.0.6 (Debian python3-sasmodels) operation by
   operation: weights.py GaussianDispersion, models/sphere.c, models/lib/sas_3j1x_x.c,
   models/hardsphere.py, kernel.py Fq and product.py ProductKernel.Iq.
   physics-reference.md sections 1 and 2. Not collective; no state. */
#include <mxpcs/models.h>
#include <math.h>
#include <stdlib.h>

#define MX_4PI_3 4.18879020478639 /* sasmodels kernel_header.c M_4PI_3, same digits */

/* numpy.linspace(-nsigmas*sigma, +nsigmas*sigma, npts) shifted by radius, points below the
   parameter limit 0 dropped (sphere.py: radius limits [0, inf]), Gaussian weights. */
int MxPolyGaussGrid(double radius, double pd, int npts, double nsigmas, double *r, double *w)
{
  const double sigma = pd * radius; /* relative width: radius is a volume parameter */
  int          n     = 0;

  if (sigma == 0.0 || npts < 2) {
    if (!(radius >= 0.0)) return 0;
    r[0] = radius;
    w[0] = 1.0;
    return 1;
  }
  {
    const double start = -nsigmas * sigma, stop = nsigmas * sigma;
    const double step  = (stop - start) / (double)(npts - 1);

    for (int i = 0; i < npts; i++) {
      const double y = (i == npts - 1) ? stop : (double)i * step + start; /* numpy: y[-1] = stop */
      const double x = radius + y;

      if (!(x >= 0.0)) continue;
      r[n] = x;
      w[n] = exp((x - radius) * (x - radius) / (-2.0 * sigma * sigma));
      n++;
    }
  }
  return n;
}

/* sas_3j1x_x, double-precision branch: 4th-order series below x = 0.1. */
double MxSph3j1x(double x)
{
  if (fabs(x) < 0.1) {
    const double x2 = x * x;
    return 1.0 + x2 * (-3. / 30. + x2 * (3. / 840. + x2 * (-3. / 45360.)));
  }
  return 3.0 * (sin(x) / x - cos(x)) / (x * x);
}

/* kernel.py Fq for `sphere`: weights normalised as get_weights() does, then sums divided by the
   total weight. F2 = <F^2>, F1 = <F> (both in the units of sphere.c Fq), Vavg = <V> (A^3), Reff =
   number-weighted mean radius (radius_effective_mode 1). */
void MxSphereAverages(size_t nq, const double *q, double radius, double pd, int npts, double nsigmas, double drho, double *F2, double *F1, double *Vavg, double *Reff)
{
  const int nmax = npts > 1 ? npts : 1;
  double   *r    = malloc(2 * (size_t)nmax * sizeof(double));
  double   *w    = r ? r + nmax : NULL;
  double    wsum = 0.0, total = 0.0, vsum = 0.0, rsum = 0.0;
  int       n;

  if (!r) {
    for (size_t i = 0; i < nq; i++) {
      if (F2) F2[i] = NAN;
      if (F1) F1[i] = NAN;
    }
    if (Vavg) *Vavg = NAN;
    if (Reff) *Reff = NAN;
    return;
  }
  n = MxPolyGaussGrid(radius, pd, npts, nsigmas, r, w);
  for (int k = 0; k < n; k++) wsum += w[k];
  for (size_t i = 0; i < nq; i++) {
    if (F2) F2[i] = 0.0;
    if (F1) F1[i] = 0.0;
  }
  for (int k = 0; k < n; k++) {
    const double weight = w[k] / wsum;
    const double V      = MX_4PI_3 * (r[k] * r[k] * r[k]);

    if (!(weight > 0.0)) continue; /* kernel_iq.c: weight > cutoff (= 0) */
    total += weight;
    vsum += weight * V;
    rsum += weight * r[k];
    for (size_t i = 0; i < nq; i++) {
      const double form = drho * V * MxSph3j1x(q[i] * r[k]);

      if (F1) F1[i] += weight * (1.0e-2 * form);
      if (F2) F2[i] += weight * (1.0e-4 * form * form);
    }
  }
  if (total == 0.0) total = 1.0;
  for (size_t i = 0; i < nq; i++) {
    if (F2) F2[i] /= total;
    if (F1) F1[i] /= total;
  }
  if (Vavg) *Vavg = vsum / total;
  if (Reff) *Reff = rsum / total;
  free(r);
}

void MxSphereIq(size_t nq, const double *q, double radius, double pd, int npts, double nsigmas, double drho, double scale, double background, double *I)
{
  double V;

  MxSphereAverages(nq, q, radius, pd, npts, nsigmas, drho, I, NULL, &V, NULL);
  if (V == 0.0) V = 1.0; /* kernel.py: shell_volume == 0 -> 1 */
  for (size_t i = 0; i < nq; i++) I[i] = scale / V * I[i] + background;
}

/* hardsphere.py Iq (Kinning-Thomas / FISH form), double-precision branches: 1/A below
   X = 5e-6, Taylor series below X = 0.05, closed form above; X = q*sigma. */
static double PercusYevickX(double X, double volfraction)
{
  double D, A, B, G, X2, X4, S, C, FF;

  X = fabs(X);
  {
    const double Y = 1.0 / (1.0 - volfraction);
    D              = Y * Y;
  }
  A = (1. + 2. * volfraction) * D;
  A *= A;
  if (X < 5.E-06) return 1. / A;
  X2 = X * X;
  B  = (1.0 + 0.5 * volfraction) * D;
  B *= B;
  B *= -6. * volfraction;
  G = 0.5 * volfraction * A;
  if (X < 0.05) {
    FF = 8.0 * A + 6.0 * B + 4.0 * G + (-0.8 * A - B / 1.5 - 0.5 * G + (A / 35. + 0.0125 * B + 0.02 * G) * X2) * X2;
    return 1. / (1. + volfraction * FF);
  }
  X4 = X2 * X2;
  S  = sin(X);
  C  = cos(X);
  FF = ((G * ((4. * X2 - 24.) * X * S - (X4 - 12. * X2 + 24.) * C + 24.) / X2 + B * (2. * X * S - (X2 - 2.) * C - 2.)) / X + A * (S - X * C)) / X;
  return 1. / (1. + 24. * volfraction * FF / X2);
}

void MxHardSphereSq(size_t nq, const double *q, double radius_eff, double phi, double *S)
{
  for (size_t i = 0; i < nq; i++) S[i] = fabs(radius_eff) < 1.E-12 ? 1.0 : PercusYevickX(q[i] * radius_eff * 2.0, phi);
}

double MxSqPercusYevick(double qsigma, void *ctx)
{
  return PercusYevickX(qsigma, *(const double *)ctx);
}

/* product.py ProductKernel.Iq with volfraction taken from S: radius_effective_mode 0 (radius_eff
   > 0, S's own radius) or 1 (radius_eff <= 0: the number-weighted mean radius of the pd grid). */
void MxSphereHardSphereIqReff(size_t nq, const double *q, double radius, double pd, int npts, double nsigmas, double drho, double phi, double radius_eff, double scale, double background, int beta_mode, double *I)
{
  double *F1 = beta_mode ? malloc((nq ? nq : 1) * sizeof(double)) : NULL;
  double  V, Reff, combined;

  if (beta_mode && !F1) {
    for (size_t i = 0; i < nq; i++) I[i] = NAN;
    return;
  }
  MxSphereAverages(nq, q, radius, pd, npts, nsigmas, drho, I, F1, &V, &Reff);
  if (radius_eff > 0) Reff = radius_eff;
  if (V == 0.0) V = 1.0;
  combined = scale / V;
  combined *= phi;
  for (size_t i = 0; i < nq; i++) {
    double       S;
    const double Fsq = I[i];

    MxHardSphereSq(1, &q[i], Reff, phi, &S);
    I[i] = combined * (beta_mode ? Fsq + F1[i] * F1[i] * (S - 1) : Fsq * S) + background;
  }
  free(F1);
}

void MxSphereHardSphereIq(size_t nq, const double *q, double radius, double pd, int npts, double nsigmas, double drho, double phi, double scale, double background, int beta_mode, double *I)
{
  MxSphereHardSphereIqReff(nq, q, radius, pd, npts, nsigmas, drho, phi, 0.0, scale, background, beta_mode, I);
}
