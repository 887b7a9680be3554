/* Beenakker-Mazur delta-gamma scheme: S_gamma0, Ds/D0 and the distinct part H_d(q) of the
   hydrodynamic function (physics-reference.md section 3; Beenakker & Mazur, Physica A 126, 349
   (1984); Genz & Klein, Physica A 171, 26 (1991); Jscatter structurefactor._Sg/_HINTEGRAL).
   Not collective; no state. */
#include <mxpcs/models.h>
#include <mxpcs/lsq.h>
#include <math.h>
#include <stdlib.h>

#define MX_PI 3.14159265358979323846

/* ---------- special functions ---------- */

/* Sine integral Si(x). |x| <= 4: the power series sum (-1)^n x^(2n+1)/((2n+1)(2n+1)!), whose
   largest term is below 4 so the alternating sum loses at most one digit. |x| > 4: Si = pi/2 +
   Im[e^(-ix) CF], with CF the continued fraction of e^(z) E1(z) at z = ix evaluated by the
   modified Lentz method (Numerical Recipes 6.8, cisi), which converges to machine precision in
   fewer than 40 steps there. */
double MxSineIntegral(double x)
{
  const double ax = fabs(x);
  double       si;

  if (ax <= 4.0) {
    const double x2   = ax * ax;
    double       term = ax, sum = ax;

    for (int n = 1; n < 60; n++) {
      double t;

      term *= -x2 / ((2.0 * n) * (2.0 * n + 1.0)); /* (-1)^n x^(2n+1)/(2n+1)! */
      t = term / (2.0 * n + 1.0);
      sum += t;
      if (fabs(t) < 1e-18 * fabs(sum)) break;
    }
    si = sum;
  } else {
    /* complex arithmetic by hand: b = 1 + i x, c = 1/tiny, d = h = 1/b */
    const double tiny = 1e-300;
    double       br = 1.0, bi = ax, cr = 1.0 / tiny, ci = 0.0, dr, di, hr, hi;

    {
      const double den = br * br + bi * bi;
      dr               = br / den;
      di               = -bi / den;
      hr               = dr;
      hi               = di;
    }
    for (int i = 2; i < 1000; i++) {
      const double a = -(double)(i - 1) * (double)(i - 1);
      double       tr, ti, den, delr, deli, nr;

      br += 2.0;
      /* d = 1/(a d + b) */
      tr  = a * dr + br;
      ti  = a * di + bi;
      den = tr * tr + ti * ti;
      dr  = tr / den;
      di  = -ti / den;
      /* c = b + a/c */
      den = cr * cr + ci * ci;
      cr  = br + a * cr / den;
      ci  = bi - a * ci / den;
      /* del = c d, h *= del */
      delr = cr * dr - ci * di;
      deli = cr * di + ci * dr;
      nr   = hr * delr - hi * deli;
      hi   = hr * deli + hi * delr;
      hr   = nr;
      if (fabs(delr - 1.0) + fabs(deli) < 1e-16) break;
    }
    {
      const double c = cos(ax), s = sin(ax);
      /* h *= (cos x - i sin x); Si = pi/2 + Im h */
      si = 0.5 * MX_PI + (c * hi - s * hr);
    }
  }
  return x < 0 ? -si : si;
}

/* S_gamma0(y) small-y series, coefficients from sympy (exact rationals); the next term, y^22
   with coefficient 7e-19, is below 1e-23 at y = 0.6. */
static double Sg0Series(double y)
{
  static const double c[] = {5.0 / 2.0,
                             -3.0 / 350.0,
                             4.0 / 6615.0,
                             -1.0 / 43659.0,
                             2.0 / 3468465.0,
                             -1.0 / 94864770.0,
                             8.0 / 54273594375.0,
                             -1.0 / 612171685125.0,
                             8.0 / 543111517023075.0,
                             -1.0 / 9064851715544625.0};
  const double y2 = y * y;
  double       s  = c[9];

  for (int k = 8; k >= 1; k--) s = s * y2 + c[k];
  /* c[1] multiplies y^4, c[k] multiplies y^(2k+2) */
  return c[0] + s * y2 * y2;
}

