/* Unit tests of the geometry stage: vector parsing, scattering kernels, the CrystFEL parser
   (3-D and 2-D layouts, error cases), ideal layout, options, against the reference tables
   tests/data/geometry/qref_*.csv (euxfel-format.md 3.5). */
#include <mxpcs/geom.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#define GEOMDIR   MX_DATA_DIR "/geometry/"
#define MAR18     GEOMDIR "agipd_mar18_v11.geom"
#define MIDIDEAL  GEOMDIR "agipd_mid_ideal_from_quads.geom"
#define NPIX      ((size_t)MX_NMOD * MX_MODPIX)
#define RAD2DEG   (180.0 / PETSC_PI)

static const double mid_quads[8] = {-518, 635, -568, -45, 552, -231, 602, 485};

/* ---------- helpers ---------- */

typedef struct {
  int    m, ss, fs;
  double x, y, z, tth_deg, q, phi_deg;
} RefRow;

static int ReadCsv(const char *path, RefRow *rows, int maxrows)
{
  FILE *f = fopen(path, "r");
  char  line[1024];
  int   n = 0;

  if (!f) fail_msg("cannot open %s", path);
  while (fgets(line, sizeof line, f)) {
    RefRow r;
    if (line[0] == '#' || line[0] == 'm') continue;
    if (sscanf(line, "%d,%d,%d,%lf,%lf,%lf,%lf,%lf,%lf", &r.m, &r.ss, &r.fs, &r.x, &r.y, &r.z, &r.tth_deg, &r.q, &r.phi_deg) != 9) fail_msg("%s: bad line %s", path, line);
    if (n < maxrows) rows[n++] = r;
  }
  fclose(f);
  return n;
}

static double max_rel_dev; /* over all compared quantities of a table */

/* relative 1e-9, or absolute 1e-12 near zero */
static void AssertClose(double got, double want, const char *what, const RefRow *r)
{
  const double d = fabs(got - want);
  if (fabs(want) > 1e-3) max_rel_dev = fmax(max_rel_dev, d / fabs(want));
  if (d <= 1e-9 * fabs(want) || d <= 1e-12) return;
  fail_msg("%s at (m%d, ss%d, fs%d): got %.12g, reference %.12g (rel %.3g)", what, r->m, r->ss, r->fs, got, want, d / fabs(want));
}

/* Compare the set-up geometry at distance D with a reference table. */
static void CompareWithCsv(MxGeom g, const char *csv, double D)
{
  RefRow             rows[64];
  const MxPixelGeom *pix;
  int                n = ReadCsv(csv, rows, 64);

  assert_int_equal(n, 50);
  assert_int_equal(MxGeomGetPixels(g, &pix), 0);
  max_rel_dev = 0;
  for (int i = 0; i < n; i++) {
    const RefRow *r = &rows[i];
    const size_t  k = ((size_t)r->m * MX_NSS + r->ss) * MX_NFS + r->fs;
    assert_int_equal(pix->covered[k], 1);
    AssertClose(pix->x_m[k], r->x, "x", r);
    AssertClose(pix->y_m[k], r->y, "y", r);
    AssertClose(pix->z_m[k] - D, r->z, "z", r);
    AssertClose(pix->two_theta[k] * RAD2DEG, r->tth_deg, "2theta", r);
    AssertClose(pix->q_inv_A[k], r->q, "q", r);
    AssertClose(pix->phi[k] * RAD2DEG, r->phi_deg, "phi", r);
  }
  print_message("  %s: 50 rows, max relative deviation %.2e\n", strrchr(csv, '/') + 1, max_rel_dev);
}

static char *Slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  long  n;
  char *s;

  if (!f) fail_msg("cannot open %s", path);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  s = malloc((size_t)n + 1);
  if (fread(s, 1, (size_t)n, f) != (size_t)n) fail_msg("short read %s", path);
  s[n] = 0;
  fclose(f);
  return s;
}

/* Write text to a fresh temporary .geom file; path into out. */
static void WriteTemp(const char *text, char out[64])
{
  int   fd;
  FILE *f;

  snprintf(out, 64, "/tmp/mxpcs_test_XXXXXX.geom");
  fd = mkstemps(out, 5);
  if (fd < 0) fail_msg("mkstemps failed");
  f = fdopen(fd, "w");
  fputs(text, f);
  fclose(f);
}

/* Copy of a .geom with every line for which drop(line) is true removed, each line passed
   through edit() (may be NULL), and extra appended. */
static char *Transform(const char *path, int (*drop)(const char *line, const void *ctx), const void *ctx, void (*edit)(char *line, size_t len), const char *extra)
{
  char  *src = Slurp(path), *out, *p = src;
  size_t cap = strlen(src) * 2 + (extra ? strlen(extra) : 0) + 1, len = 0;

  out    = malloc(cap);
  out[0] = 0;
  while (*p) {
    char  line[1024];
    char *nl = strchr(p, '\n');
    size_t l = nl ? (size_t)(nl - p) : strlen(p);
    if (l >= sizeof line) fail_msg("long line");
    memcpy(line, p, l);
    line[l] = 0;
    p += l + (nl ? 1 : 0);
    if (drop && drop(line, ctx)) continue;
    if (edit) edit(line, sizeof line);
    len += (size_t)snprintf(out + len, cap - len, "%s\n", line);
  }
  if (extra) snprintf(out + len, cap - len, "%s", extra);
  free(src);
  return out;
}

