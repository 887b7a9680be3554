#!/usr/bin/python3
"""h5py-only reference implementation of the reading algorithm in
docs/reference/euxfel-format.md section 1.8 (what a C/HDF5 reader should do).

Usage: reference_reader.py RUN_DIR [key] [--compare crosscheck_output.txt]
Prints one line per train: trainId, frames, modules present, per-module
checksums (float64 nansum over the train's frames) -- same format as
crosscheck_extra_data.py so both can be diffed.
"""
import os
import re
import sys
from collections import defaultdict

import h5py
import numpy as np

FNAME_RE = re.compile(r'^(RAW|CORR)-R(\d{4})-(.+?)-S(\d{5})\.h5$')
SRC_RE = re.compile(r'^INSTRUMENT/(?P<det>[^/]*_AGIPD1M[^/]*)/(?P<kind>DET|CORR)/'
                    r'(?P<mod>\d+)CH0:(?P<chan>[^/]+)/image$')


def read_str_list(ds):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in ds[:]]


def file_sources(f):
    ver = f['METADATA/dataFormatVersion'][0] if 'METADATA/dataFormatVersion' in f else b'0.5'
    ver = ver.decode() if isinstance(ver, bytes) else str(ver)
    path = 'METADATA/dataSourceId' if ver == '0.5' else 'METADATA/dataSources/dataSourceId'
    return ver, [s for s in read_str_list(f[path]) if s]


def scan_run(run_dir):
    """-> {modno: [(trainId, flag, path, src, first, count), ...]}"""
    entries = defaultdict(list)
    for name in sorted(os.listdir(run_dir)):
        if not FNAME_RE.match(name):
            continue
        path = os.path.join(run_dir, name)
        with h5py.File(path, 'r') as f:
            ver, sources = file_sources(f)
            found = {}
            for s in sources:
                m = SRC_RE.match(s)
                if m:
                    found.setdefault(int(m['mod']), []).append((m['kind'], s[len('INSTRUMENT/'):-len('/image')]))
            if not found:
                continue
            tids = f['INDEX/trainId'][:]
            n = int(np.count_nonzero(tids))          # zeros are padding at the end
            tids = tids[:n]
            flag = f['INDEX/flag'][:n].astype(bool) if ver != '0.5' else np.ones(n, bool)
            if ver == '1.1':
                flag = ~flag
            for mod, cands in found.items():
                # prefer /CORR/ name; legacy /DET/ name may be a soft link to it
                kind, src = sorted(cands)[0]
                ig = f[f'INDEX/{src}/image']
                first = ig['first'][:n]
                if 'count' in ig:
                    count = ig['count'][:n]
                else:                                  # format 0.5: first/last/status
                    count = (ig['last'][:n] - first + 1) * ig['status'][:n]
                for i in range(n):
                    entries[mod].append((int(tids[i]), bool(flag[i]), path, src,
                                         int(first[i]), int(count[i])))
    return entries


def main(argv):
    run_dir = argv[1]
    key = argv[2] if len(argv) > 2 and not argv[2].startswith('--') else 'image.data'
    entries = scan_run(run_dir)
    by_train = defaultdict(dict)                       # tid -> {mod: entry}
    for mod, lst in entries.items():
        for tid, flag, path, src, first, count in lst:
            if not flag:
                continue                               # suspect train ID (INDEX/flag == 0)
            by_train[tid][mod] = (path, src, first, count)
    files = {}
    out = []
    for tid in sorted(by_train):
        mods = by_train[tid]
        counts = {c for (_, _, _, c) in mods.values() if c > 0}
        if len(counts) > 1:
            raise ValueError(f'inconsistent frame counts in train {tid}: {counts}')
        nfr = counts.pop() if counts else 0
        present, sums = [], []
        for m in range(16):
            e = mods.get(m)
            if e is None or e[3] == 0:
                sums.append(0.0)                       # missing -> NaN fill -> nansum 0
                continue
            path, src, first, count = e
            f = files.get(path) or files.setdefault(path, h5py.File(path, 'r'))
            grp = f[f'INSTRUMENT/{src}/image']
            tid_arr = grp['trainId'][first:first + count].reshape(-1)
            assert (tid_arr == tid).all(), (path, tid, tid_arr)
            data = grp[key.split('.', 1)[1]][first:first + count]
            present.append(m)
            sums.append(float(np.nansum(data.astype(np.float64))))
        out.append((tid, nfr, present, sums))
        print(tid, 'frames', nfr, 'modules', present, 'checksums', sums)
    if '--compare' in argv:
        ref = {}
        for line in open(argv[argv.index('--compare') + 1]):
            if re.match(r'^\d{6,} shape', line):
                t = int(line.split()[0])
                ref[t] = eval(line.split('checksums', 1)[1])
        bad = [t for (t, _, _, s) in out if ref.get(t) != s]
        print('compare with extra_data:', 'OK' if not bad and len(ref) == len(out) else f'MISMATCH {bad}')


if __name__ == '__main__':
    main(sys.argv)
