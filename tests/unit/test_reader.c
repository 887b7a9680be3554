/* Reader kernels: INDEX padding, balanced row partition, range parsing; the direct path's
   inflaters (libdeflate, ISA-L, zlib against zlib's own compress2), HDF5's byte unshuffle, the
   mask/NaN/scale pass against a plain scalar form, and the whole chunk index read from a file's
   bytes (MxH5ChunkIndex) against HDF5's own lookup of every chunk. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <mxpcs/reader.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <fcntl.h>
#include <unistd.h>

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

/* A file of one (n, 512, 128) uint32 dataset "m" in (c0, 512, 128) chunks, written chunk by
   chunk with H5Dwrite_chunk: chunk c holds c in its first element; chunks c % 7 == 3 are not
   written, and with deflate chunks c % 11 == 5 are stored with the filter skipped (mask 1).
   libver bounds lo..hi, the B-tree's K (0: HDF5's 32), nattr attributes (a long object header);
   only the chunks below nwrite written (-1: all). */
static void ChunkFile(const char *path, int n, int c0, int deflate, H5F_libver_t lo, H5F_libver_t hi, unsigned k, int nattr, int unlimited, int nwrite)
{
  hid_t         fcpl = H5Pcreate(H5P_FILE_CREATE), fapl = H5Pcreate(H5P_FILE_ACCESS), dcpl = H5Pcreate(H5P_DATASET_CREATE), f, sp, d;
  hsize_t       dims[3] = {(hsize_t)n, 512, 128}, maxd[3] = {unlimited ? H5S_UNLIMITED : (hsize_t)n, 512, 128}, cd[3] = {(hsize_t)c0, 512, 128};
  const size_t  raw = (size_t)c0 * 512 * 128 * 4;
  uint32_t     *v   = calloc(raw / 4, 4);
  unsigned char *z  = malloc(raw + 1024);
  if (k) assert_true(H5Pset_istore_k(fcpl, k) >= 0);
  assert_true(H5Pset_libver_bounds(fapl, lo, hi) >= 0);
  assert_true(H5Pset_chunk(dcpl, 3, cd) >= 0);
  if (deflate) assert_true(H5Pset_deflate(dcpl, 1) >= 0);
  assert_true((f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl)) >= 0);
  sp = H5Screate_simple(3, dims, maxd);
  assert_true((d = H5Dcreate2(f, "m", H5T_STD_U32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT)) >= 0);
  for (int c = 0; c * c0 < n; c++) {
    hsize_t off[3] = {(hsize_t)c * (hsize_t)c0, 0, 0};
    uLongf  zn     = (uLongf)(raw + 1024);
    if (c % 7 == 3 || (nwrite >= 0 && c >= nwrite)) continue;
    v[0] = (uint32_t)c;
    if (!deflate || c % 11 == 5) assert_true(H5Dwrite_chunk(d, H5P_DEFAULT, deflate ? 1u : 0u, off, raw, v) >= 0);
    else {
      assert_int_equal(compress2(z, &zn, (const Bytef *)v, (uLong)raw, 1), Z_OK);
      assert_true(H5Dwrite_chunk(d, H5P_DEFAULT, 0, off, zn, z) >= 0);
    }
  }
  for (int a = 0; a < nattr; a++) {
    char  name[32];
    hid_t as = H5Screate(H5S_SCALAR), at;
    snprintf(name, sizeof name, "attribute_%03d", a);
    assert_true((at = H5Acreate2(d, name, H5T_NATIVE_INT, as, H5P_DEFAULT, H5P_DEFAULT)) >= 0);
    assert_true(H5Awrite(at, H5T_NATIVE_INT, &a) >= 0);
    H5Aclose(at);
    H5Sclose(as);
  }
  H5Dclose(d);
  H5Sclose(sp);
  H5Fclose(f);
  H5Pclose(fcpl);
  H5Pclose(fapl);
  H5Pclose(dcpl);
  free(v);
  free(z);
}

/* MxH5ChunkIndex on the file: 0 and every chunk as H5Dget_chunk_info_by_coord has it (want 0),
   or 1 with the arrays untouched (want 1) */
static void ChunkCheck(const char *path, int n, int c0, int want)
{
  const size_t nch = (size_t)(n + c0 - 1) / (size_t)c0;
  uint64_t    *ca  = calloc(nch, sizeof *ca);
  uint32_t    *cs  = calloc(nch, sizeof *cs);
  hid_t        f   = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d = H5Dopen2(f, "m", H5P_DEFAULT);
  int          fd  = open(path, O_RDONLY), direct = 0, skipped = 0;
  assert_true(f >= 0 && d >= 0 && fd >= 0);
  assert_int_equal(MxH5ChunkIndex(d, fd, (size_t)c0, nch, ca, cs, UINT64_MAX), want);
  for (size_t c = 0; c < nch; c++) {
    hsize_t  off[3] = {c * (hsize_t)c0, 0, 0}, sz = 0;
    unsigned fm     = 0;
    haddr_t  a      = HADDR_UNDEF;
    assert_true(H5Dget_chunk_info_by_coord(d, off, &fm, &a, &sz) >= 0);
    if (want) {
      assert_true(ca[c] == 0 && cs[c] == 0);
      continue;
    }
    if (a == HADDR_UNDEF) assert_true(ca[c] == UINT64_MAX); /* not written */
    else if (fm) {
      assert_true(ca[c] == UINT64_MAX && cs[c] == sz);
      skipped++;
    } else {
      assert_true(ca[c] == (uint64_t)a && cs[c] == sz);
      direct++;
    }
  }
  if (!want) assert_true(direct > 0);
  close(fd);
  H5Dclose(d);
  H5Fclose(f);
  free(ca);
  free(cs);
}