static int DropPrefix(const char *line, const void *ctx) { return strncmp(line, (const char *)ctx, strlen((const char *)ctx)) == 0; }

#include "errtest.h"

static PetscErrorCode LoadText(const char *text, MxGeom *g, char path[64])
{
  WriteTemp(text, path);
  assert_int_equal(MxGeomCreate(PETSC_COMM_WORLD, g), 0);
  return MxGeomLoadFile(*g, path);
}

/* ---------- kernels ---------- */

static void test_parse_vector(void **state)
{
  double v[3];
  (void)state;
  assert_int_equal(MxGeomParseVector("+0.999995x -0.001328y", v), 0);
  assert_true(v[0] == 0.999995 && v[1] == -0.001328 && v[2] == 0);
  assert_int_equal(MxGeomParseVector("+0.x -1.y", v), 0); /* EXtra-geom style */
  assert_true(v[0] == 0 && v[1] == -1 && v[2] == 0);
  assert_int_equal(MxGeomParseVector("x", v), 0);
  assert_true(v[0] == 1 && v[1] == 0 && v[2] == 0);
  assert_int_equal(MxGeomParseVector("-y", v), 0);
  assert_true(v[0] == 0 && v[1] == -1 && v[2] == 0);
  assert_int_equal(MxGeomParseVector("-x +2.5e-3y -0.5z", v), 0);
  assert_true(v[0] == -1 && v[1] == 2.5e-3 && v[2] == -0.5);
  assert_int_equal(MxGeomParseVector("  1.0 x - 2 y +1E+2z ", v), 0);
  assert_true(v[0] == 1 && v[1] == -2 && v[2] == 100);
  assert_int_equal(MxGeomParseVector(".5y +0.001z", v), 0);
  assert_true(v[0] == 0 && v[1] == 0.5 && v[2] == 0.001);
  assert_int_equal(MxGeomParseVector("+0.5x +0.25x", v), 0); /* CrystFEL adds repeated axes */
  assert_true(v[0] == 0.75);
  /* malformed */
  assert_int_not_equal(MxGeomParseVector("", v), 0);
  assert_int_not_equal(MxGeomParseVector("   ", v), 0);
  assert_int_not_equal(MxGeomParseVector("x y", v), 0);
  assert_int_not_equal(MxGeomParseVector("+1.0", v), 0);
  assert_int_not_equal(MxGeomParseVector("+1.0w", v), 0);
  assert_int_not_equal(MxGeomParseVector("+.x", v), 0);
  assert_int_not_equal(MxGeomParseVector("1e x", v), 0);
  assert_int_not_equal(MxGeomParseVector("+1x junk", v), 0);
  assert_int_not_equal(MxGeomParseVector("x+", v), 0);
  assert_int_not_equal(MxGeomParseVector("++x", v), 0);
}

/* x = 0.3, y = 0.4, z = 1.2 m: rho = 0.5, R = 1.3, cos 2th = 12/13, sin 2th = 5/13. */
static void test_scatter_hand(void **state)
{
  double       tth, q, phi, solid, pol;
  const double lambda = 1.5;
  (void)state;
  MxGeomScatter(0.3, 0.4, 1.2, 0, 0, lambda, 1.0, &tth, &q, &phi, &solid, &pol);
  assert_true(fabs(tth - acos(12.0 / 13.0)) < 1e-15);
  assert_true(fabs(q - 4 * PETSC_PI * sqrt(1.0 / 26.0) / lambda) < 1e-14); /* sin th = sqrt((1 - cos 2th)/2) */
  assert_true(fabs(phi - atan2(4, 3)) < 1e-15);
  assert_true(fabs(solid - 1.2 / (1.3 * 1.3 * 1.3)) < 1e-14);
  assert_true(fabs(pol - (1 - 0.09 / 1.69)) < 1e-15); /* f = 1: P = 1 - (x/R)^2 */
  MxGeomScatter(0.3, 0.4, 1.2, 0, 0, lambda, 0.0, NULL, NULL, NULL, NULL, &pol);
  assert_true(fabs(pol - 313.0 / 338.0) < 1e-15); /* unpolarised: (1 + cos^2 2th)/2 */
  MxGeomScatter(0.3, 0.4, 1.2, 0, 0, lambda, -1.0, NULL, NULL, NULL, NULL, &pol);
  assert_true(fabs(pol - (1 - 0.16 / 1.69)) < 1e-15); /* f = -1: vertical, 1 - (y/R)^2 */
  /* the same point seen from a shifted beam centre */
  MxGeomScatter(0.4, 0.6, 1.2, 0.1, 0.2, lambda, 1.0, &tth, &q, &phi, &solid, &pol);
  assert_true(fabs(tth - acos(12.0 / 13.0)) < 1e-15);
  assert_true(fabs(phi - atan2(4, 3)) < 1e-14);
  assert_true(fabs(pol - (1 - 0.09 / 1.69)) < 1e-14);
  /* on the beam: everything regular */
  MxGeomScatter(0, 0, 8, 0, 0, lambda, 1.0, &tth, &q, &phi, &solid, &pol);
  assert_true(tth == 0 && q == 0 && pol == 1 && fabs(solid - 1.0 / 64) < 1e-17);
  /* phi range (-pi, pi] */
  MxGeomScatter(-1, -0.0, 8, 0, 0, lambda, 1.0, NULL, NULL, &phi, NULL, NULL);
  assert_true(phi == PETSC_PI);
}

