#!/usr/bin/python3
"""mxpcs simulate gives bitwise identical runs at 1, 2 and 4 ranks (same seed), and the truth
files agree too; with -sim_detector ideal and agipd. usage: sim_ranks.py WORKDIR"""
import atexit, glob, os, shutil, subprocess, sys
import h5py, numpy as np

work = sys.argv[1]
mx, mpiexec = os.environ['MXPCS'], os.environ['MPIEXEC']
opts = ['-sim_trains', '5', '-sim_pulses', '12', '-sim_modules', '4', '-sim_trains_per_file', '2',
        '-sim_missing_trains', '3', '-sim_compress', '1']
runs = {}
if os.environ.get('MX_KEEP_TESTDATA') != '1':   # the runs go when the test ends
    atexit.register(lambda: [shutil.rmtree(d, ignore_errors=True) for d in runs.values()])
# the ideal detector, and agipd (its own random streams; image.gain written with the frames)
cases = {'ideal': ['-sim_detector', 'ideal'], 'agipd': ['-sim_detector', 'agipd']}
for case, extra in cases.items():
    for n in (1, 2, 4):
        d = os.path.join(work, 'sim_%s_n%d' % (case, n))
        shutil.rmtree(d, ignore_errors=True)
        subprocess.run([mpiexec, '--oversubscribe', '-n', str(n), mx, 'simulate', '-o', d] + opts + extra, check=True,
                       stdout=subprocess.DEVNULL)
        runs[case, n] = d

def datasets(path):
    out = {}
    with h5py.File(path, 'r') as f:
        def visit(name, obj):
            # /entry says which run and when (names and times differ between the runs compared)
            if isinstance(obj, h5py.Dataset) and not name.startswith('entry/'):
                out[name] = obj[...]
        f.visititems(visit)
    return out

bad = 0
for case in cases:
    ref = runs[case, 1]
    files = sorted(os.path.relpath(p, ref) for p in glob.glob(ref + '/**/*.h5', recursive=True))
    assert len(files) == 5, files   # 3 sequence files (2 trains each, one missing) + the XGM DA file + truth
    for rel in files:
        a = datasets(os.path.join(ref, rel))
        for n in (2, 4):
            b = datasets(os.path.join(runs[case, n], rel))
            if sorted(a) != sorted(b):
                print('FAIL %s %s: datasets differ at %d ranks' % (case, rel, n)); bad += 1; continue
            for k in a:
                if a[k].shape != b[k].shape or a[k].tobytes() != b[k].tobytes():
                    print('FAIL %s %s:%s differs at %d ranks' % (case, rel, k, n)); bad += 1
        print('%s %s: %d datasets bitwise identical at 1, 2, 4 ranks' % (case, rel, len(a)))
print('1 passed, 0 failed' if not bad else '0 passed, 1 failed')
sys.exit(1 if bad else 0)
