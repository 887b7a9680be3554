#!/bin/bash
# Continuous values with a static gain spread (issue 13: "the gain spread taken out of the
# shot-noise term"): the colloid simulated as the calibration delivers it with a 20 % rms
# relative gain error per pixel and no charge sharing (-sim_charge_cloud_um 0), and the photon
# counts the detector saw beside it (-sim_clean_copy). analyze on the continuous values
# (-reader_photonize none, the noise variance taken out) with -corr_shot_noise R, R = <g^2>/<g>
# of the simulation's gains over the module pixels (what a flat field gives a user; the analysis
# does not see the simulation's maps), must come back to the clean run's contrast and D_eff_mean;
# with R = 1 the bias shows. (-corr_shot_noise on photon counts or out of range: tests/bad.)
# usage: check_gain_spread.sh DATADIR NP
set -eu
data=$1 np=$2
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/scratch.sh"
out=$data/gain_spread
mkdir -p "$out"
run=$out/colloid
mx_scratch "$run" "$run/clean"
rm -rf "$run" "$run.part"
"$MPIEXEC" --oversubscribe -n 2 "$MXPCS" simulate -options_file "$here/inputs/sim_colloid.yaml" -sim_detector agipd -sim_clean_copy -sim_trains 32 -sim_seed 13 -sim_charge_cloud_um 0 -sim_gain_error 0.2 -o "$run" >/dev/null
R=$("$MX_PYTHON" - "$run/truth.h5" <<'PY'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], 'r') as t:
    g = t['detector/relative_gain'][...][:, None] * t['detector/cell_gain'][...]  # (module, cell, ss, fs)
    bad = t['detector/mask'][...][:, None] != 0
g = g[np.broadcast_to(~bad, g.shape)]
print('%.6f' % (np.mean(g * g) / np.mean(g)))
PY
)
an=("$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze -options_file "$here/inputs/analyze_colloid.yaml" -analyze_progress 0)
"${an[@]}" -run "$run/clean" -reader_adu_per_photon 1 -o "$out/clean.h5" > "$out/clean.txt"
"${an[@]}" -run "$run" -reader_adu_per_photon 12.3 -reader_photonize none -corr_shot_noise "$R" -o "$out/shot.h5" > "$out/shot.txt"
"${an[@]}" -run "$run" -reader_adu_per_photon 12.3 -reader_photonize none -o "$out/plain.h5" > "$out/plain.txt"
grep -q "hint: .*values not photonised: -reader_photonize droplet, or a photon's shot noise in them with -corr_shot_noise" "$out/plain.txt" || { echo "FAIL summary: no hint at -corr_shot_noise on the flagged run"; exit 1; }
grep -q "a photon's shot noise $(printf '%.4g' "$R") (-corr_shot_noise) taken out of the contrast" "$out/shot.txt" || { echo "FAIL summary: no shot-noise line"; exit 1; }
"$MX_PYTHON" "$(dirname "$0")/check_gain_spread.py" "$R" "$run/truth.h5" "$out/clean.h5" "$out/shot.h5" "$out/plain.h5"
