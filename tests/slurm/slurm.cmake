# A real single-node Slurm cluster (slurm-wlm + munge, started by the test in a temporary
# directory, as root): jobs/*.sbatch and tools/campaign.py on it, with a timed-out analyze job
# resumed from its checkpoint (docs/slurm.md). About 2.5 minutes on 2 cores.
mx_script_test(slurm.cluster slurm bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm/run_slurm_test.sh ${MX_TESTDATA})
set_tests_properties(slurm.cluster PROPERTIES TIMEOUT 1200 PROCESSORS 2 RESOURCE_LOCK slurm)