double MxDeltaGammaSg0(double y)
{
  y = fabs(y);
  if (y < 0.6) return Sg0Series(y);
  {
    const double y2 = y * y, y3 = y2 * y, y4 = y2 * y2, s = sin(y), c = cos(y), s2 = sin(2.0 * y), c2 = cos(2.0 * y);
    const double b = s - y * c;

    return 4.5 * (MxSineIntegral(2.0 * y) / y + c2 / (2.0 * y2) + s2 / (4.0 * y3) - s * s / y4 - 4.0 * b * b / (y3 * y3));
  }
}

/* Spherical Bessel j_l(y), l = 1..4, into j[1..4]: power series below y = 5, upward recurrence
   from j0, j1 above (stable for y > l). */
static void SphericalBessel14(double y, double j[5])
{
  if (y < 5.0) {
    const double h = -0.5 * y * y;
    double       pre = 1.0; /* y^l/(2l+1)!! */

    for (int l = 0; l <= 4; l++) {
      double term = 1.0, sum = 1.0;

      if (l > 0) pre *= y / (2.0 * l + 1.0);
      for (int k = 1; k < 60; k++) {
        term *= h / (k * (2.0 * l + 2.0 * k + 1.0));
        sum += term;
        if (fabs(term) < 1e-18 * fabs(sum)) break;
      }
      j[l] = pre * sum;
    }
  } else {
    const double s = sin(y), c = cos(y);

    j[0] = s / y;
    j[1] = s / (y * y) - c / y;
    for (int l = 1; l < 4; l++) j[l + 1] = (2.0 * l + 1.0) / y * j[l] - j[l - 1];
  }
}

/* ---------- BM-full: gamma0 multipole coefficients ---------- */

/* phi*gamma0^(l) for l = 1..4 at phi = 0, 0.05, ..., 0.45: BM 1984 Table 1 as transcribed in
   Jscatter structurefactor._tablegamma0 (not checked against the paper). */
static const double GammaTable[10][5] = {
  {0.00, 0.0, 0.0, 0.0, 0.0},
  {0.05, 0.0553, 0.0542, 0.0533, 0.0525},
  {0.10, 0.1228, 0.1177, 0.1135, 0.1104},
  {0.15, 0.2048, 0.1918, 0.1813, 0.1738},
  {0.20, 0.3038, 0.2777, 0.2574, 0.2432},
  {0.25, 0.4224, 0.3766, 0.3423, 0.3186},
  {0.30, 0.5627, 0.4895, 0.4364, 0.4005},
  {0.35, 0.7267, 0.6172, 0.5402, 0.4888},
  {0.40, 0.9157, 0.7601, 0.6538, 0.5839},
  {0.45, 1.1310, 0.9183, 0.7776, 0.6856},
};

/* phi*gamma0^(l)(phi), l = 1..4, into g[0..3]: not-a-knot cubic spline through the table rows
   (scipy CubicSpline's default), the end pieces extrapolated. At the table rows every interpolant
   gives the tabulated value, which is where the reference values were computed. */
static void GammaPhi(double phi, double g[4])
{
  enum { N = 10 };
  const double h = 0.05;
  double       A[N][N], M[N][4]; /* the spline's second derivatives M, four right-hand sides */

  for (int i = 0; i < N; i++)
    for (int k = 0; k < N; k++) A[i][k] = 0.0;
  for (int i = 0; i < N; i++)
    for (int l = 0; l < 4; l++) M[i][l] = 0.0;
  /* not-a-knot: M0 - 2M1 + M2 = 0 and M7 - 2M8 + M9 = 0 (uniform spacing) */
  A[0][0] = 1.0, A[0][1] = -2.0, A[0][2] = 1.0;
  A[N - 1][N - 3] = 1.0, A[N - 1][N - 2] = -2.0, A[N - 1][N - 1] = 1.0;
  for (int i = 1; i < N - 1; i++) {
    A[i][i - 1] = 1.0, A[i][i] = 4.0, A[i][i + 1] = 1.0;
    for (int l = 0; l < 4; l++) M[i][l] = 6.0 * (GammaTable[i + 1][l + 1] - 2.0 * GammaTable[i][l + 1] + GammaTable[i - 1][l + 1]) / (h * h);
  }
  if (MxLinearSolve(N, 4, &A[0][0], &M[0][0])) { /* cannot happen: the system is fixed and regular */
    for (int l = 0; l < 4; l++) g[l] = NAN;
    return;
  }
  {
    int iv = (int)floor(phi / h);

    if (iv < 0) iv = 0;
    if (iv > N - 2) iv = N - 2;
    {
      const double x0 = GammaTable[iv][0], x1 = GammaTable[iv + 1][0];
      const double a = (x1 - phi) / h, b = (phi - x0) / h;

      for (int l = 0; l < 4; l++) {
        const double M0 = M[iv][l], M1 = M[iv + 1][l];
        const double y0 = GammaTable[iv][l + 1], y1 = GammaTable[iv + 1][l + 1];
        g[l] = a * y0 + b * y1 + ((a * a * a - a) * M0 + (b * b * b - b) * M1) * h * h / 6.0;
      }
    }
  }
}

