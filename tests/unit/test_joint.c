/* Unit tests of the heating laws of the joint fit (include/mxpcs/joint.h). The least-squares
   layer it solves with has its own tests: test_lsq.c. */
#include <mxpcs/joint.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void test_heating_laws(void **state)
{
  (void)state;
  assert_true(MxHeatingFactor(MX_HEAT_NONE, 3.0, 298.15, 12, 5e-6) == 1.0);
  assert_true(fabs(MxHeatingFactor(MX_HEAT_LINEAR, 0.02, 298.15, 12, 10e-6) - 1.2) < 1e-15);
  /* stokes: (T/T0) exp(-Ea/R (1/T - 1/T0)) at T = T0 + 0.9 K/us * 20 us */
  double T = 298.15 + 18.0, h = (T / 298.15) * exp(-12e3 / 8.314462618 * (1 / T - 1 / 298.15));
  assert_true(fabs(MxHeatingFactor(MX_HEAT_STOKES, 0.9, 298.15, 12, 20e-6) / h - 1) < 1e-14);
  /* Ea = 0: D ~ T */
  assert_true(fabs(MxHeatingFactor(MX_HEAT_STOKES, 1.0, 300, 0, 30e-6) - 330.0 / 300.0) < 1e-14);
  assert_true(isnan(MxHeatingFactor(MX_HEAT_STOKES, -100, 300, 12, 10e-6)));
}

int main(int argc, char **argv)
{
  int rc;
  if (PetscInitialize(&argc, &argv, NULL, NULL)) return 1;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_heating_laws),
  };
  rc = cmocka_run_group_tests_name("joint", tests, NULL, NULL);
  if (PetscFinalize()) return 1;
  return rc;
}
