# mxpcs md (tests/md): short LAMMPS runs (small N, few steps) that can fail on the physics and on
# the plumbing. The long comparison with tests/data/reference/lj_langevin_Ds.csv is
# tools/validate_md.sh (docs/md.md has its numbers).
set(MD ${CMAKE_CURRENT_SOURCE_DIR}/md)

# the S(q) FFT distributed over 2 ranks gives the one-rank result (test_md.c, test_sq_mpi)
add_test(NAME md.sq_fftw_mpi_n2 COMMAND ${MX_MPIEXEC} -n 2 $<TARGET_FILE:test_md>)
set_tests_properties(md.sq_fftw_mpi_n2 PROPERTIES PROCESSORS 2 LABELS "md;mpi" ENVIRONMENT "${MX_TEST_ENV}" TIMEOUT 120)

# epsilon = 0 and very dilute phi: Ds/D0 -> 1 within errors
mx_script_test(md.dilute md ${MX_PYTHON} ${MD}/md_check.py dilute)
# phi = 0.3: Ds/D0 falls monotonically with epsilon; S(q) vs Percus-Yevick; the match, also
# from a target file, and a target outside the scan flagged (never extrapolated)
mx_script_test(md.monotonic md ${MX_PYTHON} ${MD}/md_check.py monotonic)
# bisection around epsilon* (points, bracket, error budget vs an independent computation), the
# second run length at coexistence (prefix = the usual run, bitwise), -md_cutoff unshifted
mx_script_test(md.refine md ${MX_PYTHON} ${MD}/md_check.py refine)
# same seed and layout: bitwise identical; 2 groups of 1 rank = 1 group of 1 rank, bitwise
mx_script_test(md.repeat md ${MX_PYTHON} ${MD}/md_check.py repeat)
# 1 and 2 ranks per LAMMPS instance agree within the statistical errors
mx_script_test(md.ranks_per_sim md ${MX_PYTHON} ${MD}/md_check.py ranks)
set_tests_properties(md.repeat md.ranks_per_sim md.refine PROPERTIES PROCESSORS 2)
# bad input: one clear line, non-zero exit, no output file; -help lists every option
mx_script_test(md.bad_input md ${MX_PYTHON} ${MD}/md_check.py bad)
mx_expect_failures(md.bad_input)
set_tests_properties(md.dilute md.monotonic md.refine md.repeat md.ranks_per_sim md.bad_input PROPERTIES TIMEOUT 300)
