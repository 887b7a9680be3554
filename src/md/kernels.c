/* MD analysis kernels: MSD with multiple time origins, the diffusive-range choice and line fit,
   inverse interpolation of Ds/D0(epsilon), effective hard-sphere diameter, Tc of the LJ fluid,
   cloud-in-cell assignment and its window, and a direct S(k) sum. Plain C, no MPI, no state. */
#include <mxpcs/md.h>
#include <math.h>

int MxMDMsd(int nframes, int natoms, const double *x, int com_correct, int max_lag, int origin_stride, double *msd)
{
  const size_t fs = (size_t)natoms * 3;

  if (nframes < 1 || natoms < 1 || !x || !msd || max_lag < 0 || origin_stride < 1) return 1;
  for (int l = 0; l <= max_lag; l++) {
    double sum = 0.0;
    long   norig = 0;
    for (int t0 = 0; t0 + l < nframes; t0 += origin_stride) {
      const double *a = x + (size_t)t0 * fs, *b = x + (size_t)(t0 + l) * fs;
      double        s2 = 0.0, sd[3] = {0.0, 0.0, 0.0};
      for (int i = 0; i < natoms; i++)
        for (int c = 0; c < 3; c++) {
          const double d = b[3 * i + c] - a[3 * i + c];
          s2 += d * d;
          sd[c] += d;
        }
      /* sum_i |d_i - dR|^2 = sum_i |d_i|^2 - n |dR|^2 with dR the mean displacement */
      if (com_correct) s2 -= (sd[0] * sd[0] + sd[1] * sd[1] + sd[2] * sd[2]) / natoms;
      sum += s2;
      norig++;
    }
    msd[l] = norig ? sum / ((double)norig * natoms) : NAN;
  }
  return 0;
}

int MxMDFitLine(int n, const double *t, const double *y, double t0, double t1, double *slope, double *slope_err, double *intercept, int *npts)
{
  double st = 0, sy = 0, stt = 0, sty = 0, ssr = 0, mt, my, sxx, b, a;
  int    m = 0;

  *npts = 0;
  for (int i = 0; i < n; i++)
    if (t[i] >= t0 && t[i] <= t1 && isfinite(y[i])) {
      st += t[i];
      sy += y[i];
      m++;
    }
  if (m < 2) return 1;
  mt = st / m;
  my = sy / m;
  for (int i = 0; i < n; i++)
    if (t[i] >= t0 && t[i] <= t1 && isfinite(y[i])) {
      stt += (t[i] - mt) * (t[i] - mt);
      sty += (t[i] - mt) * (y[i] - my);
    }
  sxx = stt;
  if (!(sxx > 0)) return 1;
  b = sty / sxx;
  a = my - b * mt;
  for (int i = 0; i < n; i++)
    if (t[i] >= t0 && t[i] <= t1 && isfinite(y[i])) {
      const double r = y[i] - a - b * t[i];
      ssr += r * r;
    }
  *slope     = b;
  *intercept = a;
  *slope_err = m > 2 ? sqrt(ssr / (m - 2) / sxx) : 0.0;
  *npts      = m;
  return 0;
}

int MxMDDiffusiveRange(int n, const double *t, const double *msd, double t_min, double t_end, double tol, double *t0)
{
  double dt;
  int    lend, lmin, lhalf, l;

  if (n < 3 || !t || !msd || !t0 || !(tol > 0) || !(t_end > 0)) return 2;
  dt = t[1] - t[0];
  if (!(dt > 0)) return 2;
  lend = (int)floor(t_end / dt + 1e-9);
  if (lend > n - 1) lend = n - 1;
  lhalf = lend / 2;
  *t0   = lhalf * dt;
  lmin  = (int)ceil(t_min / dt - 1e-9);
  if (lmin < 1) lmin = 1;
  if (lhalf < 1 || lmin > lhalf) return 1;
  /* walk down from t_end/2 while the local exponent stays diffusive */
  for (l = lhalf; l >= lmin; l--) {
    const double m1 = msd[l], m2 = msd[2 * l];
    if (!(m1 > 0) || !(m2 > 0)) break;
    if (fabs(log2(m2 / m1) - 1.0) > tol) break;
  }
  if (l == lhalf) return 1; /* not even the last lag is diffusive */
  *t0 = t[l + 1];
  return 0;
}

