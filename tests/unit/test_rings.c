/* Unit tests of the q-ring stage: edges, assignment at the boundaries, sectors, masking,
   dropping of small rings, errors, and the HDF5 output. */
#include <mxpcs/rings.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#define NPIX ((size_t)MX_NMOD * MX_MODPIX)

#include "errtest.h"

/* ---------- kernels ---------- */

static void test_edges_lin(void **state)
{
  double e[8];
  (void)state;
  assert_int_equal(MxRingsMakeEdges(MX_RINGS_LIN, 0.0, 1.0, 4, e), 0);
  assert_true(e[0] == 0 && e[1] == 0.25 && e[2] == 0.5 && e[3] == 0.75 && e[4] == 1);
  assert_int_equal(MxRingsMakeEdges(MX_RINGS_LIN, 0.01, 0.05, 4, e), 0);
  assert_true(e[0] == 0.01 && e[4] == 0.05);
  for (int i = 0; i <= 4; i++) assert_true(fabs(e[i] - 0.01 * (i + 1)) < 1e-17);
  assert_int_equal(MxRingsMakeEdges(MX_RINGS_LIN, 0.002, 0.003, 1, e), 0);
  assert_true(e[0] == 0.002 && e[1] == 0.003);
}

static void test_edges_log(void **state)
{
  double e[8];
  (void)state;
  assert_int_equal(MxRingsMakeEdges(MX_RINGS_LOG, 1e-3, 1e-1, 2, e), 0);
  assert_true(e[0] == 1e-3 && e[2] == 1e-1);
  assert_true(fabs(e[1] / 1e-2 - 1) < 1e-14);
  assert_int_equal(MxRingsMakeEdges(MX_RINGS_LOG, 0.004, 0.1, 5, e), 0);
  for (int i = 0; i <= 5; i++) assert_true(fabs(e[i] / (0.004 * pow(25.0, i / 5.0)) - 1) < 1e-14);
  for (int i = 1; i < 5; i++) assert_true(fabs(e[i + 1] / e[i] - e[1] / e[0]) < 1e-13); /* constant ratio */
}

static void test_edges_bad(void **state)
{
  double e[8];
  (void)state;
  assert_int_not_equal(MxRingsMakeEdges(MX_RINGS_LIN, 0.1, 0.1, 4, e), 0);
  assert_int_not_equal(MxRingsMakeEdges(MX_RINGS_LIN, 0.2, 0.1, 4, e), 0);
  assert_int_not_equal(MxRingsMakeEdges(MX_RINGS_LIN, -0.1, 0.1, 4, e), 0);
  assert_int_not_equal(MxRingsMakeEdges(MX_RINGS_LIN, 0.0, 0.1, 0, e), 0);
  assert_int_not_equal(MxRingsMakeEdges(MX_RINGS_LIN, NAN, 0.1, 3, e), 0);
  assert_int_not_equal(MxRingsMakeEdges(MX_RINGS_LOG, 0.0, 0.1, 3, e), 0);
  assert_int_not_equal(MxRingsMakeEdges(MX_RINGS_LIST, 0.01, 0.1, 3, e), 0);
}

static void test_assign_boundaries(void **state)
{
  const double edges[3] = {0.1, 0.2, 0.3};
  const double q[9]     = {0.05, 0.1, 0.15, 0.2, 0.25, nextafter(0.3, 0), 0.3, 0.35, NAN};
  const int    want[9]  = {-1, 0, 0, 1, 1, 1, -1, -1, -1};
  int          ring[9];
  (void)state;
  MxRingsAssign(9, q, NULL, NULL, 3, edges, 1, ring);
  for (int k = 0; k < 9; k++) {
    if (ring[k] != want[k]) fail_msg("q = %.17g: ring %d, expected %d", q[k], ring[k], want[k]);
  }
  /* just below an edge stays in the lower bin */
  {
    const double q2 = nextafter(0.2, 0);
    MxRingsAssign(1, &q2, NULL, NULL, 3, edges, 1, ring);
    assert_int_equal(ring[0], 0);
  }
}

