#!/bin/bash
# Faults (issue 9): mxpcs simulate and mxpcs analyze killed with SIGKILL at random points, then
# rerun with the same command until they finish. Never a file that looks complete while the
# job is incomplete; the final outputs are bitwise identical to an undisturbed run's.
# usage: check_kill.sh DATADIR NP
set -u
data=$1 np=$2
d=$data/kill_n$np; rm -rf "$d"; mkdir -p "$d/tmp"
. "$(dirname "$0")/scratch.sh"; mx_scratch_dir "$d/sim_ref" "$d/sim" "$d/sim.part" "$d/tmp"
# Open MPI and PMIx session files of the killed jobs go here, not to /tmp
export TMPDIR=$d/tmp OMPI_MCA_orte_tmpdir_base=$d/tmp
seed=${MX_KILL_SEED:-$$}; RANDOM=$seed
echo "random kill times from seed $seed"
fails=0
simopt=(-sim_detector ideal -sim_modules 4 -sim_trains 40 -sim_pulses 20 -sim_subpixels 1)
anopt=(-geom_distance_m 7 -geom_energy_kev 12.3 -rings_q_min 0.006 -rings_q_max 0.03 -rings_n 4 -g2_age_window 8 -g2_age_step 4 -analyze_progress 0 -analyze_checkpoint_every 2)

# an output is complete when its last part is readable: truth.h5 of a run, /xpcs/fit of results
complete() {
  if [ -d "$1" ]; then "$MX_PYTHON" -c "import h5py,sys; h5py.File(sys.argv[1])['truth/q']" "$1/truth.h5" 2>/dev/null
  else "$MX_PYTHON" -c "import h5py,sys; h5py.File(sys.argv[1])['xpcs/fit/D_eff_mean']" "$1" 2>/dev/null; fi
}

# SIGKILL every process of one attempt, and return only when none is left. Each attempt runs
# with its own MX_KILL_TAG in the environment, which mpiexec, the processes it forks and the
# ranks inherit (another test's processes, run by ctest -j beside this one, do not have it). A
# rank mpiexec was just starting when it was killed is found too: nothing untagged starts a
# tagged process, so "none left" is final (a rank that survived the kill would finish beside the
# next attempt, sharing its checkpoint and FILE.part).
killtag() {
  local found=1 p
  while [ -n "$found" ]; do
    found=
    for p in /proc/[0-9]*; do
      if tr '\0' '\n' < "$p/environ" 2>/dev/null | grep -qx "MX_KILL_TAG=$1"; then
        kill -KILL "${p#/proc/}" 2>/dev/null && found=1
      fi
    done
  done
}

# run "$@" to completion, killing it with SIGKILL after a random 0.2..0.2+tmax s up to 3 times;
# after each kill, $1 (the output) must not exist
killrun() {
  local out=$1; shift
  for k in 1 2 3 4; do
    local tag="kill_$$_${k}_$RANDOM"
    MX_KILL_TAG=$tag "$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" "$@" >"$d/log" 2>&1 &
    local pid=$! t
    t=$(awk -v r=$RANDOM -v m="$tmax" 'BEGIN{printf "%.2f", 0.2 + m * r / 32767}')
    if [ "$k" -lt 4 ]; then
      sleep "$t"
      if kill -0 $pid 2>/dev/null; then
        killtag "$tag"
        wait $pid 2>/dev/null
        echo "  killed after $t s (attempt $k); left: $(cd "$(dirname "$out")" && ls -d "$(basename "$out")" "$(basename "$out")".* 2>/dev/null | tr '\n' ' ')"
        if [ -e "$out" ]; then # renamed just before the kill: it must then be complete
          if complete "$out"; then echo "  (it had finished: complete)"; return; fi
          echo "FAIL: $out exists but is incomplete after SIGKILL at $t s"; fails=$((fails + 1)); return
        fi
        continue
      fi
    fi
    wait $pid; local rc=$?
    complete "$out" || { echo "FAIL: $out incomplete after a clean exit"; fails=$((fails + 1)); }
    [ ! -e "$out.ckpt" ] || { echo "FAIL: checkpoint $out.ckpt left after a clean exit"; fails=$((fails + 1)); }
    echo "  attempt $k: finished, exit $rc"
    [ $rc -eq 0 ] || { echo "FAIL: exit $rc"; grep -m3 "error" "$d/log" || tail -5 "$d/log"; fails=$((fails + 1)); }
    return
  done
}

echo "== simulate: undisturbed, then killed and rerun"
"$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" simulate "${simopt[@]}" -o "$d/sim_ref" >/dev/null 2>&1 || { echo "FAIL: reference simulate"; exit 1; }
tmax=2.0 killrun "$d/sim" simulate "${simopt[@]}" -o "$d/sim"
echo "== analyze: undisturbed, then killed and rerun (resuming from its checkpoints)"
"$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze -run "$d/sim_ref" "${anopt[@]}" -o "$d/an_ref.h5" >/dev/null 2>&1 || { echo "FAIL: reference analyze"; exit 1; }
tmax=0.5 killrun "$d/an.h5" analyze -run "$d/sim_ref" "${anopt[@]}" -o "$d/an.h5"
"$MX_PYTHON" - "$d" <<'PY' || fails=$((fails + 1))
import glob, os, sys, h5py
d = sys.argv[1]
def load(p, prefix=''):
    out = {}
    with h5py.File(p) as f:
        # /entry says when the file was written and with which options (the output's own name)
        f.visititems(lambda n, o: out.__setitem__(n, o[...].tobytes()) if isinstance(o, h5py.Dataset) and n.startswith(prefix) and not n.startswith('entry/') else None)
    return out
bad = 0
files = sorted(os.path.relpath(p, d + '/sim_ref') for p in glob.glob(d + '/sim_ref/**/*.h5', recursive=True))
for rel in files:
    a, b = load(d + '/sim_ref/' + rel), load(d + '/sim/' + rel)
    diff = [k for k in a if a[k] != b.get(k)]
    print('simulate %s: %d datasets, %d differ' % (rel, len(a), len(diff))); bad += len(diff) > 0
a, b = load(d + '/an_ref.h5', 'xpcs/'), load(d + '/an.h5', 'xpcs/')
diff = [k for k in a if a[k] != b.get(k)]
print('analyze: %d datasets, %d differ %s' % (len(a), len(diff), diff[:4])); bad += len(diff) > 0
sys.exit(1 if bad else 0)
PY
echo "$([ $fails -eq 0 ] && echo 1 || echo 0) passed, $fails failed"
exit $((fails > 0))
