# A real single-node Slurm cluster (slurm-wlm + munge, started by the test in a temporary
# directory, as root): jobs/*.sbatch and tools/campaign.py on it, with a timed-out analyze job
# resumed from its checkpoint (docs/slurm.md). About 2.5 minutes on 2 cores.
mx_script_test(slurm.cluster slurm bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm/run_slurm_test.sh ${MX_TESTDATA})
# PROCESSORS 1: most of its time the cluster waits for Slurm (a job's 1-minute time limit, its
# KillWait) with the timed job paused on a FIFO, so a one-core test runs beside it; its own
# 2-rank jobs then share the cores, which only slows them (nothing in it depends on speed).
set_tests_properties(slurm.cluster PROPERTIES TIMEOUT 1200 PROCESSORS 1 RESOURCE_LOCK slurm)
