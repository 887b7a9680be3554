#!/usr/bin/python3
"""The SAXS I(q) of `mxpcs analyze` against pyFAI's AzimuthalIntegrator.integrate1d.

usage:
  saxs_pyfai.py prepare RUN_DIR USER_MASK.h5
      make the simulated run's bad pixels richer but static: NaN in a few pixels of every
      frame, and a user mask file (-mask_file) with a block and scattered pixels
  saxs_pyfai.py compare --run RUN_DIR --geom F.geom --distance D --energy E --qmin X --qmax Y
                        --nbins N [--user-mask M.h5] [--qmap QMAP.h5] RESULTS.h5 [RESULTS.h5 ...]
      integrate the mean image of the run with pyFAI and compare /xpcs/saxs/I bin by bin: exit 1
      when a bin with >= --min-pixels pixels differs by more than --tol (relative)

The peer knows nothing of mxpcs: pixel corners come from the CrystFEL file (parsed here), the
frames and the file mask from the run's HDF5 files (h5py). The pyFAI geometry:

  * one pyFAI Detector holding the run's modules stacked along dim1 (module m, row ss, column fs
    -> image row k*512 + ss, column fs), with explicit pixel corners (set_pixel_corners, in m,
    last axis (z, y, x) = (coffset + z terms, Y, X) of the CrystFEL lab frame); pyFAI then uses
    the bilinear centre of the corners, i.e. the CrystFEL pixel centre, and L = dist + z;
  * dist = D, poni1 = poni2 = 0 (beam on the geometry origin, as mxpcs's default beam centre),
    rot1 = rot2 = rot3 = 0, wavelength = hc / E with pyFAI's own hc;
  * pyFAI's t1 (dim1, p1 - poni1) is CrystFEL Y and t2 (dim2) is CrystFEL X, so pyFAI's
    chi = atan2(t1, t2) is mxpcs's phi = atan2(Y, X) exactly, and polarization_factor = f with
    axis_offset 0 gives mxpcs's ((1 + cos^2 2th) - f cos 2phi sin^2 2th) / 2. (pyFAI documents
    (dim1 up, dim2 horizontal, beam) as right-handed, i.e. dim2 = -X of CrystFEL; with
    p2 = -X chi would be pi - phi, with the same cos 2chi: with rot = 0 nothing else depends
    on the handedness, and p2 = +X keeps chi = phi for the per-pixel check);
  * correctSolidAngle: pyFAI divides by cos^3(incidence) (relative to the PONI, where it is 1),
    mxpcs by (A Z / R^3) / (A / D^2) = D^2 Z / R^3; both are the same for a flat detector at D.
    Here the panels sit at Z = D + coffset, so pyFAI's cos^3 = Z^3 / R^3 and the two differ by
    the constant (D / Z)^2 per module: mxpcs is higher by 2 coffset / D (2.4e-4 at 7 m, 1.7e-3
    at 1 m for this geometry). The 0.5 % test leaves it in; a second, strict test (--tol-exact,
    with --qmap) gives pyFAI flat = (D / Z)^2 (pyFAI multiplies its normalisation by flat), so
    that both apply the same correction;
  * method ("no", "histogram", "cython"): no pixel splitting, pixel centre q, npt bins on
    radial_range; pyFAI returns sum(signal) / sum(solid angle x polarisation) per bin, mxpcs
    the mean of the corrected pixels; identical up to the spread of the correction within a bin
    (< 1e-5 here). The mean image over all frames equals mxpcs's mean over trains of per-train
    means because the bad pixels are static (checked) and every train has the same frames;
  * pyFAI 0.21's histogram1d_engine puts pixels less than one bin below radial_range[0] into
    bin 0 (it truncates (q - q_min) / dq towards zero instead of flooring): the pixels outside
    [q_min, q_max) are masked here, as mxpcs leaves them out;
  * pyFAI bins float32 q, so a pixel within ~1e-7 of a bin edge can land in the neighbouring
    bin; the strict test skips the bins whose pixel counts differ from mxpcs's binning of the
    qmap q (the 0.5 % test keeps them).
"""
import argparse, glob, os, re, sys
import numpy as np
import h5py

NSS, NFS = 512, 128


