#!/usr/bin/python3
"""Make broken copies of the mock run for the bad-input tests (h5py only).

usage: make_bad_runs.py MOCK_PROC_RUN OUTDIR"""
import os, shutil, sys
import h5py, numpy as np

src, out = sys.argv[1], sys.argv[2]
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)

def copy(name, modules=None):
    d = os.path.join(out, name)
    os.makedirs(d)
    for f in sorted(os.listdir(src)):
        if modules is None or any('AGIPD%02d' % m in f for m in modules):
            shutil.copy(os.path.join(src, f), d)
    return d

def src_of(f):
    return [k for k in f['INDEX/MID_DET_AGIPD1M-1/DET'].keys()][0]

# empty directory
os.makedirs(os.path.join(out, 'empty'))
# a file cut in the middle
d = copy('truncated', [0, 1])
p = os.path.join(d, 'CORR-R0123-AGIPD01-S00000.h5')
os.truncate(p, os.path.getsize(p) // 2)
# not HDF5 at all
d = copy('garbage', [0])
with open(os.path.join(d, 'CORR-R0123-AGIPD00-S00000.h5'), 'r+b') as f:
    f.write(b'\0' * 4096)
# no frames: every count 0
d = copy('noframes', [0])
for fn in os.listdir(d):
    with h5py.File(os.path.join(d, fn), 'r+') as f:
        c = f['INDEX/MID_DET_AGIPD1M-1/DET/%s/image/count' % src_of(f)]
        c[...] = 0
# module 4 has 1 frame in train 1200000000 where the others have 2
d = copy('frames_disagree', [0, 4])
with h5py.File(os.path.join(d, 'CORR-R0123-AGIPD04-S00000.h5'), 'r+') as f:
    c = f['INDEX/MID_DET_AGIPD1M-1/DET/4CH0:xtdf/image/count']
    v = c[...]; v[0] = 1; c[...] = v
# the wrong detector: an aggregator without AGIPD sources
d = os.path.join(out, 'wrong_detector'); os.makedirs(d)
with h5py.File(os.path.join(d, 'CORR-R0123-JNGFR01-S00000.h5'), 'w') as f:
    vl = h5py.special_dtype(vlen=bytes)
    f['METADATA/dataFormatVersion'] = [b'1.2']
    f.create_dataset('METADATA/dataSources/dataSourceId', data=[b'INSTRUMENT/MID_XTD1_JF4M/DET/JNGFR01:daqOutput/data'], dtype=vl)
    f['INDEX/trainId'] = np.arange(1200000000, 1200000004, dtype=np.uint64)
# AGIPD source name but not AGIPD-shaped data
d = copy('wrong_shape', [0])
for fn in os.listdir(d):
    with h5py.File(os.path.join(d, fn), 'r+') as f:
        g = f['INSTRUMENT/MID_DET_AGIPD1M-1/DET/0CH0:xtdf/image']
        n = g['data'].shape[0]
        del g['data']
        g.create_dataset('data', (n, 256, 256), 'f4')
# INDEX points past the end of image/data
d = copy('index_past_end', [0])
with h5py.File(os.path.join(d, 'CORR-R0123-AGIPD00-S00001.h5'), 'r+') as f:
    c = f['INDEX/MID_DET_AGIPD1M-1/DET/0CH0:xtdf/image/first']
    v = c[...]; v[-1] += 100; c[...] = v
# a frame of another train where INDEX points
d = copy('wrong_train_rows', [0])
with h5py.File(os.path.join(d, 'CORR-R0123-AGIPD00-S00000.h5'), 'r+') as f:
    t = f['INSTRUMENT/MID_DET_AGIPD1M-1/DET/0CH0:xtdf/image/trainId']
    v = t[...]; v[2] = 1200000077; t[...] = v
# train IDs: entry 2 of module 0's INDEX repeated (a duplicate), and entries 2, 3 swapped (not
# increasing); the rows stay consistent, so only the order is wrong
def index_rows(name, fix):
    d = copy(name, [0, 3])
    with h5py.File(os.path.join(d, 'CORR-R0123-AGIPD00-S00000.h5'), 'r+') as f:
        s = 'INDEX/MID_DET_AGIPD1M-1/DET/0CH0:xtdf/image/'
        for ds in (f['INDEX/trainId'], f[s + 'first'], f[s + 'count']):
            v = ds[...]; fix(v); ds[...] = v
def dup(v): v[3] = v[2]
def swap(v): v[[2, 3]] = v[[3, 2]]
index_rows('dup_train', dup)
index_rows('nonmono_train', swap)
# NaN and inf pixel values where the mask does not flag them, in one train of every module
d = copy('nan_values', [m for m in range(16) if m not in (3, 5)])  # modules without gaps
for fn in os.listdir(d):
    with h5py.File(os.path.join(d, fn), 'r+') as f:
        s = src_of(f)
        tid = f['INSTRUMENT/MID_DET_AGIPD1M-1/DET/%s/image/trainId' % s][...].ravel()
        rows = np.nonzero(tid == 1200000002)[0]
        if len(rows) == 0: continue
        g = f['INSTRUMENT/MID_DET_AGIPD1M-1/DET/%s/image/data' % s]
        v = g[rows[0]]; v[100:104, :] = np.nan; v[200, :8] = np.inf; g[rows[0]] = v
        if 'mask' in f['INSTRUMENT/MID_DET_AGIPD1M-1/DET/%s/image' % s]:
            m = f['INSTRUMENT/MID_DET_AGIPD1M-1/DET/%s/image/mask' % s]
            mv = m[rows[0]]; mv[100:104, :] = 0; mv[200, :8] = 0; m[rows[0]] = mv
# bytes zeroed in the middle of a file: the object header of module 0's image/data
d = copy('zeroed_header', [0])
p = os.path.join(d, 'CORR-R0123-AGIPD00-S00000.h5')
with h5py.File(p, 'r') as f:
    addr = h5py.h5o.get_info(f['INSTRUMENT/MID_DET_AGIPD1M-1/DET/0CH0:xtdf/image/data'].id).addr
with open(p, 'r+b') as f:
    f.seek(addr); f.write(b'\0' * 256)
print('bad runs in', out)