/* Pixel centre formula, and the ideal layout corners of euxfel-format.md 3.4. */
static void test_pixel_center_and_ideal(void **state)
{
  MxPanel p[128];
  double  xyz[3];
  RefRow  rows[64];
  int     n = ReadCsv(GEOMDIR "qref_mid_ideal_d8m_9keV.csv", rows, 64);
  (void)state;
  MxGeomIdealPanels(mid_quads, p);
  assert_string_equal(p[0].name, "p0a0");
  assert_true(p[0].corner_x == -518 && p[0].corner_y == 635);
  assert_true(p[127].module == 15 && p[127].min_ss == 448 && p[127].corner_x == 602 - 7 * 66 && p[127].corner_y == 485 - 3 * 157);
  assert_true(p[127].fs[1] == 1 && p[127].ss[0] == -1 && p[0].fs[1] == -1 && p[0].ss[0] == 1);
  /* kernel level, without the object: x, y against the reference table */
  max_rel_dev = 0;
  for (int i = 0; i < n; i++) {
    const RefRow *r = &rows[i];
    MxPanelPixelCenter(&p[r->m * 8 + r->ss / 64], r->ss, r->fs, xyz);
    AssertClose(xyz[0], r->x, "x", r);
    AssertClose(xyz[1], r->y, "y", r);
    AssertClose(xyz[2], r->z, "z", r);
  }
  /* a tilted panel: z term, coffset */
  {
    MxPanel t = {.min_fs = 0, .max_fs = 127, .min_ss = 64, .max_ss = 127, .fs = {0, -1, 0.01}, .ss = {1, 0, -0.02}, .corner_x = 10, .corner_y = 20, .coffset_m = 0.001, .res = 5000};
    MxPanelPixelCenter(&t, 66, 3, xyz); /* u = 3.5, v = 2.5 */
    assert_true(fabs(xyz[0] - (10 + 2.5) / 5000) < 1e-18);
    assert_true(fabs(xyz[1] - (20 - 3.5) / 5000) < 1e-18);
    assert_true(fabs(xyz[2] - (0.001 + (0.035 - 0.05) / 5000)) < 1e-18);
  }
}

/* ---------- files against the reference tables ---------- */

static void test_mar18(void **state)
{
  MxGeom             g;
  const MxPixelGeom *pix;
  double             lambda, qmin = INFINITY, qmax = -INFINITY;
  PetscInt           np;
  const MxPanel     *pan;
  (void)state;
  assert_int_equal(MxGeomCreate(PETSC_COMM_WORLD, &g), 0);
  assert_int_equal(MxGeomLoadFile(g, MAR18), 0);
  assert_int_equal(MxGeomGetPanels(g, &np, &pan), 0);
  assert_int_equal(np, 128);
  assert_true(pan[0].coffset_m == 0.001112 && pan[0].res == 5000 && pan[0].corner_x == -526.111);
  assert_int_equal(MxGeomSetDistance(g, 8.0), 0);
  assert_int_equal(MxGeomSetEnergy(g, 9.0), 0);
  assert_int_equal(MxGeomSetUp(g), 0);
  assert_int_equal(MxGeomGetWavelength(g, &lambda), 0);
  assert_true(fabs(lambda - 1.377602205) < 5e-10);
  CompareWithCsv(g, GEOMDIR "qref_mar18_d8m_9keV.csv", 8.0);
  assert_int_equal(MxGeomGetPixels(g, &pix), 0);
  for (size_t k = 0; k < NPIX; k++) {
    assert_int_equal(pix->covered[k], 1);
    qmin = fmin(qmin, pix->q_inv_A[k]);
    qmax = fmax(qmax, pix->q_inv_A[k]);
  }
  assert_true(fabs(qmin - 0.002111) < 5e-7 && fabs(qmax - 0.093443) < 5e-7); /* euxfel-format.md 3.5 */
  /* solid angle and polarisation of one pixel, by hand from its position */
  {
    const size_t k = ((size_t)3 * MX_NSS + 100) * MX_NFS + 17;
    const double x = pix->x_m[k], y = pix->y_m[k], z = pix->z_m[k], R = sqrt(x * x + y * y + z * z);
    assert_true(fabs(pix->solid_angle[k] - 4e-8 * z / (R * R * R)) < 1e-12 * 4e-8 / 64);
    assert_true(fabs(pix->polarization[k] - (1 - x * x / (R * R))) < 1e-14);
    assert_true(fabs(pix->solid_angle[k] / (4e-8 / 64.0) - 1) < 1e-3); /* ~cos^3 2th at 8 m */
  }
  /* small angles: q ~ (2 pi / lambda) rho / z, with relative error -(3/2) theta^2 */
  for (size_t k = 0; k < NPIX; k += 9973) {
    const double rho = hypot(pix->x_m[k], pix->y_m[k]), th = 0.5 * pix->two_theta[k];
    const double qs  = 2 * PETSC_PI / lambda * rho / pix->z_m[k];
    assert_true(fabs(pix->q_inv_A[k] / qs - 1 + 1.5 * th * th) < 1e-7);
    assert_true(pix->q_inv_A[k] < qs); /* really the exact formula, not the approximation */
  }
  /* the file's own clen (0.1249 m) and photon_energy (9300 eV) */
  assert_int_equal(MxGeomDestroy(&g), 0);
  assert_null(g);
  assert_int_equal(MxGeomDestroy(&g), 0); /* NULL-safe */
  assert_int_equal(MxGeomCreate(PETSC_COMM_WORLD, &g), 0);
  assert_int_equal(MxGeomLoadFile(g, MAR18), 0);
  assert_int_equal(MxGeomSetUp(g), 0);
  assert_int_equal(MxGeomGetPixels(g, &pix), 0);
  {
    double D, E;
    assert_int_equal(MxGeomGetDistance(g, &D), 0);
    assert_int_equal(MxGeomGetEnergy(g, &E), 0);
    assert_true(D == 0.1249 && fabs(E - 9.3) < 1e-12);
    assert_true(fabs(pix->q_inv_A[0] / 4.165618 - 1) < 2e-7);
  }
  assert_int_equal(MxGeomDestroy(&g), 0);
}

