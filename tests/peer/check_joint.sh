#!/bin/bash
# mxpcs fit, joint fit across samples, against the truth of mxpcs simulate: a dilute colloid
# (S = H = 1, D0 free) and a phi = 0.3 liquid (Percus-Yevick S(q), delta-gamma H(q) with
# Ds/D0 = 0.23, D0 given as if from DLS), both heated along the train (Stokes-Einstein with an
# Arrhenius viscosity, 0.4 K per pulse at 2.2 MHz = 0.88 K/us). The fit shares the radius, the
# polydispersity and the heating law. Criteria (issue 5): radius within 2 %, phi within 5 %,
# D0 within 3 %, Ds/D0 within 0.05, the heating rate within 2 of its errors; the H(q) data
# match the truth's H(q) within 10 %; at 1 and 2 ranks the same numbers.
# usage: check_joint.sh DATADIR
set -eu
data=$1
d=$data/joint; mkdir -p "$d"
here=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/scratch.sh"; mx_scratch "$d/colloid" "$d/liquid"
# one sample at a time, its frames removed once analysed (2 GB each)
for s in colloid liquid; do
  rm -rf "$d/$s" "$d/$s.part" "$d/$s.h5"
  "$MPIEXEC" --oversubscribe -n 2 "$MXPCS" simulate -options_file "$here/inputs/sim_$s.yaml" -sim_trains 32 -sim_subpixels 1 -o "$d/$s" | tail -1
  "$MPIEXEC" --oversubscribe -n 2 "$MXPCS" analyze -run "$d/$s" -options_file "$here/inputs/analyze_$s.yaml" -analyze_progress 0 -o "$d/$s.h5" | tail -2
  [ "${MX_KEEP_TESTDATA:-0}" = 1 ] || rm -rf "$d/$s/proc" "$d/$s/raw"
done
fitopt=(-i "$d/colloid.h5,$d/liquid.h5" -options_file "$here/inputs/fit_joint.yaml")
rm -f "$d/joint_n1.h5" "$d/joint_n2.h5"
"$MPIEXEC" --oversubscribe -n 1 "$MXPCS" fit "${fitopt[@]}" -o "$d/joint_n1.h5"
"$MPIEXEC" --oversubscribe -n 2 "$MXPCS" fit "${fitopt[@]}" -o "$d/joint_n2.h5" >/dev/null
"$MX_PYTHON" - "$d" <<'PY'
import sys, h5py, numpy as np
d = sys.argv[1]
tc, tl = h5py.File(d + '/colloid/truth.h5'), h5py.File(d + '/liquid/truth.h5')
j = h5py.File(d + '/joint_n1.h5'); j2 = h5py.File(d + '/joint_n2.h5')
fails = []
def check(ok, what):
    print(('ok    ' if ok else 'FAIL  ') + what)
    if not ok: fails.append(what)
def rel(a, b): return a / b - 1
R = j['saxs_model/colloid/radius'][()]; Rt = tc['params/radius_A'][()]
check(abs(rel(R, Rt)) < 0.02, 'radius %.3f A vs truth %.3f (%+.2f %%, limit 2 %%)' % (R, Rt, 100 * rel(R, Rt)))
phi = j['saxs_model/liquid/phi'][()]; phit = tl['params/phi'][()]
check(abs(rel(phi, phit)) < 0.05, 'liquid phi %.4f +- %.4f vs truth %.3f (%+.2f %%, limit 5 %%)' % (phi, j['saxs_model/liquid/phi_err'][()], phit, 100 * rel(phi, phit)))
D0 = j['hydro/colloid/D0'][()]; D0t = tc['params/D0_um2_s'][()]
check(abs(rel(D0, D0t)) < 0.03 and j['hydro/colloid/D0_free'][()] == 1, 'colloid D0 %.3f +- %.3f um^2/s vs truth %.1f (%+.2f %%, limit 3 %%)' % (D0, j['hydro/colloid/D0_err'][()], D0t, 100 * rel(D0, D0t)))
Ds = j['hydro/liquid/Ds_over_D0'][()]; Dst = tl['params/Ds_over_D0'][()]
check(abs(Ds - Dst) < 0.05, 'liquid Ds/D0 %.4f +- %.4f vs truth %.3f (limit 0.05)' % (Ds, j['hydro/liquid/Ds_over_D0_err'][()], Dst))
k, ke = j['joint/heating_k'][()], j['joint/heating_k_err'][()]
kt = tc['params/dT_per_pulse_K'][()] / tc['params/pulse_spacing_s'][()] * 1e-6
check(abs(k - kt) < 2 * ke and ke < 0.5 * kt, 'heating dT/dt %.3f +- %.3f K/us vs truth %.3f (within 2 errors)' % (k, ke, kt))
for s, t in (('colloid', tc), ('liquid', tl)):
    q = j['hydro/%s/q' % s][...]; H = j['hydro/%s/H' % s][...]
    Ht = np.interp(q, t['truth/q'][...], t['truth/H'][...])
    dev = np.max(np.abs(H / Ht - 1))
    check(dev < 0.10, '%s: H(q) data vs the truth H(q) at %d rings: max deviation %.1f %% (limit 10 %%)' % (s, len(q), 100 * dev))
a, b = j['joint/values'][...], j2['joint/values'][...]
check(np.allclose(a, b, rtol=1e-6, atol=0), '1 and 2 ranks: same parameters (max rel diff %.1e)' % np.max(np.abs(a / b - 1)))
names = [n.decode() for n in j['joint/names'][...]]
corr = j['joint/correlation'][...]
check(corr.shape == (len(names), len(names)) and np.allclose(np.diag(corr), 1), 'correlation matrix %dx%d with unit diagonal' % corr.shape)
print('%d passed, %d failed' % (10 - len(fails), len(fails))); sys.exit(1 if fails else 0)
PY
