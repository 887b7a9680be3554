#!/usr/bin/python3
"""mxpcs analyze gives the same results at 1, 2 and 4 ranks and on every rank grid, to
rounding: the Gram products are summed in float within blocks of pixels, so a different pixel
partition rounds differently (~1e-7 of the Gram); C, g2 and the contrast must agree to 1e-5
absolute, the fitted rates, the jackknife's samples of them and its errors (its groups are
fitted over the ranks) to 1e-4 relative, SAXS and the rings' q_eff and I(q) spread F to
1e-9 relative, the speckle contrast beta/F as beta.
usage: analyze_ranks.py DATADIR   (uses the run of check_analyze.sh or makes one)"""
import atexit, os, shutil, subprocess, sys
import h5py, numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tools'))
import mxschema
S = mxschema.load()

data = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, '..', '..'))
mx, mpiexec = os.environ['MXPCS'], os.environ['MPIEXEC']
sim = os.path.join(data, 'sim_ranks_an')
if os.environ.get('MX_KEEP_TESTDATA') != '1':   # the run goes when the test ends
    atexit.register(shutil.rmtree, sim, True)
if not os.path.exists(sim + '/truth.h5'):
    subprocess.run([mpiexec, '--oversubscribe', '-n', '2', mx, 'simulate', '-options_file', root + '/inputs/sim_colloid.yaml',
                    '-sim_modules', '4', '-sim_trains', '9', '-sim_pulses', '24', '-sim_missing_trains', '4', '-o', sim],
                   check=True, stdout=subprocess.DEVNULL)
# the viewer's items too: the maps and the hash exactly, its g2 and two-time to float32 rounding
EXACT = ('META_TRAIN_IDS', 'QMAP_MASK', 'QMAP_DYNAMIC_ROI_MAP', 'QMAP_STATIC_ROI_MAP', 'QMAP_STATIC_INDEX_MAPPING', 'TWOTIME_PROCESSED_BINS')
CLOSE = ('TWOTIME_C', 'TWOTIME_XC', 'G2_G2', 'CONTRAST_BETA', 'FIT_GAMMA', 'FIT_GAMMA_JACKKNIFE', 'FIT_GAMMA_ERR', 'FIT_GAMMA0_ERR', 'FIT_Q_EFF', 'CONTRAST_HETEROGENEITY', 'CONTRAST_BETA_SPECKLE', 'SAXS_I', 'MULTITAU_G2', 'TWOTIME_G2', ('TWOTIME_MAP', 1))
res = {}
for n, p in ((1, 1), (2, 1), (2, 2), (4, 1), (4, 2), (4, 4)):
    out = os.path.join(data, 'ranks_n%d_p%d.h5' % (n, p))
    if os.path.exists(out): os.remove(out)
    subprocess.run([mpiexec, '--oversubscribe', '-n', str(n), mx, 'analyze', '-run', sim, '-options_file',
                    root + '/inputs/analyze_colloid.yaml', '-g2_age_window', '8', '-reader_pixel_parts', str(p),
                    '-analyze_progress', '0', '-o', out], check=True, stdout=subprocess.DEVNULL)
    with h5py.File(out) as f:
        res[(n, p)] = {k: f[S.path(*k) if isinstance(k, tuple) else S.path(k)][...] for k in EXACT + CLOSE}
        res[(n, p)]['hash'] = f[S.path('QMAP')].attrs['hash']
ref = res[(1, 1)]
bad = 0
for key, r in res.items():
    for k, v in r.items():
        a = ref[k]
        if k in EXACT or k == 'hash':
            ok = np.array_equal(a, v)
        elif k in ('FIT_GAMMA', 'FIT_GAMMA_JACKKNIFE', 'FIT_GAMMA_ERR', 'FIT_GAMMA0_ERR'):  # the jackknife's groups fitted over the ranks
            ok = np.allclose(v, a, rtol=1e-4, atol=0, equal_nan=True)
        elif k in ('SAXS_I', 'FIT_Q_EFF', 'CONTRAST_HETEROGENEITY'):  # sums of the mean image: rounding only
            ok = np.allclose(v, a, rtol=1e-9, atol=0, equal_nan=True)
        else:
            ok = np.allclose(v, a, rtol=0, atol=1e-5, equal_nan=True)
        if not ok:
            d = np.nanmax(np.abs(v.astype(float) - a)) if k not in EXACT and k != 'hash' else -1
            print('FAIL %s at %d ranks, %d pixel parts: max |diff| %.3g' % (k, key[0], key[1], d)); bad += 1
    print('%d ranks, %d pixel parts: max |C diff| %.2g, max rel gamma diff %.2g' % (key[0], key[1],
          np.nanmax(np.abs(r['TWOTIME_C'] - ref['TWOTIME_C'])),
          np.nanmax(np.abs(r['FIT_GAMMA'] / ref['FIT_GAMMA'] - 1))))
print('1 passed, 0 failed' if not bad else '0 passed, 1 failed')
sys.exit(1 if bad else 0)