/* Weights of the multipole terms in phi*S_g: c_l (phi gamma0_l - phi), c_1 = 5/9, c_2..4 = 1.
   phi S_g = phi S_g0 + sum_l w_l (9/2)(2l+1)^2 j_l(y)^2/y^2, which is Jscatter's
   (9/4) pi c_l phi (gamma0_l - 1)(2l+1)^2 J_{l+1/2}(y)^2/y^3 with J_{l+1/2} = sqrt(2y/pi) j_l. */
static void MultipoleWeights(double phi, double wl[4])
{
  double g[4];

  GammaPhi(phi, g);
  for (int l = 0; l < 4; l++) wl[l] = (l == 0 ? 5.0 / 9.0 : 1.0) * (g[l] - phi);
}

/* phi*S_g(y): simple (wl == NULL) or BM-full */
static double PhiSg(double y, double phi, const double *wl)
{
  double v = phi * MxDeltaGammaSg0(y);

  if (wl) {
    double j[5];

    SphericalBessel14(y, j);
    for (int l = 1; l <= 4; l++) {
      const double tl = 2.0 * l + 1.0;
      v += wl[l - 1] * 4.5 * tl * tl * j[l] * j[l] / (y * y);
    }
  }
  return v;
}

/* ---------- quadrature ---------- */

void MxGaussLegendre(int n, double *x, double *w)
{
  for (int i = 0; i < (n + 1) / 2; i++) {
    double z = cos(MX_PI * (i + 0.75) / (n + 0.5)), pp = 1.0;

    for (int it = 0; it < 100; it++) {
      double p1 = 1.0, p2 = 0.0, z1;

      for (int j = 1; j <= n; j++) {
        const double p3 = p2;
        p2              = p1;
        p1              = ((2.0 * j - 1.0) * z * p2 - (j - 1.0) * p3) / j;
      }
      pp = n * (z * p1 - p2) / (z * z - 1.0);
      z1 = z;
      z  = z1 - p1 / pp;
      if (fabs(z - z1) < 1e-16) break;
    }
    {
      /* one more evaluation at the converged z for the weight */
      double p1 = 1.0, p2 = 0.0;
      for (int j = 1; j <= n; j++) {
        const double p3 = p2;
        p2              = p1;
        p1              = ((2.0 * j - 1.0) * z * p2 - (j - 1.0) * p3) / j;
      }
      pp = n * (z * p1 - p2) / (z * z - 1.0);
    }
    x[i]         = -z;
    x[n - 1 - i] = z;
    w[i] = w[n - 1 - i] = 2.0 / ((1.0 - z * z) * pp * pp);
  }
}

/* Ds/D0 = 1 + (2/pi) Int_0^inf (sin y/y)^2 [1/(1 + phi S_g) - 1] dy: Gauss-Legendre per pi
   interval up to Y = N pi, plus the tail from phi S_g = u/y + O(y^-4), u = 9 pi phi/4 (the
   O(y^-2) terms of S_g0 cancel): -Int_Y^inf sin^2/y^2 (u/y - u^2/y^2 + u^3/y^3), with
   Int_Y^inf sin^2 y/y^n dy = 1/(2(n-1)Y^(n-1)) - n/(8 Y^(n+1)) + ... at Y = N pi. */
