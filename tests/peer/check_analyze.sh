#!/bin/bash
# Simulate the colloid with artifacts on, analyse it with and without the neighbour-train
# correction at NP ranks (P pixel parts), and with disjoint age windows (the jackknife errors
# must not depend on the overlap), and with one contrast per ring shared by the age windows
# (-fit_beta shared), and check the results against the truth.
# usage: check_analyze.sh DATADIR NP P
set -eu
data=$1 np=$2 parts=$3
here=$(cd "$(dirname "$0")/../.." && pwd)
sim=$data/sim_analyze
# photon counts with memory-cell offsets and gains (ideal detector, artifacts): read as continuous
# values, so that the neighbour-train correction has the cell pattern to remove
cont="-reader_adu_per_photon 1 -reader_common_mode none -reader_photonize none -reader_max_photons 0"
. "$(dirname "$0")/scratch.sh"; mx_scratch "$sim"
if [ ! -e "$sim/truth.h5" ] || [ ! -d "$sim/proc" ]; then
  rm -rf "$sim" "$sim.part"
  "$MPIEXEC" --oversubscribe -n 2 "$MXPCS" simulate -options_file "$here/inputs/sim_colloid.yaml" -sim_detector ideal -sim_modules 3,4 -sim_trains 80 -sim_photons 2 -sim_offset_amp 0.3 -o "$sim" >/dev/null
fi
out=$data/analyze_n${np}_p${parts}
"$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze -run "$sim" -options_file "$here/inputs/analyze_colloid.yaml" -reader_pixel_parts "$parts" $cont -analyze_progress 0 -o "$out.h5"
"$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze -run "$sim" -options_file "$here/inputs/analyze_colloid.yaml" -reader_pixel_parts "$parts" $cont -analyze_progress 0 -corr_xc 0 -o "$out.noxc.h5" >/dev/null
"$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze -run "$sim" -options_file "$here/inputs/analyze_colloid.yaml" -reader_pixel_parts "$parts" $cont -analyze_progress 0 -g2_age_step 21 -o "$out.disjoint.h5" >/dev/null
"$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze -run "$sim" -options_file "$here/inputs/analyze_colloid.yaml" -reader_pixel_parts "$parts" $cont -analyze_progress 0 -fit_beta shared -o "$out.shared.h5" >/dev/null
"$MX_PYTHON" "$(dirname "$0")/check_analyze.py" "$out.h5" "$sim" --noxc "$out.noxc.h5" --disjoint "$out.disjoint.h5" --shared "$out.shared.h5"
