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
# clean photon counts: the dose axis is checked here, the detector in sim.agipd_truth
"$MPIEXEC" --oversubscribe -n 2 "$MXPCS" simulate -options_file "$here/inputs/sim_colloid.yaml" -sim_detector ideal -sim_modules 3 -sim_trains 40 -sim_photons 2 -sim_artifacts 0 -sim_train_energy_rms 0.3 -o "$sim" >/dev/null
"$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze -run "$sim" -options_file "$here/inputs/analyze_colloid.yaml" -reader_adu_per_photon 1 -analyze_progress 0 -g2_dose_bins 3 -o "$data/dose_n$np.h5"
"$MX_PYTHON" "$(dirname "$0")/check_analyze.py" "$data/dose_n$np.h5" "$sim" --dose "$data/dose_n$np.h5"
# the joint fit takes the groups as the dose axis of the same fit (one fluence, each group at its
# energy): D0 and the fluence against the simulation's
"$MPIEXEC" --oversubscribe -n 1 "$MXPCS" fit -i "$data/dose_n$np.h5" -fit_samples colloid -o "$data/dose_joint_n$np.h5" >/dev/null
"$MX_PYTHON" - "$data/dose_joint_n$np.h5" "$sim/truth.h5" <<'PY'
import sys, h5py
j, t = h5py.File(sys.argv[1]), h5py.File(sys.argv[2])
D0, D0e, Dt = j['hydro/colloid/D0'][()], j['hydro/colloid/D0_err'][()], t['params/D0_um2_s'][()]
F, Fe, Ft = j['joint/heating_k'][()], j['joint/heating_k_err'][()], t['params/fluence_J_cm2'][()]
n = j['hydro/colloid/npoints_gamma'][()]
ok = abs(D0 / Dt - 1) < 0.03 and abs(F - Ft) < 3 * Fe + 0.1 * Ft and n > 100
print('joint fit over the dose groups (%d points): D0 %.2f +- %.2f um^2/s (truth %.1f), fluence %.3f +- %.3f J/cm^2 (simulated %.2f)  %s' % (n, D0, D0e, Dt, F, Fe, Ft, 'ok' if ok else 'FAIL'))
sys.exit(0 if ok else 1)
PY
