#!/bin/bash
# Simulate a run, then check it: statistics against truth.h5 (check_simulation.py), or with
# --validate: extra-data-validate reports no problems and extra_data reads every frame exactly
# as mxpcs's reader does.
# usage: check_simulate.sh DATADIR NAME [mxpcs simulate options] -- [check options | --validate]
set -eu
data=$1 name=$2; shift 2
sim=(); while [ $# -gt 0 ] && [ "$1" != "--" ]; do sim+=("$1"); shift; done; shift || true
out=$data/sim_$name
. "$(dirname "$0")/scratch.sh"; mx_scratch "$out"
rm -rf "$out" "$out.part"; mkdir -p "$data"
"$MPIEXEC" --oversubscribe -n 2 "$MXPCS" simulate -o "$out" -sim_detector ideal "${sim[@]}"
if [ "${1:-}" = "--validate" ]; then
  run=$(ls -d "$out"/proc/r*)
  extra-data-validate "$run"
  adu=$(echo "${sim[@]}" | sed -n 's/.*-sim_adu_per_photon \([0-9.]*\).*/\1/p')
  "$MX_PYTHON" "$(dirname "$0")/extra_data_dump.py" "$run" "$out/ed.txt" ${adu:+--adu $adu}
  "$MPIEXEC" --oversubscribe -n 2 "$MXPCS" info -run "$out" -info_quiet -info_dump "$out/mx.txt" ${adu:+-reader_adu_per_photon $adu} -reader_pixel_parts 2
  # ADU -> photons: mxpcs converts in float32, the peer in float64
  "$MX_PYTHON" "$(dirname "$0")/compare_dump.py" "$out/mx.txt" "$out/ed.txt" ${adu:+1e-6}
  "$MXPCS" info -run "$out" | grep -q "1 gaps (1 train IDs missing)"
else
  "$MX_PYTHON" "$(dirname "$0")/check_simulation.py" "$out" "$@"
fi
