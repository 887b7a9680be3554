#!/bin/bash
# The detector corrections against an independent numpy implementation, at 1, 2 and 4 ranks and
# several pixel partitions (check_detcorr_numpy.py): a small calibrated-keV run (-sim_detector agipd).
# usage: check_detcorr_numpy.sh DATADIR
set -eu
data=$1
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/scratch.sh"
sim=$data/detcorr_numpy
mx_scratch "$sim"
rm -rf "$sim" "$sim.part"
"$MPIEXEC" --oversubscribe -n 2 "$MXPCS" simulate -options_file "$here/inputs/sim_colloid.yaml" -sim_detector agipd -sim_modules 3 -sim_trains 6 -sim_pulses 10 -sim_spike_rate 2e-5 -sim_seed 3 -o "$sim" >/dev/null
res=()
for grid in "1 1" "2 1" "2 2" "4 2" "4 4"; do
  set -- $grid
  out=$sim.n$1p$2.h5
  "$MPIEXEC" --oversubscribe -n "$1" "$MXPCS" analyze -run "$sim" -options_file "$here/inputs/analyze_colloid.yaml" -reader_adu_per_photon 12.3 \
    -reader_pixel_parts "$2" -g2_age_window 5 -g2_age_step 5 -g2_extrapolation linear -g2_jackknife 0 -analyze_xgm off -analyze_filter_sigma 0 -analyze_progress 0 -o "$out" >/dev/null
  res+=("$out")
done
"$MX_PYTHON" "$(dirname "$0")/check_detcorr_numpy.py" "$sim" 12.3 "${res[@]}"
