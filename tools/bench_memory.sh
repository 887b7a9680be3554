#!/bin/bash
# Memory of mxpcs analyze per rank against the number of trains (issue: "memory per rank must
# not grow with the number of trains"). Simulates one run of T trains, analyses the first
# 1/8, 1/4, 1/2 and all of them at 1 and N ranks, and prints the peak resident memory of every
# rank (getrusage, printed by -analyze_bench) in a table, with the growth from the smallest to
# the largest train count.
#   tools/bench_memory.sh [TRAINS] [NRANKS] [MODULES]   (defaults: 64 nproc 3,4)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
trains=${1:-64}; np=${2:-$(nproc)}; mods=${3:-3,4}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mpiexec -n "$np" "$here/build/mxpcs" simulate -options_file "$here/inputs/sim_colloid.yaml" -sim_modules "$mods" \
  -sim_trains "$trains" -sim_subpixels 1 -o "$out/run" | tail -1
printf "%-6s %-8s %s\n" ranks trains "peak memory per rank (MiB)"
for n in 1 "$np"; do
  first=""
  for k in 8 4 2 1; do
    nt=$((trains / k))
    mem=$(mpiexec -n "$n" "$here/build/mxpcs" analyze -run "$out/run" -options_file "$here/inputs/analyze_colloid.yaml" \
      -reader_trains 0:$((nt - 1)) -analyze_progress 0 -analyze_bench -o "$out/r.h5" |
      sed -n 's/.*peak memory \([0-9]*\) MiB.*/\1/p' | tr '\n' ' ')
    rm -f "$out/r.h5"
    printf "%-6s %-8s %s\n" "$n" "$nt" "$mem"
    [ -z "$first" ] && first=$(echo $mem | awk '{m=0; for(i=1;i<=NF;i++) if($i>m) m=$i; print m}')
    last=$(echo $mem | awk '{m=0; for(i=1;i<=NF;i++) if($i>m) m=$i; print m}')
  done
  echo "ranks=$n: peak memory per rank $first MiB at $((trains / 8)) trains, $last MiB at $trains trains (x$(awk -v a="$first" -v b="$last" 'BEGIN{printf "%.2f", b / a}') for x8 trains)"
done
