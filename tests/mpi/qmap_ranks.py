#!/usr/bin/python3
"""mxpcs qmap at 1, 2 and 4 ranks: the output files must hold identical datasets and
attributes, and q_map must match tests/data/geometry/qref_mar18_d8m_9keV.csv.
Environment (set by tests/CMakeLists.txt): MXPCS, MPIEXEC, MX_DATA (tests/data)."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

mxpcs = os.environ["MXPCS"]
mpiexec = os.environ.get("MPIEXEC", "mpiexec")
data = os.environ["MX_DATA"]
geom = os.path.join(data, "geometry/agipd_mar18_v11.geom")
csv = os.path.join(data, "geometry/qref_mar18_d8m_9keV.csv")


def load(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            attrs = {k: np.asarray(v).tolist() for k, v in obj.attrs.items()}
            out[name] = (obj[()] if isinstance(obj, h5py.Dataset) else None, attrs)
        f.visititems(visit)
    return out


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


failures = []
# when and how each file was written (times, the options with the output's own name)
PROVENANCE = {'entry/start_time', 'entry/end_time', 'entry/process/date', 'entry/process/options'}

with tempfile.TemporaryDirectory() as tmp:
    files = {}
    for n in (1, 2, 4):
        out = os.path.join(tmp, f"q{n}.h5")
        cmd = [mpiexec, "--oversubscribe", "-n", str(n), mxpcs, "qmap", "-geom_file", geom,
               "-geom_distance_m", "8", "-geom_energy_kev", "9", "-rings_n", "12",
               "-rings_n_phi", "3", "-o", out]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if r.returncode != 0 or not os.path.exists(out):
            print(r.stdout, r.stderr)
            sys.exit(f"FAIL: {' '.join(cmd)} returned {r.returncode}")
        if os.path.exists(out + ".part"):
            failures.append(f"{n} ranks: {out}.part left behind")
        files[n] = load(out)
    ref = files[1]
    for n in (2, 4):
        if set(files[n]) != set(ref):
            failures.append(f"{n} ranks: objects differ: {sorted(set(files[n]) ^ set(ref))}")
            continue
        for name, (data, attrs) in ref.items():
            d2, a2 = files[n][name]
            if name in PROVENANCE:
                continue
            if not same(data, d2):
                failures.append(f"{n} ranks: dataset {name} differs from 1 rank")
            if attrs != a2:
                failures.append(f"{n} ranks: attributes of {name} differ from 1 rank")

    q = ref["xpcs/qmap/q_map"][0]
    rows = np.genfromtxt(csv, delimiter=",", skip_header=2)
    m, ss, fs = (rows[:, i].astype(int) for i in range(3))
    dev = np.max(np.abs(q[m, ss, fs] / rows[:, 7] - 1))
    if dev > 1e-9:
        failures.append(f"q_map deviates from {os.path.basename(csv)} by {dev:.3g} (relative)")
    roi, npix, qmean = ref["xpcs/qmap/roi_map"][0], ref["xpcs/qmap/npix"][0], ref["xpcs/qmap/q"][0]
    for i in range(len(npix)):
        sel = roi == i + 1
        if sel.sum() != npix[i] or abs(q[sel].mean() - qmean[i]) > 1e-12 * qmean[i]:
            failures.append(f"ring {i}: npix or mean q inconsistent with roi_map and q_map")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"qmap identical at 1, 2, 4 ranks; q_map vs reference: max relative deviation {dev:.2e}")