# ----------------------------------------------------------------------------- CrystFEL file
def parse_vector(s):
    v = np.zeros(3)
    s = s.replace(' ', '')
    terms = re.findall(r'([+-]?)([0-9.]*(?:[eE][+-]?[0-9]+)?)([xyz])', s)
    if not terms or ''.join(a + b + c for a, b, c in terms) != s:
        raise ValueError('cannot parse vector %r' % s)
    for sign, coef, ax in terms:
        c = float(coef) if coef else 1.0
        v['xyz'.index(ax)] += -c if sign == '-' else c
    return v


def parse_geom(path):
    """Panels of a CrystFEL file: a global key is a default for panels first mentioned after it.
    Returns {module: [panel dicts]} with corner_x/y (px), fs/ss (3-vectors), res, coffset, ranges
    in module-local rows."""
    glob_defaults, panels, order = {}, {}, []
    for raw in open(path):
        line = raw.split(';', 1)[0].strip()
        if not line or '=' not in line:
            continue
        key, val = (t.strip() for t in line.split('=', 1))
        if '/' in key:
            name, k = key.split('/', 1)
            if name.startswith('rigid_group') or name.startswith('bad'):
                raise SystemExit('saxs_pyfai: %s: key %s not supported by this peer' % (path, key))
            if name not in panels:
                panels[name] = dict(glob_defaults)
                order.append(name)
            panels[name][k] = val
        else:
            if key.startswith('bad') or key in ('no_index', 'mask_edge_pixels'):
                raise SystemExit('saxs_pyfai: %s: %s not supported by this peer' % (path, key))
            glob_defaults[key] = val
    mods = {}
    for name in order:
        p = panels[name]
        if p.get('no_index', '0') not in ('0', 'false') or int(p.get('mask_edge_pixels', '0')):
            raise SystemExit('saxs_pyfai: panel %s: no_index / mask_edge_pixels not supported' % name)
        dims = [p.get('dim%d' % i) for i in range(1, 4)]
        ints = [d for d in dims if d is not None and d.strip().lstrip('-').isdigit()]
        min_ss, max_ss = int(p['min_ss']), int(p['max_ss'])
        if ints:                      # 3-D layout: dimN = module
            m, off = int(ints[0]), 0
        else:                         # 2-D layout: modules stacked along ss
            m = min_ss // NSS
            off = m * NSS
        res = float(p['res'].split()[0])
        cz = p.get('coffset', '0').split()[0]
        mods.setdefault(m, []).append(dict(
            name=name, min_fs=int(p['min_fs']), max_fs=int(p['max_fs']), min_ss=min_ss - off,
            max_ss=max_ss - off, fs=parse_vector(p['fs']), ss=parse_vector(p['ss']),
            cx=float(p['corner_x']), cy=float(p['corner_y']), res=res, coffset=float(cz)))
    return mods


def module_corners(panels):
    """(512, 128, 4, 3) pixel corners (z, y, x) in m, pyFAI's order A (ss, fs), B (ss+1, fs),
    C (ss+1, fs+1), D (ss, fs+1), and the per-pixel coffset."""
    out = np.full((NSS, NFS, 4, 3), np.nan)
    covered = np.zeros((NSS, NFS), int)
    for p in panels:
        u = np.arange(p['max_fs'] - p['min_fs'] + 2, dtype=float)    # corner index along fs
        v = np.arange(p['max_ss'] - p['min_ss'] + 2, dtype=float)    # along ss
        V, U = np.meshgrid(v, u, indexing='ij')
        xyz = [(c0 + U * p['fs'][i] + V * p['ss'][i]) / p['res'] for i, c0 in enumerate((p['cx'], p['cy'], 0.0))]
        xyz[2] = xyz[2] + p['coffset']
        zyx = np.stack([xyz[2], xyz[1], xyz[0]], axis=-1)          # (nv+1, nu+1, 3)
        s0, s1, f0, f1 = p['min_ss'], p['max_ss'] + 1, p['min_fs'], p['max_fs'] + 1
        out[s0:s1, f0:f1, 0] = zyx[:-1, :-1]
        out[s0:s1, f0:f1, 1] = zyx[1:, :-1]
        out[s0:s1, f0:f1, 2] = zyx[1:, 1:]
        out[s0:s1, f0:f1, 3] = zyx[:-1, 1:]
        covered[s0:s1, f0:f1] += 1
    if (covered != 1).any():
        raise SystemExit('saxs_pyfai: panels do not cover every pixel of the module exactly once')
    return out


