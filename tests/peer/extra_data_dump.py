#!/usr/bin/python3
"""Per-train, per-module, per-frame checksums of a run read with EuXFEL's extra_data, in the
format of `mxpcs info -info_dump` (the calls follow tools/crosscheck_extra_data.py).

Per frame of each module present: sum of good values, position-weighted sum (weight
(ss*128+fs) % 1013 + 1) and the count of bad pixels, where bad = file mask != 0 or not finite,
and a module without data in the train counts all its pixels bad (extra_data fills NaN).

usage: extra_data_dump.py RUN_DIR OUT [--adu A] [--modules 3,4] [--pulses a:b | --cells a:b]
"""
import argparse, re, sys, warnings
import numpy as np
warnings.filterwarnings('ignore', category=RuntimeWarning)
from extra_data import RunDirectory, stack_detector_data

ap = argparse.ArgumentParser()
ap.add_argument('run'); ap.add_argument('out')
ap.add_argument('--adu', type=float, default=1.0)
ap.add_argument('--modules', default=None)
ap.add_argument('--pulses', default=None)
ap.add_argument('--cells', default=None, help='keep frames whose cellId is in a:b')
a = ap.parse_args()

run = RunDirectory(a.run)
sel = run.select('*/DET/*', 'image.*')   # modern files expose the legacy /DET/ names as soft links
w = (np.arange(512 * 128).reshape(512, 128) % 1013 + 1).astype(np.float64)
mods_sel = [int(x) for x in a.modules.split(',')] if a.modules else None
out = open(a.out, 'w')
for tid, train in sel.trains(require_all=False):
    present = {int(re.search(r'/DET/(\d+)CH', s).group(1)): s for s in train
               if 'image.data' in train[s] and train[s]['image.data'].shape[0] > 0}
    if mods_sel is not None:
        present = {m: s for m, s in present.items() if m in mods_sel}
    if not present:
        continue
    raw = next(iter(train[s]['image.data'].ndim for s in present.values())) == 4
    data = stack_detector_data(train, 'image.data', axis=-4 if raw else -3)
    if raw:
        data = data[:, :, 0]
    data = data.astype(np.float64)
    if not raw:
        mask = stack_detector_data(train, 'image.mask', axis=-3)
    first = train[present[min(present)]]
    pid = np.asarray(first['image.pulseId']).reshape(-1)
    cid = np.asarray(first['image.cellId']).reshape(-1)
    frames = np.arange(data.shape[0])
    if a.pulses:
        lo, hi = (int(x) for x in a.pulses.split(':'))
        frames = frames[lo:hi + 1]
    if a.cells:
        lo, hi = (int(x) for x in a.cells.split(':'))
        frames = frames[(cid[frames] >= lo) & (cid[frames] <= hi)]
    # modules listed: all with files that the reader would consider (present in any train)
    out.write('train %d frames %d modules %s\n' % (tid, len(frames), ' '.join(str(m) for m in sorted(present))))
    out.write('pulseId %s\n' % ' '.join(str(int(pid[f])) for f in frames))
    out.write('cellId %s\n' % ' '.join(str(int(cid[f])) for f in frames))
    for m in range(16):
        for i, f in enumerate(frames):
            v = data[f, m] / a.adu
            bad = ~np.isfinite(v)
            if not raw:
                bad |= mask[f, m] != 0
            if m not in present:
                bad[:] = True
            good = np.where(bad, 0.0, v)
            out.write('m %d f %d %.17g %.17g %d\n' % (m, i, good.sum(), (good * w).sum(), int(bad.sum())))
out.close()
