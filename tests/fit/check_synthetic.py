#!/usr/bin/python3
"""mxpcs fit on sasmodels-generated SAXS data with Poisson noise (tests/fit/make_saxs_data.py):
sphere and sphere@hardsphere, read from text (q in 1/A), text with q in 1/nm and NXcanSAS
(sasview's writer).

Usage:  MXPCS=build/mxpcs /usr/bin/python3 tests/fit/check_synthetic.py WORKDIR [truth|peer|all]

truth: the three files give the same fit (1e-9), which converged; every generating parameter is
       recovered within 3 reported standard errors.
peer:  the same data, model (sasmodels kernel) and weights fitted by scipy.optimize.least_squares
       and by lmfit: parameters agree within 1e-4 relative (a parameter smaller than its error:
       1e-4 of the error), errors within 1e-3 (scipy) and 1e-2 (lmfit) relative.
Exit 1 on any failure; the numbers are printed either way.
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_saxs_data  # noqa: E402
from saxs_peer import NAMES, SASNAME, compare, lmfit_fit, run_mxpcs, scipy_fit  # noqa: E402


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    work = sys.argv[1]
    what = sys.argv[2] if len(sys.argv) > 2 else 'all'
    os.makedirs(work, exist_ok=True)
    sys.argv = [sys.argv[0], work]
    make_saxs_data.main()
    ok = True
    for case, c in make_saxs_data.CASES.items():
        model = c['model']
        names = NAMES[model]
        truth = [c['pars'][SASNAME[n]] for n in names]
        base = os.path.join(work, case)
        t0 = time.time()
        fits = {ext: run_mxpcs(base + ext, model) for ext in ('.txt', '_nm.txt', '.h5')}
        dt = (time.time() - t0) / 3
        r = fits['.txt']
        p = np.array([r[n][0] for n in names])
        e = np.array([r[n][1] for n in names])
        print('%s (%s, %d points): chi2_red %.4f, converged %d, %.2f s per mxpcs fit'
              % (case, model, r['npoints'], r['chi2_red'], r['converged'], dt))
        if not r['converged']:
            print('  FAIL: not converged')
            ok = False
        for ext in ('_nm.txt', '.h5'):
            dev = max(abs(fits[ext][n][0] - r[n][0]) / abs(r[n][0]) for n in names)
            print('  %-8s vs .txt: max rel deviation %.2e' % (ext, dev))
            if dev > 1e-9:
                print('  FAIL: the readers disagree')
                ok = False
        if what in ('truth', 'all'):
            print('  truth:')
            for n, x, xe, t in zip(names, p, e, truth):
                z = (x - t) / xe
                flag = '' if abs(z) <= 3 else '   <-- beyond 3 sigma'
                ok = ok and not flag
                print('    %-10s %.8g +- %.3g  truth %.8g  (%+.2f sigma)%s' % (n, x, xe, t, z, flag))
        if what in ('peer', 'all'):
            q, I, dI = np.loadtxt(base + '.txt', unpack=True)
            start = [t * f for t, f in zip(truth, (1.03, 1.2, 0.97, 1.0, 0.95))]
            t0 = time.time()
            ps, es, chi2s, _ = scipy_fit(model, q, I, dI, start)
            ts = time.time() - t0
            print('  scipy least_squares (%.2f s): chi2_red %.6f' % (ts, chi2s))
            good, wp, we = compare('scipy', names, p, e, ps, es, 1e-4, 1e-3)
            print('    max rel deviation: parameters %.2e, errors %.2e' % (wp, we))
            ok = ok and good
            t0 = time.time()
            pl, el, chi2l, _ = lmfit_fit(model, q, I, dI, start)
            tl = time.time() - t0
            print('  lmfit leastsq (%.2f s): chi2_red %.6f' % (tl, chi2l))
            good, wp, we = compare('lmfit', names, p, e, pl, el, 1e-4, 1e-2)
            print('    max rel deviation: parameters %.2e, errors %.2e' % (wp, we))
            ok = ok and good
    print('check_synthetic: %s' % ('OK' if ok else 'FAILED'))
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
