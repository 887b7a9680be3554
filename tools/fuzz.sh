#!/bin/bash
# Fuzz the .geom parser, the options-file handling and the Karabo bridge message decoder with
# libFuzzer (clang, ASan, UBSan).
# Builds build-fuzz/ (CC=clang -DMXPCS_FUZZ=ON), replays every input that ever crashed
# (tests/fuzz/regressions/<target>/, kept as regression tests), then fuzzes each target for
# SECONDS from the seed corpus (real and mock geometry files, the inputs/ options files, the
# bridge messages in tests/fuzz/seeds/bridge).
# A crash stops with a non-zero exit and the reproducer's path: add it to
# tests/fuzz/regressions/<target>/ once fixed.
#   tools/fuzz.sh [SECONDS]   (default 60 per target)
# MXPCS_FUZZ_STEP=build only configures and builds the targets (on all cores); =fuzz only replays
# and fuzzes (one core), with the targets already built (ctest: fuzz.build, then fuzz.short).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
build=${MXPCS_FUZZ_BUILD:-$here/build-fuzz}
command -v clang >/dev/null || { echo "fuzz: needs clang and libclang-rt-14-dev (tools/setup.sh installs them)"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Open MPI and PETSc keep some allocations for the life of the process: not leaks of an input
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:quarantine_size_mb=16:malloc_context_size=8}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
step=${MXPCS_FUZZ_STEP:-all}
if [ "$step" != fuzz ]; then
  CC=clang cmake -S "$here" -B "$build" -DMXPCS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target fuzz_geom fuzz_options fuzz_bridge >/dev/null
  [ "$step" != build ] || { echo "fuzz: targets built in $build"; exit 0; }
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/geom" "$work/options" "$work/bridge"
cp "$here"/tests/data/geometry/*.geom "$work/geom/" 2>/dev/null || true
cp "$here"/inputs/*.yaml "$work/options/" 2>/dev/null || true
cp "$here"/tests/fuzz/seeds/bridge/* "$work/bridge/" 2>/dev/null || true
for t in geom options bridge; do
  reg=$here/tests/fuzz/regressions/$t
  if [ -d "$reg" ] && [ -n "$(ls -A "$reg" 2>/dev/null)" ]; then
    echo "fuzz_$t: replaying $(ls "$reg" | wc -l) regression inputs"
    "$build/tests/fuzz_$t" "$reg"/* >"$work/$t.reg.log" 2>&1 || { tail -30 "$work/$t.reg.log"; echo "fuzz_$t: a regression input fails again"; exit 1; }
  fi
  echo "fuzz_$t: fuzzing for $secs s from $(ls "$work/$t" | wc -l) seeds"
  rc=0
  "$build/tests/fuzz_$t" -max_total_time="$secs" -rss_limit_mb=8192 -timeout=30 -max_len=65536 \
    -artifact_prefix="$build/crash-$t-" "$work/$t" >"$work/$t.log" 2>&1 || rc=$?
  grep -E "^#[0-9]+ +DONE|^Done [0-9]+ runs|ERROR|SUMMARY|Test unit written" "$work/$t.log" | tail -5 || true
  if [ "$rc" -ne 0 ]; then
    tail -40 "$work/$t.log"
    echo "fuzz_$t: FAILED (exit $rc); reproducer: $(ls "$build"/crash-$t-* 2>/dev/null | head -1)"
    exit 1
  fi
done
echo "fuzz: no crash"
