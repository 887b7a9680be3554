/* Reader kernels: INDEX padding, balanced row partition, range parsing; the direct path's
   inflaters (libdeflate, ISA-L, zlib against zlib's own compress2), HDF5's byte unshuffle and
   the mask/NaN/scale pass against a plain scalar form. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <mxpcs/reader.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void test_index_valid_count(void **state)
{
  uint64_t a[6] = {5, 6, 7, 0, 0, 0}, b[3] = {0, 1, 2}, c[2] = {1, 2};
  assert_int_equal(MxIndexValidCount(a, 6), 3);
  assert_int_equal(MxIndexValidCount(b, 3), 0);
  assert_int_equal(MxIndexValidCount(c, 2), 2);
  assert_int_equal(MxIndexValidCount(c, 0), 0);
}

/* every row of weight > 0 lands in exactly one part; parts hold total/n within one row's weight */
static void check_partition(const double *w, int nparts)
{
  static int owner[MX_NMOD * MX_NSS];
  double     total = 0, wmax = 0;
  MxRowRange r[MX_NMOD * MX_NSS / 2 + 1];
  int        nr;

  for (int i = 0; i < MX_NMOD * MX_NSS; i++) {
    owner[i] = -1;
    total += w[i];
    if (w[i] > wmax) wmax = w[i];
  }
  for (int p = 0; p < nparts; p++) {
    double got = 0;
    MxPartitionRows(w, 1, nparts, p, r, &nr);
    for (int k = 0; k < nr; k++) {
      assert_true(r[k].ss0 < r[k].ss1);
      for (int ss = r[k].ss0; ss < r[k].ss1; ss++) {
        int i = r[k].module * MX_NSS + ss;
        assert_true(w[i] > 0);
        assert_int_equal(owner[i], -1);
        owner[i] = p;
        got += w[i];
      }
    }
    assert_true(fabs(got - total / nparts) <= wmax + 1e-9);
  }
  for (int i = 0; i < MX_NMOD * MX_NSS; i++) assert_true(w[i] <= 0 || owner[i] >= 0);
}

static void test_partition_one_module(void **state)
{
  static double w[MX_NMOD * MX_NSS];
  memset(w, 0, sizeof w);
  /* all ring pixels in one module, unevenly spread: the parts must still balance */
  for (int ss = 100; ss < 300; ss++) w[4 * MX_NSS + ss] = 1 + (ss % 17);
  for (int n = 1; n <= 8; n++) check_partition(w, n);
}

static void test_partition_sparse(void **state)
{
  static double w[MX_NMOD * MX_NSS];
  memset(w, 0, sizeof w);
  for (int m = 0; m < MX_NMOD; m += 3)
    for (int ss = 0; ss < MX_NSS; ss += 5) w[m * MX_NSS + ss] = 128;
  for (int n = 1; n <= 6; n++) check_partition(w, n);
}

static void test_parse_range(void **state)
{
  PetscInt64 a, b;
  assert_int_equal(MxParseRange(PETSC_COMM_SELF, "3:17", "-x", &a, &b), 0);
  assert_int_equal(a, 3);
  assert_int_equal(b, 17);
  MxErrorClear();
  assert_int_not_equal(MxParseRange(PETSC_COMM_SELF, "17:3", "-x", &a, &b), 0);
  assert_string_equal(MxErrorMessage(NULL), "option -x: range 17:3 must have 0 <= first <= last");
  MxErrorClear();
  assert_int_not_equal(MxParseRange(PETSC_COMM_SELF, "5", "-reader_pulses", &a, &b), 0);
  assert_string_equal(MxErrorMessage(NULL), "option -reader_pulses: '5' is not a range first:last");
  assert_int_not_equal(MxParseRange(PETSC_COMM_SELF, "a:b", "-x", &a, &b), 0);
  assert_int_not_equal(MxParseRange(PETSC_COMM_SELF, "1:2x", "-x", &a, &b), 0);
  MxErrorClear();
}


