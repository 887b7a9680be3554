#!/usr/bin/python3
"""Independent check of the C scattering kernels (src/models/sphere.c) against sasmodels itself.

Usage:  MX_MODELS_DUMP is set by this script; run
    /usr/bin/python3 tests/peer/sasmodels_check.py build/tests/test_models [rtol]

The unit-test binary test_models, run with MX_MODELS_DUMP=1, prints `q radius pd phi I_sphere
I_ps I_beta S reff I_ps_reff` for 8 seeded pseudo-random parameter sets (radius 10-100 A, pd
0-0.3 with the first set monodisperse, phi 0.05-0.45, reff 1-1.3 radius) and the seed's dense
liquid (radius 29 A, pd 0.05, phi 0.3, reff 31.5 A: hard-sphere diameter 63 A, not 2R = 58 A)
x 50 log-uniform q in 0.001-0.5 1/A; its first line gives drho, scale, background, npts and
nsigmas. Each set is recomputed with sasmodels (Debian python3-sasmodels, dtype double):
`sphere` with Gaussian radius_pd, `sphere@hardsphere` with radius_effective_mode 1 and
structure_factor_mode 0 (P*S) and 1 (beta), S(q) from the product's intermediate results
(hardsphere at the number-mean radius of the pd grid), and `sphere@hardsphere` with
radius_effective_mode 0 and radius_effective = reff (I_ps_reff: S(q) with its own hard-sphere
radius, as the joint fit's dense samples and the simulator's -sim_hs_diameter_A use it).
Exit 1 if any relative difference exceeds rtol (default 1e-6); the maximum deviation per column
is printed either way. Expected: ~5e-15 for I_sphere; up to ~1e-8 for S and the products, all of
it from the cancellation in sasmodels' closed-form S(q) at q*sigma ~ 0.05-0.5 (the C library is
built with -march=native, so FMA contraction rounds differently; sasmodels may run on OpenCL or
its gcc -O2 DLL, SAS_OPENCL=none selects the latter)."""
import os
import subprocess
import sys

import numpy as np
from sasmodels.core import load_model
from sasmodels.direct_model import call_kernel


def read_dump(binary):
    env = dict(os.environ, MX_MODELS_DUMP='1')
    out = subprocess.run([binary], env=env, check=True, capture_output=True, text=True).stdout
    meta, rows = {}, []
    for line in out.splitlines():
        if line.startswith('# drho='):
            meta = {k: float(v) for k, v in (kv.split('=') for kv in line[2:].split())}
        elif line and not line.startswith('#'):
            rows.append([float(x) for x in line.split()])
    if not meta or not rows:
        sys.exit('%s: no dump output (is MX_MODELS_DUMP handled?)' % binary)
    return meta, np.array(rows)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    rtol = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-6
    meta, d = read_dump(sys.argv[1])
    sphere = load_model('sphere', dtype='double')
    product = load_model('sphere@hardsphere', dtype='double')
    names = ['I_sphere', 'I_ps', 'I_beta', 'S', 'I_ps_reff']
    worst = {n: (0.0, None) for n in names}
    nsets, seed_dev = 0, None
    keys = [tuple(r) for r in d[:, [1, 2, 3, 8]]]
    for key in dict.fromkeys(keys):
        sel = np.array([k == key for k in keys])
        q = d[sel, 0]
        radius, pd, phi, reff = key
        common = dict(scale=meta['scale'], background=meta['background'], sld=meta['drho'], sld_solvent=0.0,
                      radius=radius, radius_pd=pd, radius_pd_n=int(meta['npts']),
                      radius_pd_nsigma=meta['nsigmas'], radius_pd_type='gaussian')
        ks = sphere.make_kernel([q])
        kp = product.make_kernel([q])
        ref = {'I_sphere': call_kernel(ks, common)}
        for mode, name in ((0, 'I_ps'), (1, 'I_beta')):
            ref[name] = call_kernel(kp, dict(common, volfraction=phi, structure_factor_mode=mode,
                                             radius_effective_mode=1))
            if mode == 0:
                ref['S'] = np.asarray(kp.results()['S(Q)'][1])
        ref['I_ps_reff'] = call_kernel(kp, dict(common, volfraction=phi, structure_factor_mode=0,
                                                radius_effective_mode=0, radius_effective=reff))
        for col, name in zip((4, 5, 6, 7, 9), names):
            c, p = d[sel, col], ref[name]
            rel = np.abs(c - p) / np.maximum(np.abs(p), 1e-300)
            i = int(np.argmax(rel))
            if rel[i] > worst[name][0]:
                worst[name] = (rel[i], 'q=%.6g radius=%.6g pd=%.6g phi=%.6g reff=%.6g: C %.12g sasmodels %.12g'
                               % (q[i], radius, pd, phi, reff, c[i], p[i]))
        if reff == 31.5:
            seed_dev = 'I_ps_reff of that set within %.1e of sasmodels' % np.max(np.abs(d[sel, 9] / ref['I_ps_reff'] - 1))
        nsets += 1
    # the check can fail: reff must change the product (else radius_effective was ignored)
    sel = d[:, 8] == 31.5
    moved = np.max(np.abs(d[sel, 9] / d[sel, 5] - 1)) if sel.any() else 0.0
    print('  radius_effective 31.5 A vs the number-mean radius: I_ps differs by up to %.1f %% (%s)'
          % (100 * moved, seed_dev or 'no seed set'))
    print('sasmodels_check: %d parameter sets, %d points, rtol %g' % (nsets, len(d), rtol))
    bad = False
    for name in names:
        rel, where = worst[name]
        print('  %-8s max rel deviation %.3e%s' % (name, rel, ('  (' + where + ')') if where else ''))
        bad |= not rel <= rtol
    bad |= not moved > 0.01
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
