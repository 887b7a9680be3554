#!/usr/bin/python3
"""Synthetic SAXS data for the mxpcs fit tests, made with sasmodels (the peer) itself.

Usage:  /usr/bin/python3 tests/fit/make_saxs_data.py OUTDIR

Writes, for each case in CASES, OUTDIR/<case>.txt ("q I dI", q in 1/angstrom, '#' header),
OUTDIR/<case>_nm.txt (the same with q in 1/nm and a header saying so), OUTDIR/<case>.h5 (NXcanSAS,
written by sasview's NXcanSASWriter) and OUTDIR/<case>.json (the generating parameters).
I(q) is sasmodels' sphere or sphere@hardsphere (35-point +-3 sigma Gaussian pd, radius_effective
mode 1, structure_factor_mode 0) in counts: I = N * model; counts drawn from a Poisson
distribution (numpy default_rng(seed)), dI = sqrt(max(I, 1)). Deterministic for a given seed.
"""
import json
import os
import sys

import numpy as np
from sasmodels.core import load_model
from sasmodels.direct_model import call_kernel

# name: model, parameters (sasmodels names, sld contrast 1), q grid, counts scale, seed
CASES = {
    'sphere_pd': dict(model='sphere', q=(0.004, 0.35, 220),
                      pars=dict(radius=45.0, radius_pd=0.08, scale=2.0e4, background=3.0), seed=11),
    'sphere_hs': dict(model='sphere@hardsphere', q=(0.004, 0.30, 200),
                      pars=dict(radius=29.0, radius_pd=0.05, volfraction=0.30, scale=2.0e5, background=2.0), seed=12),
}


def model_I(name, q, pars):
    model = load_model(name, dtype='double')
    kw = dict(sld=1.0, sld_solvent=0.0, radius_pd_n=35, radius_pd_nsigma=3, radius_pd_type='gaussian')
    if '@' in name:
        kw.update(radius_effective_mode=1, structure_factor_mode=0)
    kw.update(pars)
    return call_kernel(model.make_kernel([q]), kw)


def write_nxcansas(path, q, I, dI):
    from sas.sascalc.dataloader.data_info import Data1D
    from sas.sascalc.file_converter.nxcansas_writer import NXcanSASWriter
    d = Data1D(x=q, y=I, dy=dI)
    d.x_unit = '1/A'
    d.y_unit = 'counts'
    d.title = os.path.basename(path)
    if os.path.exists(path):
        os.remove(path)
    NXcanSASWriter().write([d], path)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for case, c in CASES.items():
        q = np.geomspace(*c['q'])
        mean = model_I(c['model'], q, c['pars'])
        rng = np.random.default_rng(c['seed'])
        I = rng.poisson(mean).astype(float)
        dI = np.sqrt(np.maximum(I, 1.0))
        base = os.path.join(out, case)
        with open(base + '.txt', 'w') as f:
            f.write('# %s: sasmodels %s %s, Poisson counts\n# q [1/A]  I [counts]  dI\n' % (case, c['model'], c['pars']))
            for row in zip(q, I, dI):
                f.write('%.17g %.17g %.17g\n' % row)
        with open(base + '_nm.txt', 'w') as f:
            f.write('q(nm^-1) I dI\n')
            for row in zip(q * 10.0, I, dI):
                f.write('%.17g\t%.17g\t%.17g\n' % row)
        write_nxcansas(base + '.h5', q, I, dI)
        with open(base + '.json', 'w') as f:
            json.dump(dict(model=c['model'], pars=c['pars'], n=len(q)), f)
        print('%s: %d points, %s' % (case, len(q), c['model']))


if __name__ == '__main__':
    main()
