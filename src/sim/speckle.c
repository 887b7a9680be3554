/* Speckle field of one reciprocal-space window (see include/mxpcs/speckle.h). */
#include <mxpcs/speckle.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* FFTW index -> signed frequency */
static inline int Freq(int i, int n) { return i < n / 2 ? i : i - n; }

int MxSpeckleCreate(int nx, int ny, double dq, double qcx, double qcy, double beam_fwhm_A, MxSpeckleModel fun, void *ctx, MxSpeckle *s)
{
  size_t n = (size_t)nx * ny;
  memset(s, 0, sizeof *s);
  s->nx = nx;
  s->ny = ny;
  s->dq = dq;
  s->qcx = qcx;
  s->qcy = qcy;
  s->P     = malloc(n * sizeof(double));
  s->shape = malloc(n * sizeof(double));
  s->beam  = malloc(n * sizeof(double));
  s->modes = fftw_alloc_complex(n);
  s->field = fftw_alloc_complex(n);
  if (!s->P || !s->shape || !s->beam || !s->modes || !s->field) return 1;
  /* rows are x (i), columns y (j): index i*ny + j */
  s->to_real = fftw_plan_dft_2d(nx, ny, s->modes, s->field, FFTW_BACKWARD, FFTW_ESTIMATE);
  s->to_q    = fftw_plan_dft_2d(nx, ny, s->field, s->field, FFTW_FORWARD, FFTW_ESTIMATE);
  if (!s->to_real || !s->to_q) return 2;
  for (int i = 0; i < nx; i++)
    for (int j = 0; j < ny; j++) {
      double kx = qcx + Freq(i, nx) * dq, ky = qcy + Freq(j, ny) * dq, k = sqrt(kx * kx + ky * ky);
      double Ik, h;
      fun(k, ctx, &Ik, &h);
      s->shape[(size_t)i * ny + j] = k * k * h;
      s->P[(size_t)i * ny + j]     = Ik;
    }
  /* beam on the real-space grid: spacing 2 pi/(n dq), centred at 0 (periodic) */
  double sig = beam_fwhm_A / (2 * sqrt(2 * log(2))), dx = 2 * M_PI / (nx * dq), dy = 2 * M_PI / (ny * dq);
  for (int i = 0; i < nx; i++)
    for (int j = 0; j < ny; j++) {
      double x = Freq(i, nx) * dx, y = Freq(j, ny) * dy;
      s->beam[(size_t)i * ny + j] = exp(-(x * x + y * y) / (2 * sig * sig));
    }
  /* norm = sum_k |B_k|^2, B = forward DFT of b: by Parseval n * sum b^2 */
  double sb = 0;
  for (size_t k = 0; k < n; k++) sb += s->beam[k] * s->beam[k];
  s->norm = (double)n * sb;
  /* E = B (*) rho: Cov(E(q), E(q+d)) ~ exp(-d^2 sig^2 / 4) for the Gaussian beam */
  s->c1 = exp(-dq * dq * sig * sig / 4);
  return 0;
}

void MxSpeckleDestroy(MxSpeckle *s)
{
  if (s->to_real) fftw_destroy_plan(s->to_real);
  if (s->to_q) fftw_destroy_plan(s->to_q);
  fftw_free(s->modes);
  fftw_free(s->field);
  free(s->P);
  free(s->shape);
  free(s->beam);
  memset(s, 0, sizeof *s);
}

void MxSpeckleInit(MxSpeckle *s, MxRng *g)
{
  size_t n = (size_t)s->nx * s->ny;
  for (size_t k = 0; k < n; k++) {
    double a = sqrt(0.5 * s->P[k]); /* complex normal, E|rho|^2 = P */
    s->modes[k][0] = a * MxRngNormal(g);
    s->modes[k][1] = a * MxRngNormal(g);
  }
}

void MxSpeckleAdvance(MxSpeckle *s, MxRng *g, double Ddt)
{
  size_t n = (size_t)s->nx * s->ny;
  for (size_t k = 0; k < n; k++) {
    double a = exp(-Ddt * s->shape[k]), b = sqrt(0.5 * s->P[k] * (1 - a * a));
    s->modes[k][0] = a * s->modes[k][0] + b * MxRngNormal(g);
    s->modes[k][1] = a * s->modes[k][1] + b * MxRngNormal(g);
  }
}

void MxSpeckleField(MxSpeckle *s)
{
  size_t n = (size_t)s->nx * s->ny;
  fftw_execute(s->to_real);
  for (size_t k = 0; k < n; k++) {
    s->field[k][0] *= s->beam[k];
    s->field[k][1] *= s->beam[k];
  }
  fftw_execute(s->to_q);
}