# ----------------------------------------------------------------------------- run files
def module_files(run):
    files = {}
    for fn in sorted(glob.glob(os.path.join(run, '*-AGIPD[0-9][0-9]-S*.h5'))):
        m = int(re.search(r'-AGIPD(\d\d)-S', os.path.basename(fn)).group(1))
        files.setdefault(m, []).append(fn)
    if not files:
        raise SystemExit('saxs_pyfai: no AGIPD files in %s' % run)
    return files


def image_group(f):
    src = [k for k in f['INSTRUMENT/MID_DET_AGIPD1M-1/CORR'].keys()] if 'INSTRUMENT/MID_DET_AGIPD1M-1/CORR' in f else []
    if len(src) != 1:
        raise SystemExit('saxs_pyfai: %s: expected one CORR source' % f.filename)
    return f['INSTRUMENT/MID_DET_AGIPD1M-1/CORR/%s/image' % src[0]]


def read_module(fns):
    """Sum over frames of the good values, bad-in-any-frame map, frames, trains of one module."""
    tot, bad, nfr, trains = None, None, 0, set()
    for fn in fns:
        with h5py.File(fn, 'r') as f:
            g = image_group(f)
            d = g['data'][...].astype(np.float64)
            b = ~np.isfinite(d)
            if 'mask' in g:
                b |= g['mask'][...] != 0
            trains.update(int(t) for t in g['trainId'][...])
            d[b] = 0
            tot = d.sum(0) if tot is None else tot + d.sum(0)
            fb = b.any(0)
            # static mask: a pixel bad in one frame must be bad in every frame
            if (b.all(0) != fb).any():
                raise SystemExit('saxs_pyfai: %s: bad pixels are not static (the frame means would differ)' % fn)
            bad = fb if bad is None else bad | fb
            nfr += d.shape[0]
    return tot, bad, nfr, trains


# ----------------------------------------------------------------------------- prepare
def prepare(a):
    rng = np.random.default_rng(7)
    files = module_files(a.run)
    mods = sorted(files)
    for k, m in enumerate(mods):
        sel = rng.choice(NSS * NFS, 300, replace=False)
        for fn in files[m]:
            with h5py.File(fn, 'r+') as f:
                d = image_group(f)['data']
                x = d[...]
                x.reshape(x.shape[0], -1)[:, sel] = np.nan
                d[...] = x
    um = np.zeros((16, NSS, NFS), np.uint8)
    m0 = mods[0]
    um[m0, 100:140, 20:60] = 1                      # a block
    idx = rng.choice(NSS * NFS, 500, replace=False)   # and scattered pixels
    um[mods[-1]].reshape(-1)[idx] = 1
    with h5py.File(a.mask_out, 'w') as f:
        f['mask'] = um
    print('saxs_pyfai prepare: 300 NaN pixels per module in %s, user mask %s (%d pixels)' % (a.run, a.mask_out, um.sum()))


