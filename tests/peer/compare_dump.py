#!/usr/bin/python3
"""Compare two per-frame checksum dumps (mxpcs info -info_dump vs extra_data_dump.py).

Train lines, module lists, pulseId and cellId must be identical; sums agree to rtol (default
1e-12). Module lines missing on one side count only if that module has data in the train on
the other side. Exit 1 with the first differences listed."""
import sys

def load(path):
    trains, cur = {}, None
    for line in open(path):
        p = line.split()
        if not p:
            continue
        if p[0] == 'train':
            cur = {'frames': int(p[3]), 'modules': [int(x) for x in p[5:]], 'm': {}}
            trains[int(p[1])] = cur
        elif p[0] in ('pulseId', 'cellId'):
            cur[p[0]] = [int(x) for x in p[1:]]
        elif p[0] == 'm':
            cur['m'][(int(p[1]), int(p[3]))] = (float(p[4]), float(p[5]), int(p[6]))
    return trains

a, b = load(sys.argv[1]), load(sys.argv[2])
rtol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-12
err = []
if sorted(a) != sorted(b):
    err.append('train ids differ: only in %s: %s; only in %s: %s' % (sys.argv[1], sorted(set(a) - set(b))[:10], sys.argv[2], sorted(set(b) - set(a))[:10]))
nframes = 0
for tid in sorted(set(a) & set(b)):
    ta, tb = a[tid], b[tid]
    for k in ('frames', 'modules', 'pulseId', 'cellId'):
        if ta[k] != tb[k]:
            err.append('train %d: %s %s != %s' % (tid, k, ta[k], tb[k]))
    for key in sorted(set(ta['m']) | set(tb['m'])):
        if key[0] not in ta['modules'] and key[0] not in tb['modules']:
            continue
        va, vb = ta['m'].get(key), tb['m'].get(key)
        if va is None or vb is None:
            err.append('train %d module %d frame %d: missing on one side' % (tid, key[0], key[1]))
            continue
        nframes += 1
        for x, y, what in zip(va, vb, ('sum', 'weighted sum', 'bad pixels')):
            if abs(x - y) > rtol * max(abs(x), abs(y), 1.0):
                err.append('train %d module %d frame %d: %s %r != %r' % (tid, key[0], key[1], what, x, y))
if err:
    print('\n'.join(err[:20]))
    print('%d differences' % len(err))
    sys.exit(1)
print('OK: %d trains, %d module-frames agree' % (len(a), nframes))
