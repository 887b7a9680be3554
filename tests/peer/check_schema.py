#!/usr/bin/python3
"""The results schema has one owner (include/mxpcs/schema.def).

usage: check_schema.py FILE.h5 [FILE.h5 ...]   every object of each mxpcs output is in the schema:
                                               datasets with its units, groups with its NX_class,
                                               links the same object as their target
       check_schema.py --sources ROOT          no C source or Python tool under ROOT names an
                                               output path itself: they take it from the schema
Exit 1 listing what is wrong."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tools'))
import mxschema  # noqa: E402

PREFIXES = ('xpcs/', 'entry/', 'entry"', 'saxs_model', 'hydro/', 'hydro"', 'joint/', 'joint"', 'md/', 'md"',
            'truth/', 'params/', 'detector/', 'process"')


def dec(v):
    return v.decode() if isinstance(v, bytes) else v


def check_file(S, path):
    import h5py
    bad = []
    with h5py.File(path, 'r') as f:
        seen = {}

        def visit(name, obj):
            p = '/' + name
            it = S.find(p)
            if it is None:
                bad.append('%s: %s is not in the schema' % (path, p))
                return
            if it['kind'] == 'LINK':
                target = S.item(it['cu'])['path']
                if target not in f or f[target].id != obj.id:
                    bad.append('%s: %s is not the object %s' % (path, p, target))
                return
            if it['kind'] == 'GROUP':
                if not isinstance(obj, h5py.Group):
                    bad.append('%s: %s is a dataset, the schema has a group' % (path, p))
                elif dec(obj.attrs.get('NX_class')) != it['cu']:
                    bad.append('%s: %s has NX_class %r, the schema %r' % (path, p, dec(obj.attrs.get('NX_class')), it['cu']))
                return
            if not isinstance(obj, h5py.Dataset):
                bad.append('%s: %s is a group, the schema has a dataset' % (path, p))
                return
            u = obj.attrs.get('units')
            want = None if it['cu'] == '-' else it['cu']
            if (u is None) != (want is None) or (u is not None and dec(u) != want):
                bad.append('%s: %s has units %r, the schema %r' % (path, p, dec(u), want))
            seen[p] = it['name']

        # visititems follows each object once; hard links show under their first name, so
        # every name is visited by walking the groups' links as well
        def walk(g, prefix):
            for k in g:
                p = prefix + '/' + k
                lk = g.get(k, getlink=True)
                if isinstance(lk, h5py.ExternalLink):
                    bad.append('%s: %s is an external link' % (path, p))
                    continue
                if isinstance(lk, h5py.SoftLink) and lk.path not in f:
                    bad.append('%s: %s dangles' % (path, p))
                    continue
                obj = g[k]
                visit(p[1:], obj)
                if isinstance(obj, h5py.Group) and S.find(p) and S.find(p)['kind'] == 'GROUP':
                    walk(obj, p)
        if dec(f.attrs.get('NX_class')) != 'NXroot':
            bad.append('%s: the root has no NX_class NXroot' % path)
        walk(f, '')
    return bad


LITERAL_C = re.compile(r'"(/[A-Za-z_][^"%\s]*(?:%[0-9]*[sd][^"\s]*)?)"')
LITERAL_PY = re.compile(r'''['"](/?[A-Za-z_][A-Za-z0-9_]*/[^'"\s]*)['"]''')


def check_sources(S, root):
    bad = []
    outputs = {it['path'].lstrip('/') for it in S.items}
    heads = {p.split('/')[0] for p in outputs if p}
    for sub, exts in (('src', ('.c', '.h')), ('include', ('.h',)), ('tools', ('.py',))):
        for dirpath, _, files in os.walk(os.path.join(root, sub)):
            for fn in files:
                if not fn.endswith(exts) or fn == 'mxschema.py':
                    continue
                fp = os.path.join(dirpath, fn)
                rx = LITERAL_PY if fn.endswith('.py') else LITERAL_C
                for n, line in enumerate(open(fp, errors='replace'), 1):
                    for m in rx.finditer(line):
                        lit = m.group(1).lstrip('/')
                        head = lit.split('/')[0]
                        if head in heads and head not in ('INSTRUMENT', 'INDEX', 'METADATA', 'CONTROL', 'RUN') and S.find('/' + lit.rstrip('/')) is not None:
                            bad.append('%s:%d: output path "%s" written out; use its schema ID' % (os.path.relpath(fp, root), n, m.group(1)))
    return bad


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        return 2
    S = mxschema.load()
    bad = []
    if args[0] == '--sources':
        bad = check_sources(S, args[1])
        what = 'sources under %s' % args[1]
    else:
        for p in args:
            bad += check_file(S, p)
        what = ', '.join(args)
    for b in bad:
        print('check_schema:', b)
    print('check_schema: %s: %d problem(s) (schema %s, %d items)' % (what, len(bad), S.file, len(S.items)))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
