/* Geometry kernels: CrystFEL vectors, pixel centres, scattering quantities, ideal AGIPD layout.
   Pure C on plain values (no MPI, no state) so the unit tests call them directly. */
#include <mxpcs/geom.h>
#include <ctype.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Grammar (euxfel-format.md 3.2): terms "[+-] [coef] {x|y|z}" separated by blanks; the first
   term may omit its sign, later terms may not; coef is digits with an optional '.', optional
   fraction and exponent ("0." and ".5" are numbers, "." is not); a missing coef means 1.
   Repeated axes add up, as in CrystFEL. */
int MxGeomParseVector(const char *s, double v[3])
{
  const char *p = s;
  int         nterms = 0;

  if (!s || !v) return 1;
  v[0] = v[1] = v[2] = 0.0;
  while (*p) {
    double sign = 1.0, coef = 1.0;
    while (isspace((unsigned char)*p)) p++;
    if (!*p) break;
    if (*p == '+' || *p == '-') {
      sign = *p == '-' ? -1.0 : 1.0;
      p++;
      while (isspace((unsigned char)*p)) p++;
    } else if (nterms > 0) return 1; /* "x y": terms must be joined by a sign */
    if (isdigit((unsigned char)*p) || *p == '.') {
      const char *q = p;
      char        buf[64], *end;
      int         ndig = 0;
      size_t      len;
      while (isdigit((unsigned char)*q)) q++, ndig++;
      if (*q == '.') {
        q++;
        while (isdigit((unsigned char)*q)) q++, ndig++;
      }
      if (!ndig) return 1;
      if (*q == 'e' || *q == 'E') {
        const char *e = q + 1;
        if (*e == '+' || *e == '-') e++;
        if (!isdigit((unsigned char)*e)) return 1;
        while (isdigit((unsigned char)*e)) e++;
        q = e;
      }
      len = (size_t)(q - p);
      if (len >= sizeof buf) return 1;
      memcpy(buf, p, len);
      buf[len] = 0;
      coef = strtod(buf, &end);
      if (*end || !isfinite(coef)) return 1;
      p = q;
      while (isspace((unsigned char)*p)) p++;
    }
    switch (*p) {
    case 'x': v[0] += sign * coef; break;
    case 'y': v[1] += sign * coef; break;
    case 'z': v[2] += sign * coef; break;
    default: return 1;
    }
    p++;
    nterms++;
  }
  return nterms ? 0 : 1;
}

/* euxfel-format.md 3.3: u = fs - min_fs + 0.5, v = ss - min_ss + 0.5, position = corner + u fs
   + v ss in pixels, divided by res; z carries coffset (and any z term), not the distance. */
void MxPanelPixelCenter(const MxPanel *p, int ss, int fs, double xyz[3])
{
  const double u = fs - p->min_fs + 0.5, v = ss - p->min_ss + 0.5;

  xyz[0] = (p->corner_x + u * p->fs[0] + v * p->ss[0]) / p->res;
  xyz[1] = (p->corner_y + u * p->fs[1] + v * p->ss[1]) / p->res;
  xyz[2] = p->coffset_m + (u * p->fs[2] + v * p->ss[2]) / p->res;
}

/* euxfel-format.md 3.3: 2theta = atan2(rho, Z), q = 4 pi sin(theta) / lambda, phi = atan2(Y', X')
   in (-pi, pi], dOmega/dA = Z / R^3, P = ((1 + cos^2 2th) - f cos(2 phi) sin^2 2th) / 2. */
void MxGeomScatter(double x, double y, double z, double bx, double by, double lambda_A, double pol_f, double *two_theta, double *q, double *phi, double *solid, double *polar)
{
  const double X = x - bx, Y = y - by;
  const double rho = hypot(X, Y), R = sqrt(X * X + Y * Y + z * z);
  const double tth = atan2(rho, z);
  double       ph = atan2(Y, X);

  if (ph <= -PETSC_PI) ph = PETSC_PI; /* atan2(-0., -1) is -pi; the range is (-pi, pi] */
  if (two_theta) *two_theta = tth;
  if (q) *q = 4.0 * PETSC_PI * sin(0.5 * tth) / lambda_A;
  if (phi) *phi = ph;
  if (solid) *solid = z / (R * R * R);
  if (polar) {
    const double c = cos(tth), s = sin(tth);
    *polar = 0.5 * ((1.0 + c * c) - pol_f * cos(2.0 * ph) * s * s);
  }
}

/* euxfel-format.md 3.4 (EXtra-geom AGIPD_1MGeometry.from_quad_positions, asic_gap 2,
   panel_gap 29): quadrant q holds modules 4q..4q+3 stacked downwards by 128 + 29 pixels; tile
   a of a module is shifted by a (64 + 2) pixels along its ss direction xo. */
void MxGeomIdealPanels(const double quad_pos[8], MxPanel panels[128])
{
  static const double xo[4] = {+1, +1, -1, -1}, yo[4] = {-1, -1, +1, +1};
  const int           asic_gap = 2, panel_gap = 29;

  for (int m = 0; m < MX_NMOD; m++) {
    const int q = m / 4, j = m % 4;
    for (int a = 0; a < 8; a++) {
      MxPanel *p = &panels[m * 8 + a];
      memset(p, 0, sizeof *p);
      snprintf(p->name, sizeof p->name, "p%da%d", m, a);
      p->module   = m;
      p->min_fs   = 0;
      p->max_fs   = MX_NFS - 1;
      p->min_ss   = 64 * a;
      p->max_ss   = 64 * a + 63;
      p->fs[1]    = yo[q];
      p->ss[0]    = xo[q];
      p->corner_x = quad_pos[2 * q] + xo[q] * a * (64 + asic_gap);
      p->corner_y = quad_pos[2 * q + 1] - j * (MX_NFS + panel_gap);
      p->res      = 5000.0; /* 200 um pixels */
    }
  }
}
