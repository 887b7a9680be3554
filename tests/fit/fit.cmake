# mxpcs fit, SAXS part (docs/fit.md): included from tests/tests.cmake. The cmocka unit test
# tests/unit/test_saxsfit.c is registered by tests/CMakeLists.txt (unit.test_saxsfit).
set(MX_FIT_TESTS ${CMAKE_CURRENT_SOURCE_DIR}/fit)
# sasmodels-generated sphere and sphere@hardsphere data with Poisson noise, text / 1/nm text /
# NXcanSAS: parameters within 3 sigma of the truth; TAO vs scipy least_squares and lmfit
mx_script_test(peer.fit_saxs_synthetic peer ${MX_PYTHON} ${MX_FIT_TESTS}/check_synthetic.py ${MX_TESTDATA}/fit_synthetic all)
# real measured data (sasview's Ludox silica SANS): mxpcs vs sasmodels + scipy within 1e-3
mx_script_test(peer.fit_saxs_real peer ${MX_PYTHON} ${MX_FIT_TESTS}/check_real.py ${MX_TESTDATA}/fit_real)
# the command: -help, bad input, non-convergence, -i results files, 1 vs 2 ranks
mx_script_test(fit.saxs_cli fit ${MX_PYTHON} ${MX_FIT_TESTS}/check_cli.py ${MX_TESTDATA}/fit_cli)
set_tests_properties(fit.saxs_cli PROPERTIES PROCESSORS 2)
mx_expect_failures(fit.saxs_cli)