double MxMDLangevinMsd(double t, double D0, double tau_B)
{
  return 6.0 * D0 * (t - tau_B * (1.0 - exp(-t / tau_B)));
}

const char *MxMDMatchStatusName(MxMDMatchStatus s)
{
  switch (s) {
  case MX_MD_MATCH_OK:
    return "ok";
  case MX_MD_MATCH_ABOVE_RANGE:
    return "target above every simulated Ds/D0: epsilon* lies below the scanned range";
  case MX_MD_MATCH_BELOW_RANGE:
    return "target below every simulated Ds/D0: epsilon* lies above the scanned range";
  default:
    return "bad input";
  }
}

/* MxMDMatch's crossing rule: y crosses target between d0 = y_i - target and d1 = y_i+1 - target */
static int Crosses(double d0, double d1, int first) { return (d0 > 0 && d1 <= 0) || (d0 < 0 && d1 >= 0) || (first && d0 == 0); }

/* checks the scan; the first crossing interval (-1: none), the number of crossings, the points above */
static MxMDMatchStatus FirstCrossing(int n, const double *eps, const double *y, const double *yerr, double target, double target_err, int *first, int *ncross)
{
  int nabove = 0;

  *first  = -1;
  *ncross = 0;
  if (n < 2 || !isfinite(target) || !(target_err >= 0) || !isfinite(target_err)) return MX_MD_MATCH_BAD_INPUT;
  for (int i = 0; i < n; i++) {
    if (!isfinite(eps[i]) || !isfinite(y[i]) || !(yerr[i] >= 0) || !isfinite(yerr[i])) return MX_MD_MATCH_BAD_INPUT;
    if (i && !(eps[i] > eps[i - 1])) return MX_MD_MATCH_BAD_INPUT;
    if (y[i] > target) nabove++;
  }
  for (int i = 0; i + 1 < n; i++)
    if (Crosses(y[i] - target, y[i + 1] - target, i == 0)) {
      if (*first < 0) *first = i;
      (*ncross)++;
    }
  if (*first < 0) return nabove == n ? MX_MD_MATCH_BELOW_RANGE : MX_MD_MATCH_ABOVE_RANGE;
  return MX_MD_MATCH_OK;
}

MxMDMatchStatus MxMDMatch(int n, const double *eps, const double *y, const double *yerr, double target, double target_err, double *eps_star, double *eps_star_err, int *ncross)
{
  MxMDMatchBudget r;
  MxMDMatchStatus st = MxMDMatchWithBudget(n, eps, y, yerr, target, target_err, &r);

  *eps_star     = r.eps_star;
  *eps_star_err = st == MX_MD_MATCH_OK ? hypot(r.err_seeds, r.err_target) : NAN;
  *ncross       = r.ncross;
  return st;
}

/* the root in [a, b] of the parabola through (a, ya), (b, yb), (c, yc) minus target (exists when
   the interval crosses the target); NAN when there is none */
static double QuadraticRoot(double a, double ya, double b, double yb, double c, double yc, double target)
{
  const double w = b - a, s = (yb - ya) / w, c2 = ((yc - yb) / (c - b) - s) / (c - a);
  const double A = c2, B = s - c2 * w, C = ya - target;
  double       x[2];
  int          nx = 0;

  if (fabs(A) * w * w <= 1e-14 * (fabs(ya - yb) + fabs(C))) x[nx++] = -C / B;
  else {
    const double disc = B * B - 4 * A * C;
    if (disc < 0) return NAN;
    const double q = -0.5 * (B + copysign(sqrt(disc), B));
    if (q != 0) x[nx++] = C / q;
    x[nx++] = q / A;
  }
  for (int k = 0; k < nx; k++)
    if (x[k] >= -1e-12 * w && x[k] <= w * (1 + 1e-12)) return a + fmin(fmax(x[k], 0.0), w);
  return NAN;
}

