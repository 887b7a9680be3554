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
# rounding here (the numpy side implements the common mode, rounding and the spike cap); with
# asic+cell, the memory-cell term from the first 4 trains too
an() { "$MPIEXEC" --oversubscribe -n "$1" "$MXPCS" analyze -run "$sim" -options_file "$here/inputs/analyze_colloid.yaml" -reader_adu_per_photon 12.3 -reader_photonize round \
    -reader_pixel_parts "$2" -g2_age_window 5 -g2_age_step 5 -g2_extrapolation linear -g2_jackknife 0 -analyze_xgm off -analyze_filter_sigma 0 -analyze_progress 0 "${@:3}" >/dev/null; }
res=() cres=()
for grid in "1 1" "2 1" "2 2" "4 2" "4 4"; do
  set -- $grid
  an "$1" "$2" -o "$sim.n$1p$2.h5"
  res+=("$sim.n$1p$2.h5")
done
# the portable per-value pass gives the same bits as AVX-512's (where the CPU has it)
MX_DETCORR_SCALAR=1 an 2 2 -o "$sim.scalar.n2p2.h5"
h5diff -q "$sim.n2p2.h5" "$sim.scalar.n2p2.h5" /xpcs || { echo "FAIL: the portable per-value pass (MX_DETCORR_SCALAR) differs from the default"; h5diff -r "$sim.n2p2.h5" "$sim.scalar.n2p2.h5" /xpcs | head; exit 1; }
# and with droplets (AVX-512: the subtraction, the zeroing below the background and the spike
# pass fused around the droplets; the portable path runs them as three passes)
an 2 2 -reader_photonize droplet -o "$sim.drop.n2p2.h5"
MX_DETCORR_SCALAR=1 an 2 2 -reader_photonize droplet -o "$sim.drop.scalar.n2p2.h5"
h5diff -q "$sim.drop.n2p2.h5" "$sim.drop.scalar.n2p2.h5" /xpcs || { echo "FAIL: droplets: the portable passes (MX_DETCORR_SCALAR) differ from the default"; h5diff -r "$sim.drop.n2p2.h5" "$sim.drop.scalar.n2p2.h5" /xpcs | head; exit 1; }
h5diff -q "$sim.n2p2.h5" "$sim.drop.n2p2.h5" /xpcs >/dev/null && { echo "FAIL: -reader_photonize droplet gave what round gives"; exit 1; }
for grid in "1 1" "4 2"; do
  set -- $grid
  an "$1" "$2" -reader_common_mode asic+cell -reader_cell_trains 4 -o "$sim.cell.n$1p$2.h5"
  cres+=("$sim.cell.n$1p$2.h5")
done
"$MX_PYTHON" "$(dirname "$0")/check_detcorr_numpy.py" "$sim" 12.3 "${res[@]}"
"$MX_PYTHON" "$(dirname "$0")/check_detcorr_numpy.py" --cell 4 "$sim" 12.3 "${cres[@]}"