static double DsIntegral(double phi, const double *wl)
{
  enum { NG = 24, NINT = 256 };
  double xg[NG], wg[NG], sum = 0.0;

  if (!(phi >= 0.0) || !(phi < 1.0)) return NAN;
  if (phi == 0.0) return 1.0;
  MxGaussLegendre(NG, xg, wg);
  for (int n = 0; n < NINT; n++) {
    const double mid = (n + 0.5) * MX_PI, half = 0.5 * MX_PI;
    double       part = 0.0;

    for (int k = 0; k < NG; k++) {
      const double y = mid + half * xg[k], s = sin(y) / y, u = PhiSg(y, phi, wl);
      part -= wg[k] * s * s * u / (1.0 + u);
    }
    sum += half * part;
  }
  {
    const double Y = NINT * MX_PI, u = 9.0 * MX_PI * phi / 4.0;
    double       In[6];

    for (int m = 3; m <= 5; m++) In[m] = 1.0 / (2.0 * (m - 1) * pow(Y, m - 1)) - m / (8.0 * pow(Y, m + 1));
    sum -= u * In[3] - u * u * In[4] + u * u * u * In[5];
  }
  return 1.0 + 2.0 / MX_PI * sum;
}

double MxDeltaGammaDs(double phi)
{
  return DsIntegral(phi, NULL);
}

double MxDeltaGammaDsFull(double phi)
{
  double wl[4];

  if (!(phi >= 0.0) || !(phi < 1.0)) return NAN;
  MultipoleWeights(phi, wl);
  return DsIntegral(phi, wl);
}

/* Gauss-Kronrod 7/15 (QUADPACK qk15): Kronrod nodes xk[0..7] on [0, 1) with weights wk, Gauss
   weights wg for the nodes xk[1], xk[3], xk[5], xk[7] = 0. */
static const double KronrodX[8] = {0.991455371120812639206854697526329, 0.949107912342758524526189684047851, 0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                                   0.586087235467691130294144845693013, 0.405845151377397166906606412076961, 0.207784955007898467600689403773245, 0.0};
static const double KronrodW[8] = {0.022935322010529224963732008058970, 0.063092092629978553290700663189204, 0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                                   0.169004726639267902826583426598550, 0.190350578064785409913256402421014, 0.204432940075298892414161999234649, 0.209482141084727828012999174891714};
static const double GaussW[4]   = {0.129484966168869693270611432679082, 0.279705391489276667901467771423780, 0.381830050505118944950369775488975, 0.417959183673469387755102040816327};

typedef struct {
  double       x, phi, tol, ylen; /* q sigma, volume fraction, target on H_d, total y length */
  const double *wl;               /* multipole weights (BM-full) or NULL; not owned */
  MxSqFunction  Sfun;
  void         *ctx;              /* not owned */
  /* inner integral at the current y */
  double plo, phigh, R;
} HdWork;

typedef double (*KronrodFn)(double, HdWork *);

enum { MX_HD_INNER_SEG = 200, MX_HD_OUTER_EXTRA = 400 }; /* panel budgets of the adaptive rules */

/* One G7-K15 panel on [a, b]: returns K15, *err = QUADPACK's qk15 estimate
   resasc min(1, (200 |K15 - G7|/resasc)^1.5); *noise = 50 eps resabs (round-off level). */
static double KronrodPanel(KronrodFn f, HdWork *w, double a, double b, double *err, double *noise)
{
  const double c = 0.5 * (a + b), h = 0.5 * (b - a);
  double       fv[15], fk = 0.0, fg = 0.0, resabs = 0.0, resasc = 0.0, mean, e;

  for (int j = 0; j < 7; j++) {
    fv[2 * j]     = f(c - h * KronrodX[j], w);
    fv[2 * j + 1] = f(c + h * KronrodX[j], w);
  }
  fv[14] = f(c, w);
  for (int j = 0; j < 8; j++) {
    const double v  = j == 7 ? fv[14] : fv[2 * j] + fv[2 * j + 1];
    const double va = j == 7 ? fabs(fv[14]) : fabs(fv[2 * j]) + fabs(fv[2 * j + 1]);

    fk += KronrodW[j] * v;
    resabs += KronrodW[j] * va;
    if (j == 7) fg += GaussW[3] * v;
    else if (j & 1) fg += GaussW[j / 2] * v;
  }
  mean = 0.5 * fk;
  for (int j = 0; j < 8; j++) resasc += KronrodW[j] * (j == 7 ? fabs(fv[14] - mean) : fabs(fv[2 * j] - mean) + fabs(fv[2 * j + 1] - mean));
  fk *= h;
  fg *= h;
  resabs *= fabs(h);
  resasc *= fabs(h);
  e = fabs(fk - fg);
  if (resasc != 0.0 && e != 0.0) e = resasc * fmin(1.0, pow(200.0 * e / resasc, 1.5));
  *err   = e;
  *noise = 50.0 * 2.22e-16 * resabs;
  return fk;
}

