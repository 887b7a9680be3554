#!/bin/bash
# Real AGIPD data (issue 13): the colloid and the liquid simulated as EuXFEL's calibration
# delivers them (-sim_detector agipd: keV, gain error, offset residual, common mode, noise, charge
# sharing, wide and hot pixels, zingers) with the photon counts the detector saw beside them
# (-sim_clean_copy: DIR/clean, the same photons and mask). analyze with its corrections must give
# the clean run's contrast and rates and the truth's D_eff_mean; without them the bias shows;
# keV data without -reader_adu_per_photon are refused with one line naming the option, nothing
# written.
# usage: check_agipd.sh DATADIR NP     (MX_AGIPD_SEED: the simulations' seed, default 13; other
# seeds by hand: MX_AGIPD_SEED=21 MPIEXEC=mpiexec MXPCS=build/mxpcs MX_PYTHON=/usr/bin/python3 ...)
set -eu
data=$1 np=$2
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/scratch.sh"
out=$data/agipd
mkdir -p "$out"
args=()
for s in colloid liquid; do
  run=$out/${s}_agipd
  mx_scratch "$run" "$run/clean"
  rm -rf "$run" "$run.part"
  nt=32; [ $s = liquid ] && nt=48 # the liquid's rates need more trains for D_eff_mean within 3 %
  "$MPIEXEC" --oversubscribe -n 2 "$MXPCS" simulate -options_file "$here/inputs/sim_$s.yaml" -sim_detector agipd -sim_clean_copy -sim_trains $nt -sim_seed "${MX_AGIPD_SEED:-13}" -o "$run" >/dev/null
  an=("$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze -options_file "$here/inputs/analyze_$s.yaml" -analyze_progress 0)
  "${an[@]}" -run "$run/clean" -reader_adu_per_photon 1 -o "$out/${s}_clean.h5" > "$out/${s}_clean.txt"
  "${an[@]}" -run "$out/${s}_agipd" -reader_adu_per_photon 12.3 -o "$out/${s}_corr.h5" > "$out/${s}_corr.txt"
  "${an[@]}" -run "$out/${s}_agipd" -reader_adu_per_photon 12.3 -reader_common_mode none -reader_photonize none -reader_max_photons 0 -o "$out/${s}_none.h5" > /dev/null
  args+=(--$s "$run" "$out/${s}_clean.h5" "$out/${s}_corr.h5" "$out/${s}_none.h5")
done
# keV values read as photons: refused before the run, on every rank, nothing written
rm -f "$out/dump_kev.h5"
if "${an[@]}" -run "$out/liquid_agipd" -reader_adu_per_photon 1 -o "$out/dump_kev.h5" > "$out/kev.txt" 2>&1; then
  echo "FAIL keV data without -reader_adu_per_photon: accepted"; exit 1
fi
grep -q "option -reader_photonize: the values are not in photons" "$out/kev.txt" || { echo "FAIL keV data: message"; head -3 "$out/kev.txt"; exit 1; }
[ ! -e "$out/dump_kev.h5" ] || { echo "FAIL keV data: output left behind"; exit 1; }
echo "ok   keV data without -reader_adu_per_photon: $(grep -m1 'not in photons' "$out/kev.txt" | cut -c1-160)"
"$MX_PYTHON" "$(dirname "$0")/check_agipd.py" "${args[@]}"