static void test_mid_ideal_file(void **state)
{
  MxGeom g;
  double D, E;
  (void)state;
  /* clen = 8.0 and photon_energy = 9000 come from the file itself */
  assert_int_equal(MxGeomCreate(PETSC_COMM_WORLD, &g), 0);
  assert_int_equal(MxGeomLoadFile(g, MIDIDEAL), 0);
  assert_int_equal(MxGeomSetUp(g), 0);
  assert_int_equal(MxGeomGetDistance(g, &D), 0);
  assert_int_equal(MxGeomGetEnergy(g, &E), 0);
  assert_true(D == 8.0 && fabs(E - 9.0) < 1e-12);
  CompareWithCsv(g, GEOMDIR "qref_mid_ideal_d8m_9keV.csv", 8.0);
  assert_int_equal(MxGeomDestroy(&g), 0);
}

static void test_ideal_quads(void **state)
{
  MxGeom             g, gf;
  const MxPixelGeom *pix, *pf;
  double             qmin = INFINITY, qmax = -INFINITY, D;
  (void)state;
  /* defaults: MID quadrant positions, 8 m, 9 keV */
  assert_int_equal(MxGeomCreate(PETSC_COMM_WORLD, &g), 0);
  assert_int_equal(MxGeomSetQuadPositions(g, mid_quads), 0);
  assert_int_equal(MxGeomSetUp(g), 0);
  assert_int_equal(MxGeomGetDistance(g, &D), 0);
  assert_true(D == 8.0);
  CompareWithCsv(g, GEOMDIR "qref_mid_ideal_d8m_9keV.csv", 8.0);
  assert_int_equal(MxGeomGetPixels(g, &pix), 0);
  for (size_t k = 0; k < NPIX; k++) {
    qmin = fmin(qmin, pix->q_inv_A[k]);
    qmax = fmax(qmax, pix->q_inv_A[k]);
  }
  assert_true(fabs(qmin - 0.004162) < 5e-7 && fabs(qmax - 0.101728) < 5e-7);
  /* the same as the EXtra-geom-written file, for every pixel */
  assert_int_equal(MxGeomCreate(PETSC_COMM_WORLD, &gf), 0);
  assert_int_equal(MxGeomLoadFile(gf, MIDIDEAL), 0);
  assert_int_equal(MxGeomSetUp(gf), 0);
  assert_int_equal(MxGeomGetPixels(gf, &pf), 0);
  for (size_t k = 0; k < NPIX; k++) {
    assert_true(fabs(pix->x_m[k] - pf->x_m[k]) < 1e-15 && fabs(pix->y_m[k] - pf->y_m[k]) < 1e-15);
    assert_true(fabs(pix->q_inv_A[k] - pf->q_inv_A[k]) < 1e-14 * pf->q_inv_A[k]);
  }
  assert_int_equal(MxGeomDestroy(&gf), 0);
  assert_int_equal(MxGeomDestroy(&g), 0);
}

/* 2-D (Cheetah/VDS) layout: no module dimension, modules stacked along ss. */
static int Drop3D(const char *line, const void *ctx)
{
  int m, d;
  char a[8];
  (void)ctx;
  return sscanf(line, "p%da%*d/dim1 = %d%1s", &m, &d, a) >= 2;
}

static void To2D(char *line, size_t len)
{
  int  m, a, v;
  char key[16];
  char *s;
  if ((s = strstr(line, "/dim2 = ss"))) s[4] = '1';
  else if ((s = strstr(line, "/dim3 = fs"))) s[4] = '2';
  else if (sscanf(line, "p%da%d/%15[a-z_] = %d", &m, &a, key, &v) == 4 && (!strcmp(key, "min_ss") || !strcmp(key, "max_ss"))) snprintf(line, len, "p%da%d/%s = %d", m, a, key, v + 512 * m);
}