typedef struct {
  double a, b, r, e; /* panel, its integral and error estimate (0 once at round-off level) */
} KronrodSeg;

/* Globally adaptive G7-K15 on [a, b] (QUADPACK qag strategy): start from ninit equal panels,
   bisect the panel with the largest error until the summed error is below tol or maxseg panels
   are in use. Panels whose error is at round-off level, or narrower than 1e-9 (b - a)/ninit, are
   not split (a jump, e.g. at a series switch inside S(q), cannot stall the loop). seg: workspace of
   maxseg entries, left holding the final panels; returns the integral, *nseg the panel count. */
static double AdaptiveKronrod(KronrodFn f, HdWork *w, double a, double b, int ninit, double tol, KronrodSeg *seg, int maxseg, int *nseg)
{
  const double minw = 1e-9 * (b - a) / ninit;
  double       sum = 0.0, esum = 0.0;
  int          n   = ninit < maxseg ? ninit : maxseg;

  for (int i = 0; i < n; i++) {
    double noise;

    seg[i].a = a + (b - a) * i / n;
    seg[i].b = i == n - 1 ? b : a + (b - a) * (i + 1) / n;
    seg[i].r = KronrodPanel(f, w, seg[i].a, seg[i].b, &seg[i].e, &noise);
    if (seg[i].e <= noise || seg[i].b - seg[i].a < minw) seg[i].e = 0.0;
    sum += seg[i].r;
    esum += seg[i].e;
  }
  while (esum > tol && n + 1 <= maxseg) {
    int    k = 0;
    double m, noise;

    for (int i = 1; i < n; i++)
      if (seg[i].e > seg[k].e) k = i;
    if (seg[k].e == 0.0) break;
    m        = 0.5 * (seg[k].a + seg[k].b);
    seg[n].a = m;
    seg[n].b = seg[k].b;
    seg[k].b = m;
    sum -= seg[k].r;
    esum -= seg[k].e;
    for (int j = 0; j < 2; j++) {
      KronrodSeg *s = j ? &seg[n] : &seg[k];

      s->r = KronrodPanel(f, w, s->a, s->b, &s->e, &noise);
      if (s->e <= noise || s->b - s->a < minw) s->e = 0.0;
      sum += s->r;
      esum += s->e;
    }
    n++;
  }
  if (nseg) *nseg = n;
  return sum;
}

/* inner integrand in t: t (1-t) (p + p_lo)(p_hi + p) p [S(p) - 1], p = p_lo + R t */
static double HdInner(double t, HdWork *w)
{
  const double p = w->plo + w->R * t;

  return t * (1.0 - t) * (p + w->plo) * (w->phigh + p) * p * (w->Sfun(p, w->ctx) - 1.0);
}

/* outer integrand: (3/(2 pi)) (sin y/y)^2/(1 + phi S_g(y)) J(x, y) */
static double HdOuter(double y, HdWork *w)
{
  const double x = w->x, twoy = 2.0 * y, s = sin(y) / y;
  const double wy = 3.0 / (2.0 * MX_PI) * s * s / (1.0 + PhiSg(y, w->phi, w->wl));
  double       pref, tolJ, J = 0.0;
  int          m;

  if (wy == 0.0) return 0.0;
  w->plo   = fabs(x - twoy);
  w->phigh = x + twoy;
  w->R     = 2.0 * fmin(x, twoy);
  pref     = x <= twoy ? 1.0 / (4.0 * y * y * y) : 2.0 / (x * x * x);
  m        = w->R > 2.0 * MX_PI ? (int)ceil(w->R / (2.0 * MX_PI)) : 1;
  /* an error e_J at every y adds at most Int w(y) e_J dy: ask for tol/(2 ylen w(y)) */
  tolJ = fmin(1e-3, 0.5 * w->tol / (w->ylen * wy));
  {
    KronrodSeg seg[MX_HD_INNER_SEG];

    J = AdaptiveKronrod(HdInner, w, 0.0, 1.0, m, tolJ / pref, seg, MX_HD_INNER_SEG, NULL);
  }
  return wy * pref * J;
}

