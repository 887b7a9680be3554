#!/bin/bash
# Checkpoint / restart of mxpcs analyze (issues 7 and 9). A simulated run is analysed
# uninterrupted; then twice with checkpoints every few trains: once killed with SIGKILL right
# after a checkpoint appears, once stopped by SIGUSR1 (Slurm's --signal warning), each rerun
# with the same command. The resumed results equal the uninterrupted ones bitwise, no results
# file exists while a run is incomplete, and the checkpoint is removed at the end.
# usage: check_restart.sh DATADIR NP
set -eu
data=$1 np=$2
sim=$data/sim_restart
. "$(dirname "$0")/scratch.sh"; mx_scratch "$sim"
here=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -f "$sim/truth.h5" ] || [ ! -d "$sim/proc" ]; then
  rm -rf "$sim" "$sim.part"; mkdir -p "$data"
  "$MPIEXEC" --oversubscribe -n 2 "$MXPCS" simulate -sim_detector ideal -sim_modules 4 -sim_trains 40 -sim_pulses 20 -sim_subpixels 1 -o "$sim" >/dev/null
fi
opts=(-run "$sim" -geom_distance_m 7 -geom_energy_kev 12.3 -rings_q_min 0.006 -rings_q_max 0.03 -rings_n 4 -g2_age_window 8 -g2_age_step 4 -analyze_progress 0)
ref=$data/restart_ref_n$np.h5; rm -f "$ref"
"$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze "${opts[@]}" -o "$ref" >/dev/null

# Every rank saves its first checkpoint and then waits on a FIFO (-analyze_test_pause) until the
# test writes to it or a signal arrives, so the job cannot finish before the test acts: wait for
# all ranks' checkpoints, then $2 the job (KILL while they wait; USR1: the signal ends each
# rank's wait and it stops with "checkpoint saved").
interrupt() {
  local out=$1 how=$2 fifo=$1.fifo
  rm -rf "$out" "$out.ckpt" "$out.part" "$fifo"; mkfifo "$fifo"
  "$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze "${opts[@]}" -analyze_checkpoint_every 3 -analyze_test_pause "$fifo" -o "$out" >"$out.log" 2>&1 &
  local pid=$!
  while [ "$(ls "$out.ckpt"/rank*.bin 2>/dev/null | wc -l)" -lt "$np" ] && kill -0 $pid 2>/dev/null; do sleep 0.05; done
  if [ "$how" = KILL ]; then pkill -KILL -f -- "-o $out" || true; kill -KILL $pid 2>/dev/null || true
  else
    pkill -USR1 -f -- "^$MXPCS analyze .*-o $out" || true
  fi
  wait $pid && rc=0 || rc=$?
  rm -f "$fifo"
  echo "interrupted ($how): exit $rc; checkpoint files: $(ls "$out.ckpt" 2>/dev/null | tr '\n' ' ')"
  [ "$rc" -ne 0 ] || { echo "FAIL: the interrupted run exited 0 (finished before the signal?)"; exit 1; }
  [ ! -e "$out" ] || { echo "FAIL: $out exists after an interrupted run"; exit 1; }
  [ "$how" = KILL ] || grep -q "checkpoint saved" "$out.log" || { echo "FAIL: no 'checkpoint saved' message:"; cat "$out.log"; exit 1; }
  "$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze "${opts[@]}" -analyze_checkpoint_every 3 -o "$out" >"$out.log2" 2>&1 || { cat "$out.log2"; exit 1; }
  grep "resumed" "$out.log2" || { echo "FAIL: the rerun did not resume"; exit 1; }
  [ ! -e "$out.ckpt" ] || { echo "FAIL: checkpoint left behind"; exit 1; }
}
interrupt "$data/restart_kill_n$np.h5" KILL
interrupt "$data/restart_usr1_n$np.h5" USR1
"$MX_PYTHON" - "$ref" "$data/restart_kill_n$np.h5" "$data/restart_usr1_n$np.h5" <<'PY'
import sys, h5py, numpy as np
def load(p):
    out = {}
    with h5py.File(p) as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[...]) if isinstance(o, h5py.Dataset) and n.startswith('xpcs/') else None)
    return out
ref = load(sys.argv[1]); bad = 0
for p in sys.argv[2:]:
    r = load(p)
    diff = [k for k in ref if k not in r or ref[k].tobytes() != r[k].tobytes()]
    print('%s: %d datasets, %d differ from the uninterrupted run %s' % (p, len(ref), len(diff), diff[:5]))
    bad += len(diff) > 0
print('%d passed, %d failed' % (len(sys.argv) - 2 - bad, bad)); sys.exit(1 if bad else 0)
PY
