#!/bin/bash
# Validation of mxpcs md against tests/data/reference/lj_langevin_Ds.csv (physics-reference.md
# section 8): the reference's own settings (N = 1000, rho* = 0.573, LJ truncated and shifted at
# 2.5 sigma, damp 0.05 tau, dt 0.002 tau, 25k + 75k steps, slope of the COM-corrected MSD over
# 30-150 tau, 3 seeds) at its 9 epsilons. Long (~10 min on one core): not part of ctest.
#   tools/validate_md.sh [NRANKS] [OUT.h5] [--compare]   (MXPCS=path/to/mxpcs, default build/mxpcs;
#   --compare: only compare an existing OUT.h5 with the reference)
# Exit status 1 when a point outside the coexistence region disagrees by more than 3 combined
# standard errors.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
np=${1:-1}
out=${2:-$(mktemp -d)/validate_md.h5}
mxpcs=${MXPCS:-$here/build/mxpcs}
data=${MX_DATA:-$here/tests/data}
py=${MX_PYTHON:-/usr/bin/python3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
if [ "${3:-}" != --compare ]; then
  start=$(date +%s)
  mpiexec --oversubscribe -n "$np" "$mxpcs" md -o "$out" -options_file "$here/inputs/md_reference.yaml"
  echo "wall time: $(( $(date +%s) - start )) s on $np rank(s); results in $out"
fi
"$py" - "$out" "$data/reference/lj_langevin_Ds.csv" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
ref = np.genfromtxt(sys.argv[2], delimiter=",", names=True, skip_header=1)
eps, D, De = f["md/epsilon"][()], f["md/Ds_over_D0"][()], f["md/Ds_over_D0_err"][()]
coex = f["md/coexistence"][()]
bad = 0
print("eps/kT   mxpcs Ds/D0        reference          diff    z      note")
for r in ref:
    i = int(np.argmin(abs(eps - r["eps_over_kT"])))
    if abs(eps[i] - r["eps_over_kT"]) > 1e-9:
        print(f"{r['eps_over_kT']:5.2f}  not simulated"); continue
    d = D[i] - r["DL_over_D0_mean"]
    z = d / np.hypot(De[i], r["DL_over_D0_sem"])
    note = "coexistence (T* < Tc*): run-length dependent" if coex[i] else ""
    if abs(z) > 3 and not coex[i]: bad += 1; note += " DISAGREES"
    print(f"{eps[i]:5.2f}  {D[i]:.4f} +- {De[i]:.4f}   {r['DL_over_D0_mean']:.4f} +- {r['DL_over_D0_sem']:.4f}   {d:+.4f}  {z:+5.2f}  {note}")
if "md/sq/S" in f:
    q, S, Spy = f["md/sq/q_sigma"][()], f["md/sq/S"][()], f["md/sq/S_py_bh"][()]
    print("S(q) main peak: MD vs Percus-Yevick(phi d_BH^3, d_BH); rms(S - S_PY) for q sigma in [2, 15]")
    sel = (q >= 2) & (q <= 15)
    for i in range(len(eps)):
        rms = np.sqrt(np.mean((S[i, sel] - Spy[i, sel]) ** 2))
        print(f"{eps[i]:5.2f}  MD ({f['md/sq/peak_q_sigma'][i]:.3f}, {f['md/sq/peak_S'][i]:.3f})  PY ({f['md/sq/peak_q_sigma_py_bh'][i]:.3f}, {f['md/sq/peak_S_py_bh'][i]:.3f})  rms {rms:.3f}")
print("particle-steps/s/rank: %.4g" % f["md/perf/particle_steps_per_s_per_rank"][()])
sys.exit(1 if bad else 0)
PY
