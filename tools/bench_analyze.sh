#!/bin/bash
# Benchmark of mxpcs analyze against the machine's read limit and a numpy pipeline, in one run on
# the same files (docs/scaling.md, "Reading at memory speed"):
#   (a) 3 modules x TRAINS trains x 50 pulses, mask and gain deflated at level 1 (as the
#       calibration writes them, mask with dead/hot pixels and a masked ASIC);
#   (b) the same at level 4 with an all-zero mask;
# for each: the page-cache read roofline (`cat` of the run's files, warm, best of 3), mxpcs analyze
# at 1 and 2 ranks (whole process; the per-rank loop rate in GB/s of frames, % of the roofline,
# the share of reading / inflating / the reader's per-train pass / correlating / reducing), the
# three inflaters (libdeflate, ISA-L, zlib), the HDF5 filter path (-reader_direct 0), and
# tools/bench_numpy_analyze.py (h5py + numpy + BLAS, the same work) timed whole-process.
# Then frames/s per rank at 176 and 352 pulses (4.5 MHz) and on a 16-module run, and whether one
# 40-core node keeps up with 10 trains/s at the measured per-rank rate.
#   tools/bench_analyze.sh [OUTDIR] [TRAINS]     (defaults: a new temporary directory, 48)
# Prints a Markdown report and writes it to OUTDIR/bench_analyze.md; OUTDIR keeps the runs
# (several GB) unless KEEP=0.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d)}; trains=${2:-48}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# one node: Open MPI's ob1 PML (shared memory), as the tests use; left to choose, Open MPI 4.1 probes
# UCX first, which added 0.2-0.3 s to every start-up here (whole process 0.91-1.01 s against 0.70-0.71)
export OMPI_MCA_pml=${OMPI_MCA_pml:-ob1}
mx=$here/build/mxpcs; py=/usr/bin/python3
np_=2
report=$out/bench_analyze.md
: > "$report"
say() { echo "$*" | tee -a "$report"; }
# the runs below hold photon counts (ideal detector), and the numpy pipeline applies no detector
# corrections: neither does mxpcs here (their cost on calibrated keV data: the last section)
nocorr=(-reader_adu_per_photon 1 -reader_common_mode none -reader_photonize none -reader_max_photons 0)
ana=(-options_file "$here/inputs/analyze_colloid.yaml" -analyze_progress 0 -analyze_checkpoint none -analyze_bench "${nocorr[@]}")

