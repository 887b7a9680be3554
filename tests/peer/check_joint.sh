#!/bin/bash
# mxpcs fit, joint fit across samples, against the truth of mxpcs simulate: a dilute colloid
# (S = H = 1, D0 free) and a phi = 0.3 liquid (Percus-Yevick S(q), delta-gamma H(q) with
# Ds/D0 = 0.23, D0 given as if from DLS) whose hard-sphere diameter is the seed's 63 A, not
# 2R = 58 A (-sim_hs_diameter_A 63), both heated by the same beam (0.8 J/cm^2 effective; PbS
# 0.005 and 0.02 along the path: 1.3 and 2.6 K per pulse, the heat diffusing out of the beam, by
# simulate's finite differences). The fit shares the radius, the polydispersity and the fluence
# (-joint_heating dose, the analytic kernel); the liquid's diameter is its own. Criteria: radius
# within 2 %, phi within 5 %, D0 within 3 %, Ds/D0 within 0.05, the fluence within 2 of its
# errors + 5 %, the hard-sphere diameter within 3 of its errors; the H(q) data
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
  extra=(); [ $s = liquid ] && extra=(-sim_hs_diameter_A 63)
  "$MPIEXEC" --oversubscribe -n 2 "$MXPCS" simulate -options_file "$here/inputs/sim_$s.yaml" -sim_trains 32 -sim_subpixels 1 "${extra[@]}" -o "$d/$s" | tail -1
  "$MPIEXEC" --oversubscribe -n 2 "$MXPCS" analyze -run "$d/$s" -options_file "$here/inputs/analyze_$s.yaml" -analyze_progress 0 -o "$d/$s.h5" | tail -2
  [ "${MX_KEEP_TESTDATA:-0}" = 1 ] || rm -rf "$d/$s/proc" "$d/$s/raw"
done
fitopt=(-i "$d/colloid.h5,$d/liquid.h5" -options_file "$here/inputs/fit_joint.yaml")
rm -f "$d/joint_n1.h5" "$d/joint_n2.h5"
"$MPIEXEC" --oversubscribe -n 1 "$MXPCS" fit "${fitopt[@]}" -o "$d/joint_n1.h5"
"$MPIEXEC" --oversubscribe -n 2 "$MXPCS" fit "${fitopt[@]}" -o "$d/joint_n2.h5" >/dev/null
rc=0
"$MX_PYTHON" - "$d" <<'PY' || rc=1
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
sig, sige, sigt = j['saxs_model/liquid/hs_diameter'][()], j['saxs_model/liquid/hs_diameter_err'][()], tl['params/hs_diameter_A'][()]
check(abs(sig - sigt) < 3 * sige and 0 < sige < 2, 'liquid hard-sphere diameter %.2f +- %.2f A vs truth %.1f (2R %.1f; within 3 errors)' % (sig, sige, sigt, 2 * R))
Ds = j['hydro/liquid/Ds_over_D0'][()]; Dst = tl['params/Ds_over_D0'][()]
check(abs(Ds - Dst) < 0.05, 'liquid Ds/D0 %.4f +- %.4f vs truth %.3f (limit 0.05)' % (Ds, j['hydro/liquid/Ds_over_D0_err'][()], Dst))
k, ke = j['joint/heating_k'][()], j['joint/heating_k_err'][()]
kt = tc['params/fluence_J_cm2'][()]
check(abs(k - kt) < 2 * ke + 0.05 * kt and ke < 0.5 * kt, 'heating: effective fluence %.3f +- %.3f J/cm^2 vs truth %.3f (within 2 errors + 5 %%)' % (k, ke, kt))
for s_, t_ in (('colloid', tc), ('liquid', tl)):
    dT, dTt = j['hydro/%s/heating_dT0_K' % s_][()], t_['params/dT_per_pulse_K'][()]
    check(abs(dT / dTt - 1) < 2 * ke / k + 0.05, '%s: jump per pulse %.3f K vs truth %.3f' % (s_, dT, dTt))
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
print('%d passed, %d failed' % (11 - len(fails), len(fails))); sys.exit(1 if fails else 0)
PY

# results files of an older or different layout (issue 9): a one-line error naming the file and
# what is missing, no output; -fit_mode auto says why it does not fit jointly
"$MX_PYTHON" - "$d" <<'PY'
import h5py, shutil, sys
d = sys.argv[1]
for n in ('old', 'shape'): shutil.copy(d + '/colloid.h5', d + '/layout_%s.h5' % n)
with h5py.File(d + '/layout_old.h5', 'r+') as f: del f['xpcs/fit/gamma']; del f['xpcs/g2/age']
with h5py.File(d + '/layout_shape.h5', 'r+') as f:
    g = f['xpcs/fit/gamma'][...]; del f['xpcs/fit/gamma']; f['xpcs/fit/gamma'] = g[:-1]
