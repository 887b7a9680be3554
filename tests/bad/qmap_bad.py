#!/usr/bin/python3
"""mxpcs qmap on bad input, at 1 and 3 ranks: a non-zero exit, one message naming the thing,
no output file (and no .part) left behind, no hang.
Environment (set by tests/CMakeLists.txt): MXPCS, MPIEXEC, MX_DATA (tests/data)."""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

mxpcs = os.environ["MXPCS"]
mpiexec = os.environ.get("MPIEXEC", "mpiexec")
geom = os.path.join(os.environ["MX_DATA"], "geometry/agipd_mar18_v11.geom")
failures = []

with tempfile.TemporaryDirectory() as tmp:
    text = open(geom).read()
    bad_key = os.path.join(tmp, "bad_key.geom")
    open(bad_key, "w").write(text + "\np7a2/corner_q = 3\n")
    no_panel = os.path.join(tmp, "no_panel.geom")
    open(no_panel, "w").write("\n".join(l for l in text.splitlines() if not l.startswith("p9a6/")))
    clen_path = os.path.join(tmp, "clen_path.geom")
    open(clen_path, "w").write(text.replace("\nclen = 0.1249", "\nclen = /CONTROL/det/z"))
    shape = os.path.join(tmp, "mask_shape.h5")
    with h5py.File(shape, "w") as f:
        f["mask"] = np.zeros((16, 128, 512), np.uint8)
    out = os.path.join(tmp, "out.h5")

    cases = [
        ([], "needs -o"),
        (["-geom_file", bad_key, "-o", out], "corner_q"),
        (["-geom_file", no_panel, "-o", out], "module 9"),
        (["-geom_file", clen_path, "-o", out], "-geom_distance_m"),
        (["-geom_file", os.path.join(tmp, "none.geom"), "-o", out], "none.geom"),
        (["-geom_file", geom, "-mask_file", shape, "-o", out], "(16,128,512)"),
        (["-geom_file", geom, "-mask_file", os.path.join(tmp, "none.h5"), "-o", out], "none.h5"),
        (["-geom_distance_m", "0", "-o", out], "-geom_distance_m"),
        (["-geom_polarization", "2", "-o", out], "-geom_polarization"),
        (["-geom_quad_pos", "1,2,3", "-o", out], "-geom_quad_pos"),
        (["-rings_q_edges", "0.02,0.01", "-o", out], "-rings_q_edges"),
        (["-rings_spacing", "log", "-rings_q_min", "0", "-o", out], "-rings_spacing"),
        (["-rings_min_pixels", "100000000", "-o", out], "-rings_min_pixels"),
        (["-o", os.path.join(tmp, "no/such/dir/out.h5")], "cannot create"),
    ]
    for n in (1, 3):
        for args, needle in cases:
            cmd = [mpiexec, "--oversubscribe", "-n", str(n), mxpcs, "qmap"] + args
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                failures.append(f"{n} ranks {args}: hangs")
                continue
            msgs = [l for l in r.stderr.splitlines() if l.startswith("mxpcs qmap: error")]
            if r.returncode == 0:
                failures.append(f"{n} ranks {args}: exit status 0")
            elif len(msgs) != 1 or needle not in msgs[0]:
                failures.append(f"{n} ranks {args}: expected one error naming '{needle}', got {msgs or r.stderr[-300:]}")
            for p in (out, out + ".part"):
                if os.path.exists(p):
                    failures.append(f"{n} ranks {args}: {p} left behind")
                    os.unlink(p)

if failures:
    print("\n".join(failures))
    sys.exit(1)
print(f"{len(cases)} bad inputs x 2 rank counts: each one error naming the problem, nothing written")
