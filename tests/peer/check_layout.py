#!/usr/bin/python3
"""An mxpcs analyze results file as pyXpcsViewer and NXxpcs read it (docs/reference/result-layouts.md).

usage: check_layout.py RESULTS.h5 [--facts tests/data/nxxpcs_required.txt] [--hash-differs OTHER.h5]

Checks, each citing the section of docs/reference/result-layouts.md it enforces ("§4.2" = section 4, item 2):
  §1    every "R" row of the pyXpcsViewer table (MT rows in a multitau file, TT rows in a two-time
        file, O and L rows when present): present, rank and shape relations, dtype, scalars ()
  §4.1  @hash a non-empty string; no dangling link; NX_class on every group (own walk: follows
        hard and soft links, descends each group once)
  §4.2  ROI maps; §4.3 SAXS and intensity; §4.4 multitau; §4.5 two-time (numeric cross-checks)
  §4.6  NXxpcs: the items of the facts file (from the NXxpcs definition, §2), units on every
        NXdetector field, max(dynamic_roi_map) = len(dynamic_q_list)
  §3    the shared items and links of "One file for both" (linked pairs are one HDF5 object,
        with their storage_mode etc.) and mxpcs's choices
--hash-differs OTHER.h5: the two files' /xpcs/qmap@hash differ (§4.1: it changes with the rings).

Prints one line per failed check, then "check_layout: N checks, M failed".
Exit 0 if none failed, 1 if any did, 2 on a usage error (missing file, bad facts file)."""
import argparse
import os
import sys
from datetime import datetime

import h5py
import numpy as np

DEFAULT_FACTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data', 'nxxpcs_required.txt')


# ---------------------------------------------------------------- reporting and small helpers

