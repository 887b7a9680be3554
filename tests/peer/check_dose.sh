#!/bin/bash
# The dose as a second axis: a colloid run whose pulse energy varies by 30 % from train to train
# (drifts, attenuators), each train heated by its own energy (simulate's finite differences),
# analysed with the trains grouped by XGM pulse energy (-g2_dose_bins 3) at NP ranks: Gamma
# rises with the group's energy, and the heating model fitted to all groups at once recovers
# D_eff and the fluence; the usual checks against the truth hold. No detector artifacts: with a
# fixed offset pattern, intensities that differ between neighbouring trains leave a bias in the
# neighbour-train correction (docs/analyze.md).
# usage: check_dose.sh DATADIR NP
set -eu
data=$1 np=$2
here=$(cd "$(dirname "$0")/../.." && pwd)
sim=$data/sim_dose
. "$(dirname "$0")/scratch.sh"; mx_scratch "$sim"
rm -rf "$sim" "$sim.part"; mkdir -p "$data"
"$MPIEXEC" --oversubscribe -n 2 "$MXPCS" simulate -options_file "$here/inputs/sim_colloid.yaml" -sim_modules 3 -sim_trains 40 -sim_photons 2 -sim_artifacts 0 -sim_train_energy_rms 0.3 -o "$sim" >/dev/null
"$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze -run "$sim" -options_file "$here/inputs/analyze_colloid.yaml" -analyze_progress 0 -g2_dose_bins 3 -o "$data/dose_n$np.h5"
"$MX_PYTHON" "$(dirname "$0")/check_analyze.py" "$data/dose_n$np.h5" "$sim" --dose "$data/dose_n$np.h5"
