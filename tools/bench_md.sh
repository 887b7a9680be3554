#!/bin/bash
# Benchmark mxpcs md: particle-steps per second per rank, and the ensemble speed-up from 1 to 2
# ranks (2 simulations run one after the other on 1 rank, at once on 2 ranks with
# -md_ranks_per_sim 1), plus one LAMMPS instance on 2 ranks (-md_ranks_per_sim 2) for comparison.
# Each configuration runs REPEAT times and the fastest counts (the box is shared: the load
# average is printed with each line).
#   tools/bench_md.sh [N] [STEPS] [REPEAT]   (defaults 500 particles, 20000 steps, 3; MXPCS=path/to/mxpcs)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-500}; steps=${2:-20000}; rep=${3:-3}
mxpcs=${MXPCS:-$here/build/mxpcs}
py=${MX_PYTHON:-/usr/bin/python3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d)
common=(-md_n "$n" -md_phi 0.3 -md_epsilon 0.5,1 -md_seeds 1 -md_coex_steps_factor 0 -md_equil_steps $((steps / 10)) -md_steps "$steps" -md_sq_frames 4)
run() { # label ranks ranks_per_sim
  for r in $(seq "$rep"); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    mpiexec --oversubscribe -n "$2" "$mxpcs" md -o "$out/$1.$r.h5" "${common[@]}" -md_ranks_per_sim "$3" > "$out/$1.log"
    echo "$load" > "$out/$1.$r.load"
  done
  "$py" - "$out" "$1" "$2" "$3" "$rep" <<'PY'
import h5py, sys
out, label, ranks, k, rep = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
runs = []
for r in range(1, rep + 1):
    f = h5py.File(f"{out}/{label}.{r}.h5", "r")["md/perf"]
    runs.append((f["wall_time"][()], f["particle_steps_per_s_per_rank"][()], f["lammps_time"][()], open(f"{out}/{label}.{r}.load").read().strip()))
w, rate, lt, load = min(runs)
print("%-20s ranks=%d k=%d  wall %6.2f s (of %s)  %.4g particle-steps/s/rank  LAMMPS %3.0f %% of the time  load avg %s"
      % (label, ranks, k, w, ", ".join("%.2f" % x[0] for x in runs), rate, 100 * lt / w / (ranks // k), load))
open(f"{out}/{label}.t", "w").write(str(w))
PY
}
echo "mxpcs md benchmark: N = $n, phi = 0.3, 2 simulations (epsilon 0.5, 1 kT) of $((steps / 10)) + $steps steps, $(nproc) cores, best of $rep"
run serial_1rank 1 1
run ensemble_2x1 2 1
run one_sim_2ranks 2 2
"$py" -c "
t1, t2, t3 = (float(open('$out/%s.t' % k).read()) for k in ('serial_1rank', 'ensemble_2x1', 'one_sim_2ranks'))
print('ensemble speed-up 1 -> 2 ranks (2 groups of 1 rank): %.2f (ideal 2, efficiency %.0f %%)' % (t1 / t2, 50 * t1 / t2))
print('one LAMMPS instance on 1 -> 2 ranks (domain decomposition): %.2f' % (t1 / t3))"
rm -rf "$out"
