#!/bin/bash
# Benchmark mxpcs analyze (design.md section 5): simulate a run of M modules x T trains, then
# analyse it at 1 and N ranks with -analyze_bench, which prints per rank frames/s, GB/s of
# frames, the share of time in reading / correlating / reducing, and the correlation kernel's
# GFLOP/s next to a bare cblas_ssyrk of the same shape; then the 1 -> N speed-up.
#   tools/bench_analyze.sh [MODULES] [TRAINS] [NRANKS]   (defaults: 0,3,4,7 16 nproc)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
mods=${1:-0,3,4,7}; trains=${2:-16}; np=${3:-$(nproc)}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d)
mpiexec --oversubscribe -n "$np" "$here/build/mxpcs" simulate -sim_modules "$mods" -sim_trains "$trains" -sim_subpixels 1 -o "$out/run" | tail -1
for n in 1 "$np"; do
  for parts in 1 $([ "$n" -gt 1 ] && echo "$n"); do
    s=$(date +%s.%N)
    mpiexec --oversubscribe -n "$n" "$here/build/mxpcs" analyze -run "$out/run" -geom_distance_m 7 -geom_energy_kev 12.3 \
      -rings_q_min 0.005 -rings_q_max 0.09 -rings_n 16 -analyze_progress 0 -analyze_bench -reader_pixel_parts "$parts" -o "$out/r_${n}_${parts}.h5" | grep '^\[rank'
    e=$(date +%s.%N)
    t=$(awk -v a="$s" -v b="$e" 'BEGIN{printf "%.2f", b - a}')
    echo "ranks=$n pixel_parts=$parts: wall $t s"
    [ "$n" = 1 ] && t1=$t
    [ "$n" != 1 ] && echo "speed-up 1 -> $n ranks ($parts pixel parts): $(awk -v a="$t1" -v b="$t" 'BEGIN{printf "%.2f", a / b}')"
    rm -f "$out"/r_*.h5
  done
done
rm -rf "$out"
