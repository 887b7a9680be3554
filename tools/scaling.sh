#!/bin/bash
# Strong and weak scaling of mxpcs analyze (docs/scaling.md). Simulates one run (colloid physics,
# MODULES, PULSES), then analyses it at 1..NMAX ranks with -analyze_bench and -log_view:
#   strong: the same TRAINS trains at every rank count, as train blocks (pixel parts 1) and as
#           pixel parts (-reader_pixel_parts N);
#   weak:   TRAINS_PER_RANK x N trains on N ranks (train blocks).
# Rank counts above the cores (OVERSUB, default 2 x cores) are run too, marked oversubscribed:
# they illustrate the decomposition, not the machine. Writes OUTDIR/scaling.csv (wall time,
# PETSc's total time, the log_view events MxAnalyzeSetUp / Train / Reduce / Fit, frames/s per
# rank, speed-up, efficiency) and OUTDIR/scaling.png (tools/plot_scaling.py).
#   tools/scaling.sh [OUTDIR] [NMAX]     (defaults: scaling-out, nproc; env MODULES=3,4 PULSES=50
#                                         TRAINS=48 TRAINS_PER_RANK=16 OVERSUB=2*nproc REPEAT=2)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-scaling-out}; nmax=${2:-$(nproc)}
mods=${MODULES:-3,4}; pulses=${PULSES:-50}; trains=${TRAINS:-48}; tpr=${TRAINS_PER_RANK:-16}
over=${OVERSUB:-$((2 * $(nproc)))}; repeat=${REPEAT:-2}
mxpcs=${MXPCS:-$here/build/mxpcs}; py=${MX_PYTHON:-/usr/bin/python3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=1 HDF5_USE_FILE_LOCKING=FALSE
mkdir -p "$out"; out=$(cd "$out" && pwd)
ranks=(); for ((n = 1; n <= nmax; n *= 2)); do ranks+=("$n"); done
[ "$over" -gt "$nmax" ] && ranks+=("$over")
ntr=$trains; for n in "${ranks[@]}"; do [ $((n * tpr)) -gt "$ntr" ] && ntr=$((n * tpr)); done
run=$out/run_${ntr}t_${pulses}p
if [ ! -f "$run/truth.h5" ]; then
  rm -rf "$run"
  echo "simulating $ntr trains x $pulses pulses, modules $mods ($(nproc) ranks)"
  mpiexec -n "$(nproc)" "$mxpcs" simulate -options_file "$here/inputs/sim_colloid.yaml" -sim_modules "$mods" \
    -sim_trains "$ntr" -sim_pulses "$pulses" -sim_subpixels 1 -o "$run" | tail -1
fi
csv=$out/scaling.csv
echo "mode,ranks,pixel_parts,trains,frames,oversubscribed,wall_s,petsc_s,setup_s,train_s,reduce_s,fit_s,frames_per_s_per_rank,GB_per_s_per_rank,speedup,efficiency" >"$csv"

# one analysis: MODE N P T; the best of REPEAT runs (the machine is shared)
measure() {
  local mode=$1 n=$2 p=$3 t=$4 best="" line
  for ((k = 0; k < repeat; k++)); do
    local lv=$out/log_${mode}_n${n}_p${p}.txt s e
    rm -f "$out/r.h5"
    s=$(date +%s.%N)
    mpiexec -n "$n" "$mxpcs" analyze -run "$run" -options_file "$here/inputs/analyze_colloid.yaml" -reader_trains "0:$((t - 1))" \
      -reader_pixel_parts "$p" -analyze_progress 0 -analyze_checkpoint none -analyze_bench -log_view ":$lv" -o "$out/r.h5" >"$out/bench.txt"
    e=$(date +%s.%N)
    line=$("$py" - "$lv" "$out/bench.txt" "$s" "$e" <<'PY'
import re, sys
lv, bench, s, e = open(sys.argv[1]).read(), open(sys.argv[2]).read(), float(sys.argv[3]), float(sys.argv[4])
ev = {m.group(1): float(m.group(2)) for m in re.finditer(r'^(MxAnalyze\w+)\s+\d+\s+[\d.]+\s+([\d.e+-]+)', lv, re.M)}
tot = float(re.search(r'^Time \(sec\):\s+([\d.e+-]+)', lv, re.M).group(1))
fr = [float(x) for x in re.findall(r'(\d+) frames/s', bench)]
gb = [float(x) for x in re.findall(r'([\d.]+) GB/s', bench)]
frames = sum(int(x) for x in re.findall(r'\((\d+) frames,', bench))
print('%.3f,%.4f,%.4f,%.4f,%.4f,%.4f,%d,%.0f,%.3f' % (e - s, tot, ev.get('MxAnalyzeSetUp', 0), ev.get('MxAnalyzeTrain', 0),
      ev.get('MxAnalyzeReduce', 0), ev.get('MxAnalyzeFit', 0), frames, sum(fr) / max(len(fr), 1), sum(gb) / max(len(gb), 1)))
PY
)
    if [ -z "$best" ] || awk -v a="${line%%,*}" -v b="${best%%,*}" 'BEGIN{exit !(a < b)}'; then best=$line; fi
  done
  echo "$best"
}

declare -A t1
for mode in strong weak; do
  for n in "${ranks[@]}"; do
    for p in 1 $([ "$mode" = strong ] && [ "$n" -gt 1 ] && echo "$n"); do
      t=$trains; [ "$mode" = weak ] && t=$((tpr * n))
      r=$(measure "$mode" "$n" "$p" "$t")
      IFS=, read -r wall petsc setup train reduce fit frames fps gbps <<<"$r"
      frames=$((t * pulses))
      [ "$n" = 1 ] && t1[$mode]=$petsc
      sp=$(awk -v a="${t1[$mode]}" -v b="$petsc" -v n="$n" -v m="$mode" 'BEGIN{ if (m == "strong") printf "%.3f", a / b; else printf "%.3f", n * a / b }')
      ef=$(awk -v s="$sp" -v n="$n" 'BEGIN{printf "%.3f", s / n}')
      os=$([ "$n" -gt "$(nproc)" ] && echo 1 || echo 0)
      echo "$mode,$n,$p,$t,$frames,$os,$wall,$petsc,$setup,$train,$reduce,$fit,$fps,$gbps,$sp,$ef" >>"$csv"
      printf "%-6s ranks %2d pixel parts %2d trains %3d: wall %6.2f s, mxpcs %6.2f s (set-up %5.2f train %5.2f reduce %6.3f fit %5.2f), %5.0f frames/s/rank (%5.3f GB/s), speed-up %5.2f, efficiency %3.0f %%%s\n" \
        "$mode" "$n" "$p" "$t" "$wall" "$petsc" "$setup" "$train" "$reduce" "$fit" "$fps" "$gbps" "$sp" "$(awk -v e="$ef" 'BEGIN{print 100 * e}')" "$([ "$os" = 1 ] && echo ' (oversubscribed)')"
    done
  done
done
rm -f "$out/r.h5" "$out/bench.txt"
"$py" "$here/tools/plot_scaling.py" "$csv" "$out/scaling.png"
echo "table: $csv, plot: $out/scaling.png"
