#!/usr/bin/python3
"""A ring whose every pixel the files' masks flag (a NON_SENSITIVE ASIC over it, as calibrated
files have): analyze reports it as a ring with no valid pixel, not as one without photons, and
the other rings' results are as without it. The rings are made before the files' masks are read,
so the ring exists; its C is undefined. usage: check_ring_masked.py WORKDIR"""
import os, re, shutil, subprocess, sys
import h5py, numpy as np

work = os.path.join(sys.argv[1], 'ring_masked')
mx, mpiexec = os.environ['MXPCS'], os.environ['MPIEXEC']
here = os.path.dirname(os.path.abspath(__file__))
yaml = os.path.join(here, '..', '..', 'inputs', 'analyze_colloid.yaml')
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
run = os.path.join(work, 'run')
subprocess.run([mpiexec, '--oversubscribe', '-n', '2', mx, 'simulate', '-sim_detector', 'ideal', '-sim_modules', '3',
                '-sim_trains', '8', '-sim_pulses', '20', '-sim_compress', '0', '-sim_subpixels', '1', '-sim_artifacts', '0',
                '-o', run], check=True, stdout=subprocess.DEVNULL)


def analyze(out):
    p = subprocess.run([mpiexec, '--oversubscribe', '-n', '2', mx, 'analyze', '-run', run, '-options_file', yaml,
                        '-analyze_progress', '0', '-analyze_checkpoint', 'none', '-reader_adu_per_photon', '1',
                        '-reader_common_mode', 'none', '-reader_photonize', 'none', '-g2_extrapolation', 'linear',
                        '-o', os.path.join(work, out)], check=True, stdout=subprocess.PIPE, text=True)
    return p.stdout, h5py.File(os.path.join(work, out), 'r')


bad = []


def check(ok, what):
    print('%s %s' % ('ok  ' if ok else 'FAIL', what))
    if not ok:
        bad.append(what)


txt0, a = analyze('before.h5')
roi = a['entry/instrument/masks/dynamic_roi_map'][3]          # module 3: ring r has label r + 1
sel = roi == 1
check(sel.sum() > 100 and 'none of its pixels was valid' not in txt0, 'before: ring 0 has %d pixels, no ring reported without valid pixels' % sel.sum())
# flag ring 0's pixels in every frame of the files, bit 19 NON_SENSITIVE
files = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(run, 'proc')) for f in fs if f.endswith('.h5')]
for fn in files:
    with h5py.File(fn, 'r+') as f:
        m = f['INSTRUMENT/MID_DET_AGIPD1M-1/CORR/3CH0:output/image/mask']
        v = m[...]
        v[:, sel] |= np.uint32(1 << 19)
        m[...] = v
txt1, b = analyze('after.h5')
line = [l for l in txt1.splitlines() if l.strip().startswith('ring 0 (q =')]
check(len(line) == 1 and 'none of its pixels was valid in any train' in line[0], 'after: %s' % (line[0].strip() if line else 'no line for ring 0'))
check(not re.search(r'ring [1-7] \(q =', txt1), 'after: no other ring reported')
check(b['xpcs/meta/rings_without_photons'][()] == 1 and np.isnan(b['xpcs/contrast/beta'][0]), 'after: rings_without_photons 1, ring 0 beta NaN')
check(np.array_equal(a['xpcs/contrast/beta'][1:], b['xpcs/contrast/beta'][1:]) and np.isfinite(b['xpcs/fit/D_eff_mean'][()]),
      'after: rings 1-7 have the same beta as before (bitwise), D_eff_mean finite')
shutil.rmtree(run, ignore_errors=True)
print('%d failed' % len(bad))
sys.exit(1 if bad else 0)