void MxDeltaGammaQuadratureDefault(MxDeltaGammaQuadrature *quad)
{
  quad->tol         = 1e-7;
  quad->y_intervals = 40;
  quad->tail        = 1;
}

/* H_d(q) = (3/(2 pi)) Int_0^inf dy (sin y/y)^2/(1 + phi S_g(y)) J(q sigma, y),
   J(x, y) = Int_{-1}^{1} dmu (1 - mu^2) [S(p) - 1], p = sqrt(x^2 + 4y^2 - 4 x y mu).
   Inner integral in p (dmu = p dp/(2xy)) from p_lo = |x - 2y| to p_hi = x + 2y, substituted
   p = p_lo + R t, R = p_hi - p_lo = 2 min(x, 2y):
     J = R^3/(32 x^3 y^3) Int_0^1 t (1-t) (p + p_lo)(p_hi + p) p [S(p) - 1] dt,
   with R^3/(32 x^3 y^3) = 1/(4y^3) for x <= 2y and 2/x^3 otherwise (so x = 0 needs no special
   case). Both integrals globally adaptive Gauss-Kronrod, the inner one started on ceil(R/2pi)
   panels, the outer one on pi intervals in y: a sharp S(q) peak at p0 puts near-singularities in
   the outer integrand where x + 2y or |x - 2y| passes p0, which fixed rules resolve only slowly.
   Tail beyond y = N pi: for S - 1 ~ cos(p)/p^2 the interval contributions fall as n^-4, so the
   rest is estimated as c_{N-1} (N - 1/2)^4 sum_{m >= N} (m + 1/2)^-4. */
void MxDeltaGammaHdQuad(size_t n, const double *qsigma, double phi, int full, MxSqFunction Sfun, void *ctx, const MxDeltaGammaQuadrature *quad, double *Hd)
{
  MxDeltaGammaQuadrature q0;
  double                 wl[4];
  HdWork                 w;
  KronrodSeg            *seg;
  int                    maxseg;

  if (!quad) {
    MxDeltaGammaQuadratureDefault(&q0);
    quad = &q0;
  }
  if (!(phi >= 0.0 && phi < 1.0) || quad->y_intervals < 1 || !(quad->tol > 0.0)) {
    for (size_t i = 0; i < n; i++) Hd[i] = NAN;
    return;
  }
  if (full) MultipoleWeights(phi, wl);
  w.phi  = phi;
  w.wl   = full ? wl : NULL;
  w.Sfun = Sfun;
  w.ctx  = ctx;
  w.tol  = quad->tol;
  w.ylen = quad->y_intervals * MX_PI;
  maxseg = quad->y_intervals + MX_HD_OUTER_EXTRA;
  seg    = malloc((size_t)maxseg * sizeof(*seg));
  if (!seg) {
    for (size_t i = 0; i < n; i++) Hd[i] = NAN;
    return;
  }
  for (size_t i = 0; i < n; i++) {
    const int N   = quad->y_intervals;
    double    sum = 0.0, last = 0.0;
    int       nseg;

    w.x = fabs(qsigma[i]);
    sum = AdaptiveKronrod(HdOuter, &w, 0.0, N * MX_PI, N, 0.5 * quad->tol, seg, maxseg, &nseg);
    for (int k = 0; k < nseg; k++)
      if (seg[k].a >= (N - 1) * MX_PI * (1.0 - 1e-12)) last += seg[k].r;
    if (quad->tail) {
      const double a = N - 0.5, Nd = N;
      sum += last * a * a * a * a * (1.0 / (3.0 * Nd * Nd * Nd) - 1.0 / (6.0 * Nd * Nd * Nd * Nd * Nd));
    }
    Hd[i] = sum;
  }
  free(seg);
}

void MxDeltaGammaHd(size_t n, const double *qsigma, double phi, MxSqFunction Sfun, void *ctx, double *Hd)
{
  MxDeltaGammaHdQuad(n, qsigma, phi, 0, Sfun, ctx, NULL, Hd);
}

void MxDeltaGammaHdFull(size_t n, const double *qsigma, double phi, MxSqFunction Sfun, void *ctx, double *Hd)
{
  MxDeltaGammaHdQuad(n, qsigma, phi, 1, Sfun, ctx, NULL, Hd);
}