static void test_2d_layout(void **state)
{
  MxGeom             g3, g2;
  const MxPixelGeom *p3, *p2;
  const MxPanel     *pan;
  PetscInt           np;
  char              *text = Transform(MAR18, Drop3D, NULL, To2D, NULL), path[64];
  (void)state;
  assert_non_null(strstr(text, "p15a7/max_ss = 8191"));
  assert_null(strstr(text, "p15a7/dim3"));
  assert_int_equal(LoadText(text, &g2, path), 0);
  assert_int_equal(MxGeomGetPanels(g2, &np, &pan), 0);
  assert_true(np == 128 && pan[127].module == 15 && pan[127].min_ss == 448 && pan[127].max_ss == 511);
  assert_int_equal(MxGeomCreate(PETSC_COMM_WORLD, &g3), 0);
  assert_int_equal(MxGeomLoadFile(g3, MAR18), 0);
  assert_int_equal(MxGeomSetDistance(g3, 8.0), 0);
  assert_int_equal(MxGeomSetDistance(g2, 8.0), 0);
  assert_int_equal(MxGeomSetUp(g3), 0);
  assert_int_equal(MxGeomSetUp(g2), 0);
  assert_int_equal(MxGeomGetPixels(g3, &p3), 0);
  assert_int_equal(MxGeomGetPixels(g2, &p2), 0);
  for (size_t k = 0; k < NPIX; k++) assert_true(p3->x_m[k] == p2->x_m[k] && p3->y_m[k] == p2->y_m[k] && p3->z_m[k] == p2->z_m[k] && p3->q_inv_A[k] == p2->q_inv_A[k]);
  assert_int_equal(MxGeomDestroy(&g2), 0);
  assert_int_equal(MxGeomDestroy(&g3), 0);
  unlink(path);
  free(text);
}

/* ---------- errors ---------- */

static void ExpectFileError(const char *text, const char *n1, const char *n2)
{
  MxGeom g;
  char   path[64];
  ExpectError(LoadText(text, &g, path), path, n1, n2, NULL);
  assert_int_equal(MxGeomDestroy(&g), 0);
  unlink(path);
}

static void MinSs60(char *line, size_t len)
{
  if (!strcmp(line, "p0a1/min_ss = 64")) snprintf(line, len, "p0a1/min_ss = 60");
}

static void BadVector(char *line, size_t len)
{
  if (!strncmp(line, "p2a4/ss =", 9)) snprintf(line, len, "p2a4/ss = +0.999995x -0.001328w");
}

static void test_errors(void **state)
{
  char *t;
  (void)state;
  /* unknown global key, with its line number */
  t = Transform(MAR18, NULL, NULL, NULL, NULL);
  {
    char *u = malloc(strlen(t) + 64);
    sprintf(u, "res = 5000\nfrobnicate = 3\n%s", t);
    ExpectFileError(u, ":2:", "frobnicate");
    free(u);
  }
  free(t);
  /* unknown panel key */
  t = Transform(MAR18, NULL, NULL, NULL, "p0a0/corner_z = 1\n");
  ExpectFileError(t, "p0a0", "corner_z");
  free(t);
  /* missing required panel key */
  t = Transform(MAR18, DropPrefix, "p3a2/corner_x", NULL, NULL);
  ExpectFileError(t, "p3a2", "corner_x");
  free(t);
  /* malformed vector */
  t = Transform(MAR18, NULL, NULL, BadVector, NULL);
  ExpectFileError(t, "ss", "-0.001328w");
  free(t);
  /* a whole panel missing: rows 192..255 of module 5 */
  t = Transform(MAR18, DropPrefix, "p5a3/", NULL, NULL);
  ExpectFileError(t, "module 5", "192..255");
  free(t);
  /* overlapping panels */
  t = Transform(MAR18, NULL, NULL, MinSs60, NULL);
  ExpectFileError(t, "p0a0", "p0a1");
  free(t);
  /* a global after the last panel has no effect: CrystFEL rejects it too */
  t = Transform(MAR18, NULL, NULL, NULL, "coffset = 0.01\n");
  ExpectFileError(t, "coffset", "after the last panel");
  free(t);
  /* a gap in the data dimensions (module dim removed, ss/fs left at dim2/dim3) */
  t = Transform(MAR18, Drop3D, NULL, NULL, NULL);
  ExpectFileError(t, "dim1", "p0a0");
  free(t);
  /* malformed number, bad unit, contradicting clen, panel out of range, no panels */
  t = Transform(MAR18, NULL, NULL, NULL, "p0a0/corner_y = 12abc\n");
  ExpectFileError(t, "corner_y", "12abc");
  free(t);
  ExpectFileError("clen = 5 furlongs\np0a0/min_fs = 0\n", "clen", "m or mm");
  ExpectFileError("clen = 5 m\nclen = 6 m\n", "clen", "line 1");
  ExpectFileError("res = 5000\nphoton_energy = 9000\nwavelength = 1.3 A\n", "wavelength", "photon_energy");
  ExpectFileError("; nothing\nres = 5000\n", "no panels", ":");
  t = Transform(MAR18, NULL, NULL, NULL, NULL);
  {
    char *s = strstr(t, "p15a7/dim1 = 15");
    s[14] = '9'; /* dim1 = 19 */
    ExpectFileError(t, "p15a7", "19");
  }
  free(t);
  /* a line without '=' */
  ExpectFileError("res 5000\n", ":1:", "key = value");
  /* a file that does not exist */
  {
    MxGeom g;
    assert_int_equal(MxGeomCreate(PETSC_COMM_WORLD, &g), 0);
    ExpectError(MxGeomLoadFile(g, "/nonexistent/x.geom"), "/nonexistent/x.geom", NULL);
    assert_int_equal(MxGeomSetUp(g), 0); /* still usable: the ideal layout */
    assert_int_equal(MxGeomDestroy(&g), 0);
  }
}