class Report:
    """Counts checks; prints one line per failure."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, ok, where, what, rule):
        self.n += 1
        if not ok:
            self.failed += 1
            print('FAIL %s: %s [%s]' % (where, what, rule))
        return bool(ok)


def get(f, path):
    """The object at path, following links; None if missing or dangling."""
    try:
        return f.get(path)
    except (KeyError, ValueError, RuntimeError):
        return None


def dataset(f, path):
    o = get(f, path)
    return o if isinstance(o, h5py.Dataset) else None


def text(v):
    """A string, bytes, 0-d array or numpy scalar as a Python str."""
    if isinstance(v, np.ndarray) and v.shape == ():
        v = v[()]
    if isinstance(v, bytes):
        return v.decode('utf-8', 'replace')
    if isinstance(v, np.generic):
        v = v.item()
    return str(v)


def is_string(dtype):
    return h5py.check_string_dtype(dtype) is not None


def attr_dtype(obj, name):
    return obj.attrs.get_id(name).dtype


DTYPE_RULES = {  # result-layouts §1 "dtype" column: "int" = any integer type
    'int': ('an integer type', lambda d: d.kind in 'iu'),
    'float': ('a float type', lambda d: d.kind == 'f'),
    'number': ('a numeric type', lambda d: d.kind in 'iuf'),
    'f4': ('float32', lambda d: d.kind == 'f' and d.itemsize == 4),
    'i8': ('int64', lambda d: d.kind == 'i' and d.itemsize == 8),
    'string': ('an HDF5 string', is_string),
}


def iso8601(s):
    """datetime or None (result-layouts §4.6, §3: ISO 8601)."""
    try:
        return datetime.fromisoformat(s)
    except ValueError:
        return None


# ---------------------------------------------------------------- walking the file

def walk(f):
    """Every link of the file: list of (path, link, obj or None), and the distinct groups as
    (path, group). visititems visits each object once and skips soft links, so this walks by hand:
    every link is listed, every group (hard- or soft-linked) is descended only once."""
    links, groups = [], [('/', f)]
    seen = [f.id]

    def visit(group, path):
        for name in group:
            p = path.rstrip('/') + '/' + name
            link = group.get(name, getlink=True)
            obj = get(group, name)
            links.append((p, link, obj))
            if isinstance(obj, h5py.Group) and not any(obj.id == s for s in seen):
                seen.append(obj.id)
                groups.append((p, obj))
                visit(obj, p)
    visit(f, '/')
    return links, groups


def check_walk(r, f):
    """result-layouts §4.1: no link dangles; §4.6 (and NeXus): NX_class on every group."""
    links, groups = walk(f)
    for p, link, obj in links:
        if obj is None:
            kind = type(link).__name__
            target = getattr(link, 'path', '')
            r.check(False, p, '%s to %r dangles' % (kind, target), '§4.1')
    for p, g in groups:
        if r.check('NX_class' in g.attrs, p, 'group without NX_class', '§4.6'):
            r.check(is_string(attr_dtype(g, 'NX_class')) and text(g.attrs['NX_class']).startswith('NX'),
                    p, 'NX_class %r is not an NX... string' % text(g.attrs['NX_class']), '§4.6')
    return groups


# ---------------------------------------------------------------- §1: the pyXpcsViewer table

# (path, shape, dtype, need). Shape entries: an int is that length; a name is a size shared by
# every row that uses it (bound by the first such row present). need: R = always; MT, TT = in a
# multitau, two-time file; O, L = checked when present.
VIEWER_ROWS = [
    ('/xpcs/qmap/mask', ('H', 'W'), 'int', 'R'),
    ('/xpcs/qmap/dynamic_roi_map', ('H', 'W'), 'int', 'R'),
    ('/xpcs/qmap/static_roi_map', ('H', 'W'), 'int', 'R'),
    ('/xpcs/qmap/dynamic_v_list_dim0', ('N0',), 'float', 'R'),
    ('/xpcs/qmap/dynamic_v_list_dim1', ('N1',), 'float', 'R'),
    ('/xpcs/qmap/static_v_list_dim0', ('S0',), 'float', 'R'),
    ('/xpcs/qmap/static_v_list_dim1', ('S1',), 'float', 'R'),
    ('/xpcs/qmap/dynamic_num_pts', (2,), 'int', 'R'),
    ('/xpcs/qmap/static_num_pts', (2,), 'int', 'R'),
    ('/xpcs/qmap/dynamic_index_mapping', ('n_d',), 'int', 'R'),
    ('/xpcs/qmap/static_index_mapping', ('n_s',), 'int', 'R'),
    ('/xpcs/qmap/map_names', (2,), 'string', 'R'),
    ('/xpcs/qmap/map_units', (2,), 'string', 'R'),
    ('/xpcs/qmap/beam_center_x', (), 'float', 'R'),
    ('/xpcs/qmap/beam_center_y', (), 'float', 'R'),
    ('/xpcs/qmap/detector_distance', (), 'float', 'R'),
    ('/xpcs/qmap/pixel_size', (), 'float', 'R'),
    ('/entry/instrument/incident_beam/incident_energy', (), 'float', 'R'),
    ('/entry/start_time', (), 'string', 'R'),
    ('/entry/instrument/detector_1/frame_time', (), 'float', 'R'),
    ('/entry/instrument/detector_1/count_time', (), 'float', 'R'),
    ('/xpcs/temporal_mean/scattering_1d', (1, 'n_s'), 'f4', 'R'),            # §4.3 size = n_s
    ('/xpcs/temporal_mean/scattering_1d_segments', ('nseg_I', 'n_s'), 'f4', 'R'),
    ('/xpcs/temporal_mean/scattering_2d', (1, 'H', 'W'), 'f4', 'R'),         # L in §1, §4.3 wants it
    ('/xpcs/spatial_mean/intensity_vs_time', (2, 'nframes'), 'f4', 'R'),
    ('/xpcs/multitau/normalized_g2', ('ntau', 'n_d'), 'f4', 'MT'),           # §4.4 and 2-D (§1 g2)
    ('/xpcs/multitau/normalized_g2_err', ('ntau', 'n_d'), 'f4', 'MT'),
    ('/xpcs/multitau/delay_list', ('ntau',), 'i8', 'MT'),
    ('/xpcs/multitau/config/stride_frame', (), 'int', 'MT'),
    ('/xpcs/multitau/config/avg_frame', (), 'int', 'MT'),
    ('/xpcs/multitau/normalized_g2_partial', ('nseg', 'ntau', 'n_d'), 'f4', 'O'),   # §4.4
    ('/xpcs/multitau/normalized_g2_partial_err', ('nseg', 'ntau', 'n_d'), 'f4', 'O'),
    ('/xpcs/multitau/normalized_g2_partial_labels', ('nseg',), 'number', 'O'),
    ('/xpcs/multitau/unnormalized_G2', ('ntau', 3, 'H', 'W'), 'f4', 'O'),
    ('/xpcs/twotime/processed_bins', ('n_c2',), 'int', 'TT'),
    ('/xpcs/twotime/normalized_g2', ('nf', 'n_c2'), 'f4', 'TT'),             # §4.5
    ('/xpcs/twotime/normalized_g2_segments', ('L', 'nseg_tt', 'n_c2'), 'f4', 'TT'),
    ('/xpcs/twotime/config/stride_frame', (), 'int', 'TT'),
    ('/xpcs/twotime/config/avg_frame', (), 'int', 'TT'),
]


def analysis_type(f):
    """result-layouts §1 "Analysis type": which of multitau / two-time the viewer sees."""
    return (get(f, '/xpcs/multitau/normalized_g2') is not None,
            get(f, '/xpcs/twotime/correlation_map') is not None)


def check_shape(r, path, shape, spec, dims):
    """Rank and shape relations of one row; binds the named sizes in dims."""
    want = '(' + ','.join(str(s) for s in spec) + ')'
    if not r.check(len(shape) == len(spec), path, 'shape %s, want rank %d %s' % (shape, len(spec), want), '§1'):
        return
    for n, s in zip(shape, spec):
        if isinstance(s, int):
            ok, why = n == s, 'length %d, want %d' % (n, s)
        elif s in dims:
            ok, why = n == dims[s][0], '%s = %d here but %d in %s' % (s, n, dims[s][0], dims[s][1])
        else:
            dims[s] = (n, path)
            continue
        if not r.check(ok, path, 'shape %s, want %s: %s' % (shape, want, why), '§1'):
            return


def check_viewer_table(r, f):
    """result-layouts §1 table and §4.1 ("every R path exists, scalars have shape ()"), §1 file
    rules (strings are HDF5 strings) and "Analysis type". Returns the bound sizes {name: n}."""
    mt, tt = analysis_type(f)
    r.check(mt or tt, '/xpcs', 'neither /xpcs/multitau/normalized_g2 nor /xpcs/twotime/correlation_map: '
            'the viewer raises ValueError', '§1 Analysis type')
    if tt:
        r.check(isinstance(get(f, '/xpcs/twotime/correlation_map'), h5py.Group),
                '/xpcs/twotime/correlation_map', 'is not a group', '§1 Two-time')
    needed = {'R': True, 'MT': mt, 'TT': tt, 'O': False, 'L': False}
    dims = {}
    for path, spec, dt, need in VIEWER_ROWS:
        obj = get(f, path)
        if obj is None:
            r.check(not needed[need], path, 'missing (viewer row %s)' % need, '§4.1, §1')
            continue
        if not r.check(isinstance(obj, h5py.Dataset), path, 'is not a dataset', '§1'):
            continue
        name, ok = DTYPE_RULES[dt]
        r.check(ok(obj.dtype), path, 'dtype %s, want %s' % (obj.dtype, name), '§1')
        check_shape(r, path, obj.shape, spec, dims)
    return {k: v[0] for k, v in dims.items()}


def check_hash(r, f, other):
    """result-layouts §4.1: @hash is a non-empty string that changes with the rings or the energy."""
    g = get(f, '/xpcs/qmap')
    if not r.check(g is not None and 'hash' in g.attrs, '/xpcs/qmap@hash', 'missing', '§4.1'):
        return
    ok = is_string(attr_dtype(g, 'hash')) and attr_dtype(g, 'hash').shape == ()
    r.check(ok, '/xpcs/qmap@hash', 'not a scalar HDF5 string (%s)' % attr_dtype(g, 'hash'), '§4.1')
    h = text(g.attrs['hash'])
    r.check(h.strip() != '', '/xpcs/qmap@hash', 'empty', '§4.1')
    if other is None:
        return
    with h5py.File(other, 'r') as o:
        go = get(o, '/xpcs/qmap')
        ho = text(go.attrs['hash']) if go is not None and 'hash' in go.attrs else None
        r.check(ho is not None, '%s:/xpcs/qmap@hash' % other, 'missing', '§4.1')
        r.check(ho is None or ho != h, '/xpcs/qmap@hash',
                'same as in %s (%s): it must change with the rings' % (other, h), '§4.1')


# ---------------------------------------------------------------- §4.2 - §4.5: viewer content

def val(f, path):
    d = dataset(f, path)
    return None if d is None else d[()]


def check_roi_maps(r, f, dims):
    """result-layouts §4.2 (and §1 "ROI maps")."""
    dmap, mapping = val(f, '/xpcs/qmap/dynamic_roi_map'), val(f, '/xpcs/qmap/dynamic_index_mapping')
    for kind in ('dynamic', 'static'):
        d0, d1 = val(f, '/xpcs/qmap/%s_v_list_dim0' % kind), val(f, '/xpcs/qmap/%s_v_list_dim1' % kind)
        npts = val(f, '/xpcs/qmap/%s_num_pts' % kind)
        m = val(f, '/xpcs/qmap/%s_index_mapping' % kind)
        if d0 is None or d1 is None or npts is None or m is None or np.ndim(npts) != 1:
            continue
        p = '/xpcs/qmap/%s_num_pts' % kind
        r.check(list(npts) == [len(d0), len(d1)], p,
                '%s, want [len(dim0), len(dim1)] = [%d, %d]' % (list(npts), len(d0), len(d1)), '§4.2')
        p = '/xpcs/qmap/%s_index_mapping' % kind
        r.check(np.all(np.diff(m) > 0), p, 'not increasing', '§4.2')
        r.check(m.size == 0 or (m.min() >= 0 and m.max() < len(d0) * len(d1)), p,
                'outside the %dx%d grid' % (len(d0), len(d1)), '§4.2')
        if kind == 'dynamic':
            r.check(len(m) == len(d0) * len(d1), p, 'n_d = %d but N0*N1 = %d' % (len(m), len(d0) * len(d1)), '§4.2')
    if dmap is not None and mapping is not None:
        labels = set(np.unique(dmap).tolist()) - {0}
        n_d = len(mapping)
        r.check(labels == set(range(1, n_d + 1)), '/xpcs/qmap/dynamic_roi_map',
                'labels %s, want exactly 1..%d' % (short(sorted(labels)), n_d), '§4.2')
        check_zero_in_box(r, dmap, '/xpcs/qmap/dynamic_roi_map')
    smap, smapping = val(f, '/xpcs/qmap/static_roi_map'), val(f, '/xpcs/qmap/static_index_mapping')
    if smap is not None and smapping is not None and smap.size:
        r.check(smap.min() >= 0 and smap.max() <= len(smapping), '/xpcs/qmap/static_roi_map',
                'labels %d..%d, want 0..n_s=%d (mapping[label-1])' % (smap.min(), smap.max(), len(smapping)),
                '§1 ROI maps')
    names = val(f, '/xpcs/qmap/map_names')
    if names is not None:
        r.check([text(x) for x in np.ravel(names)] == ['q', 'phi'], '/xpcs/qmap/map_names',
                '%s, want [q, phi]' % [text(x) for x in np.ravel(names)], '§4.2')


def check_zero_in_box(r, m, path):
    """result-layouts §1 ROI maps: the display drops unique(map)[0], so 0 must occur inside the
    labels' bounding box."""
    if m.ndim != 2 or not (m > 0).any():
        return
    rows, cols = np.nonzero((m > 0).any(axis=1))[0], np.nonzero((m > 0).any(axis=0))[0]
    box = m[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    r.check((box == 0).any(), path, 'no 0 inside the labels\' bounding box', '§1 ROI maps')


def short(xs, n=8):
    """A list for a message: numbers to 4 digits, long lists cut to their ends."""
    xs = ['%.4g' % x if isinstance(x, (float, np.floating)) else str(x) for x in xs]
    return '[%s]' % ', '.join(xs) if len(xs) <= n else '[%s, ..., %s] (%d)' % (', '.join(xs[:3]), xs[-1], len(xs))


def check_saxs_intensity(r, f, dims):
    """result-layouts §4.3. The shapes (1,H,W), size(scattering_1d) = segments.shape[1] = n_s and
    intensity_vs_time.shape[0] = 2 come from the §1 rows; here: scattering_2d is finite."""
    s2 = val(f, '/xpcs/temporal_mean/scattering_2d')
    if s2 is not None:
        bad = int(np.size(s2) - np.count_nonzero(np.isfinite(s2)))
        r.check(bad == 0, '/xpcs/temporal_mean/scattering_2d', '%d non-finite values' % bad, '§4.3')


def check_multitau(r, f, dims):
    """result-layouts §4.4. g2 (ntau,n_d), partials (nseg,ntau,n_d) and labels (nseg) come from the
    §1 rows; here the delay axis and the config values."""
    dl = val(f, '/xpcs/multitau/delay_list')
    t0 = val(f, '/entry/instrument/detector_1/frame_time')
    if dl is not None and np.ndim(dl) == 1:
        p = '/xpcs/multitau/delay_list'
        r.check(np.all(np.diff(dl) > 0) and (dl.size == 0 or dl.min() >= 1), p,
                '%s, want increasing integers >= 1' % short(list(dl)), '§4.4')
        if t0 is not None:
            check_delay_vs_tau(r, f, dl, float(t0))
    for g in ('multitau', 'twotime'):
        for c in ('stride_frame', 'avg_frame'):
            p = '/xpcs/%s/config/%s' % (g, c)
            v = dataset(f, p)
            if v is not None and v.shape == () and v.dtype.kind in 'iu':
                r.check(v[()] >= 1, p, '%s, want an integer >= 1' % v[()], '§4.4')


def check_delay_vs_tau(r, f, dl, t0):
    """result-layouts §4.4: delay_list * frame_time = /xpcs/g2/tau. mxpcs's normalized_g2 is the
    whole-train g2 (§3 "Use the whole-train g2"), whose lags are /xpcs/g2/tau_train; /xpcs/g2/tau
    (the age windows' lags 1..ntau) is then its first entries. Without tau_train: equal to tau."""
    tau, tau_train = val(f, '/xpcs/g2/tau'), val(f, '/xpcs/g2/tau_train')
    p = '/xpcs/multitau/delay_list'
    lag = dl * t0
    if tau_train is not None:
        r.check(np.shape(tau_train) == lag.shape and np.allclose(lag, tau_train, rtol=1e-9, atol=0), p,
                'delay_list*frame_time %s != /xpcs/g2/tau_train %s' % (short(list(lag)), short(list(tau_train))),
                '§4.4')
        if r.check(tau is not None, '/xpcs/g2/tau', 'missing (needed for the delay_list cross-check)', '§4.4'):
            n = len(tau)
            r.check(n <= len(lag) and np.allclose(lag[:n], tau, rtol=1e-9, atol=0), p,
                    'delay_list*frame_time does not start with /xpcs/g2/tau %s' % short(list(tau)), '§4.4')
    elif r.check(tau is not None, '/xpcs/g2/tau', 'missing (needed for the delay_list cross-check)', '§4.4'):
        r.check(np.shape(tau) == lag.shape and np.allclose(lag, tau, rtol=1e-9, atol=0), p,
                'delay_list*frame_time %s != /xpcs/g2/tau %s' % (short(list(lag)), short(list(tau))), '§4.4')


def check_twotime(r, f, dims):
    """result-layouts §4.5 (and §1 "Two-time"): members, M = triu(C[k]+1), processed_bins,
    normalized_g2 = diagonal means of C[k]+1."""
    cm = get(f, '/xpcs/twotime/correlation_map')
    if not isinstance(cm, h5py.Group):
        return
    names = sorted(cm.keys())
    n_c2 = len(names)
    want = ['c2_%05d' % (k + 1) for k in range(n_c2)]
    r.check(names == want, '/xpcs/twotime/correlation_map',
            'members %s, want exactly c2_00001..c2_%05d' % (short(names), n_c2), '§4.5')
    C = val(f, '/xpcs/twotime/C')
    if not r.check(C is not None, '/xpcs/twotime/C', 'missing (needed for the §4.5 cross-checks)', '§4.5'):
        return
    ok = C.ndim == 3 and C.shape[0] == n_c2 and C.shape[1] == C.shape[2]
    if not r.check(ok, '/xpcs/twotime/C', 'shape %s, want (n_c2=%d, nf, nf)' % (C.shape, n_c2), '§4.5'):
        return
    nf = C.shape[1]
    C1 = C + 1
    for k, name in enumerate(names):
        check_c2_member(r, cm, name, C1[k], nf)
    pb = val(f, '/xpcs/twotime/processed_bins')
    n_d = dims.get('n_d')
    if pb is not None and n_d is not None:
        r.check(list(pb) == list(range(1, n_d + 1)), '/xpcs/twotime/processed_bins',
                '%s, want 1..n_d=%d' % (short(list(pb)), n_d), '§4.5')
    g2 = val(f, '/xpcs/twotime/normalized_g2')
    if g2 is not None and g2.shape == (nf, n_c2):
        with np.errstate(all='ignore'):
            diag = np.array([[np.nanmean(np.diagonal(C1[k], t)) for k in range(n_c2)] for t in range(nf)])
        close = np.isclose(g2, diag, rtol=1e-5, atol=1e-6, equal_nan=True)
        r.check(close.all(), '/xpcs/twotime/normalized_g2',
                '[tau,k] != mean of diagonal tau of C[k]+1 at %d entries (first %s)' % (
                    (~close).sum(), tuple(np.argwhere(~close)[0]) if (~close).any() else ''), '§4.5')
    elif g2 is not None:
        r.check(False, '/xpcs/twotime/normalized_g2', 'shape %s, want (nf=%d, n_c2=%d)' % (g2.shape, nf, n_c2), '§4.5')
    seg = dataset(f, '/xpcs/twotime/normalized_g2_segments')
    if seg is not None and seg.ndim == 3 and seg.shape[1] > 0:
        r.check(seg.shape[0] == nf // seg.shape[1], '/xpcs/twotime/normalized_g2_segments',
                'shape %s, want (L=nf//nseg=%d, nseg, n_c2)' % (seg.shape, nf // seg.shape[1]), '§1 ([B]: L = nf//5)')


def check_c2_member(r, cm, name, C1k, nf):
    """result-layouts §4.5: member M is (nf,nf), finite, tril(M,-1) = 0, M = triu(C[k]+1)
    (non-finite C as 0, docs/output-format.md)."""
    p = '/xpcs/twotime/correlation_map/' + name
    d = cm.get(name)
    if not r.check(isinstance(d, h5py.Dataset), p, 'not a dataset', '§1 Two-time'):
        return
    r.check(d.dtype == np.float32, p, 'dtype %s, want float32' % d.dtype, '§1')
    if not r.check(d.shape == (nf, nf), p, 'shape %s, want (nf, nf) = (%d, %d)' % (d.shape, nf, nf), '§4.5'):
        return
    M = d[()].astype(np.float64)
    r.check(np.isfinite(M).all(), p, '%d non-finite values' % (~np.isfinite(M)).sum(), '§4.5')
    low = np.tril(M, -1)
    r.check(not np.any(low), p, '%d non-zero values below the diagonal' % np.count_nonzero(low), '§4.5')
    want = np.triu(np.where(np.isfinite(C1k), C1k, 0.0))
    close = np.isclose(M, want, rtol=1e-5, atol=1e-6)
    r.check(close.all(), p, 'differs from triu(C[k]+1) at %d of %d entries (max |diff| %.3g)' % (
        (~close).sum(), M.size, np.nanmax(np.abs(M - want))), '§4.5')


# ---------------------------------------------------------------- §4.6 / §2: NXxpcs from the facts file

UNIT_CATEGORIES = {  # accepted `units` strings per NeXus units category; None = any string
    'NX_TIME': {'s', 'second', 'seconds', 'ms', 'us', 'µs', 'ns', 'ps', 'fs', 'min', 'h'},
    'NX_LENGTH': {'m', 'cm', 'mm', 'um', 'µm', 'micron', 'nm', 'pm', 'angstrom', 'A', 'Å', 'metre', 'meter'},
    'NX_ENERGY': {'eV', 'meV', 'keV', 'MeV', 'J'},
    'NX_PER_LENGTH': {'1/m', '1/cm', '1/mm', '1/um', '1/nm', '1/angstrom', '1/A', '1/Å', 'm^-1', 'nm^-1',
                      'angstrom^-1', 'A^-1', 'Å^-1'},
    'NX_COUNT': {'', '1', 'count', 'counts', 'frame', 'frames'},
    'NX_DIMENSIONLESS': {'', '1', 'au', 'a.u.', 'dimensionless'},
    'NX_TEMPERATURE': {'K', 'C', 'degC', 'celsius', 'kelvin'},
    'NX_ANY': None,
}
KINDS, NEEDS = ('group', 'field', 'attr'), ('required', 'optional')


def read_facts(path):
    """tests/data/nxxpcs_required.txt: one item a line: path kind type units need allowed."""
    items = []
    with open(path) as fh:
        for i, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            cols = line.split()
            ok = (len(cols) == 6 and cols[1] in KINDS and cols[4] in NEEDS
                  and (cols[3] == '-' or cols[3] in UNIT_CATEGORIES) and cols[0].startswith('/')
                  and (cols[1] == 'attr') == ('@' in cols[0]))
            if not ok:
                sys.exit('check_layout: %s:%d: bad facts line: %s' % (path, i, line))
            p, kind, typ, units, need, allowed = cols
            items.append({'path': p, 'kind': kind, 'type': typ, 'units': None if units == '-' else units,
                          'required': need == 'required',
                          'allowed': None if allowed == '-' else allowed.split(',')})
    return items


def resolve(f, pattern):
    """[(path, obj)] matching a facts path ({NXclass} = a group of any name with that NX_class),
    one per distinct object."""
    found = [('/', f)]
    for seg in [s for s in pattern.split('/') if s]:
        nxt = []
        for p, g in found:
            if isinstance(g, h5py.Group):
                nxt += children(g, p, seg)
        found = dedupe(nxt)
    return found


def children(g, p, seg):
    base = p.rstrip('/') + '/'
    if seg.startswith('{') and seg.endswith('}'):
        return [(base + n, o) for n in g for o in [get(g, n)]
                if isinstance(o, h5py.Group) and text(o.attrs.get('NX_class', b'')) == seg[1:-1]]
    o = get(g, seg)
    return [] if o is None else [(base + seg, o)]


def dedupe(pairs):
    """One entry per HDF5 object; of several names keep the longest (detector_1 over its old
    hard-linked name detector), so messages name the current path."""
    out = []
    for p, o in pairs:
        i = next((i for i, (_, q) in enumerate(out) if q.id == o.id), None)
        if i is None:
            out.append((p, o))
        elif len(p) > len(out[i][0]):
            out[i] = (p, o)
    return out


def parent_pattern(pattern):
    if '@' in pattern:
        return pattern.split('@')[0]
    head = pattern.rsplit('/', 1)[0]
    return head or '/'


def check_facts(r, f, items):
    """result-layouts §4.6: every required item of §2 exists with its NX_class (required within a
    present parent), fields have their type and units category, enumerations an allowed value."""
    for it in items:
        parents = resolve(f, parent_pattern(it['path']))
        for pp, parent in parents:
            if it['kind'] == 'attr':
                check_fact_attr(r, it, pp, parent)
            else:
                check_fact_node(r, f, it, pp, parent)


def check_fact_node(r, f, it, pp, parent):
    seg = it['path'].rsplit('/', 1)[1]
    where = pp.rstrip('/') + '/' + seg
    if not isinstance(parent, h5py.Group):
        return
    found = dedupe(children(parent, pp, seg))
    if not found:
        r.check(not it['required'], where, 'missing (NXxpcs %s %s)' % (it['kind'], it['type']), '§4.6, §2')
        return
    for p, o in found:
        if it['kind'] == 'group':
            if r.check(isinstance(o, h5py.Group), p, 'is not a group', '§4.6'):
                cls = text(o.attrs.get('NX_class', b''))
                r.check(cls == it['type'], p, 'NX_class %r, want %s' % (cls, it['type']), '§4.6, §2')
        elif r.check(isinstance(o, h5py.Dataset), p, 'is not a dataset (NXxpcs field %s)' % it['type'], '§4.6, §2'):
            check_type(r, p, o.dtype, lambda: o[()], it)
            check_units(r, p, o, it['units'])


def check_fact_attr(r, it, pp, parent):
    name = it['path'].split('@', 1)[1]
    where = '%s@%s' % (pp, name)
    if name not in parent.attrs:
        r.check(not it['required'], where, 'missing (NXxpcs attribute %s)' % it['type'], '§4.6, §2')
        return
    check_type(r, where, attr_dtype(parent, name), lambda: parent.attrs[name], it)


def check_type(r, where, dtype, value, it):
    """NeXus type of a field or attribute, ISO 8601 for NX_DATE_TIME, enumerated values (value()
    reads the field or attribute only when needed)."""
    typ = it['type']
    ok = {'NX_CHAR': is_string(dtype), 'NX_DATE_TIME': is_string(dtype), 'NX_NUMBER': dtype.kind in 'iuf',
          'NX_INT': dtype.kind in 'iu', 'NX_FLOAT': dtype.kind == 'f'}.get(typ, True)
    if not r.check(ok, where, 'dtype %s, want %s' % (dtype, typ), '§4.6, §2'):
        return
    if typ == 'NX_DATE_TIME':
        r.check(iso8601(text(value())) is not None, where, '%r does not parse as ISO 8601' % text(value()), '§4.6')
    if it['allowed'] is not None:
        v = value()
        v = text(v) if np.ndim(v) == 0 else None
        r.check(v in it['allowed'], where, '%r, want one of %s' % (v, ', '.join(it['allowed'])), '§4.6, §2')


def check_units(r, p, o, category):
    if category is None:
        return
    if not r.check('units' in o.attrs, p, 'no units (NXxpcs %s)' % category, '§4.6'):
        return
    u = text(o.attrs['units'])
    allowed = UNIT_CATEGORIES[category]
    r.check(allowed is None or u in allowed, p, 'units %r are not %s' % (u, category), '§4.6, §2')


def check_nxxpcs_extra(r, f, groups):
    """result-layouts §4.6 beyond the facts: definition is a dataset "NXxpcs", units on every
    NXdetector field, max(dynamic_roi_map) = len(dynamic_q_list)."""
    d = get(f, '/entry/definition')
    if r.check(isinstance(d, h5py.Dataset), '/entry/definition', 'not a dataset', '§4.6'):
        r.check(text(d[()]) == 'NXxpcs', '/entry/definition', '%r, want "NXxpcs"' % text(d[()]), '§4.6')
    for gp, g in groups:
        if text(g.attrs.get('NX_class', b'')) != 'NXdetector':
            continue
        for n in g:
            o = get(g, n)
            # string fields (description) carry no units in NeXus; every numeric field does
            if isinstance(o, h5py.Dataset) and not is_string(o.dtype):
                r.check('units' in o.attrs, gp.rstrip('/') + '/' + n, 'NXdetector field without units', '§4.6')
    m = dataset(f, '/entry/instrument/masks/dynamic_roi_map')
    q = dataset(f, '/entry/instrument/masks/dynamic_q_list')
    if m is not None and q is not None:
        mx = int(np.max(m[()])) if m.size else 0
        r.check(mx == len(q), '/entry/instrument/masks/dynamic_roi_map',
                'max %d != len(dynamic_q_list) = %d' % (mx, len(q)), '§4.6')


# ---------------------------------------------------------------- §3: one file for both

# (NXxpcs path, mxpcs path, attributes on the shared object) -- result-layouts §3 "Links"
LINKS = [
    ('/entry/data/g2', '/xpcs/multitau/normalized_g2', {'storage_mode': 'one_array'}),
    ('/entry/data/g2_derr', '/xpcs/multitau/normalized_g2_err', {'storage_mode': 'one_array'}),
    ('/entry/data/delay_difference', '/xpcs/multitau/delay_list', {'storage_mode': 'one_array'}),
    ('/entry/twotime/two_time_corr_func', '/xpcs/twotime/C',
     {'storage_mode': 'one_array_q_first', 'baseline_reference': '0', 'time_origin_location': 'upper_left',
      'populated_elements': 'all'}),
    ('/entry/twotime/g2_from_two_time_corr_func', '/xpcs/twotime/normalized_g2',
     {'storage_mode': 'one_array_q_last', 'baseline_reference': '1', 'first_point_for_fit': '0'}),
    ('/entry/instrument/masks/dynamic_roi_map', '/xpcs/qmap/roi_map', {}),
    ('/entry/instrument/masks/dynamic_q_list', '/xpcs/qmap/q', {}),
]
DETECTOR_UNITS = {'frame_time': 's', 'count_time': 's', 'distance': 'm', 'x_pixel_size': 'm',
                  'y_pixel_size': 'm', 'beam_center_x': 'm', 'beam_center_y': 'm'}


def is_external(f, path):
    try:
        return isinstance(f.get(path, getlink=True), h5py.ExternalLink)
    except (KeyError, ValueError):
        return False


def check_links(r, f):
    """result-layouts §3 "Links": each pair is one object (f[a].id == f[b].id: same HDF5 object
    address), never an external link, with units and the listed attributes on the shared object."""
    for a, b, attrs in LINKS:
        oa, ob = get(f, a), get(f, b)
        if oa is None and ob is None:
            continue
        if not r.check(oa is not None and ob is not None, a if oa is None else b,
                       'missing, but its link partner %s is present' % (b if oa is None else a), '§3 Links'):
            continue
        r.check(oa.id == ob.id, a, 'not the same HDF5 object as %s (must be a hard or soft link)' % b, '§3, §4.6')
        for p in (a, b):
            r.check(not is_external(f, p), p, 'external link', '§3 Links')
        r.check('units' in ob.attrs, b, 'no units on the shared object', '§3 Links')
        for name, want in attrs.items():
            got = text(ob.attrs[name]) if name in ob.attrs else None
            r.check(got == want, '%s@%s' % (b, name), '%r, want %r' % (got, want), '§3 Links')
    check_scattering_1d_link(r, f)


def check_scattering_1d_link(r, f):
    """result-layouts §3: scattering_1d may link to /xpcs/saxs/I only if static_index_mapping = 0..ns-1."""
    a, b = get(f, '/xpcs/temporal_mean/scattering_1d'), get(f, '/xpcs/saxs/I')
    m = val(f, '/xpcs/qmap/static_index_mapping')
    if a is not None and b is not None and a.id == b.id and m is not None:
        r.check(list(m) == list(range(len(m))), '/xpcs/temporal_mean/scattering_1d',
                'is /xpcs/saxs/I but static_index_mapping is not 0..ns-1', '§3 Links')


def check_shared(r, f):
    """result-layouts §3 "Shared, real": start_time with zone, keV, one NXdetector detector_1 (and
    `detector` only as a hard link to it) in s and m, /entry/process hard-linked as /process."""
    st = dataset(f, '/entry/start_time')
    if st is not None:
        t = iso8601(text(st[()]))
        r.check(t is not None and t.tzinfo is not None, '/entry/start_time',
                '%r is not ISO 8601 with a zone' % text(st[()]), '§3 Shared')
    e = dataset(f, '/entry/instrument/incident_beam/incident_energy')
    if e is not None:
        u = text(e.attrs.get('units', b''))
        r.check(u == 'keV', e.name, 'units %r, want keV' % u, '§3 Shared')
    det = get(f, '/entry/instrument/detector_1')
    if r.check(isinstance(det, h5py.Group), '/entry/instrument/detector_1', 'missing NXdetector', '§3 Shared'):
        for name, unit in DETECTOR_UNITS.items():
            o = get(det, name)
            if o is not None:
                u = text(o.attrs.get('units', b''))
                r.check(u == unit, '/entry/instrument/detector_1/' + name, 'units %r, want %s' % (u, unit),
                        '§3 Shared')
        inst = get(f, '/entry/instrument')
        dets = dedupe([(n, o) for n in inst for o in [get(inst, n)] if isinstance(o, h5py.Group)
                       and text(o.attrs.get('NX_class', b'')) == 'NXdetector'])
        r.check(len(dets) == 1, '/entry/instrument', '%d NXdetector objects (%s), want one'
                % (len(dets), ', '.join(n for n, _ in dets)), '§3 Shared')
        old = get(f, '/entry/instrument/detector')
        if old is not None:
            hard = isinstance(f.get('/entry/instrument/detector', getlink=True), h5py.HardLink)
            r.check(old.id == det.id and hard, '/entry/instrument/detector',
                    'not a hard link to detector_1', '§3 Shared')
    pa, pb = get(f, '/entry/process'), get(f, '/process')
    if r.check(pa is not None and pb is not None, '/entry/process' if pa is None else '/process',
               'missing NXprocess', '§3 Shared'):
        hard = isinstance(f.get('/process', getlink=True), h5py.HardLink)
        r.check(pa.id == pb.id and hard, '/process', 'not a hard link to /entry/process', '§3 Shared')


def check_mxpcs_choices(r, f, dims):
    """result-layouts §3 "mxpcs choices" and "AGIPD": labels = ring index + 1 on a grid with no
    empty cell, assembled viewer images, the exact modular map for NXxpcs, age windows as the
    partials, (2,nf) and (nf,n_s) per pulse, stride = avg = 1, normalized_g2 = whole-train g2."""
    q = dataset(f, '/xpcs/qmap/q')
    if 'n_d' in dims and q is not None:
        r.check(dims['n_d'] == len(q), '/xpcs/qmap/dynamic_index_mapping',
                'n_d = %d, but %d rings (/xpcs/qmap/q): dynamic labels are ring index + 1' % (dims['n_d'], len(q)),
                '§3')
    if 'W' in dims:
        stacked = dims['W'] == 128 and dims['H'] % 512 == 0
        r.check(not stacked, '/xpcs/qmap/mask', 'viewer images are the stacked strip (%d x %d), want the '
                'assembled image' % (dims['H'], dims['W']), '§3 AGIPD')
    rm = dataset(f, '/xpcs/qmap/roi_map')
    if rm is not None:
        r.check(rm.shape == (16, 512, 128), '/xpcs/qmap/roi_map', 'shape %s, want (16, 512, 128)' % (rm.shape,),
                '§3 Links')
    age = dataset(f, '/xpcs/g2/age')
    if age is not None:
        if r.check('nseg' in dims, '/xpcs/multitau/normalized_g2_partial', 'missing: the age windows go here', '§3'):
            r.check(dims['nseg'] == len(age), '/xpcs/multitau/normalized_g2_partial',
                    'nseg = %d, but %d age windows (/xpcs/g2/age)' % (dims['nseg'], len(age)), '§3')
    C = dataset(f, '/xpcs/twotime/C')
    if C is not None and C.ndim == 3:
        nf = C.shape[1]
        for p, key in (('/xpcs/spatial_mean/intensity_vs_time', 'nframes'),
                       ('/xpcs/temporal_mean/scattering_1d_segments', 'nseg_I')):
            if key in dims:
                r.check(dims[key] == nf, p, '%d pulse positions, want nf = %d' % (dims[key], nf), '§3')
    for p in ('/xpcs/multitau/config/stride_frame', '/xpcs/multitau/config/avg_frame',
              '/xpcs/twotime/config/stride_frame', '/xpcs/twotime/config/avg_frame'):
        v = val(f, p)
        if v is not None:
            r.check(np.ndim(v) == 0 and v == 1, p, '%s, want 1' % v, '§3')
    g2, g2t = val(f, '/xpcs/multitau/normalized_g2'), val(f, '/xpcs/g2/g2_train')
    if g2 is not None and g2t is not None:
        ok = g2.shape == g2t.T.shape and np.allclose(g2, g2t.T, rtol=1e-5, atol=1e-6, equal_nan=True)
        r.check(ok, '/xpcs/multitau/normalized_g2', 'is not /xpcs/g2/g2_train transposed (whole-train g2)', '§3')


# ---------------------------------------------------------------- main

def run(r, label, fn, *args):
    """A section that raises (a malformed file) is one failed check, not a traceback."""
    try:
        return fn(r, *args)
    except Exception as e:  # noqa: BLE001
        r.check(False, label, 'check raised %s: %s' % (type(e).__name__, e), fn.__name__)
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('results', help='an mxpcs analyze results.h5')
    ap.add_argument('--facts', default=DEFAULT_FACTS, help='NXxpcs items (default tests/data/nxxpcs_required.txt)')
    ap.add_argument('--hash-differs', metavar='OTHER.h5', help='a result with other rings: its @hash must differ')
    a = ap.parse_args()
    for p in [a.results, a.facts] + ([a.hash_differs] if a.hash_differs else []):
        if not os.path.isfile(p):
            sys.exit('check_layout: no file %s' % p)
    facts = read_facts(a.facts)
    r = Report()
    with h5py.File(a.results, 'r') as f:
        groups = run(r, '/', check_walk, f) or []
        dims = run(r, '/', check_viewer_table, f) or {}
        run(r, '/xpcs/qmap@hash', check_hash, f, a.hash_differs)
        run(r, '/xpcs/qmap', check_roi_maps, f, dims)
        run(r, '/xpcs/temporal_mean', check_saxs_intensity, f, dims)
        run(r, '/xpcs/multitau', check_multitau, f, dims)
        run(r, '/xpcs/twotime', check_twotime, f, dims)
        run(r, '/entry', check_facts, f, facts)
        run(r, '/entry', check_nxxpcs_extra, f, groups)
        run(r, '/entry', check_links, f)
        run(r, '/entry', check_shared, f)
        run(r, '/xpcs', check_mxpcs_choices, f, dims)
    if r.failed:
        print('check_layout: [§...] are the sections of docs/reference/result-layouts.md')
    print('check_layout: %d checks, %d failed' % (r.n, r.failed))
    return 1 if r.failed else 0


if __name__ == '__main__':
    sys.exit(main())