MxMDMatchStatus MxMDMatchWithBudget(int n, const double *eps, const double *y, const double *yerr, double target, double target_err, MxMDMatchBudget *r)
{
  int             i;
  MxMDMatchStatus st;

  r->eps_star = r->eps_quad = r->err = r->err_seeds = r->err_target = r->err_interp = r->a = r->b = NAN;
  st = FirstCrossing(n, eps, y, yerr, target, target_err, &i, &r->ncross);
  if (st != MX_MD_MATCH_OK) return st;
  r->a = eps[i];
  r->b = eps[i + 1];
  {
    const double de = eps[i + 1] - eps[i], dy = y[i + 1] - y[i];
    if (dy == 0) { /* flat interval through the target: the whole interval is compatible */
      r->eps_star   = eps[i];
      r->err_seeds  = de; /* only noise makes it flat */
      r->err_target = r->err_interp = 0;
    } else {
      const double u = (target - y[i]) / dy, g = fabs(de / dy);
      r->eps_star   = eps[i] + u * de;
      r->err_target = g * target_err;
      r->err_seeds  = g * sqrt((1 - u) * (1 - u) * yerr[i] * yerr[i] + u * u * yerr[i + 1] * yerr[i + 1]);
      /* next order: the parabola through the interval and its nearer neighbour */
      if (n > 2) {
        const int k = i == 0 ? i + 2 : i + 2 >= n ? i - 1 : (eps[i] - eps[i - 1] <= eps[i + 2] - eps[i + 1] ? i - 1 : i + 2);
        r->eps_quad = QuadraticRoot(eps[i], y[i], eps[i + 1], y[i + 1], eps[k], y[k], target);
      }
      /* without a third point (or a parabola without a root in the interval): uniform over it */
      r->err_interp = isfinite(r->eps_quad) ? fabs(r->eps_quad - r->eps_star) : de / sqrt(12.0);
    }
  }
  r->err = sqrt(r->err_seeds * r->err_seeds + r->err_target * r->err_target + r->err_interp * r->err_interp);
  return MX_MD_MATCH_OK;
}

int MxMDBracketFind(int n, const double *eps, const double *y, double target, MxMDBracket *br)
{
  for (int i = 0; i + 1 < n; i++)
    if (Crosses(y[i] - target, y[i + 1] - target, i == 0)) {
      br->a  = eps[i];
      br->ya = y[i];
      br->b  = eps[i + 1];
      br->yb = y[i + 1];
      return 0;
    }
  return 1;
}

double MxMDBracketMid(const MxMDBracket *br) { return 0.5 * (br->a + br->b); }

void MxMDBracketUpdate(MxMDBracket *br, double m, double ym, double target)
{
  if (Crosses(br->ya - target, ym - target, 0)) { /* the left half holds a crossing: keep it (the first one) */
    br->b  = m;
    br->yb = ym;
  } else {
    br->a  = m;
    br->ya = ym;
  }
}

double MxMDBarkerHendersonDiameter(double eps_over_kT)
{
  const double rmin = pow(2.0, 1.0 / 6.0);
  const int    n    = 20000; /* Simpson panels: the integrand is smooth on [0, rmin] */
  double       s    = 0.0;

  if (!(eps_over_kT > 0)) return 0.0;
  for (int k = 0; k <= n; k++) {
    const double r = rmin * k / n;
    double       f;
    if (r < 0.3) f = 1.0; /* beta u_rep > 4e6 eps/kT: exp() underflows */
    else {
      const double s6 = pow(1.0 / r, 6.0), u = 4.0 * eps_over_kT * (s6 * s6 - s6) + eps_over_kT;
      f = -expm1(-u);
    }
    s += f * (k == 0 || k == n ? 1.0 : (k % 2 ? 4.0 : 2.0));
  }
  return s * rmin / n / 3.0;
}