static void test_assign_sectors(void **state)
{
  const double edges[3] = {0.0, 1.0, 2.0};
  /* 4 sectors: [-pi,-pi/2) [-pi/2,0) [0,pi/2) [pi/2,pi); pi is the direction of -pi */
  const double phi[10] = {-PETSC_PI, -PETSC_PI / 2 - 0.1, -PETSC_PI / 2, -0.1, 0.0, 0.7, PETSC_PI / 2 + 1e-9, 3.0, PETSC_PI, nextafter(0.0, -1)};
  const int    sect[10] = {0, 0, 1, 1, 2, 2, 3, 3, 0, 1};
  double       q[10];
  int          ring[10];
  (void)state;
  for (int k = 0; k < 10; k++) q[k] = k % 2 ? 1.5 : 0.5; /* alternate radial bins 0 and 1 */
  MxRingsAssign(10, q, phi, NULL, 3, edges, 4, ring);
  for (int k = 0; k < 10; k++) {
    const int want = (k % 2) * 4 + sect[k];
    if (ring[k] != want) fail_msg("phi = %.17g, q = %g: ring %d, expected %d", phi[k], q[k], ring[k], want);
  }
  /* the edges the kernel uses are the ones written out */
  assert_true(MxRingsPhiEdge(0, 4) == -PETSC_PI && MxRingsPhiEdge(2, 4) == 0 && MxRingsPhiEdge(4, 4) == PETSC_PI);
  for (int j = 0; j < 7; j++) {
    const double p = MxRingsPhiEdge(j, 7), half = 0.5;
    MxRingsAssign(1, &half, &p, NULL, 3, edges, 7, ring);
    assert_int_equal(ring[0], j);
  }
}

static void test_assign_mask(void **state)
{
  const double        edges[3] = {0.0, 1.0, 2.0};
  const double        q[4]     = {0.5, 0.5, 1.5, 1.5};
  const unsigned char bad[4]   = {0, 1, 0, 255};
  int                 ring[4];
  (void)state;
  MxRingsAssign(4, q, NULL, bad, 3, edges, 1, ring);
  assert_true(ring[0] == 0 && ring[1] == -1 && ring[2] == 1 && ring[3] == -1);
}

/* ---------- object on the ideal MID detector (8 m, 9 keV) ---------- */

static MxGeom geom; /* shared by the object tests, set up once */

static void CheckConsistent(MxRings r, const unsigned char *bad)
{
  const int         *roi;
  const double      *qm, *edges;
  const PetscInt    *npix;
  const int         *iq, *iphi;
  const MxPixelGeom *pix;
  PetscInt           n, ne, nphi;
  PetscInt          *count;

  assert_int_equal(MxRingsGetMap(r, &roi), 0);
  assert_int_equal(MxRingsGetRings(r, &n, &qm, &npix), 0);
  assert_int_equal(MxRingsGetEdges(r, &ne, &edges, &nphi), 0);
  assert_int_equal(MxRingsGetRingIndices(r, &iq, &iphi), 0);
  assert_int_equal(MxGeomGetPixels(geom, &pix), 0);
  count = calloc((size_t)n, sizeof *count);
  for (size_t k = 0; k < NPIX; k++) {
    if (!roi[k]) continue;
    assert_true(roi[k] >= 1 && roi[k] <= n);
    assert_true(!bad || !bad[k]);
    {
      const int i = roi[k] - 1;
      count[i]++;
      assert_true(pix->q_inv_A[k] >= edges[iq[i]] && pix->q_inv_A[k] < edges[iq[i] + 1]);
      if (nphi > 1) assert_true(pix->phi[k] >= MxRingsPhiEdge(iphi[i], (int)nphi) || (iphi[i] == 0 && pix->phi[k] == PETSC_PI));
    }
  }
  for (PetscInt i = 0; i < n; i++) {
    assert_int_equal(count[i], npix[i]);
    assert_true(qm[i] >= edges[iq[i]] && qm[i] < edges[iq[i] + 1]);
    if (i) assert_true(iq[i] * nphi + iphi[i] > iq[i - 1] * nphi + iphi[i - 1]); /* contiguous, in order */
  }
  free(count);
}

