#!/bin/bash
# A train without X-rays (all frames zero in every module) is dropped as an intensity outlier,
# counted in /xpcs/meta/trains_dropped_intensity and absent from /xpcs/meta/train_ids; the
# trains beside it lose it as a neighbour. usage: check_filter.sh DATADIR NP
set -eu
data=$1 np=$2
sim=$data/sim_filter
. "$(dirname "$0")/scratch.sh"; mx_scratch "$sim"
rm -rf "$sim" "$sim.part"
"$MPIEXEC" --oversubscribe -n 2 "$MXPCS" simulate -sim_detector ideal -sim_modules 4 -sim_trains 12 -sim_pulses 10 -sim_artifacts 0 -o "$sim" >/dev/null
"$MX_PYTHON" - "$sim" <<'PY'
import glob, sys, h5py
for f in glob.glob(sys.argv[1] + '/proc/r*/CORR-*.h5'):
    with h5py.File(f, 'r+') as h:
        g = h['INSTRUMENT/MID_DET_AGIPD1M-1/CORR/4CH0:output/image']
        tid = g['trainId'][...]
        sel = tid == 1000001006
        if sel.any():
            d = g['data'][...]; d[sel] = 0; g['data'][...] = d
PY
out=$data/filter_n$np.h5; rm -f "$out"
"$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze -run "$sim" -geom_distance_m 7 -geom_energy_kev 12.3 -rings_q_min 0.01 -rings_q_max 0.03 -rings_n 3 -g2_age_window 5 -analyze_progress 0 -o "$out"
"$MX_PYTHON" - "$out" <<'PY'
import sys, h5py
r = h5py.File(sys.argv[1])
ids = list(r['xpcs/meta/train_ids'][...]); nd = r['xpcs/meta/trains_dropped_intensity'][()]
ok = nd == 1 and 1000001006 not in ids and len(ids) == 11
print('dropped %d, used %d trains, 1000001006 used: %s' % (nd, len(ids), 1000001006 in ids))
print('1 passed, 0 failed' if ok else '0 passed, 1 failed'); sys.exit(0 if ok else 1)
PY