void MxSpecklePointSetUp(const MxSpeckle *s, double qx, double qy, MxSpecklePoint *pt)
{
  double u = (qx - s->qcx) / s->dq, v = (qy - s->qcy) / s->dq;
  double fu = floor(u), fv = floor(v), tu = u - fu, tv = v - fv;
  int    i0 = (int)fu, j0 = (int)fv;
  for (int di = 0; di < 2; di++)
    for (int dj = 0; dj < 2; dj++) {
      int i = ((i0 + di) % s->nx + s->nx) % s->nx, j = ((j0 + dj) % s->ny + s->ny) % s->ny;
      pt->k[2 * di + dj] = i * s->ny + j;
    }
  double vx = (1 - tu) * (1 - tu) + tu * tu + 2 * tu * (1 - tu) * s->c1;
  double vy = (1 - tv) * (1 - tv) + tv * tv + 2 * tv * (1 - tv) * s->c1;
  pt->tu  = tu;
  pt->tv  = tv;
  pt->den = s->norm * vx * vy;
}

double MxSpecklePointIntensity(const MxSpeckle *s, const MxSpecklePoint *pt)
{
  const double tu = pt->tu, tv = pt->tv;
  double       re = 0, im = 0;
  for (int di = 0; di < 2; di++)
    for (int dj = 0; dj < 2; dj++) {
      double w = (di ? tu : 1 - tu) * (dj ? tv : 1 - tv);
      re += w * s->field[pt->k[2 * di + dj]][0];
      im += w * s->field[pt->k[2 * di + dj]][1];
    }
  return (re * re + im * im) / pt->den;
}

double MxSpeckleIntensityAt(const MxSpeckle *s, double qx, double qy)
{
  MxSpecklePoint pt;
  MxSpecklePointSetUp(s, qx, qy, &pt);
  return MxSpecklePointIntensity(s, &pt);
}

static inline int MinI(int a, int b) { return a < b ? a : b; }
static inline int MaxI(int a, int b) { return a > b ? a : b; }

/* the field at sub-point (row R, column C) of the module's grid of points; a row beyond the
   pixel's tile or a column beyond the module is the pixel's own nearest one, and a point of a
   pixel no panel covers the pixel's own nearest point */
static inline double SubPoint(const float *isub, int nss, int nfs, int tile, int sub, int ss, int fs, int R, int C)
{
  const int r0 = ss * sub, c0 = fs * sub, t0 = (ss / tile) * tile * sub, t1 = MinI(t0 + tile * sub, nss * sub);
  const int ns = sub * sub;
  int       rr = R, cc = C;
  if (rr < t0 || rr >= t1) rr = MinI(MaxI(R, r0), r0 + sub - 1);
  if (cc < 0 || cc >= nfs * sub) cc = MinI(MaxI(C, c0), c0 + sub - 1);
  if (isnan(isub[((size_t)(rr / sub) * nfs + cc / sub) * ns + (rr % sub) * sub + cc % sub])) {
    rr = MinI(MaxI(R, r0), r0 + sub - 1);
    cc = MinI(MaxI(C, c0), c0 + sub - 1);
  }
  return isub[((size_t)(rr / sub) * nfs + cc / sub) * ns + (rr % sub) * sub + cc % sub];
}

void MxSpecklePhotonPoint(const float *isub, int nss, int nfs, int tile, int sub, int ss, int fs, MxRng *g, double *u, double *v)
{
  double    P[MX_SPECKLE_MAXSUB + 2][MX_SPECKLE_MAXSUB + 2], top = 0;
  const int R0 = ss * sub - 1, C0 = fs * sub - 1; /* the points around: rows R0 .. R0 + sub + 1 */
  for (int a = 0; a < sub + 2; a++)
    for (int b = 0; b < sub + 2; b++) top = fmax(top, P[a][b] = SubPoint(isub, nss, nfs, tile, sub, ss, fs, R0 + a, C0 + b));
  for (int it = 0; it < 64; it++) {
    const double x = MxRngUniform(g), y = MxRngUniform(g), w = MxRngUniform(g) * top;
    const double X = x * sub + 0.5, Y = y * sub + 0.5; /* in the grid of points from (R0, C0) */
    const int    b = MinI((int)X, sub), a = MinI((int)Y, sub);
    const double tx = X - b, ty = Y - a;
    const double f  = (1 - ty) * ((1 - tx) * P[a][b] + tx * P[a][b + 1]) + ty * ((1 - tx) * P[a + 1][b] + tx * P[a + 1][b + 1]);
    if (w <= f) {
      *u = x;
      *v = y;
      return;
    }
  }
  *u = MxRngUniform(g);
  *v = MxRngUniform(g);
}
