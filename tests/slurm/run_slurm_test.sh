#!/bin/bash
# A real single-node Slurm cluster (Debian's slurm-wlm and munge) in a temporary directory, and
# the job scripts of jobs/ run on it (docs/slurm.md, "The test"):
#  1. campaign A (tools/campaign.py): a colloid and a liquid run as ONE array job of 2-rank
#     `srun --mpi=pmix` steps plus the dependent fit job; both analyses bitwise equal to a direct
#     mpiexec analyze; states COMPLETED; log_view profiles and hash sidecars written; a second
#     submit submits nothing; a changed option makes --dry-run resubmit exactly that run.
#  2. campaign B: a run whose job has a 1-minute time limit and --signal=USR1@10, and a run with a
#     bad option. The first gets Slurm's warning signal part-way, checkpoints and ends as TIMEOUT;
#     the second ends FAILED with mxpcs's error line in `campaign.py status`. `campaign.py
#     resubmit --runs` resumes the first from its checkpoint (bitwise equal to an uninterrupted
#     run, COMPLETED).
#  3. jobs/analyze.sbatch submitted directly with MXPCS_ON_CHECKPOINT=requeue: the same warning,
#     then the job requeues itself, resumes and completes (restart count 1).
#  4. jobs/md.sbatch: a tiny LAMMPS scan, COMPLETED with /md/Ds_over_D0; jobs/demo.sbatch: a
#     small `mxpcs demo`, COMPLETED with the joint fit and the MD match.
# The runs are tiny (a second of work each), so a waiting job stands in for a long one: after its
# first checkpoint the timed run waits on a FIFO nobody writes to (-analyze_test_pause) until
# Slurm's SIGUSR1 ends the wait; mxpcs then handles the signal as it would in a long run. No step
# depends on when a process appears; the test waits on Slurm's job states. Daemons are stopped
# by their pids at the end, also on failure.
# usage: run_slurm_test.sh DATADIR      (env: MXPCS, MPIEXEC, MX_PYTHON as in ctest)
set -euo pipefail
data=${1:?usage: run_slurm_test.sh DATADIR}
here=$(cd "$(dirname "$0")/../.." && pwd)
MXPCS=${MXPCS:-$here/build/mxpcs}; MPIEXEC=${MPIEXEC:-mpiexec}; MX_PYTHON=${MX_PYTHON:-/usr/bin/python3}
export MXPCS OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 HDF5_USE_FILE_LOCKING=FALSE
# the fit job's options: the joint fit of both samples (the colloid's D0 free, the liquid's given)
fit_args=${MX_SLURM_FIT_ARGS:--fit_mode joint}
t_start=$SECONDS
fails=0
say() { echo "[slurm-test $(printf '%3d' $((SECONDS - t_start))) s] $*"; }
check() { # LABEL CONDITION-COMMAND...
  local label=$1; shift
  if "$@"; then say "ok   $label"; else say "FAIL $label"; fails=$((fails + 1)); fi
}
for b in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd sbatch squeue scontrol; do
  command -v "$b" >/dev/null || { echo "FAIL: $b not installed (tools/setup.sh installs slurm-wlm and munge)"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "FAIL: the test starts slurmd, which needs root"; exit 1; }