static void test_rings_defaults(void **state)
{
  MxRings            r;
  const MxPixelGeom *pix;
  const double      *edges, *qm;
  const PetscInt    *npix;
  PetscInt           n, ne, nphi, nd, total = 0;
  double             qmin = INFINITY, qmax = -INFINITY, sum = 0;
  const int         *roi;
  (void)state;
  assert_int_equal(MxRingsCreate(PETSC_COMM_WORLD, &r), 0);
  assert_int_equal(MxRingsSetUp(r, geom, NULL), 0);
  assert_int_equal(MxRingsGetEdges(r, &ne, &edges, &nphi), 0);
  assert_int_equal(MxRingsGetRings(r, &n, &qm, &npix), 0);
  assert_int_equal(MxRingsGetDropped(r, &nd), 0);
  assert_int_equal(MxGeomGetPixels(geom, &pix), 0);
  for (size_t k = 0; k < NPIX; k++) {
    qmin = fmin(qmin, pix->q_inv_A[k]);
    qmax = fmax(qmax, pix->q_inv_A[k]);
  }
  /* 10 linear rings over all good pixels; the largest q is inside */
  assert_true(ne == 11 && nphi == 1 && n == 10 && nd == 0);
  assert_true(edges[0] == qmin && edges[10] > qmax && edges[10] == nextafter(qmax, INFINITY));
  for (PetscInt i = 0; i < n; i++) total += npix[i];
  assert_int_equal(total, (PetscInt)NPIX);
  CheckConsistent(r, NULL);
  /* mean q of ring 3, recomputed */
  assert_int_equal(MxRingsGetMap(r, &roi), 0);
  for (size_t k = 0; k < NPIX; k++)
    if (roi[k] == 4) sum += pix->q_inv_A[k];
  assert_true(fabs(sum / npix[3] - qm[3]) < 1e-15);
  assert_int_equal(MxRingsDestroy(&r), 0);
  assert_null(r);
  assert_int_equal(MxRingsDestroy(&r), 0);
}

static void test_rings_sectors_log_mask(void **state)
{
  MxRings         r;
  unsigned char  *bad = calloc(NPIX, 1);
  const PetscInt *npix;
  const int      *roi, *iphi;
  const double   *edges;
  PetscInt        n, ne, nphi, total = 0;
  (void)state;
  for (size_t k = 0; k < MX_MODPIX; k++) bad[k] = 1; /* module 0 */
  bad[5 * MX_MODPIX + 77] = 1;
  assert_int_equal(MxRingsCreate(PETSC_COMM_WORLD, &r), 0);
  assert_int_equal(MxRingsSetSpacing(r, MX_RINGS_LOG), 0);
  assert_int_equal(MxRingsSetNumber(r, 6), 0);
  assert_int_equal(MxRingsSetQRange(r, 0.005, 0.1), 0);
  assert_int_equal(MxRingsSetSectors(r, 4), 0);
  assert_int_equal(MxRingsSetMinPixels(r, 1), 0);
  assert_int_equal(MxRingsSetUp(r, geom, bad), 0);
  assert_int_equal(MxRingsGetEdges(r, &ne, &edges, &nphi), 0);
  assert_true(ne == 7 && nphi == 4 && edges[0] == 0.005 && edges[6] == 0.1);
  assert_true(fabs(edges[1] / edges[0] - pow(20.0, 1.0 / 6)) < 1e-13);
  assert_int_equal(MxRingsGetRings(r, &n, NULL, &npix), 0);
  assert_int_equal(MxRingsGetRingIndices(r, NULL, &iphi), 0);
  assert_int_equal(MxRingsGetMap(r, &roi), 0);
  for (size_t k = 0; k < MX_MODPIX; k++) assert_int_equal(roi[k], 0);
  assert_int_equal(roi[5 * MX_MODPIX + 77], 0);
  CheckConsistent(r, bad);
  {
    /* every good pixel inside [0.005, 0.1) is in a ring */
    const MxPixelGeom *pix;
    PetscInt           want = 0, sectors[4] = {0, 0, 0, 0};
    assert_int_equal(MxGeomGetPixels(geom, &pix), 0);
    for (size_t k = 0; k < NPIX; k++) want += !bad[k] && pix->q_inv_A[k] >= 0.005 && pix->q_inv_A[k] < 0.1;
    for (PetscInt i = 0; i < n; i++) total += npix[i], sectors[iphi[i]] += npix[i];
    assert_int_equal(total, want);
    for (int j = 0; j < 4; j++) assert_true(sectors[j] > 0);
  }
  assert_int_equal(MxRingsDestroy(&r), 0);
  free(bad);
}