# ----------------------------------------------------------------------------- compare
def compare(a):
    import pyFAI
    from pyFAI.azimuthalIntegrator import AzimuthalIntegrator
    from pyFAI.detectors import Detector
    from pyFAI import units

    files = module_files(a.run)
    mods = sorted(files)
    geom = parse_geom(a.geom)
    umask = None
    if a.user_mask:
        with h5py.File(a.user_mask, 'r') as f:
            umask = f['mask'][...] != 0

    # mean image over all frames and trains, static bad-pixel mask
    img = np.zeros((len(mods) * NSS, NFS))
    bad = np.zeros(img.shape, bool)
    corners = np.zeros((len(mods) * NSS, NFS, 4, 3))
    nframes = None
    for k, m in enumerate(mods):
        tot, b, nfr, trains = read_module(files[m])
        if nframes is not None and nfr != nframes:
            raise SystemExit('saxs_pyfai: modules have different frame counts')
        nframes = nfr
        rows = slice(k * NSS, (k + 1) * NSS)
        img[rows] = tot / nfr
        bad[rows] = b | (umask[m] if umask is not None else False)
        if m not in geom:
            raise SystemExit('saxs_pyfai: module %d has no panels in %s' % (m, a.geom))
        corners[rows] = module_corners(geom[m])

    det = Detector(pixel1=200e-6, pixel2=200e-6, max_shape=img.shape)
    det.set_pixel_corners(corners)
    wavelength = units.hc / a.energy * 1e-10
    ai = AzimuthalIntegrator(dist=a.distance, poni1=0.0, poni2=0.0, rot1=0.0, rot2=0.0, rot3=0.0,
                             detector=det, wavelength=wavelength)
    q_pf = ai.array_from_unit(img.shape, 'center', units.to_unit('q_A^-1'), scale=True)
    # pyFAI 0.21's histogram1d_engine truncates (q - qmin) * npt / (qmax - qmin) towards zero, so
    # pixels less than one bin below qmin land in bin 0 (Debian's 0.21.3; shown below): mask the
    # pixels outside the range ourselves, as mxpcs (floor) leaves them out
    below = (~bad) & (q_pf < a.qmin) & (q_pf >= a.qmin - (a.qmax - a.qmin) / a.nbins)
    mask = bad | (q_pf < a.qmin) | (q_pf >= a.qmax)

    def integrate(m, flat=None):
        return ai.integrate1d(img, a.nbins, unit='q_A^-1', radial_range=(a.qmin, a.qmax),
                              method=('no', 'histogram', 'cython'), correctSolidAngle=True,
                              polarization_factor=a.pol, mask=m.astype(np.int8), flat=flat)

    res = integrate(mask)
    qp, Ip, cnt = res.radial, res.intensity, np.asarray(res.count)
    print('pyFAI %s, engine %s; %d modules %s, %d frames per module, %d bad pixels'
          % (pyFAI.version, res.compute_engine, len(mods), mods, nframes, bad.sum()))
    raw = np.asarray(integrate(bad).count)
    print('pyFAI with only the bad pixels masked: bin 0 holds %d pixels, %d of them below q_min '
          '(%d good pixels lie less than a bin below q_min)' % (raw[0], raw[0] - cnt[0], below.sum()))
    # the same with mxpcs's solid-angle normalisation A Z / R^3 / (A / D^2) = cos^3 (D / Z)^2:
    # pyFAI multiplies its normalisation by `flat`, so flat = (D / Z)^2 with Z = D + pixel z
    zc = corners[..., 0].mean(-1)
    Ie = integrate(mask, flat=(a.distance / (a.distance + zc)) ** 2).intensity

    sa = ai.solidAngleArray(img.shape)
    pol = ai.polarization(img.shape, a.pol)
    edges = np.linspace(a.qmin, a.qmax, a.nbins + 1)
    fails = 0

    if a.qmap:   # the same per-pixel geometry from mxpcs qmap (diagnostic, and bin assignment)
        with h5py.File(a.qmap, 'r') as f:
            def stack(name):
                return np.concatenate([f['xpcs/qmap/' + name][m] for m in mods])
            qm, phim, polm, sam = stack('q_map'), stack('phi_map'), stack('polarization_map'), stack('solid_angle_map')
        chi = ai.chiArray(img.shape)
        dphi = np.angle(np.exp(1j * (chi.astype(np.float64) - phim)))
        A, D = (200e-6) ** 2, a.distance
        ratio = (sam / (A / D ** 2)) / sa          # mxpcs's relative solid angle / pyFAI's
        expect = (D / (D + zc)) ** 2
        print('geometry vs mxpcs qmap: max |dq/q| %.2e, max |chi - phi| %.2e rad, max |dP/P| %.2e, '
              'solid angle mxpcs/pyFAI %.6f..%.6f (expected (D/Z)^2 %.6f..%.6f, max residual %.1e)'
              % (np.max(np.abs(q_pf / qm - 1)), np.max(np.abs(dphi)), np.max(np.abs(pol / polm - 1)),
                 ratio.min(), ratio.max(), expect.min(), expect.max(), np.max(np.abs(ratio / expect - 1))))
        for name, dev, tol in (('q', np.max(np.abs(q_pf / qm - 1)), 1e-5), ('chi', np.max(np.abs(dphi)), 1e-5),
                               ('polarisation', np.max(np.abs(pol / polm - 1)), 1e-5),
                               ('solid angle', np.max(np.abs(ratio / expect - 1)), 1e-5)):
            if not dev <= tol:
                print('FAIL: per-pixel %s of pyFAI and mxpcs qmap differ by %.2e (> %g)' % (name, dev, tol))
                fails += 1
        bm = np.floor((qm - a.qmin) / (a.qmax - a.qmin) * a.nbins)
        inr = ~bad & (bm >= 0) & (bm < a.nbins)
        cm = np.bincount(bm[inr].astype(int), minlength=a.nbins)
        same = cnt == cm
        print('pixels per bin, pyFAI vs mxpcs\'s floor((q - q_min) / dq) on the qmap q: %d bins differ (max by %d; '
              'pyFAI bins float32 q)' % ((~same).sum(), np.max(np.abs(cnt - cm))))

    status = 0
    for path in a.results:
        with h5py.File(path, 'r') as f:
            qx, Ix = f['xpcs/saxs/q'][...], f['xpcs/saxs/I'][...]
        if len(qx) != a.nbins or np.max(np.abs(qx - 0.5 * (edges[1:] + edges[:-1]))) > 1e-9:
            print('FAIL %s: /xpcs/saxs/q is not the grid of %d bins on [%g, %g]' % (path, a.nbins, a.qmin, a.qmax))
            status = 1
            continue
        if np.max(np.abs(qp - qx)) > 1e-6 * a.qmax:
            print('FAIL %s: pyFAI bin centres differ from /xpcs/saxs/q by %.2e' % (path, np.max(np.abs(qp - qx))))
            status = 1
        use = cnt >= a.min_pixels
        dev = np.abs(Ix[use] / Ip[use] - 1)
        j = np.argmax(dev)
        worst = np.flatnonzero(use)[j]
        rel = np.where(use, Ix / np.where(Ip != 0, Ip, np.nan) - 1, np.nan)
        print('%s: %d of %d bins with >= %d pixels; max |I_mxpcs / I_pyFAI - 1| = %.3e at q = %.5f 1/A '
              '(%d pixels); mean deviation %+.2e' % (path, use.sum(), a.nbins, a.min_pixels, dev[j], qx[worst],
                                                   cnt[worst], np.nanmean(rel[use])))
        if a.qmap:   # bins holding the same pixels in both: nothing but the conventions may differ
            ex = use & same
            dex = np.abs(Ix[ex] / Ie[ex] - 1)
            print('    with pyFAI given mxpcs\'s solid-angle normalisation (flat = (D/Z)^2), over the %d bins with '
                  'the same pixel counts: max deviation %.3e (tolerance %g)' % (ex.sum(), dex.max(), a.tol_exact))
            if not dex.max() <= a.tol_exact:
                print('FAIL %s: bins differ from pyFAI with flat = (D/Z)^2 by more than %g' % (path, a.tol_exact))
                status = 1
        if a.verbose:
            for b in range(a.nbins):
                print('  %3d q %.5f n %6d  mxpcs %.6g  pyFAI %.6g  %+.2e' % (b, qx[b], cnt[b], Ix[b], Ip[b], rel[b]))
        if use.sum() < a.nbins // 2:
            print('FAIL %s: only %d bins with enough pixels' % (path, use.sum()))
            status = 1
        if not np.all(np.isfinite(Ix[use])) or dev[j] > a.tol:
            print('FAIL %s: %d bins differ by more than %g' % (path, int((~(dev <= a.tol)).sum()), a.tol))
            status = 1
    if fails:
        status = 1
    print('saxs_pyfai: %s' % ('FAIL' if status else 'OK'))
    return status


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('prepare')
    p.add_argument('run'); p.add_argument('mask_out')
    c = sub.add_parser('compare')
    c.add_argument('results', nargs='+')
    c.add_argument('--run', required=True)
    c.add_argument('--geom', required=True)
    c.add_argument('--distance', type=float, required=True, help='m')
    c.add_argument('--energy', type=float, required=True, help='keV')
    c.add_argument('--qmin', type=float, required=True)
    c.add_argument('--qmax', type=float, required=True)
    c.add_argument('--nbins', type=int, required=True)
    c.add_argument('--pol', type=float, default=1.0, help='polarisation factor f (-geom_polarization)')
    c.add_argument('--user-mask')
    c.add_argument('--qmap', help='mxpcs qmap output with the same geometry (per-pixel diagnostics)')
    c.add_argument('--tol', type=float, default=0.005)
    c.add_argument('--tol-exact', type=float, default=1e-4,
                   help='relative tolerance with the solid-angle convention difference removed, in the bins '
                        'whose pixel counts agree (needs --qmap)')
    c.add_argument('--min-pixels', type=int, default=50)
    c.add_argument('-v', '--verbose', action='store_true')
    a = ap.parse_args()
    if a.cmd == 'prepare':
        prepare(a)
        return 0
    return compare(a)


if __name__ == '__main__':
    sys.exit(main())