/* MxH5ChunkIndex on a damaged file: 1, the arrays untouched */
static void ChunkDeclined(const char *path, int n, int c0)
{
  const size_t nch = (size_t)(n + c0 - 1) / (size_t)c0;
  uint64_t    *ca  = calloc(nch, sizeof *ca);
  uint32_t    *cs  = calloc(nch, sizeof *cs);
  hid_t        f   = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), d = H5Dopen2(f, "m", H5P_DEFAULT);
  int          fd  = open(path, O_RDONLY);
  assert_true(f >= 0 && d >= 0 && fd >= 0);
  assert_int_equal(MxH5ChunkIndex(d, fd, (size_t)c0, nch, ca, cs, UINT64_MAX), 1);
  for (size_t c = 0; c < nch; c++) assert_true(ca[c] == 0 && cs[c] == 0);
  close(fd);
  H5Dclose(d);
  H5Fclose(f);
  free(ca);
  free(cs);
}

/* n bytes at off of the file replaced by b; the old bytes into old */
static void Patch(const char *path, long off, const void *b, size_t n, void *old)
{
  int fd = open(path, O_RDWR);
  assert_true(fd >= 0);
  assert_int_equal(pread(fd, old, n, off), (ssize_t)n);
  assert_int_equal(pwrite(fd, b, n, off), (ssize_t)n);
  close(fd);
}

static void test_chunk_index(void **state)
{
  char path[] = "/tmp/mxpcs_chunkindex_XXXXXX";
  int  fd     = mkstemp(path);
  (void)state;
  assert_true(fd >= 0);
  close(fd);
  /* HDF5 1.10's default format (version-1 object header): a deep B-tree (K = 2: at most 4
     chunks a node, 5 levels for 300), deflated chunks, some unwritten, some with the filter
     skipped */
  ChunkFile(path, 300, 1, 1, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST, 2, 0, 1, -1);
  ChunkCheck(path, 300, 1, 0);
  { /* the same file damaged in its last leaf node: signature, entry count, a chunk beyond the
       end of the file; each declined (and repaired before the next) */
    FILE         *fp = fopen(path, "rb");
    long          leaf = -1, size;
    unsigned char *all, old[16];
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    size = ftell(fp);
    rewind(fp);
    all = malloc((size_t)size);
    assert_int_equal(fread(all, 1, (size_t)size, fp), (size_t)size);
    fclose(fp);
    for (long k = 0; k + 24 <= size; k++)
      if (!memcmp(all + k, "TREE", 4) && all[k + 4] == 1 && all[k + 5] == 0) leaf = k;
    free(all);
    assert_true(leaf >= 0);
    const unsigned char sig[4] = {'T', 'R', 'E', 'X'}, many[2] = {0xff, 0xff}, far[8] = {0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0};
    Patch(path, leaf, sig, 4, old);
    ChunkDeclined(path, 300, 1);
    Patch(path, leaf, old, 4, old + 4);
    Patch(path, leaf + 6, many, 2, old);
    ChunkDeclined(path, 300, 1);
    Patch(path, leaf + 6, old, 2, old + 4);
    Patch(path, leaf + 24 + 40, far, 8, old); /* child 0 after key 0 (8 + 8 x 4 bytes) */
    ChunkDeclined(path, 300, 1);
    Patch(path, leaf + 24 + 40, old, 8, old + 8);
    ChunkCheck(path, 300, 1, 0); /* repaired */
  }
  /* the 1.8 format: a version-2 object header, long enough for continuation blocks */
  ChunkFile(path, 1000, 1, 1, H5F_LIBVER_V18, H5F_LIBVER_V18, 0, 60, 1, -1);
  ChunkCheck(path, 1000, 1, 0);
  /* uncompressed, two frames a chunk, the last chunk half outside the dataset */
  ChunkFile(path, 21, 2, 0, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST, 0, 0, 0, -1);
  ChunkCheck(path, 21, 2, 0);
  /* the 1.10 format without an unlimited dimension: a fixed array (version-4 layout), of
     unfiltered and filtered chunks, in one block and paged (1024 entries a page), with a page
     never written */
  ChunkFile(path, 50, 1, 0, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST, 0, 0, 0, -1);
  ChunkCheck(path, 50, 1, 0);
  ChunkFile(path, 50, 1, 1, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST, 0, 0, 0, -1);
  ChunkCheck(path, 50, 1, 0);
  ChunkFile(path, 2500, 1, 1, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST, 0, 0, 0, -1);
  ChunkCheck(path, 2500, 1, 0);
  ChunkFile(path, 2500, 1, 1, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST, 0, 0, 0, 900);
  ChunkCheck(path, 2500, 1, 0);
  ChunkFile(path, 2500, 1, 1, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST, 0, 0, 0, 2100);
  ChunkCheck(path, 2500, 1, 0);
  /* with an unlimited dimension, an extensible array: not read here, arrays untouched, the
     caller looks chunks up */
  ChunkFile(path, 50, 1, 1, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST, 0, 0, 1, -1);
  ChunkCheck(path, 50, 1, 1);
  unlink(path);
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
    cmocka_unit_test(test_chunk_index),
  };
  int fails;
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(MxErrorInstall());
  fails = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return fails;
}
