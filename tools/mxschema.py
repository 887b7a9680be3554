"""The results schema of mxpcs for Python tools: the same table the C writers use
(include/mxpcs/schema.def), read from the source tree or the install prefix.

    import mxschema
    S = mxschema.load()
    f[S.path('SAXS_Q')]                  # '/xpcs/saxs/q'
    f[S.path('HYDRO_H', 'liquid')]       # a path with a sample name (%s)
    S.units('SAXS_I')                    # 'photons/pixel/pulse'
"""
import os
import re

_LINE = re.compile(r'^MX_S\((\w+),\s*(GROUP|DSET|LINK),\s*"([^"]*)",\s*"([^"]*)",\s*"([^"]*)",\s*"([^"]*)"\)\s*$')


def _candidates():
    here = os.path.dirname(os.path.abspath(__file__))
    env = os.environ.get('MXPCS_SCHEMA')
    if env:
        yield env
    yield os.path.join(here, '..', 'include', 'mxpcs', 'schema.def')           # source tree
    yield os.path.join(here, '..', '..', 'include', 'mxpcs', 'schema.def')     # <prefix>/share/mxpcs/tools
    yield os.path.join(here, '..', 'schema.def')                               # <prefix>/share/mxpcs/schema.def


class Schema:
    def __init__(self, path):
        self.file = os.path.abspath(path)
        self.items = []
        with open(path) as fh:
            for line in fh:
                m = _LINE.match(line.strip())
                if m:
                    name, kind, p, cu, shape, doc = m.groups()
                    self.items.append(dict(name=name, kind=kind, path=p, cu=cu, shape=shape, doc=doc))
        if not self.items:
            raise RuntimeError('%s: no MX_S(...) items' % path)
        self.by_name = {it['name']: it for it in self.items}
        self._pats = [(re.compile('^' + re.sub(r'%0?\d*d', r'[0-9]+', re.sub(r'%s', r'[^/]+', re.escape(it['path']).replace(r'\%', '%'))) + '$'), it)
                      for it in self.items]

    def item(self, name):
        return self.by_name[name]

    def path(self, name, *args):
        p = self.by_name[name]['path']
        return p % args if args else p

    def units(self, name):
        it = self.by_name[name]
        return None if it['kind'] != 'DSET' or it['cu'] == '-' else it['cu']

    def find(self, path):
        """The item whose path pattern matches path ('/a/b'), or None."""
        for pat, it in self._pats:
            if pat.match(path):
                return it
        return None


def load(path=None):
    for p in ([path] if path else _candidates()):
        if p and os.path.exists(p):
            return Schema(p)
    raise FileNotFoundError('mxpcs results schema (include/mxpcs/schema.def) not found; set MXPCS_SCHEMA')
