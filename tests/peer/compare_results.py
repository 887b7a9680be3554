#!/usr/bin/python3
"""Two mxpcs results files hold the same bits: every dataset (values, dtype, shape) and every
attribute, except provenance that names the run itself (the options given, times, host, the
output's own path). Exit 1 listing the first differences.
usage: compare_results.py A.h5 B.h5 [--ignore PATH ...]"""
import sys
import h5py, numpy as np

PROVENANCE = ('/entry/process/options', '/entry/process/date', '/process/options', '/process/date', '/entry/start_time', '/entry/end_time',
              '/xpcs/meta/options', '/xpcs/meta/host', '/xpcs/meta/date', '/xpcs/meta/time',
              '/xpcs/meta/wall_time_s', '/xpcs/meta/resumed_at')

def same(x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape or x.dtype != y.dtype:
        return False
    if x.dtype.kind in 'fc':
        return x.tobytes() == y.tobytes()
    return np.array_equal(x, y)

def walk(f):
    # every name, also the second names of hard links (visititems shows an object once)
    out = {}
    def rec(g, prefix):
        for k in g:
            lk = g.get(k, getlink=True)
            if isinstance(lk, h5py.ExternalLink) or (isinstance(lk, h5py.SoftLink) and lk.path not in f):
                continue
            p = prefix + '/' + k
            out[p] = g[k]
            if isinstance(g[k], h5py.Group) and len(p) < 512:
                rec(g[k], p)
    rec(f, '')
    return out

def main():
    args = sys.argv[1:]
    ignore = set(PROVENANCE)
    if '--ignore' in args:
        i = args.index('--ignore'); ignore |= set(args[i + 1:]); args = args[:i]
    a, b = h5py.File(args[0], 'r'), h5py.File(args[1], 'r')
    oa, ob = walk(a), walk(b)
    err = []
    for k in sorted(set(oa) ^ set(ob)):
        err.append('%s only in %s' % (k, args[0] if k in oa else args[1]))
    n = 0
    for k in sorted(set(oa) & set(ob)):
        if k in ignore:
            continue
        x, y = oa[k], ob[k]
        if isinstance(x, h5py.Dataset) != isinstance(y, h5py.Dataset):
            err.append('%s: dataset in one file, group in the other' % k); continue
        if isinstance(x, h5py.Dataset):
            n += 1
            if not same(x[()], y[()]):
                err.append('%s differs' % k)
        for at in sorted(set(x.attrs) | set(y.attrs)):
            if at not in x.attrs or at not in y.attrs or not same(x.attrs[at], y.attrs[at]):
                err.append('%s attribute %s differs' % (k, at))
    # what differs first, then what is only in one file
    err.sort(key=lambda e: ' only in ' in e)
    for e in err[:200]:
        print('DIFF ' + e)
    print('%s vs %s: %d datasets compared, %d differences' % (args[0], args[1], n, len(err)))
    sys.exit(1 if err else 0)

main()