/* clen / photon_energy as data locations, units, and modules without panels. */
static int DropBeam(const char *line, const void *ctx)
{
  (void)ctx;
  return !strncmp(line, "clen", 4) || !strncmp(line, "photon_energy", 13);
}

static int DropModulesButZero(const char *line, const void *ctx)
{
  int m;
  (void)ctx;
  return sscanf(line, "p%da", &m) == 1 && m != 0;
}

static char *Prepend(const char *head, char *tail)
{
  char *u = malloc(strlen(head) + strlen(tail) + 1);
  sprintf(u, "%s%s", head, tail);
  free(tail);
  return u;
}

static void test_file_values(void **state)
{
  MxGeom             g;
  const MxPixelGeom *pix;
  char              *t, path[64];
  double             D, E;
  size_t             ncov = 0;
  (void)state;
  /* clen and photon_energy as HDF5 locations: SetUp asks for the options */
  t = Prepend("clen = /LCLS/detectorPosition\nphoton_energy = /LCLS/photon_energy_eV\n", Transform(MAR18, DropBeam, NULL, NULL, NULL));
  assert_int_equal(LoadText(t, &g, path), 0);
  ExpectError(MxGeomSetUp(g), "-geom_distance_m", "/LCLS/detectorPosition", NULL);
  assert_int_equal(MxGeomSetDistance(g, 8.0), 0);
  ExpectError(MxGeomSetUp(g), "-geom_energy_kev", "/LCLS/photon_energy_eV", NULL);
  assert_int_equal(MxGeomSetEnergy(g, 9.0), 0);
  assert_int_equal(MxGeomSetUp(g), 0);
  assert_int_equal(MxGeomDestroy(&g), 0);
  unlink(path);
  free(t);
  /* units: clen in mm, wavelength in m */
  t = Prepend("clen = 5500 mm\nwavelength = 1.2e-10 m\n", Transform(MAR18, DropBeam, NULL, NULL, NULL));
  assert_int_equal(LoadText(t, &g, path), 0);
  assert_int_equal(MxGeomSetUp(g), 0);
  assert_int_equal(MxGeomGetDistance(g, &D), 0);
  assert_int_equal(MxGeomGetEnergy(g, &E), 0);
  assert_true(fabs(D - 5.5) < 1e-15 && fabs(E - MX_HC_KEV_A / 1.2) < 1e-12);
  assert_int_equal(MxGeomDestroy(&g), 0);
  unlink(path);
  free(t);
  /* photon_energy in keV; no clen at all: the design default 8 m */
  t = Prepend("photon_energy = 12.4 keV\n", Transform(MAR18, DropBeam, NULL, NULL, NULL));
  assert_int_equal(LoadText(t, &g, path), 0);
  assert_int_equal(MxGeomSetUp(g), 0);
  assert_int_equal(MxGeomGetDistance(g, &D), 0);
  assert_int_equal(MxGeomGetEnergy(g, &E), 0);
  assert_true(D == 8.0 && fabs(E - 12.4) < 1e-12);
  assert_int_equal(MxGeomDestroy(&g), 0);
  unlink(path);
  free(t);
  /* only module 0 has panels: allowed, the other modules are uncovered */
  t = Transform(MAR18, DropModulesButZero, NULL, NULL, NULL);
  assert_int_equal(LoadText(t, &g, path), 0);
  assert_int_equal(MxGeomSetUp(g), 0);
  assert_int_equal(MxGeomGetPixels(g, &pix), 0);
  for (size_t k = 0; k < NPIX; k++) ncov += pix->covered[k];
  assert_int_equal(ncov, MX_MODPIX);
  assert_true(pix->covered[MX_MODPIX - 1] && !pix->covered[MX_MODPIX] && isnan(pix->q_inv_A[MX_MODPIX]));
  assert_int_equal(MxGeomDestroy(&g), 0);
  unlink(path);
  free(t);
}