PY
layout() { # NAME PATTERN -- fit args
  local name=$1 pat=$2; shift 3
  rm -f "$d/layout_out.h5"
  local msg r=0
  msg=$(timeout 60 "$MPIEXEC" --oversubscribe -n 2 "$MXPCS" fit "$@" -options_file "$here/inputs/fit_joint.yaml" -o "$d/layout_out.h5" 2>&1) || r=$?
  if [ $r -ne 0 ] && [ $r -ne 124 ] && grep -qE -- "$pat" <<<"$msg" && [ ! -e "$d/layout_out.h5" ]; then echo "ok    layout $name: $(grep -m1 -E -- "$pat" <<<"$msg")"
  else echo "FAIL  layout $name (exit $r): $(grep -m1 error <<<"$msg")"; rc=1; fi
}
# (fit_joint.yaml has the options of samples colloid and liquid: -fit_samples names the inputs so)
layout older   "layout_old.h5: /xpcs/g2/age is missing \\(not an .mxpcs analyze. results file, or an older layout\\?\\)" -- -i "$d/layout_old.h5,$d/liquid.h5" -fit_samples colloid,liquid -fit_mode joint
layout shape   "layout_shape.h5: /xpcs/fit/gamma is 7 x 6, expected rings x ages = 8 x 6" -- -i "$d/layout_shape.h5,$d/liquid.h5" -fit_samples colloid,liquid -fit_mode joint
layout fitfile "joint_n1.h5: group /xpcs/saxs is missing" -- -i "$d/joint_n1.h5,$d/liquid.h5" -fit_samples colloid,liquid
# per-sample options (issue 16): a sample name that cannot prefix options is an error naming the
# file; an option of a sample that is not there is an unknown option
cp "$d/colloid.h5" "$d/run-12.h5"
layout badname "the sample of .*run-12.h5 is named 'run-12' after its file, which is not a valid options prefix" -- -i "$d/run-12.h5,$d/liquid.h5" -fit_mode joint
layout unknown "unknown option.*-colloid_hydro_D0" -- -i "$d/run-12.h5,$d/liquid.h5" -fit_samples dilute,liquid
rm -f "$d/run-12.h5"
msg=$(timeout 60 "$MPIEXEC" --oversubscribe -n 2 "$MXPCS" fit -i "$d/layout_old.h5,$d/liquid.h5" -fit_samples colloid,liquid -options_file "$here/inputs/fit_joint.yaml" -o "$d/layout_auto.h5" 2>&1) || true
if grep -q "SAXS fits only, because .*layout_old.h5 has no /xpcs/fit/gamma" <<<"$msg"; then echo "ok    layout auto: says why it fits SAXS only"
else echo "FAIL  layout auto: no reason given"; rc=1; fi
# the per-sample lists in input order of earlier releases (deprecated, kept one release): the
# same fit as the per-sample options, and a warning that says what replaces them (a quick model:
# no heating, the liquid's diameter fixed, no colloid part)
rm -f "$d/joint_lists.h5" "$d/joint_named.h5"
quick=(-joint_heating none -liquid_joint_colloid 0 -liquid_joint_hs_diameter_A 60)
"$MPIEXEC" --oversubscribe -n 1 "$MXPCS" fit -i "$d/colloid.h5,$d/liquid.h5" "${quick[@]}" -colloid_joint_dense 0 -liquid_joint_dense 1 -colloid_hydro_D0 0 -liquid_hydro_D0 5 -colloid_joint_q_range 0.005:0.1 -liquid_joint_q_range 0.085:0.13 -o "$d/joint_named.h5" >/dev/null
msg=$("$MPIEXEC" --oversubscribe -n 1 "$MXPCS" fit -i "$d/colloid.h5,$d/liquid.h5" "${quick[@]}" -joint_dense 0,1 -hydro_D0 0,5 -joint_q_range 0.005:0.1,0.085:0.13 -o "$d/joint_lists.h5" 2>&1 >/dev/null) || true
if grep -q "warning: per-sample lists in input order (-hydro_D0, -joint_dense, -joint_q_range a:b,c:d) are deprecated.*-liquid_joint_dense 1" <<<"$msg" &&
  "$MX_PYTHON" -c "import sys, h5py, numpy as np; v = [h5py.File(f)['joint/values'][...] for f in sys.argv[1:]]; sys.exit(not np.array_equal(*v))" "$d/joint_named.h5" "$d/joint_lists.h5"; then
  echo "ok    deprecated -hydro_D0/-joint_dense/-joint_q_range lists: the same fit, with a warning"
else echo "FAIL  deprecated lists: $(head -c 300 <<<"$msg")"; rc=1; fi
exit $rc
