#!/bin/bash
# Benchmark mxpcs simulate on the full-size preset (16 modules): wall time, per train-module
# cost, and peak memory per rank, at 1 and N ranks. Prints the same line the program prints.
#   tools/bench_simulate.sh [TRAINS] [NRANKS]    (defaults: 8 trains, nproc ranks)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
trains=${1:-8}; np=${2:-$(nproc)}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d)
for n in 1 "$np"; do
  rm -rf "$out/run"
  line=$(mpiexec --oversubscribe -n "$n" "$here/build/mxpcs" simulate -options_file "$here/inputs/sim_full.yaml" -sim_trains "$trains" -o "$out/run" | tail -1)
  echo "ranks=$n: $line"
done
du -sh "$out/run"
rm -rf "$out"