/* Geometry bad pixels: fs/ss and x/y bad regions, no_index, mask_edge_pixels. */
static void test_bad_regions(void **state)
{
  MxGeom             g;
  const MxPixelGeom *pix;
  char              *t, path[64];
  size_t             nbad = 0;
  (void)state;
  t = Transform(MAR18, NULL, NULL, NULL,
                "bad_a/min_fs = 10\nbad_a/max_fs = 19\nbad_a/min_ss = 70\nbad_a/max_ss = 74\nbad_a/panel = p0a1\n"
                "badxy/min_x = -526\nbadxy/max_x = -525\nbadxy/min_y = 629\nbadxy/max_y = 629.5\n");
  /* no_index and mask_edge_pixels as panel keys */
  {
    char *u = malloc(strlen(t) + 64);
    sprintf(u, "%sp4a0/no_index = 1\np9a3/mask_edge_pixels = 2\n", t);
    free(t);
    t = u;
  }
  assert_int_equal(LoadText(t, &g, path), 0);
  assert_int_equal(MxGeomSetUp(g), 0);
  assert_int_equal(MxGeomGetPixels(g, &pix), 0);
  for (size_t k = 0; k < NPIX; k++) nbad += pix->bad[k];
  /* 10 x 5 + pixel (m0, ss0, fs0) at (-525.61, 629.06) px + one 64x128 panel + the ring of 2
     pixels around a 64x128 panel */
  assert_int_equal(nbad, 50 + 1 + 64 * 128 + (64 * 128 - 60 * 124));
  assert_true(pix->bad[0] && !pix->bad[1] && !pix->bad[MX_NFS]);
  assert_true(pix->bad[(size_t)(0 * MX_NSS + 70) * MX_NFS + 10] && pix->bad[(size_t)(0 * MX_NSS + 74) * MX_NFS + 19]);
  assert_true(!pix->bad[(size_t)(0 * MX_NSS + 75) * MX_NFS + 19] && !pix->bad[(size_t)(0 * MX_NSS + 70) * MX_NFS + 20]);
  assert_true(pix->bad[(size_t)(4 * MX_NSS + 0) * MX_NFS + 0] && !pix->bad[(size_t)(4 * MX_NSS + 64) * MX_NFS + 0]);
  assert_true(pix->bad[(size_t)(9 * MX_NSS + 193) * MX_NFS + 50] && !pix->bad[(size_t)(9 * MX_NSS + 194) * MX_NFS + 50]);
  assert_int_equal(MxGeomDestroy(&g), 0);
  unlink(path);
  free(t);
  /* a bad region naming a panel that does not exist, and one with a key of a panel */
  t = Transform(MAR18, NULL, NULL, NULL, "bad_b/min_fs = 0\nbad_b/max_fs = 1\nbad_b/min_ss = 0\nbad_b/max_ss = 1\nbad_b/panel = q9\n");
  ExpectFileError(t, "bad_b", "q9");
  free(t);
  t = Transform(MAR18, NULL, NULL, NULL, "bad_c/corner_x = 3\n");
  ExpectFileError(t, "bad_c", "corner_x");
  free(t);
}

/* Options override the file; out-of-range values are errors naming the option. */
static void test_options(void **state)
{
  MxGeom g;
  double D, lambda, bx, by, f;
  (void)state;
  static const struct {
    const char *opt, *val;
  } bad[] = {
    {"-geom_distance_m",   "-1"     },
    {"-geom_distance_m",   "0"      },
    {"-geom_energy_kev",   "0"      },
    {"-geom_wavelength_A", "-2"     },
    {"-geom_polarization", "1.5"    },
    {"-geom_quad_pos",     "1,2,3"  },
    {"-geom_beam_center_m", "0.1"   },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(PetscOptionsSetValue(NULL, bad[i].opt, bad[i].val), 0);
    assert_int_equal(MxGeomCreate(PETSC_COMM_WORLD, &g), 0);
    ExpectError(MxGeomSetFromOptions(g), bad[i].opt, NULL);
    assert_int_equal(MxGeomDestroy(&g), 0);
    assert_int_equal(PetscOptionsClearValue(NULL, bad[i].opt), 0);
  }
  /* both energy and wavelength; both file and quadrants */
  assert_int_equal(PetscOptionsSetValue(NULL, "-geom_energy_kev", "9"), 0);
  assert_int_equal(PetscOptionsSetValue(NULL, "-geom_wavelength_A", "1"), 0);
  assert_int_equal(MxGeomCreate(PETSC_COMM_WORLD, &g), 0);
  ExpectError(MxGeomSetFromOptions(g), "-geom_energy_kev", "-geom_wavelength_A", NULL);
  assert_int_equal(MxGeomDestroy(&g), 0);
  assert_int_equal(PetscOptionsClearValue(NULL, "-geom_wavelength_A"), 0);
  /* the file says 0.1249 m and 9.3 keV; the options win */
  assert_int_equal(PetscOptionsSetValue(NULL, "-geom_file", MAR18), 0);
  assert_int_equal(PetscOptionsSetValue(NULL, "-geom_distance_m", "8"), 0);
  assert_int_equal(PetscOptionsSetValue(NULL, "-geom_beam_center_m", "0.001,-0.002"), 0);
  assert_int_equal(PetscOptionsSetValue(NULL, "-geom_polarization", "0.5"), 0);
  assert_int_equal(MxGeomCreate(PETSC_COMM_WORLD, &g), 0);
  assert_int_equal(MxGeomSetFromOptions(g), 0);
  assert_int_equal(MxGeomSetUp(g), 0);
  assert_int_equal(MxGeomGetDistance(g, &D), 0);
  assert_int_equal(MxGeomGetWavelength(g, &lambda), 0);
  assert_int_equal(MxGeomGetBeamCenter(g, &bx, &by), 0);
  assert_int_equal(MxGeomGetPolarization(g, &f), 0);
  assert_true(D == 8 && fabs(lambda - MX_HC_KEV_A / 9) < 1e-15 && bx == 0.001 && by == -0.002 && f == 0.5);
  {
    const MxPixelGeom *pix;
    double             q;
    assert_int_equal(MxGeomGetPixels(g, &pix), 0);
    MxGeomScatter(pix->x_m[5], pix->y_m[5], pix->z_m[5], 0.001, -0.002, lambda, 0.5, NULL, &q, NULL, NULL, NULL);
    assert_true(q == pix->q_inv_A[5]);
  }
  assert_int_equal(MxGeomDestroy(&g), 0);
  assert_int_equal(PetscOptionsSetValue(NULL, "-geom_quad_pos", "-518,635,-568,-45,552,-231,602,485"), 0);
  assert_int_equal(MxGeomCreate(PETSC_COMM_WORLD, &g), 0);
  ExpectError(MxGeomSetFromOptions(g), "-geom_file", "-geom_quad_pos", NULL);
  assert_int_equal(MxGeomDestroy(&g), 0);
  assert_int_equal(PetscOptionsClearValue(NULL, "-geom_file"), 0);
  assert_int_equal(PetscOptionsClearValue(NULL, "-geom_quad_pos"), 0);
  assert_int_equal(PetscOptionsClearValue(NULL, "-geom_distance_m"), 0);
  assert_int_equal(PetscOptionsClearValue(NULL, "-geom_energy_kev"), 0);
  assert_int_equal(PetscOptionsClearValue(NULL, "-geom_beam_center_m"), 0);
  assert_int_equal(PetscOptionsClearValue(NULL, "-geom_polarization"), 0);
}

