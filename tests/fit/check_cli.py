#!/usr/bin/python3
"""`mxpcs fit` as a command: -help lists every option, bad input gives one clear line and a
non-zero exit with no output file left behind, a fit that does not converge is an error unless
-saxs_require_converged 0 (then written with converged = 0), `-i` reads /xpcs/saxs of an analyze
results file, several inputs give one group per sample, and 2 ranks give the same file as 1
(errors reach every rank: nothing hangs).

Usage:  MXPCS=build/mxpcs [MPIEXEC=mpiexec] /usr/bin/python3 tests/fit/check_cli.py WORKDIR
"""
import os
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_saxs_data  # noqa: E402

FAILS = []


def run(args, np_=1, timeout=120):
    cmd = [os.environ['MXPCS'], 'fit'] + args
    if os.environ.get('MPIEXEC'):
        cmd = [os.environ['MPIEXEC'], '--oversubscribe', '-n', str(np_)] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def expect_error(label, args, needles, out=None, np_=1):
    rc, so, se = run(args, np_)
    lines = [l for l in se.splitlines() if 'error' in l]
    msg = lines[0] if lines else (se.strip().splitlines() or [''])[-1]
    good = rc != 0 and all(n in se for n in needles)
    if out:
        good = good and not os.path.exists(out) and not os.path.exists(out + '.part')
    print('%-34s rc %d: %s%s' % (label, rc, msg, '' if good else '   <-- FAIL'))
    if not good:
        FAILS.append(label)


def check(label, cond, detail=''):
    print('%-34s %s %s' % (label, 'ok' if cond else 'FAIL', detail))
    if not cond:
        FAILS.append(label)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    w = sys.argv[1]
    os.makedirs(w, exist_ok=True)
    sys.argv = [sys.argv[0], w]
    make_saxs_data.main()
    good = os.path.join(w, 'sphere_pd.txt')
    out = os.path.join(w, 'out.h5')
    for f in (out, out + '.part'):
        if os.path.exists(f):
            os.remove(f)

    rc, so, se = run(['-help'])
    opts = ['-i ', '-o ', '-saxs_file', '-saxs_model', '-saxs_porod', '-saxs_fix', '-saxs_radius', '-saxs_pd',
            '-saxs_phi', '-saxs_q_range', '-saxs_q_unit', '-saxs_radius_bounds', '-saxs_require_converged', '-saxs_tao_max_it']
    missing = [o for o in opts if o not in so]
    check('-help lists the options', rc == 0 and not missing, 'missing %s' % missing if missing else '')

    bad = os.path.join(w, 'bad.txt')
    with open(bad, 'w') as f:
        f.write('# q I dI\n0.01 5 0.5\n0.02 4\n')
    expect_error('malformed text', ['-saxs_file', bad, '-o', out], ['bad.txt', 'line 3'], out)
    expect_error('malformed text, 2 ranks', ['-saxs_file', bad, '-o', out], ['bad.txt', 'line 3'], out, np_=2)
    expect_error('missing file', ['-saxs_file', os.path.join(w, 'nope.h5'), '-o', out], ['nope.h5'], out)
    expect_error('results file without /xpcs/saxs', ['-i', os.path.join(w, 'sphere_pd.h5'), '-o', out], ['/xpcs/saxs is missing'], out)
    expect_error('no -o', ['-saxs_file', good], ['-o FILE'])
    expect_error('no input', ['-o', out], ['-saxs_file'], out)
    expect_error('unknown option', ['-saxs_file', good, '-o', out, '-saxs_radiu', '40'], ['-saxs_radiu'], out)
    expect_error('bad model', ['-saxs_file', good, '-o', out, '-saxs_model', 'cylinder'], ['cylinder'], out)
    expect_error('not converged', ['-saxs_file', good, '-o', out, '-saxs_tao_max_it', '1'],
                 ['did not converge', 'DIVERGED_MAXITS', 'sphere_pd.txt'], out)
    expect_error('not converged, 2 ranks', ['-saxs_file', good, '-o', out, '-saxs_tao_max_it', '1'],
                 ['did not converge'], out, np_=2)

    rc, so, se = run(['-saxs_file', good, '-o', out, '-saxs_tao_max_it', '1', '-saxs_require_converged', '0'])
    with h5py.File(out, 'r') as f:
        conv, r = int(f['saxs_model/converged'][()]), float(f['saxs_model/radius'][()])
    check('-saxs_require_converged 0', rc == 0 and conv == 0 and np.isfinite(r) and 'warning' in se, 'converged=%d' % conv)

    # an mxpcs analyze results file (its /xpcs/saxs) and a text file: two groups
    q, I, dI = np.loadtxt(os.path.join(w, 'sphere_hs.txt'), unpack=True)
    res = os.path.join(w, 'run7.h5')
    with h5py.File(res, 'w') as f:
        for n, v, u in (('q', q, '1/angstrom'), ('I', I * 1e-6, 'photons/pixel/pulse'), ('I_err', dI * 1e-6, 'photons/pixel/pulse')):
            f['/xpcs/saxs/' + n] = v
            f['/xpcs/saxs/' + n].attrs['units'] = u
    rc, so, se = run(['-i', res, '-saxs_file', os.path.join(w, 'sphere_hs.h5'), '-saxs_model', 'sphere@hardsphere', '-o', out])
    okf = rc == 0
    if okf:
        with h5py.File(out, 'r') as f:
            g = f['saxs_model']
            okf = sorted(g.keys()) == ['run7', 'sphere_hs']
            r1, r2 = float(g['run7/radius'][()]), float(g['sphere_hs/radius'][()])
            s1, s2 = float(g['run7/scale'][()]), float(g['sphere_hs/scale'][()])
            okf = okf and abs(r1 - r2) < 1e-6 * r2 and abs(s1 * 1e6 - s2) < 1e-6 * s2
            okf = okf and g['run7/I'].attrs['units'] in (b'photons/pixel/pulse', 'photons/pixel/pulse')
            okf = okf and all('units' in g['run7'][k].attrs for k in g['run7'].keys())
    check('-i results + -saxs_file, 2 groups', okf, se.strip()[-200:] if not okf else '')

    # 1 and 2 ranks: the same file
    out2 = os.path.join(w, 'out_n2.h5')
    run(['-saxs_file', good, '-o', out])
    rc, so, se = run(['-saxs_file', good, '-o', out2], np_=2)
    same = rc == 0
    if same:
        with h5py.File(out, 'r') as a, h5py.File(out2, 'r') as b:
            for k in ('radius', 'pd', 'scale', 'background', 'radius_err', 'chi2', 'chi2_red', 'S', 'P', 'I_fit', 'correlation'):
                same = same and np.array_equal(a['saxs_model/' + k][()], b['saxs_model/' + k][()])
    check('2 ranks = 1 rank', same)
    print('check_cli: %s' % ('OK' if not FAILS else 'FAILED: ' + ', '.join(FAILS)))
    sys.exit(1 if FAILS else 0)


if __name__ == '__main__':
    main()