/* Rings below min_pixels are dropped, counted and reported; the rest renumbered. */
static void test_rings_drop(void **state)
{
  MxRings            r;
  const MxPixelGeom *pix;
  const PetscInt    *npix;
  const int         *iq;
  PetscInt           n, nd, expect_kept = 0, cand[40] = {0};
  double             e[41];
  int               *ring = malloc(NPIX * sizeof *ring);
  const PetscInt     minpix = 20000;
  (void)state;
  assert_int_equal(MxGeomGetPixels(geom, &pix), 0);
  /* 40 narrow rings from 0 to 0.11: the innermost ones lie in the central hole */
  assert_int_equal(MxRingsMakeEdges(MX_RINGS_LIN, 0.0, 0.11, 40, e), 0);
  MxRingsAssign(NPIX, pix->q_inv_A, pix->phi, NULL, 41, e, 1, ring);
  for (size_t k = 0; k < NPIX; k++)
    if (ring[k] >= 0) cand[ring[k]]++;
  for (int i = 0; i < 40; i++) expect_kept += cand[i] >= minpix;
  assert_true(expect_kept > 0 && expect_kept < 40);
  assert_int_equal(MxRingsCreate(PETSC_COMM_WORLD, &r), 0);
  assert_int_equal(MxRingsSetEdges(r, 41, e), 0);
  assert_int_equal(MxRingsSetMinPixels(r, minpix), 0);
  assert_int_equal(MxRingsSetUp(r, geom, NULL), 0);
  assert_int_equal(MxRingsGetRings(r, &n, NULL, &npix), 0);
  assert_int_equal(MxRingsGetDropped(r, &nd), 0);
  assert_int_equal(MxRingsGetRingIndices(r, &iq, NULL), 0);
  assert_int_equal(n, expect_kept);
  assert_int_equal(nd, 40 - expect_kept);
  for (PetscInt i = 0, j = 0; i < 40; i++)
    if (cand[i] >= minpix) {
      assert_int_equal(iq[j], i);
      assert_int_equal(npix[j], cand[i]);
      j++;
    }
  CheckConsistent(r, NULL);
  assert_int_equal(MxRingsView(r, PETSC_VIEWER_STDOUT_WORLD), 0); /* shows the dropped lines */
  /* nothing left: an error naming the option */
  assert_int_equal(MxRingsSetMinPixels(r, 2000000), 0);
  ExpectError(MxRingsSetUp(r, geom, NULL), "-rings_min_pixels", NULL);
  assert_int_equal(MxRingsDestroy(&r), 0);
  free(ring);
}