sim() { # NAME ARGS...: simulate once (kept in OUTDIR)
  local name=$1; shift
  [ -f "$out/$name/truth.h5" ] || mpiexec -n "$np_" "$mx" simulate -sim_detector ideal -sim_subpixels 1 -sim_xgm 0 -o "$out/$name" "$@" > "$out/$name.sim.log"
  sync # no write-back of the new files during the measurements
}
roofline() { # DIR: GB/s of cat from the page cache, best of 3 (the files are read once first)
  local files=("$1"/proc/*/*.h5) best=0
  # The same page-cache state for every run of the bench: the files dropped from the cache and
  # read back sequentially, as after a copy from the cluster's file system. Left as the writer
  # or earlier scattered reads put them there, the same files read at 15 GB/s instead of 26
  # (2026-12-05, (a)), and mxpcs's pread slowed with them.
  "$py" -c 'import os, sys
for f in sys.argv[1:]:
    fd = os.open(f, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "${files[@]}"
  cat "${files[@]}" > /dev/null
  local bytes; bytes=$(du -cb "${files[@]}" | tail -1 | cut -f1)
  for i in 1 2 3; do
    local s e; s=$(date +%s.%N); cat "${files[@]}" > /dev/null; e=$(date +%s.%N)
    best=$(awk -v b="$bytes" -v s="$s" -v e="$e" -v m="$best" 'BEGIN{r=b/(e-s)/1e9; print (r>m)?r:m}')
  done
  echo "$bytes $best"
}
wall() { # LOG CMD...: run twice, keep the output of the faster run in LOG, print its wall seconds
  local log=$1; shift
  local best=""
  for rep in 1 2; do
    local s e w; s=$(date +%s.%N); "$@" > "$log.try" 2>&1; e=$(date +%s.%N)
    w=$(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.2f", e-s}')
    if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$w; mv "$log.try" "$log"; fi
  done
  rm -f "$log.try"
  echo "$best"
}
# from an -analyze_bench log: frames/s and GB/s of rank 0's loop, and the shares
rate() { sed -n 's/^\[rank 0\] [0-9]* trains (.*): \([0-9.]*\) frames\/s, \([0-9.]*\) GB\/s; time: read \([0-9.]*\) %, correlate \([0-9.]*\) %, reduce \([0-9.]*\) %.*/\1 \2 \3 \4 \5/p' "$1" | head -1; }
rstats() { sed -n 's/^\[rank 0\] read .*reader thread: .*busy [0-9.]* s = \([0-9.]*\) %, \([0-9.]*\) %, \([0-9.]*\) %, \([0-9.]*\) %, \([0-9.]*\) % of the loop; HDF5 path \([0-9.]*\) %, waiting for the reader \([0-9.]*\) %; work on the main thread while waiting [0-9.]* s = \([0-9.]*\) %.*/\1 \2 \3 \4 \6 \8/p' "$1" | head -1; }

say "# mxpcs analyze: read roofline, numpy pipeline, mxpcs ($(date -u +%Y-%m-%d), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1))"
say ""
say "Roofline: \`cat\` of the run's files from the page cache (best of 3), after they were dropped from it and read back in sequence (the same cache state for every run). Every other line: the faster of two runs. mxpcs runs with \`mpiexec --bind-to none\` (each rank's reader thread needs a core besides its main thread; Open MPI binds a rank to one core by default). mxpcs: whole process (start-up, set-up, fits, writing included; with -analyze_bench, which adds a bare cblas_ssyrk timing, except on the line that says without) and its train loop per rank (GB/s of frames read; % of the roofline). Shares of rank 0's loop: the reader thread's pread / inflate / mask-NaN pass / per-train pass (valid pixels, ring gather, mean image, SAXS) run beside the main thread's correlation; 'main reads' is the main thread reading and preparing units of the next train while it waits for it (-reader_split, -reader_cache), 'wait' the rest of its waiting; common mode: not applied (none in this analysis). numpy: tools/bench_numpy_analyze.py, whole process (its train loop in brackets)."
say ""
for case in a b; do
  if [ $case = a ]; then
    name=run_a_deflate1; sim $name -sim_modules 2,3,4 -sim_trains "$trains" -sim_pulses 50 -sim_compress 1
    title="(a) 3 modules x $trains trains x 50 pulses, mask/gain deflated level 1"
  else
    name=run_b_deflate4_zeromask; sim $name -sim_modules 2,3,4 -sim_trains "$trains" -sim_pulses 50 -sim_compress 4 -sim_dead_frac 0 -sim_hot_frac 0 -sim_masked_asics 0
    title="(b) 3 modules x $trains trains x 50 pulses, mask/gain deflated level 4, all-zero mask"
  fi
  run=$out/$name
  read -r bytes roof <<< "$(roofline "$run")"
  say "## $title"
  say ""
  say "Files: $(awk -v b="$bytes" 'BEGIN{printf "%.2f", b/1e9}') GB; roofline (cat, page cache): $(printf %.2f "$roof") GB/s"
  say ""
  say "| what | wall (s) | loop frames/s per rank | loop GB/s per rank | % of roofline | pread | inflate | mask/NaN | per-train pass | main reads | wait | correlate | reduce |"
  say "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for cfg in "1 libdeflate" "2 libdeflate" "1 isal" "1 zlib" "1 nocache" "1 hdf5"; do
    read -r n inf <<< "$cfg"
    extra=(-reader_inflate "$inf"); label="mxpcs, $n rank(s), $inf"
    [ "$inf" = nocache ] && { extra=(-reader_cache 0); label="mxpcs, 1 rank, libdeflate, -reader_cache 0 (frames through the train's buffer)"; }
    [ "$inf" = hdf5 ] && { extra=(-reader_direct 0 -reader_async 0); label="mxpcs, 1 rank, HDF5 filter path (no direct reads, no thread)"; }
    log=$out/$name.n$n.$inf.log
    w=$(wall "$log" mpiexec --bind-to none -n "$n" "$mx" analyze -run "$run" "${ana[@]}" "${extra[@]}" -o "$out/$name.n$n.$inf.h5")
    read -r fps gbs rd corr red <<< "$(rate "$log")"
    read -r pio pinf pfin phook ph5 pmain <<< "$(rstats "$log" || true)"
    pct=$(awk -v g="$gbs" -v r="$roof" 'BEGIN{printf "%.0f", 100*g/r}')
    # the loop's read share counts the main thread's reading of units while it waited: the rest waited
    pwait=$(awk -v r="$rd" -v m="${pmain:-0}" 'BEGIN{w=r-m; printf "%.1f", (w>0)?w:0}')
    say "| $label | $w | $fps | $gbs | $pct % | ${pio:--} % | ${pinf:--} % | ${pfin:--} % | ${phook:--} % | ${pmain:--} % | $pwait % | $corr % | $red % |"
    [ "$n/$inf" = 1/libdeflate ] && { w1=$w; ref=$out/$name.n1.libdeflate.h5; }
  done
  # the whole process as a user runs it: -analyze_bench times a bare cblas_ssyrk besides (~0.1 s)
  anau=(); for x in "${ana[@]}"; do [ "$x" = -analyze_bench ] || anau+=("$x"); done
  wu=$(wall "$out/$name.n1.user.log" mpiexec --bind-to none -n 1 "$mx" analyze -run "$run" "${anau[@]}" -o "$out/$name.n1.user.h5")
  say "| mxpcs, 1 rank, libdeflate, without -analyze_bench (whole process only) | $wu | | | | | | | | | | | |"
  w1=$wu
  # the same results whichever path read them
  for h in n2.libdeflate n1.isal n1.zlib n1.nocache n1.hdf5; do
    "$py" "$here/tests/peer/compare_results.py" "$ref" "$out/$name.$h.h5" --ignore /xpcs/meta/train_ids > /dev/null 2>&1 \
      || { [ "$h" = n2.libdeflate ] && continue; echo "bench: WARNING: $name.$h.h5 differs from $ref"; }
  done
  wn=$(wall "$out/$name.numpy.log" "$py" "$here/tools/bench_numpy_analyze.py" "$run" "$ref")
  ln=$(sed -n 's/.* \([0-9.]*\) s in the train loop.*/\1/p' "$out/$name.numpy.log")
  l1=$(awk -v f="$(rate "$out/$name.n1.libdeflate.log" | cut -d' ' -f1)" -v n="$((trains * 50))" 'BEGIN{printf "%.2f", n/f}')
  say "| numpy + h5py + BLAS pipeline (same work), 1 process | $wn ($ln) | $(awk -v n="$((trains * 50))" -v t="$ln" 'BEGIN{printf "%.0f", n/t}') | | | | | | | | | | |"
  say ""
  say "mxpcs at 1 rank against the numpy pipeline: $(awk -v a="$wn" -v b="$w1" 'BEGIN{printf "%.1f", a/b}')x whole process ($wn s / $w1 s), $(awk -v a="$ln" -v b="$l1" 'BEGIN{printf "%.1f", a/b}')x train loop ($ln s / $l1 s). numpy: $(tail -1 "$out/$name.numpy.log")"
  say ""
  # where the whole process goes: the user's run once more with -log_view (its stages' events,
  # rank 0), and the launcher alone; a tenth of numpy's whole process is what 10x would allow
  wl=$(wall "$out/$name.n1.stages.log" mpiexec --bind-to none -n 1 "$mx" analyze -run "$run" "${anau[@]}" -o "$out/$name.n1.stages.h5" -log_view)
  wt=$(wall "$out/$name.launch.log" mpiexec --bind-to none -n 1 true)
  ev() { awk -v e="$1" '$1 == e {print $4}' "$out/$name.n1.stages.log" | head -1; }
  ptot=$(sed -n 's/^Time (sec): *\([0-9.e+-]*\).*/\1/p' "$out/$name.n1.stages.log" | head -1)
  read -r su tr fi wr <<< "$(ev MxAnalyzeSetUp) $(awk -v a="$(ev MxAnalyzeTrain)" -v b="$(ev MxAnalyzeReduce)" 'BEGIN{print a + b}') $(ev MxAnalyzeFit) $(ev MxAnalyzeWrite)"
  say "Where mxpcs's whole process goes (1 rank, as the user runs it, with -log_view: its stages on rank 0; the faster of two runs):"
  say ""
  say "| stage | s | share |"
  say "|---|---|---|"
  row() { say "| $1 | $(awk -v t="$2" 'BEGIN{printf "%.3f", t}') | $(awk -v t="$2" -v w="$wl" 'BEGIN{printf "%.0f %%", 100 * t / w}') |"; }
  row "start-up and shut-down: mpiexec, loading, MPI_Init, PetscInitialize, PetscFinalize with -log_view's report (wall - PETSc's time); mpiexec -n 1 true alone: $wt s" "$(awk -v w="$wl" -v p="$ptot" 'BEGIN{print w - p}')"
  row "set-up: geometry, rings, train filters, reader (MxAnalyzeSetUp)" "$su"
  row "train loop: read, correlate, reduce (MxAnalyzeTrain + MxAnalyzeReduce)" "$tr"
  row "fits: g2 per ring and age window, zero-age extrapolation, jackknife (MxAnalyzeFit)" "$fi"
  row "writing the results file (MxAnalyzeWrite)" "$wr"
  row "the rest (PETSc's time outside these events)" "$(awk -v p="$ptot" -v a="$su" -v b="$tr" -v c="$fi" -v d="$wr" 'BEGIN{print p - a - b - c - d}')"
  row "whole process with -log_view" "$wl"
  say ""
  say "10x numpy's whole process would need $(awk -v a="$wn" 'BEGIN{printf "%.3f", a / 10}') s; mxpcs takes $wu s as the user runs it (without -log_view), of which $(awk -v w="$wu" -v t="$tr" 'BEGIN{printf "%.3f", w - t}') s outside the train loop."
  say ""
done

say "## Long trains and the whole detector (frames/s per rank, loop)"
say ""
say "| run | ranks | frames/s per rank | GB/s per rank | trains/s per rank | ranks for 10 trains/s | one 40-core node keeps up |"
say "|---|---|---|---|---|---|---|"
long() { # NAME LABEL NPULSES SIMARGS... -- ANAARGS...
  local name=$1 label=$2 npul=$3; shift 3
  local sargs=() aargs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do sargs+=("$1"); shift; done
  [ $# -gt 0 ] && shift; aargs=("$@")
  sim "$name" -sim_pulses "$npul" "${sargs[@]}"
  for n in 1 2; do
    local log=$out/$name.n$n.log
    wall "$log" mpiexec --bind-to none -n "$n" "$mx" analyze -run "$out/$name" -analyze_progress 0 -analyze_checkpoint none -analyze_bench "${aargs[@]}" "${nocorr[@]}" -o "$out/$name.n$n.h5" > /dev/null
    read -r fps gbs rd corr red <<< "$(rate "$log")"
    local tps need keep
    tps=$(awk -v f="$fps" -v p="$npul" 'BEGIN{printf "%.1f", f/p}')
    need=$(awk -v t="$tps" 'BEGIN{n=10/t; printf "%d", (n==int(n))?n:int(n)+1}')
    keep=$([ "$need" -le 40 ] && echo yes || echo no)
    say "| $label | $n | $fps | $gbs | $tps | $need | $keep |"
  done
}
long run_p176 "2 modules x 12 trains x 176 pulses (4.5 MHz)" 176 -sim_modules 3,4 -sim_trains 12 -sim_rep_rate_mhz 4.5 -sim_compress 1 -- -options_file "$here/inputs/analyze_colloid.yaml" -g2_age_window 41
long run_p352 "2 modules x 12 trains x 352 pulses (4.5 MHz)" 352 -sim_modules 3,4 -sim_trains 12 -sim_rep_rate_mhz 4.5 -sim_compress 1 -- -options_file "$here/inputs/analyze_colloid.yaml" -g2_age_window 41
long run_m16 "16 modules x 8 trains x 50 pulses, 16 rings over the detector" 50 -sim_modules 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 -sim_trains 8 -sim_compress 1 -- -geom_distance_m 7 -geom_energy_kev 12.3 -rings_q_min 0.005 -rings_q_max 0.09 -rings_n 16
say ""
say "(ranks for 10 trains/s: the measured per-rank loop rate; a 40-core node runs 40 ranks, or 20 with a reader thread each on its own core.)"
echo "bench: report in $report"
[ "${KEEP:-1}" = 0 ] && rm -rf "$out"/run_* || true

# the detector corrections (issue 13) on data as the calibration delivers them: their share of
# the read time, by -analyze_bench, for each photonisation
sim run_agipd -options_file "$here/inputs/sim_colloid.yaml" -sim_detector agipd -sim_modules 3,4 -sim_trains 24
say ""
say "## Detector corrections on calibrated keV data (2 modules x 24 trains x 50 pulses, -sim_detector agipd, 1 rank)"
say ""
say "| corrections | share of the read (pread, inflate, mask pass; both threads) | loop frames/s |"
say "|---|---|---|"
for ph in round droplet; do
  log=$out/run_agipd.$ph.log
  wall "$log" mpiexec --bind-to none -n 1 "$mx" analyze -run "$out/run_agipd" -options_file "$here/inputs/analyze_colloid.yaml" -analyze_progress 0 -analyze_checkpoint none -analyze_bench -reader_photonize "$ph" -o "$out/run_agipd.$ph.h5" > /dev/null
  read -r fps gbs rd corr red <<< "$(rate "$log")"
  say "| common mode asic, photonise $ph | $(grep -o '= [0-9.]* % of the read' "$log" | head -1 | cut -c3-) | $fps |"
done

# finding the chunks of a sequence file of real size (issue 14: the chunk index looked up once per
# file): HDF5 1.10 finds one chunk by walking the file's index from its start, so a lookup per chunk
# grows with the file; the direct reader reads the whole index at once (src/reader/chunkindex.c).
# A deflated (N, 512, 128) mask of 250 trains, written chunk by chunk with h5py
say ""
say "## Finding every chunk of a sequence file of 250 trains (a deflated mask in per-frame chunks)"
say ""
say "| frames per train | chunks | whole index read at once (s) | HDF5's lookup of one chunk, mean of 200 spread evenly (ms) | lookups of all chunks (s) |"
say "|---|---|---|---|---|"
for pulses in 50 352; do
  f=$out/chunks_$pulses.h5
  [ -f "$f" ] || "$py" -c "
import h5py, numpy as np, sys, zlib
n = 250 * $pulses
z = zlib.compress(np.zeros((1, 512, 128), '<u4').tobytes(), 1)
with h5py.File(sys.argv[1], 'w') as h:
    d = h.create_dataset('mask', (n, 512, 128), '<u4', chunks=(1, 512, 128), compression='gzip', compression_opts=1, maxshape=(None, 512, 128))
    for i in range(n):
        d.id.write_direct_chunk((i, 0, 0), z)
" "$f"
  line=$("$here/build/tests/chunk_index_time" "$f" mask 200)
  n=$(sed -E 's/.*: ([0-9]+) chunks;.*/\1/' <<< "$line")
  tw=$(sed -E 's/.*read in ([0-9.]+) s;.*/\1/' <<< "$line")
  tl=$(sed -E 's/.*one chunk ([0-9.]+) ms.*/\1/' <<< "$line")
  ta=$(sed -E 's/.*ms on average over [0-9]+ chunks spread evenly, ([0-9.]+) s for all.*/\1/' <<< "$line")
  say "| $pulses | $n | $tw | $tl | $ta |"
done