/* every inflater gives back zlib's input at levels 1-9; a corrupt stream or a wrong length fails */
static void test_inflaters(void **state)
{
  const size_t   n = 65536 * 4;
  unsigned char *raw = malloc(n), *z = malloc(compressBound(n)), *out = malloc(n);
  for (size_t i = 0; i < n; i++) raw[i] = (unsigned char)((i % 4 == 0 && i % 1000 < 40) ? (i * 2654435761u) >> 24 : 0);
  for (int kind = MX_INFLATE_LIBDEFLATE; kind <= MX_INFLATE_ZLIB; kind++) {
    MxInflater inf;
    assert_int_equal(MxInflaterCreate((MxInflateKind)kind, &inf), 0);
    for (int lev = 1; lev <= 9; lev++) {
      uLongf zn = compressBound(n);
      assert_int_equal(compress2(z, &zn, raw, n, lev), Z_OK);
      memset(out, 0xab, n);
      assert_int_equal(MxInflate(inf, z, zn, out, n), 0);
      assert_memory_equal(out, raw, n);
      assert_int_not_equal(MxInflate(inf, z, zn, out, n - 4), 0); /* the chunk is not the size it should be */
      z[zn - 1] ^= 0x01; /* the adler32 of the stream does not match: every inflater checks it */
      if (!MxInflate(inf, z, zn, out, n)) fail_msg("inflater %d level %d: a wrong adler32 passed", kind, lev);
      z[zn - 1] ^= 0x01;
      memset(z + 8, 0xff, 64); /* bytes overwritten as the bad-input test does (not every flipped bit changes the output) */
      if (!MxInflate(inf, z, zn, out, n)) fail_msg("inflater %d level %d: a corrupt stream inflated without error", kind, lev);
    }
    MxInflaterDestroy(&inf);
    assert_null(inf);
  }
  free(raw);
  free(z);
  free(out);
}

/* HDF5's shuffle (byte b of element i at b*n + i), undone, for 4- and 2-byte elements and a tail */
static void test_unshuffle(void **state)
{
  unsigned char in[403], sh[403], out[403];
  for (int i = 0; i < 403; i++) in[i] = (unsigned char)(i * 37 + 11);
  for (size_t es = 2; es <= 4; es += 2) {
    size_t n = 403 / es;
    for (size_t i = 0; i < n; i++)
      for (size_t b = 0; b < es; b++) sh[b * n + i] = in[i * es + b];
    memcpy(sh + n * es, in + n * es, 403 - n * es);
    MxUnshuffle(sh, 403, es, out);
    assert_memory_equal(out, in, 403);
  }
}

/* the vectorised pass equals the scalar form of the HDF5 path, bit for bit */
static void test_finish_rows(void **state)
{
  enum { N = 1037 };
  float          v[N], ref[N];
  unsigned char  b[N], bref[N], fl[N];
  uint8_t        um[N];
  for (int mode = 0; mode < 4; mode++) {
    const uint8_t       *u = mode & 1 ? um : NULL;
    const unsigned char *f = mode & 2 ? fl : NULL;
    size_t               cref = 0;
    for (int p = 0; p < N; p++) {
      v[p]  = p % 97 == 0 ? NAN : p % 89 == 0 ? -INFINITY : p % 83 == 0 ? -0.0f : (float)(p * 0.37 - 100);
      um[p] = (uint8_t)(p % 13 == 0 ? 3 : 0);
      fl[p] = (unsigned char)(p % 7 == 0);
      ref[p] = v[p];
    }
    for (int p = 0; p < N; p++) {
      int flagged = (u && u[p]) || (f && f[p]), nf = !isfinite(ref[p]);
      cref += (size_t)(nf && !flagged);
      bref[p] = (unsigned char)(nf || flagged);
      ref[p]  = bref[p] ? 0.0f : ref[p] * 0.125f;
    }
    assert_int_equal(MxReaderFinishRows(v, b, u, f, N, 0.125f), cref);
    assert_memory_equal(v, ref, sizeof v);
    assert_memory_equal(b, bref, sizeof b);
  }
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_index_valid_count),
    cmocka_unit_test(test_partition_one_module),
    cmocka_unit_test(test_partition_sparse),
    cmocka_unit_test(test_parse_range),
    cmocka_unit_test(test_inflaters),
    cmocka_unit_test(test_unshuffle),
    cmocka_unit_test(test_finish_rows),
  };
  int fails;
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(MxErrorInstall());
  fails = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return fails;
}