double MxMDCriticalTemperature(double rc, int shifted)
{
  const double tc25 = shifted ? 1.0779 : 1.19, tcfull = 1.312, x25 = 1.0 / (2.5 * 2.5 * 2.5);

  if (!(rc >= 2.5 - 1e-12)) return NAN;
  if (rc >= 6.0) return tcfull;
  return tcfull + (tc25 - tcfull) * (1.0 / (rc * rc * rc)) / x25;
}

void MxMDDepositCIC(int n, const double *x, double L, int M, int ix0, int nx, int stride_z, double *grid)
{
  const double scale = M / L;

  for (int p = 0; p < n; p++) {
    int    i0[3];
    double f[3];
    for (int c = 0; c < 3; c++) {
      double u = x[3 * p + c] * scale;
      u -= floor(u / M) * M;
      i0[c] = (int)floor(u);
      f[c]  = u - i0[c];
      if (i0[c] >= M) { /* u rounded up to M */
        i0[c] -= M;
      }
    }
    for (int a = 0; a < 2; a++) {
      const int ix = (i0[0] + a) % M;
      if (ix < ix0 || ix >= ix0 + nx) continue;
      const double wx = a ? f[0] : 1.0 - f[0];
      for (int b = 0; b < 2; b++) {
        const int    iy = (i0[1] + b) % M;
        const double wy = b ? f[1] : 1.0 - f[1];
        double      *row = grid + ((size_t)(ix - ix0) * M + iy) * stride_z;
        row[i0[2]] += wx * wy * (1.0 - f[2]);
        row[(i0[2] + 1) % M] += wx * wy * f[2];
      }
    }
  }
}

void MxMDCicWindow(const double k[3], double h, double *W2, double *C)
{
  double w2 = 1.0, c = 1.0;

  for (int i = 0; i < 3; i++) {
    const double x = 0.5 * k[i] * h, s = sin(x), sinc = x == 0 ? 1.0 : s / x;
    w2 *= pow(sinc, 4.0);
    c *= 1.0 - 2.0 / 3.0 * s * s;
  }
  *W2 = w2;
  *C  = c;
}

void MxMDSqDirect(int n, const double *x, double L, double k_max, int nbins, double *S, double *qmean, long *count)
{
  const double dk   = 2.0 * M_PI / L;
  const int    mmax = (int)floor(k_max / dk);

  for (int b = 0; b < nbins; b++) S[b] = qmean[b] = 0.0, count[b] = 0;
  /* half space (m > 0 lexicographically); -m gives the same |F|^2 */
  for (int mx = 0; mx <= mmax; mx++)
    for (int my = (mx ? -mmax : 0); my <= mmax; my++)
      for (int mz = (mx || my ? -mmax : 1); mz <= mmax; mz++) {
        const double km = dk * sqrt((double)mx * mx + (double)my * my + (double)mz * mz);
        const int    b  = (int)lround(km / dk);
        if (km > k_max || b < 1 || b > nbins) continue;
        double re = 0, im = 0;
        for (int p = 0; p < n; p++) {
          const double ph = dk * (mx * x[3 * p] + my * x[3 * p + 1] + mz * x[3 * p + 2]);
          re += cos(ph);
          im -= sin(ph);
        }
        S[b - 1] += 2.0 * (re * re + im * im) / n;
        qmean[b - 1] += 2.0 * km;
        count[b - 1] += 2;
      }
  for (int b = 0; b < nbins; b++)
    if (count[b]) {
      S[b] /= count[b];
      qmean[b] /= count[b];
    } else S[b] = qmean[b] = NAN;
}
