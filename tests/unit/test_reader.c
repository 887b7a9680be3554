/* Reader kernels: INDEX padding, balanced row partition, range parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <mxpcs/reader.h>
#include <math.h>

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
    MxPartitionRows(w, nparts, p, r, &nr);
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

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_index_valid_count),
    cmocka_unit_test(test_partition_one_module),
    cmocka_unit_test(test_partition_sparse),
    cmocka_unit_test(test_parse_range),
  };
  int fails;
  PetscCall(PetscInitialize(&argc, &argv, NULL, NULL));
  PetscCall(MxErrorInstall());
  fails = cmocka_run_group_tests(tests, NULL, NULL);
  PetscCall(PetscFinalize());
  return fails;
}
