#!/bin/bash
# XGM per-pulse energy filter. A simulated run with dud pulses in two trains (and a detector
# gap): extra_data reads the XGM record mxpcs simulate wrote and it matches the truth; mxpcs
# analyze at NP ranks drops exactly the dud trains (and no other), records them, and
# -analyze_xgm off keeps them; a wrong -analyze_xgm path is a clear error.
# usage: check_xgm.sh DATADIR NP
set -eu
data=$1 np=$2
sim=$data/sim_xgm_n$np
. "$(dirname "$0")/scratch.sh"; mx_scratch "$sim"
rm -rf "$sim" "$sim.part"; mkdir -p "$data"
"$MPIEXEC" --oversubscribe -n 2 "$MXPCS" simulate -sim_detector ideal -sim_modules 4 -sim_trains 14 -sim_pulses 12 -sim_artifacts 0 \
  -sim_dud_trains 3,9 -sim_missing_trains 6 -o "$sim" >/dev/null
common=(-run "$sim" -geom_distance_m 7 -geom_energy_kev 12.3 -rings_q_min 0.01 -rings_q_max 0.03 -rings_n 3 -g2_age_window 6 -analyze_progress 0)
"$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze "${common[@]}" -o "$data/xgm_on_n$np.h5"
"$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze "${common[@]}" -analyze_xgm off -o "$data/xgm_off_n$np.h5" >/dev/null
set +e
msg=$("$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" analyze "${common[@]}" -analyze_xgm "$data/no_such_xgm" -o "$data/xgm_bad_n$np.h5" 2>&1)
rc=$?
set -e
"$MX_PYTHON" - "$sim" "$data/xgm_on_n$np.h5" "$data/xgm_off_n$np.h5" "$data/xgm_bad_n$np.h5" "$rc" "$msg" <<'PY'
import os, sys, h5py, numpy as np, extra_data as ed
sim, on, off, bad, rc, msg = sys.argv[1:7]
t = h5py.File(sim + '/truth.h5')
dud = sorted(t['truth/dud_train_ids'][...].tolist())
E_true = t['truth/pulse_energy'][...] * t['params/pulse_energy_uJ'][()] if 'params/pulse_energy_uJ' in t else t['truth/pulse_energy'][...] * 2.5
run = ed.RunDirectory(sim + '/raw/r0001')
xgm = run['SA2_XTD1_XGM/XGM/DOOCS:output', 'data.intensityTD']
X = xgm.ndarray()[:, :E_true.shape[1]]
xtid = np.asarray(xgm.train_ids)
det = t['truth/train_ids'][...]
Xd = X[np.searchsorted(xtid, det)]
fails = []
def check(ok, what):
    print(('ok    ' if ok else 'FAIL  ') + what)
    if not ok: fails.append(what)
rel = Xd / E_true - 1
check(len(xtid) == 14, 'extra_data: the XGM recorded all 14 trains (%d), also the one the detector lost' % len(xtid))
check(abs(rel.mean()) < 0.01 and 0.01 < rel.std() < 0.03, 'extra_data: XGM / truth pulse energy - 1: mean %.4f, sd %.4f (2 %% reading noise)' % (rel.mean(), rel.std()))
r = h5py.File(on); m = r['xpcs/meta']
got = sorted(m['train_ids_dropped_xgm'][...].tolist())
check(got == dud, 'analyze drops the dud trains %s: %s' % (dud, got))
check(m['trains_dropped_xgm'][()] == 2 and not set(dud) & set(m['train_ids'][...].tolist()), 'counted (%g) and absent from train_ids' % m['trains_dropped_xgm'][()])
keep = np.array([i not in dud for i in det])
pe = m['pulse_energy'][...]
check(np.allclose(pe, Xd[keep].mean(axis=0), rtol=1e-5), 'pulse_energy = mean XGM over the kept trains (max rel diff %.1e)' % np.max(np.abs(pe / Xd[keep].mean(axis=0) - 1)))
check(b'SA2_XTD1_XGM' in m.attrs['xgm_source'], 'source recorded: %s' % m.attrs['xgm_source'])
o = h5py.File(off)['xpcs/meta']
check(o['trains_dropped_xgm'][()] == 0 and set(dud) <= set(o['train_ids'][...].tolist()), '-analyze_xgm off keeps them')
check(int(rc) != 0 and 'no_such_xgm' in msg and not os.path.exists(bad) and not os.path.exists(bad + '.part'), 'a missing -analyze_xgm path: exit %s, message names it, no output' % rc)
print('%d passed, %d failed' % (8 - len(fails), len(fails))); sys.exit(1 if fails else 0)
PY
