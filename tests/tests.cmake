# Registered tests beyond the cmocka units. MX_TESTDATA holds data the fixtures generate.
set(MX_TESTDATA ${PROJECT_BINARY_DIR}/testdata)
set(PEER ${CMAKE_CURRENT_SOURCE_DIR}/peer)

# mx_expect_failures(TEST...): for tests that launch mxpcs many times expecting a non-zero exit.
# When a rank exits non-zero, Open MPI 4's mpiexec kills the job's other processes with SIGCONT,
# a 1 s wait, SIGTERM, another 1 s wait, then SIGKILL (odls_base_sigkill_timeout = 1): ~2 s per
# failing launch at 1 rank, ~1 s at 2, ~2/3 of these tests' time. With 0 the signals follow
# at once. The exit code, the message and the no-output check are the same: mxpcs's ranks print
# and clean up before they exit (a collective error: after all ranks agreed; otherwise
# MPI_Abort), and a rank that would hang is killed by mpiexec with either setting.
function(mx_expect_failures)
  set_property(TEST ${ARGN} APPEND PROPERTY ENVIRONMENT OMPI_MCA_odls_base_sigkill_timeout=0)
endfunction()

mx_script_test(peer.mock_run fixture bash ${PEER}/make_mock.sh ${MX_TESTDATA})
set_tests_properties(peer.mock_run PROPERTIES FIXTURES_SETUP mock)
# the mock run goes once every test that reads it has run (disk on small CI machines)
if(NOT "$ENV{MX_KEEP_TESTDATA}" STREQUAL "1")
  mx_script_test(fixture.mock_cleanup fixture ${CMAKE_COMMAND} -E rm -rf ${MX_TESTDATA}/mock)
  set_tests_properties(fixture.mock_cleanup PROPERTIES FIXTURES_CLEANUP mock)
endif()

# reader vs extra_data, frame by frame, on every rank grid of 1, 2 and 4 ranks
foreach(kind raw proc proc_modern)
  foreach(grid "1;1" "2;1" "2;2" "4;1" "4;2" "4;4")
    list(GET grid 0 np)
    list(GET grid 1 pp)
    mx_script_test(peer.reader_${kind}_n${np}_p${pp} peer bash ${PEER}/crosscheck_reader.sh ${MX_TESTDATA} ${kind} ${np} ${pp})
    set_tests_properties(peer.reader_${kind}_n${np}_p${pp} PROPERTIES FIXTURES_REQUIRED mock PROCESSORS ${np})
  endforeach()
endforeach()
# selections: modules and pulses, also through the grid
mx_script_test(peer.reader_select_n2 peer bash ${PEER}/crosscheck_reader.sh ${MX_TESTDATA} proc 2 2 -reader_modules 3,5,15 -reader_pulses 1:1)
mx_script_test(peer.reader_select_raw_n4 peer bash ${PEER}/crosscheck_reader.sh ${MX_TESTDATA} raw 4 2 -reader_modules 0,3 -reader_pulses 0:0)
mx_script_test(peer.reader_cells_n2 peer bash ${PEER}/crosscheck_reader.sh ${MX_TESTDATA} proc_modern 2 1 -reader_pulse_by cell -reader_pulses 2:5 -reader_adu_per_photon 4)
set_tests_properties(peer.reader_select_n2 peer.reader_select_raw_n4 peer.reader_cells_n2 PROPERTIES FIXTURES_REQUIRED mock)
set_tests_properties(peer.reader_select_n2 peer.reader_cells_n2 PROPERTIES PROCESSORS 2)
set_tests_properties(peer.reader_select_raw_n4 PROPERTIES PROCESSORS 4)

foreach(np 1 2 4)
  mx_script_test(bad.input_n${np} bad bash ${CMAKE_CURRENT_SOURCE_DIR}/bad/run_bad_input.sh ${MX_TESTDATA} ${np})
  set_tests_properties(bad.input_n${np} PROPERTIES FIXTURES_REQUIRED mock PROCESSORS ${np})
  mx_expect_failures(bad.input_n${np})
endforeach()