/* MxGeomSetModules: the modules set up get the same bits as with all; the others keep their
   positions and coverage (the viewer's image needs them) and NaN scattering quantities */
static void test_set_modules(void **state)
{
  MxGeom             ga, gs;
  const MxPixelGeom *a, *s;
  PetscBool          use[MX_NMOD] = {PETSC_FALSE};
  (void)state;
  use[3] = use[4] = use[15] = PETSC_TRUE;
  assert_int_equal(MxGeomCreate(PETSC_COMM_WORLD, &ga), 0);
  assert_int_equal(MxGeomCreate(PETSC_COMM_WORLD, &gs), 0);
  assert_int_equal(MxGeomLoadFile(ga, MAR18), 0);
  assert_int_equal(MxGeomLoadFile(gs, MAR18), 0);
  assert_int_equal(MxGeomSetModules(gs, use), 0);
  assert_int_equal(MxGeomSetUp(ga), 0);
  assert_int_equal(MxGeomSetUp(gs), 0);
  assert_int_not_equal(MxGeomSetModules(gs, use), 0); /* after set-up: an error */
  assert_int_equal(MxGeomGetPixels(ga, &a), 0);
  assert_int_equal(MxGeomGetPixels(gs, &s), 0);
  for (size_t k = 0; k < NPIX; k++) {
    const int m = (int)(k / MX_MODPIX);
    assert_true(a->x_m[k] == s->x_m[k] && a->y_m[k] == s->y_m[k] && a->z_m[k] == s->z_m[k]);
    assert_true(a->covered[k] == s->covered[k] && a->bad[k] == s->bad[k]);
    if (use[m]) assert_true(a->q_inv_A[k] == s->q_inv_A[k] && a->two_theta[k] == s->two_theta[k] && a->phi[k] == s->phi[k] && a->solid_angle[k] == s->solid_angle[k] && a->polarization[k] == s->polarization[k]);
    else assert_true(isnan(s->q_inv_A[k]) && isnan(s->two_theta[k]) && isnan(s->phi[k]) && isnan(s->solid_angle[k]) && isnan(s->polarization[k]));
  }
  assert_int_equal(MxGeomDestroy(&ga), 0);
  assert_int_equal(MxGeomDestroy(&gs), 0);
}

static int Setup(void **state)
{
  (void)state;
  if (PetscInitializeNoArguments()) return 1;
  if (MxErrorInstall()) return 1;
  return 0;
}

static int Teardown(void **state)
{
  (void)state;
  return PetscFinalize() ? 1 : 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_vector), cmocka_unit_test(test_scatter_hand), cmocka_unit_test(test_pixel_center_and_ideal), cmocka_unit_test(test_mar18),     cmocka_unit_test(test_mid_ideal_file),
    cmocka_unit_test(test_ideal_quads),  cmocka_unit_test(test_2d_layout),    cmocka_unit_test(test_errors),                 cmocka_unit_test(test_file_values), cmocka_unit_test(test_bad_regions),
    cmocka_unit_test(test_options),      cmocka_unit_test(test_set_modules),
  };
  return cmocka_run_group_tests(tests, Setup, Teardown);
}