static void test_rings_errors(void **state)
{
  MxRings r;
  (void)state;
  /* edges not increasing (setter and option) */
  {
    const double e[3] = {0.01, 0.03, 0.02};
    assert_int_equal(MxRingsCreate(PETSC_COMM_WORLD, &r), 0);
    assert_int_equal(MxRingsSetEdges(r, 3, e), 0);
    ExpectError(MxRingsSetUp(r, geom, NULL), "-rings_q_edges", "increasing", NULL);
    assert_int_equal(MxRingsDestroy(&r), 0);
  }
  {
    static const struct {
      const char *opt, *val, *opt2, *val2, *needle;
    } bad[] = {
      {"-rings_q_edges", "0.01,0.03,0.02", NULL, NULL, "-rings_q_edges"},
      {"-rings_q_edges", "0.01,0.01", NULL, NULL, "-rings_q_edges"},
      {"-rings_q_edges", "0.01", NULL, NULL, "-rings_q_edges"},
      {"-rings_n", "0", NULL, NULL, "-rings_n"},
      {"-rings_q_min", "-0.1", NULL, NULL, "-rings_q_min"},
      {"-rings_q_min", "0.05", "-rings_q_max", "0.01", "-rings_q_max"},
      {"-rings_q_min", "0.05", "-rings_q_max", "0.05", "-rings_q_min"},
      {"-rings_spacing", "log", "-rings_q_min", "0", "-rings_spacing"},
      {"-rings_spacing", "cubic", NULL, NULL, "-rings_spacing"},
      {"-rings_n_phi", "0", NULL, NULL, "-rings_n_phi"},
      {"-rings_min_pixels", "0", NULL, NULL, "-rings_min_pixels"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      assert_int_equal(PetscOptionsSetValue(NULL, bad[i].opt, bad[i].val), 0);
      if (bad[i].opt2) assert_int_equal(PetscOptionsSetValue(NULL, bad[i].opt2, bad[i].val2), 0);
      assert_int_equal(MxRingsCreate(PETSC_COMM_WORLD, &r), 0);
      ExpectError(MxRingsSetFromOptions(r), bad[i].needle, NULL);
      assert_int_equal(MxRingsDestroy(&r), 0);
      assert_int_equal(PetscOptionsClearValue(NULL, bad[i].opt), 0);
      if (bad[i].opt2) assert_int_equal(PetscOptionsClearValue(NULL, bad[i].opt2), 0);
    }
  }
  /* q_min given above the largest q of the detector: caught in SetUp with the range */
  assert_int_equal(PetscOptionsSetValue(NULL, "-rings_q_min", "0.5"), 0);
  assert_int_equal(MxRingsCreate(PETSC_COMM_WORLD, &r), 0);
  assert_int_equal(MxRingsSetFromOptions(r), 0);
  ExpectError(MxRingsSetUp(r, geom, NULL), "-rings_q_min", "0.5", NULL);
  assert_int_equal(MxRingsDestroy(&r), 0);
  assert_int_equal(PetscOptionsClearValue(NULL, "-rings_q_min"), 0);
  /* every pixel masked */
  {
    unsigned char *all = malloc(NPIX);
    memset(all, 1, NPIX);
    assert_int_equal(MxRingsCreate(PETSC_COMM_WORLD, &r), 0);
    ExpectError(MxRingsSetUp(r, geom, all), "no good pixels", NULL);
    assert_int_equal(MxRingsDestroy(&r), 0);
    free(all);
  }
  /* a good option set works: listed edges override q range */
  assert_int_equal(PetscOptionsSetValue(NULL, "-rings_q_edges", "0.01,0.02,0.04"), 0);
  assert_int_equal(PetscOptionsSetValue(NULL, "-rings_q_min", "0.03"), 0);
  assert_int_equal(PetscOptionsSetValue(NULL, "-rings_n_phi", "2"), 0);
  assert_int_equal(MxRingsCreate(PETSC_COMM_WORLD, &r), 0);
  assert_int_equal(MxRingsSetFromOptions(r), 0);
  assert_int_equal(MxRingsSetUp(r, geom, NULL), 0);
  {
    const double *e;
    PetscInt      ne, nphi, n;
    assert_int_equal(MxRingsGetEdges(r, &ne, &e, &nphi), 0);
    assert_int_equal(MxRingsGetRings(r, &n, NULL, NULL), 0);
    assert_true(ne == 3 && e[0] == 0.01 && e[1] == 0.02 && e[2] == 0.04 && nphi == 2 && n == 4);
  }
  CheckConsistent(r, NULL);
  assert_int_equal(MxRingsDestroy(&r), 0);
  assert_int_equal(PetscOptionsClearValue(NULL, "-rings_q_edges"), 0);
  assert_int_equal(PetscOptionsClearValue(NULL, "-rings_q_min"), 0);
  assert_int_equal(PetscOptionsClearValue(NULL, "-rings_n_phi"), 0);
}

/* What MxRingsWriteHDF5 writes is what the object holds. */
static void test_rings_hdf5(void **state)
{
  MxRings         r;
  hid_t           f, d;
  char            path[] = "/tmp/mxpcs_test_rings.h5";
  const int      *roi, *iq, *iphi;
  const double   *qm, *edges;
  const PetscInt *npix;
  PetscInt        n, ne, nphi;
  int            *roi2 = malloc(NPIX * sizeof *roi2), iq2[64], iphi2[64];
  double          q2[64], e2[64], pe[8];
  long long       np2[64];
  (void)state;
  assert_int_equal(MxRingsCreate(PETSC_COMM_WORLD, &r), 0);
  assert_int_equal(MxRingsSetSectors(r, 3), 0);
  assert_int_equal(MxRingsSetNumber(r, 5), 0);
  assert_int_equal(MxRingsSetUp(r, geom, NULL), 0);
  {
    MxOut o;
    assert_int_equal(MxOutCreate(PETSC_COMM_WORLD, path, &o), 0);
    assert_int_equal(MxOutClose(&o, MxRingsWrite(r, o), NULL), 0);
  }
  assert_int_equal(MxRingsGetMap(r, &roi), 0);
  assert_int_equal(MxRingsGetRings(r, &n, &qm, &npix), 0);
  assert_int_equal(MxRingsGetEdges(r, &ne, &edges, &nphi), 0);
  assert_int_equal(MxRingsGetRingIndices(r, &iq, &iphi), 0);
  assert_true(n <= 64 && ne <= 64);
  f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  assert_true(f >= 0);
#define READ(name, type, buf) \
  do { \
    d = H5Dopen2(f, name, H5P_DEFAULT); \
    assert_true(d >= 0); \
    assert_true(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0); \
    H5Dclose(d); \
  } while (0)
  READ("/xpcs/qmap/roi_map", H5T_NATIVE_INT, roi2);
  READ("/xpcs/qmap/q", H5T_NATIVE_DOUBLE, q2);
  READ("/xpcs/qmap/q_edges", H5T_NATIVE_DOUBLE, e2);
  READ("/xpcs/qmap/npix", H5T_NATIVE_LLONG, np2);
  READ("/xpcs/qmap/phi_edges", H5T_NATIVE_DOUBLE, pe);
  READ("/xpcs/qmap/ring_q_index", H5T_NATIVE_INT, iq2);
  READ("/xpcs/qmap/ring_phi_index", H5T_NATIVE_INT, iphi2);
  assert_true(MxH5Exists(f, "/xpcs/qmap/q"));
  {
    char   units[32] = "";
    hid_t  a, t;
    d = H5Dopen2(f, "/xpcs/qmap/q", H5P_DEFAULT);
    a = H5Aopen(d, "units", H5P_DEFAULT);
    t = H5Aget_type(a);
    assert_true(H5Aread(a, t, units) >= 0);
    assert_string_equal(units, "1/angstrom");
    H5Tclose(t);
    H5Aclose(a);
    H5Dclose(d);
  }
  H5Fclose(f);
  assert_int_equal(memcmp(roi, roi2, NPIX * sizeof *roi2), 0);
  for (PetscInt i = 0; i < n; i++) assert_true(q2[i] == qm[i] && np2[i] == npix[i] && iq2[i] == iq[i] && iphi2[i] == iphi[i]);
  for (PetscInt i = 0; i < ne; i++) assert_true(e2[i] == edges[i]);
  assert_true(pe[0] == -PETSC_PI && pe[3] == PETSC_PI && fabs(pe[1] + PETSC_PI / 3) < 1e-15);
  unlink(path);
  free(roi2);
  assert_int_equal(MxRingsDestroy(&r), 0);
}

static int Setup(void **state)
{
  (void)state;
  if (PetscInitializeNoArguments()) return 1;
  if (MxErrorInstall() || MxH5Silence()) return 1;
  if (MxGeomCreate(PETSC_COMM_WORLD, &geom)) return 1; /* ideal MID layout, 8 m, 9 keV */
  return MxGeomSetUp(geom) ? 1 : 0;
}

static int Teardown(void **state)
{
  (void)state;
  if (MxGeomDestroy(&geom)) return 1;
  return PetscFinalize() ? 1 : 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_edges_lin),         cmocka_unit_test(test_edges_log),  cmocka_unit_test(test_edges_bad),
    cmocka_unit_test(test_assign_boundaries), cmocka_unit_test(test_assign_sectors), cmocka_unit_test(test_assign_mask),
    cmocka_unit_test(test_rings_defaults),    cmocka_unit_test(test_rings_sectors_log_mask), cmocka_unit_test(test_rings_drop),
    cmocka_unit_test(test_rings_errors),      cmocka_unit_test(test_rings_hdf5),
  };
  return cmocka_run_group_tests(tests, Setup, Teardown);
}