# geometry and rings: qmap identical at 1, 2 and 4 ranks; malformed .geom and options
mx_script_test(mpi.qmap_ranks mpi ${MX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/mpi/qmap_ranks.py)
set_tests_properties(mpi.qmap_ranks PROPERTIES PROCESSORS 4)
mx_script_test(bad.qmap bad ${MX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/bad/qmap_bad.py)
mx_expect_failures(bad.qmap)

# mxpcs simulate: identical at 1, 2, 4 ranks; statistics against its truth; EuXFEL validity
mx_script_test(mpi.simulate_ranks mpi ${MX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/mpi/sim_ranks.py ${MX_TESTDATA})
set_tests_properties(mpi.simulate_ranks PROPERTIES PROCESSORS 4)
mx_script_test(sim.colloid_statistics sim bash ${CMAKE_CURRENT_SOURCE_DIR}/peer/check_simulate.sh ${MX_TESTDATA} colloid
  -sim_trains 8 -sim_modules 4 -sim_artifacts 0 -sim_photons 2 -- --checks mean,beta,decay)
mx_script_test(sim.liquid_statistics sim bash ${CMAKE_CURRENT_SOURCE_DIR}/peer/check_simulate.sh ${MX_TESTDATA} liquid
  -sim_preset liquid -sim_trains 6 -sim_modules 12 -sim_artifacts 0 -sim_photons 3 -- --checks mean,beta,decay)
mx_script_test(sim.artifacts sim bash ${CMAKE_CURRENT_SOURCE_DIR}/peer/check_simulate.sh ${MX_TESTDATA} artifacts
  -sim_trains 3 -sim_pulses 10 -sim_modules 3 -sim_photons 1e-12 -- --checks artifact)
mx_script_test(peer.simulate_extra_data peer bash ${CMAKE_CURRENT_SOURCE_DIR}/peer/check_simulate.sh ${MX_TESTDATA} validate
  -sim_trains 5 -sim_pulses 8 -sim_modules 3,4 -sim_trains_per_file 2 -sim_missing_trains 2 -sim_adu_per_photon 7.5 -sim_compress 1 -- --validate)
# (check_simulate.sh simulates and reads at 2 ranks)
set_tests_properties(sim.colloid_statistics sim.liquid_statistics sim.artifacts peer.simulate_extra_data PROPERTIES PROCESSORS 2)
# -sim_detector agipd: keV, mask bits, gain stages, common mode = truth, the photons of ideal (issue 13)
mx_script_test(sim.agipd sim ${MX_PYTHON} ${PEER}/check_sim_agipd.py ${MX_TESTDATA})
set_tests_properties(sim.agipd PROPERTIES PROCESSORS 2)

# scattering kernels against sasmodels itself at random parameter sets
mx_script_test(peer.sasmodels peer ${MX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/peer/sasmodels_check.py $<TARGET_FILE:test_models> 1e-6)

# mxpcs analyze: the same results at 1, 2 and 4 ranks on every grid; the g2 fit against scipy
mx_script_test(mpi.analyze_ranks mpi ${MX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/mpi/analyze_ranks.py ${MX_TESTDATA})
set_tests_properties(mpi.analyze_ranks PROPERTIES PROCESSORS 4)
# the jackknife's train groups fitted over the ranks: the bits of all groups on one rank, at 1-4 ranks
add_executable(jackknife_ranks ${CMAKE_CURRENT_SOURCE_DIR}/mpi/jackknife_ranks.c)
target_link_libraries(jackknife_ranks PRIVATE mxpcs_core)
foreach(np 1 2 3 4)
  mx_script_test(mpi.jackknife_ranks_n${np} mpi ${MX_MPIEXEC} -n ${np} $<TARGET_FILE:jackknife_ranks>)
  set_tests_properties(mpi.jackknife_ranks_n${np} PROPERTIES PROCESSORS ${np})
endforeach()
mx_script_test(peer.g2fit_scipy peer ${MX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/peer/g2fit_scipy.py $<TARGET_FILE:test_g2fit>)
# analyze against the truth of a simulated colloid with artifacts on, and without the correction
# direct chunk reads (pread + libdeflate, the reader thread) against HDF5's filter path, per layout
mx_script_test(peer.direct_read peer ${MX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/peer/check_direct.py ${MX_TESTDATA})
set_tests_properties(peer.direct_read PROPERTIES PROCESSORS 4)
mx_script_test(sim.analyze_truth sim bash ${CMAKE_CURRENT_SOURCE_DIR}/peer/check_analyze.sh ${MX_TESTDATA} 2 1)
set_tests_properties(sim.analyze_truth PROPERTIES PROCESSORS 2)
# the dose as a second axis: trains grouped by XGM pulse energy (heating)
mx_script_test(sim.analyze_dose sim bash ${CMAKE_CURRENT_SOURCE_DIR}/peer/check_dose.sh ${MX_TESTDATA} 2)
set_tests_properties(sim.analyze_dose PROPERTIES PROCESSORS 2)
# real AGIPD data (issue 13): clean counts and calibrated keV data of the same photons
mx_script_test(sim.agipd_truth sim bash ${CMAKE_CURRENT_SOURCE_DIR}/peer/check_agipd.sh ${MX_TESTDATA} 2)
set_tests_properties(sim.agipd_truth PROPERTIES PROCESSORS 2)
# continuous values with a static gain spread: -corr_shot_noise takes it out of the contrast
mx_script_test(sim.gain_spread sim bash ${CMAKE_CURRENT_SOURCE_DIR}/peer/check_gain_spread.sh ${MX_TESTDATA} 2)
set_tests_properties(sim.gain_spread PROPERTIES PROCESSORS 2)
# a ring that the files' masks flag whole (a NON_SENSITIVE ASIC over it) is reported as having no
# valid pixel, not as one without photons; the other rings are unchanged
mx_script_test(sim.ring_masked sim ${MX_PYTHON} ${PEER}/check_ring_masked.py ${MX_TESTDATA})
set_tests_properties(sim.ring_masked PROPERTIES PROCESSORS 2)
# the corrections against an independent numpy implementation, at 1, 2 and 4 ranks and partitions
mx_script_test(peer.detcorr_numpy peer bash ${CMAKE_CURRENT_SOURCE_DIR}/peer/check_detcorr_numpy.sh ${MX_TESTDATA})
set_tests_properties(peer.detcorr_numpy PROPERTIES PROCESSORS 2)
foreach(np 1 2)
  mx_script_test(sim.analyze_filter_n${np} sim bash ${CMAKE_CURRENT_SOURCE_DIR}/peer/check_filter.sh ${MX_TESTDATA} ${np})
  set_tests_properties(sim.analyze_filter_n${np} PROPERTIES PROCESSORS 2) # its simulate: 2 ranks
endforeach()
# SAXS I(q) against pyFAI integrate1d (same geometry, mask, bins, corrections) within 0.5 %
mx_script_test(peer.saxs_pyfai peer bash ${CMAKE_CURRENT_SOURCE_DIR}/peer/saxs_pyfai.sh ${MX_TESTDATA})
set_tests_properties(peer.saxs_pyfai PROPERTIES PROCESSORS 2)

# mxpcs fit (tests/fit/fit.cmake) and mxpcs md (tests/md/md.cmake)
include(${CMAKE_CURRENT_SOURCE_DIR}/fit/fit.cmake OPTIONAL)
include(${CMAKE_CURRENT_SOURCE_DIR}/md/md.cmake OPTIONAL)

# XGM per-pulse energy filter: the dud trains and no other, at 1 and 2 ranks; extra_data reads the XGM record
foreach(np 1 2)
  mx_script_test(sim.analyze_xgm_n${np} sim bash ${CMAKE_CURRENT_SOURCE_DIR}/peer/check_xgm.sh ${MX_TESTDATA} ${np})
  set_tests_properties(sim.analyze_xgm_n${np} PROPERTIES PROCESSORS 2)
  mx_expect_failures(sim.analyze_xgm_n${np}) # a missing XGM file
endforeach()

# checkpoint / restart: killed (SIGKILL) or stopped (SIGUSR1) part-way, rerun, bitwise the same results
foreach(np 1 2 4)
  mx_script_test(mpi.analyze_restart_n${np} mpi bash ${CMAKE_CURRENT_SOURCE_DIR}/peer/check_restart.sh ${MX_TESTDATA} ${np})
  set_tests_properties(mpi.analyze_restart_n${np} PROPERTIES PROCESSORS ${np} RESOURCE_LOCK sim_restart)
endforeach()
set_tests_properties(mpi.analyze_restart_n1 PROPERTIES PROCESSORS 2) # it simulates its run at 2 ranks
include(${CMAKE_CURRENT_SOURCE_DIR}/slurm/slurm.cmake OPTIONAL)

# fuzzing: a short libFuzzer pass over the .geom parser, the options files and the bridge decoder
# (clang build in fuzz/ of this build directory): fuzz.build builds the targets on 2 cores, then
# fuzz.short replays the regressions and fuzzes each target 10 s on one core (tools/fuzz.sh 600
# for a long pass)
mx_script_test(fuzz.build fuzz bash ${PROJECT_SOURCE_DIR}/tools/fuzz.sh)
mx_script_test(fuzz.short fuzz bash ${PROJECT_SOURCE_DIR}/tools/fuzz.sh 10)
set_tests_properties(fuzz.build PROPERTIES TIMEOUT 900 PROCESSORS 2 FIXTURES_SETUP fuzz_targets)
set_tests_properties(fuzz.short PROPERTIES TIMEOUT 900 FIXTURES_REQUIRED fuzz_targets)
set_property(TEST fuzz.build APPEND PROPERTY ENVIRONMENT MXPCS_FUZZ_STEP=build MXPCS_FUZZ_BUILD=${PROJECT_BINARY_DIR}/fuzz)
set_property(TEST fuzz.short APPEND PROPERTY ENVIRONMENT MXPCS_FUZZ_STEP=fuzz MXPCS_FUZZ_BUILD=${PROJECT_BINARY_DIR}/fuzz)

# mxpcs fit: the joint fit of a simulated colloid and liquid recovers their truth (issue 5)
mx_script_test(sim.fit_joint_truth sim bash ${CMAKE_CURRENT_SOURCE_DIR}/peer/check_joint.sh ${MX_TESTDATA})
set_tests_properties(sim.fit_joint_truth PROPERTIES PROCESSORS 2 TIMEOUT 900)
mx_expect_failures(sim.fit_joint_truth) # its results files of other layouts, bad sample names

# faults: simulate and analyze killed with SIGKILL at random points and rerun: identical outputs
foreach(np 1 2)
  mx_script_test(mpi.kill_rerun_n${np} mpi bash ${CMAKE_CURRENT_SOURCE_DIR}/peer/check_kill.sh ${MX_TESTDATA} ${np})
  set_tests_properties(mpi.kill_rerun_n${np} PROPERTIES PROCESSORS ${np})
endforeach()

# results that users' tools open (issue 15): every object of analyze and qmap outputs is in the
# schema with its units and NX_class; pyXpcsViewer's and NXxpcs's rules (docs/reference/result-layouts.md);
# and no source spells an output path itself
mx_script_test(peer.result_layout peer bash ${PEER}/check_layout.sh ${MX_TESTDATA})
set_tests_properties(peer.result_layout PROPERTIES PROCESSORS 2)
mx_script_test(unit.schema_sources unit ${MX_PYTHON} ${PEER}/check_schema.py --sources ${PROJECT_SOURCE_DIR})
# the repository stands alone: no tracked file refers to a folder beside it
mx_script_test(unit.standalone unit ${MX_PYTHON} ${PEER}/check_standalone.py ${PROJECT_SOURCE_DIR})
# every option a command reads is listed by its -help (issue 16): an option read outside a
# PetscOptionsBegin block (a raw PetscOptionsGetBool, ...) fails
mx_script_test(unit.help unit ${MX_PYTHON} ${PEER}/check_help.py ${PROJECT_SOURCE_DIR})
# install like HPC software: cmake --install to a temporary prefix, its Lmod module, a short demo from there
mx_script_test(install.prefix install bash ${CMAKE_CURRENT_SOURCE_DIR}/install/check_install.sh ${PROJECT_BINARY_DIR} ${MX_TESTDATA})
set_tests_properties(install.prefix PROPERTIES PROCESSORS 2)

# the Karabo bridge client (issue 18) against EuXFEL's own servers on 127.0.0.1: karabo_bridge's
# simulator (2.2 and 1.0; REP, PUSH, PUB) and karabo_bridge.Client, extra_data's serve-files on a
# mock run (one and two endpoints) against extra_data reading the files; a port where nothing listens
mx_script_test(peer.bridge peer ${MX_PYTHON} ${PEER}/check_bridge.py $<TARGET_FILE:bridge_dump> ${MX_TESTDATA})
set_tests_properties(peer.bridge PROPERTIES PROCESSORS 2)

# mxpcs online (issue 18): extra_data's karabo-bridge-serve-files streams a simulated run on
# 127.0.0.1 and the final results at 1, 2 and 4 ranks equal analyze of the same files to 1e-12;
# faults (garbage, a wrong dtype, a missing module, a skipped train, the server gone mid-run)
# from a server built on karabo_bridge's own Sender; a port where nothing listens
mx_script_test(peer.online peer ${MX_PYTHON} ${PEER}/check_online.py ${MX_TESTDATA})
set_tests_properties(peer.online PROPERTIES PROCESSORS 2)

# Open MPI: the transport on one node is ob1 (shared memory) anyway; naming it spares each launch
# the probing of the other PMLs and their MTLs (cm: ofi, psm, psm2; ucx): 0.46 -> 0.26 s per
# launch here, hundreds of launches in the suite. Not for the Slurm test's jobs (left as they are).
get_property(mx_all_tests DIRECTORY PROPERTY TESTS)
list(REMOVE_ITEM mx_all_tests slurm.cluster)
set_property(TEST ${mx_all_tests} APPEND PROPERTY ENVIRONMENT OMPI_MCA_pml=ob1)
# Open MPI 4.1 creates its session directory (TMPDIR/ompi.<host>.<uid>) with a check-then-mkdir:
# two launches starting at the same moment (ctest -j2, or a test that launches two at once) can
# both see it missing, and the second fails in orte_init ("mkdir ... File exists"; seen in
# peer.direct_read). Each test gets a base of its own, short (PMIx puts its sockets there, and a
# socket path is limited to 108 bytes); tests that launch concurrently split it further.
string(MD5 mx_build_hash "${PROJECT_BINARY_DIR}")
string(SUBSTRING "${mx_build_hash}" 0 8 mx_build_hash)
foreach(t ${mx_all_tests})
  set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT OMPI_MCA_orte_tmpdir_base=/tmp/mxo-${mx_build_hash}/${t})
endforeach()

# ctest -j: every test above that starts 2+ ranks says so (PROCESSORS; a simulate at 2 ranks
# counts): Open MPI's ranks spin while they wait, so 3 busy ranks on 2 cores run slower than
# 2 one after the other. ctest starts the tests of highest COST first; a fresh build has no
# timings of its own yet (Testing/Temporary/CTestCostData.txt, which then takes over), so the
# long ones give theirs (seconds on the 2-core development machine): the one-core tests among
# them start early and run beside others instead of alone at the end.
set(mx_costs
  sim.agipd_truth 120 sim.gain_spread 60 peer.detcorr_numpy 45 sim.analyze_truth 110 sim.analyze_dose 30 fuzz.short 35 install.prefix 60 sim.fit_joint_truth 50 peer.direct_read 41
  md.monotonic 38 bad.input_n4 36 peer.online 32 fuzz.build 27 bad.input_n1 24 bad.input_n2 24
  mpi.kill_rerun_n1 20 mpi.kill_rerun_n2 18 peer.bridge 17 md.ranks_per_sim 16)
while(mx_costs)
  list(POP_FRONT mx_costs mx_test mx_cost)
  set_tests_properties(${mx_test} PROPERTIES COST ${mx_cost})
endwhile()
if(TEST slurm.cluster)
  set_tests_properties(slurm.cluster PROPERTIES COST 135)
endif()
# the heating model's X-ray attenuation at 4-50 keV against xraylib (issue 17)
mx_script_test(peer.xraylib peer ${MX_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/peer/xraylib_check.py $<TARGET_FILE:test_heating> 0.01)