tmp=$(mktemp -d /tmp/mxpcs-slurm.XXXXXX)
chmod 755 "$tmp"   # munge clients must reach the socket
mkdir -p "$tmp"/{munge,state,spool,log,work}
host=$(hostname)
cleanup() {
  local rc=$?
  set +e
  if [ -f "$tmp/slurm.conf" ] && [ -f "$tmp/slurmctld.pid" ]; then
    scancel --full --quiet --user="$(id -un)" 2>/dev/null
    for _ in $(seq 20); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
  fi
  for p in slurmd slurmctld munge/munged; do
    [ -f "$tmp/$p.pid" ] && kill "$(cat "$tmp/$p.pid")" 2>/dev/null
  done
  sleep 1
  # slurmstepd processes of this cluster outlive slurmd: they carry its MX_SLURM_TEST marker
  for e in /proc/[0-9]*/environ; do
    if { tr '\0' '\n' <"$e" | grep -qx "MX_SLURM_TEST=$tmp"; } 2>/dev/null; then
      p=${e#/proc/}; p=${p%/environ}
      [ "$p" != $$ ] && kill -KILL "$p" 2>/dev/null && echo "killed left-over slurm process $p"
    fi
  done
  for p in slurmd slurmctld munge/munged; do
    [ -f "$tmp/$p.pid" ] && kill -KILL "$(cat "$tmp/$p.pid")" 2>/dev/null
  done
  if [ "${MX_KEEP_TESTDATA:-0}" != 1 ]; then rm -rf "$data/slurm_colloid" "$data/slurm_liquid"; fi
  if [ "$rc" = 0 ] && [ "$fails" = 0 ] && [ -z "${MX_SLURM_KEEP:-}" ]; then rm -rf "$tmp"
  else # keep the logs and results, not the frames and checkpoints (disk)
    [ -n "${MX_SLURM_KEEP:-}" ] || find "$tmp" -type f -size +20M -delete 2>/dev/null
    echo "slurm test: files kept in $tmp (logs: $tmp/log, $tmp/work/*/logs)"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- munge with its own key and socket
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$tmp/munge/munge.key"
env MX_SLURM_TEST="$tmp" /usr/sbin/munged -f --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/sock" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/seed"
# ---- slurm.conf: one node, this host, all its cores; no cgroups (a container may have none)
free_port() { local p; while :; do p=$((20000 + RANDOM % 30000)); ss -ltn 2>/dev/null | grep -q ":$p " || ss -ltn 2>/dev/null | grep -q ":$((p + 1)) " || { echo $p; return; }; done; }
port=$(free_port)
cat >"$tmp/slurm.conf" <<EOF
ClusterName=mxtest
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/sock,cred_expire=10
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
PlugStackConfig=$tmp/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
ReturnToService=2
InactiveLimit=0
KillWait=10
MinJobAge=3600
NodeName=$host CPUs=$(nproc) RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
: >"$tmp/plugstack.conf"
export SLURM_CONF=$tmp/slurm.conf
env MX_SLURM_TEST="$tmp" /usr/sbin/slurmctld -i -f "$SLURM_CONF"
env MX_SLURM_TEST="$tmp" /usr/sbin/slurmd -f "$SLURM_CONF"
for i in $(seq 60); do
  st=$(sinfo -h -o %T 2>/dev/null || true)
  [ "$st" = idle ] && break
  [ "$i" = 60 ] && { echo "FAIL: the node did not become idle (state '$st')"; tail -20 "$tmp"/log/*.log; exit 1; }
  sleep 0.5
done
say "slurm up: $(sinfo -h -o '%P %D node(s) %c cpus %T') on port $port"
sacct_ok=0; sacct -n >/dev/null 2>&1 && sacct_ok=1

# ---- the runs (cached in DATADIR) and the direct analyses to compare with
mkdir -p "$data"
for s in colloid:4 liquid:12; do
  n=${s%%:*} m=${s#*:}
  if [ ! -f "$data/slurm_$n/truth.h5" ]; then
    rm -rf "$data/slurm_$n"
    "$MPIEXEC" --oversubscribe -n 2 "$MXPCS" simulate -options_file "$here/inputs/sim_$n.yaml" -sim_modules "$m" \
      -sim_trains 16 -sim_pulses 20 -sim_subpixels 1 -o "$data/slurm_$n" >/dev/null
  fi
done
w=$tmp/work
common="-g2_age_window 8 -g2_age_step 4"
for r in colloid:2 liquid:2 colloid:1; do
  n=${r%%:*} np=${r#*:}
  "$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze -run "$data/slurm_$n" -options_file "$here/inputs/analyze_$n.yaml" \
    $common -analyze_progress 0 -o "$w/ref_${n}_n$np.h5" >/dev/null
done
say "simulated and analysed directly (mpiexec): colloid and liquid, 16 trains x 20 pulses, 1 module"

# ---- manifests
cat >"$w/a.yaml" <<EOF
# campaign A: two runs, one array job, the dependent fit
campaign: A
output: outA
analyze: {ntasks: 2, time: "00:10:00", args: "$common"}
fit:
  args: "$fit_args"
  time: "00:10:00"
runs:
  - name: colloid
    run: $data/slurm_colloid
    sample: PbS dilute
    phase: dilute
    options: inputs/analyze_colloid.yaml
  - name: liquid
    run: $data/slurm_liquid
    sample: PbS phi = 0.3
    phase: dense
    options: inputs/analyze_liquid.yaml
    D0: 5
EOF
cat >"$w/b.csv" <<EOF
#@ campaign: B
#@ output: outB
#@ analyze.ntasks: 1
#@ analyze.time: 1
#@ analyze.sbatch: --signal=USR1@10
#@ fit.enabled: 0
name,run,phase,options,args
timed,$data/slurm_colloid,dilute,inputs/analyze_colloid.yaml,$common -analyze_checkpoint_every 1 -analyze_test_pause $w/pauseB.fifo
broken,$data/slurm_colloid,dilute,inputs/analyze_colloid.yaml,$common -reader_trains 100:200
EOF
C() { "$MX_PYTHON" "$here/tools/campaign.py" "$@"; }

# The timed runs wait after their first checkpoint on a FIFO (-analyze_test_pause) that nobody
# writes to: only Slurm's SIGUSR1 ends the wait (and removes the FIFO, so the resumed run does
# not wait again). The job cannot finish before its warning, whatever the machine's speed.
mkfifo "$w/pauseB.fifo" "$w/pauseR.fifo"

# ---- submit: campaign A, campaign B, a self-requeueing analyze job, an md job
say "campaign A: submit --dry-run, then submit"
C submit "$w/a.yaml" --dry-run >"$w/a.dry"
check "dry run shows the array and the dependent fit, submits nothing" \
  bash -c "grep -q -- '--array=0-1' '$w/a.dry' && grep -q -- '--dependency=afterok:<ARRAY_JOBID>' '$w/a.dry' && [ -z \"\$(squeue -h)\" ] && [ ! -d '$w/outA' ]"
C submit "$w/a.yaml" | tee "$w/a.submit"
arrA=$(sed -n 's/.*-> job \([0-9]*\)$/\1/p' "$w/a.submit" | head -1)
fitA=$(sed -n 's/.*-> job \([0-9]*\)$/\1/p' "$w/a.submit" | sed -n 2p)
C submit "$w/b.csv" | tee "$w/b.submit"
arrB=$(sed -n 's/.*-> job \([0-9]*\)$/\1/p' "$w/b.submit" | head -1)
mkdir -p "$w/rq"
MXPCS_ON_CHECKPOINT=requeue sbatch --parsable --ntasks=1 --time=1 --signal=USR1@10 --job-name=mx-requeue \
  --output="$w/rq/%x-%j.out" --error="$w/rq/%x-%j.err" "$here/jobs/analyze.sbatch" \
  "$data/slurm_colloid" "$w/rq/colloid.h5" "$here/inputs/analyze_colloid.yaml" -- $common -analyze_checkpoint_every 1 -analyze_test_pause "$w/pauseR.fifo" >"$w/rq.id"
rq=$(cat "$w/rq.id")
md=$(sbatch --parsable --ntasks=2 --time=5 --job-name=mx-md --output="$w/%x-%j.out" --error="$w/%x-%j.err" "$here/jobs/md.sbatch" \
  -o "$w/md.h5" -md_n 100 -md_epsilon 0,1 -md_seeds 1 -md_equil_steps 500 -md_steps 3000 -md_sq_frames 2)
demo=$(sbatch --parsable --ntasks=2 --time=10 --job-name=mx-demo --output="$w/%x-%j.out" --error="$w/%x-%j.err" "$here/jobs/demo.sbatch" \
  "$w/demo" -demo_trains 16 -demo_md_steps 5000 -demo_md_seeds 1 -demo_figures 0)
say "submitted: campaign A array $arrA + fit $fitA, campaign B array $arrB, requeue job $rq, md job $md, demo job $demo"
squeue -o '%.10i %.22j %.9T %.10M %.10l %R'

state() { scontrol show job -o "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1; }
restarts() { scontrol show job -o "$1" 2>/dev/null | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p' | head -1; }
C wait "$w/a.yaml" --timeout 300 --poll 2 || true
say "campaign A finished"
C status "$w/a.yaml" | tee "$w/a.status"
check "A: array tasks ${arrA}_0, ${arrA}_1 and fit $fitA COMPLETED" \
  test "$(state ${arrA}_0) $(state ${arrA}_1) $(state $fitA)" = "COMPLETED COMPLETED COMPLETED"
check "A: status says done for both runs and the fit" \
  bash -c "[ \$(grep -c ' done ' '$w/a.status') = 3 ]"
check "A: log_view profiles beside the results (MxAnalyzeTrain)" \
  grep -q MxAnalyzeTrain "$w/outA/colloid.h5.log_view.txt" "$w/outA/liquid.h5.log_view.txt"
check "A: fit results and its hash sidecar" test -s "$w/outA/joint.h5" -a -s "$w/outA/joint.h5.inputs.sha256"
check "A: the dependent job ran the joint fit (/joint, the liquid's Ds/D0)" "$MX_PYTHON" -c "import h5py, sys; f = h5py.File(sys.argv[1]); assert f['joint/values'].size > 0 and 0 < f['hydro/liquid/Ds_over_D0'][()] < 1" "$w/outA/joint.h5"
check "A: the steps ran as 2 MPI ranks under srun --mpi=pmix" \
  bash -c "grep -q 'srun --mpi=pmix' '$w/outA/logs/mx-A-analyze-${arrA}_0.out' && grep -Eq '(2 processors|2 processes|on 2 procs| 2 ranks)' '$w/outA/colloid.h5.log_view.txt'"
C submit "$w/a.yaml" >"$w/a.submit2"
check "A: a second submit submits nothing" \
  bash -c "! grep -q -- '-> job' '$w/a.submit2' && grep -q 'no analyze job to submit' '$w/a.submit2' && grep -q 'fit joint .*done' '$w/a.submit2'"
sed 's/analyze_liquid.yaml/analyze_liquid.yaml\n    args: -corr_xc 0/' "$w/a.yaml" >"$w/a2.yaml"
C submit "$w/a2.yaml" --dry-run >"$w/a2.dry"
check "A: a changed option of one run resubmits that run (and the fit) only" \
  bash -c "grep -q -- '--array=1 ' '$w/a2.dry' && grep -q '^colloid .*done' '$w/a2.dry' && grep -q 'fit.sbatch' '$w/a2.dry'"

# ---- campaign B: the timed run gets its warning, checkpoints, times out; the broken run fails
C wait "$w/b.csv" --timeout 200 --poll 2 || true
check "B: the timed run waited after its first checkpoint until Slurm's SIGUSR1 (which removed its FIFO)" test ! -e "$w/pauseB.fifo"
C status "$w/b.csv" | tee "$w/b.status"
check "B: the timed run ended as TIMEOUT" test "$(state ${arrB}_0)" = TIMEOUT
check "B: ... after 'checkpoint saved' (SIGUSR1), with no results file" \
  bash -c "grep -q 'stopped by signal 10 (SIGUSR1).*checkpoint saved' '$w/outB/logs/mx-B-analyze-${arrB}_0.err' && [ -d '$w/outB/timed.h5.ckpt' ] && [ ! -e '$w/outB/timed.h5' ]"
check "B: status: timeout, checkpoint, resubmit resumes" grep -Eq '^timed +timeout .*checkpoint.*resubmit resumes' "$w/b.status"
check "B: the broken run FAILED and status shows mxpcs's error line" \
  bash -c "[ '$(state ${arrB}_1)' = FAILED ] && grep -Eq '^broken +failed .*mxpcs.*error' '$w/b.status'"
C resubmit "$w/b.csv" --runs timed --time 5 | tee "$w/b.resubmit"
arrB2=$(sed -n 's/.*-> job \([0-9]*\)$/\1/p' "$w/b.resubmit" | head -1)
check "B: resubmit --runs timed submitted one task (index 0)" grep -q -- "--array=0 .*--time=5" "$w/b.resubmit"
C wait "$w/b.csv" --timeout 200 --poll 2 || true
C status "$w/b.csv" | tee "$w/b.status2"
check "B: the resubmitted task COMPLETED, resumed from the checkpoint" \
  bash -c "[ '$(state ${arrB2}_0)' = COMPLETED ] && grep -q 'resumed from the checkpoint' '$w/outB/logs/mx-B-analyze-${arrB2}_0.out' '$w/outB/logs/mx-B-analyze-${arrB2}_0.err' && [ ! -e '$w/outB/timed.h5.ckpt' ]"
check "B: status done for timed, failed for broken" \
  bash -c "grep -Eq '^timed +done' '$w/b.status2' && grep -Eq '^broken +failed' '$w/b.status2'"

# ---- the self-requeueing job and the md job
for _ in $(seq 300); do
  s=$(state "$rq"); case "$s" in COMPLETED|FAILED|TIMEOUT|CANCELLED|NODE_FAIL|OUT_OF_MEMORY) break;; esac; sleep 1
done
for j in "$md" "$demo"; do
  for _ in $(seq 300); do case "$(state "$j")" in PENDING|RUNNING|COMPLETING|CONFIGURING) sleep 1;; *) break;; esac; done
done
check "requeue: job $rq requeued itself once and COMPLETED" test "$(state "$rq") $(restarts "$rq")" = "COMPLETED 1"
check "requeue: the second start resumed from the checkpoint" \
  bash -c "grep -q 'resumed from the checkpoint' '$w/rq/mx-requeue-$rq.out' '$w/rq/mx-requeue-$rq.err'"
# (the requeue itself is proven by Restarts=1 above: the first start's own "requeued" line may be
#  cut when Slurm ends that start right after `scontrol requeue`)
check "md: job $md COMPLETED with /md/Ds_over_D0" \
  bash -c "[ '$(state "$md")' = COMPLETED ] && '$MX_PYTHON' -c \"import h5py, sys; sys.exit(0 if h5py.File('$w/md.h5')['md/Ds_over_D0'].shape == (2,) else 1)\""
check "demo: job $demo COMPLETED with the joint fit and the MD match" \
  bash -c "[ '$(state "$demo")' = COMPLETED ] && [ -s '$w/demo/joint.h5' ] && [ -s '$w/demo/md.h5' ] && grep -q MxAnalyzeTrain '$w/demo.log_view.txt'"
if [ "$sacct_ok" = 1 ]; then sacct -X -o JobID%14,JobName%20,State,ExitCode,Elapsed; else say "sacct: accounting storage is off in this cluster; states from scontrol"; fi

# ---- the results against the direct analyses: bitwise
"$MX_PYTHON" - "$w" <<'PY' || fails=$((fails + 1))
import sys, h5py
w = sys.argv[1]
pairs = [('outA/colloid.h5', 'ref_colloid_n2.h5'), ('outA/liquid.h5', 'ref_liquid_n2.h5'),
         ('outB/timed.h5', 'ref_colloid_n1.h5'), ('rq/colloid.h5', 'ref_colloid_n1.h5')]
bad = 0
for a, b in pairs:
    with h5py.File('%s/%s' % (w, a), 'r') as fa, h5py.File('%s/%s' % (w, b), 'r') as fb:
        names = []
        fb['xpcs'].visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        diff = [n for n in names if n not in fa['xpcs'] or fa['xpcs'][n][()].tobytes() != fb['xpcs'][n][()].tobytes()]
        key = all(fa[k][()].tobytes() == fb[k][()].tobytes() for k in ('xpcs/twotime/C', 'xpcs/fit/gamma0'))
        ok = key and not diff
        print('%-16s vs %-18s /xpcs/twotime/C and /xpcs/fit/gamma0 %s; %d of %d /xpcs datasets differ %s  %s'
              % (a, b, 'bitwise equal' if key else 'DIFFER', len(diff), len(names), diff[:4], 'ok' if ok else 'FAIL'))
        bad += not ok
sys.exit(1 if bad else 0)
PY
say "done: $fails failed checks, $((SECONDS - t_start)) s"
[ "$fails" = 0 ]
