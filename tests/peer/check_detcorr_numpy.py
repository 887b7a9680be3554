"""The detector corrections of mxpcs analyze (src/analyze/detcorr.c) against an independent numpy
implementation of docs/analyze.md "Real AGIPD data", on a calibrated-keV run read with h5py:
per frame and ASIC the common mode from a histogram of 1/64-photon bins over [-2, 2) photons of
every 4th row of the ASIC (rows 2, 6, ..., 62; 4 rounds of the mean of the bins within 0.5 photon
of the level, from the zero-photon peak; >= 8 values), then
floor(v + 1/2) photons, pixel-frames above 40 photons flagged. Compares, for every results file
given (rank counts and pixel partitions), the per-module common mode mean and rms, the noise,
the ASIC-frames without an estimate, the ring photon histogram, the fractions changed and the
mean image, to 1e-6; and the files with each other.
With --cell K (-reader_common_mode asic+cell): first each pixel's residual offset per frame of the
train, the float32 mean over the run's first K trains of its values within 0.5 photon of its
ASIC's level less the level, subtracted before the common mode.
usage: check_detcorr_numpy.py [--cell K] RUN ADU RESULTS..."""
import glob
import sys

import h5py
import numpy as np

args = sys.argv[1:]
cellK = 0
if args[0] == '--cell':
    cellK, args = int(args[1]), args[2:]
run, adu, results = args[0], float(args[1]), args[2:]
R, B, W, NMIN, ITERS, CAP = np.float32(2.0), 256, 0.5, 32 // 4, 4, np.float32(40.0)
wbin = 2.0 * 2.0 / B
centres = -2.0 + (np.arange(B) + 0.5) * wbin

with h5py.File(results[0], 'r') as f:
    roi = f['xpcs/qmap/roi_map'][...]
    mods = list(f['xpcs/corrections/modules'][...])


def level_of(h):
    # from the zero-photon peak: the counts within 16 bins (1/4 photon) of each bin, the first
    # bin with >= 32 of them, then the first of the fullest within one photon (64 bins) above it
    S = np.convolve(h, np.ones(33, dtype=h.dtype), mode='same')
    if not (S >= NMIN).any():
        return None
    k0 = int(np.argmax(S >= NMIN))
    lev = centres[k0 + int(np.argmax(S[k0:k0 + 64]))]
    for it in range(ITERS + 1):
        sel = (h > 0) & (np.abs(centres - lev) < W)
        n = h[sel].sum()
        if n < NMIN:
            return None
        s = (h[sel] * centres[sel]).sum()
        ss = (h[sel] * (centres[sel] - lev) ** 2).sum()
        if it < ITERS:
            lev = s / n
    return lev, n, max(ss / n - wbin * wbin / 12, 0.0)


def count(x, t=np.float32(0.5)):
    return np.where(x < t, np.float32(0), np.floor(x - t) + np.float32(1)).astype(np.float32)


scale = np.float32(1.0 / adu)
st = {m: dict(n=0, s=0.0, q=0.0, none=0, nn=0.0, ns=0.0) for m in mods}
hist, good, ch_cm, ch_ph, spikes = np.zeros(3), 0, 0, 0, 0
img = {m: [np.zeros((512, 128)), np.zeros((512, 128))] for m in mods}
def asic_level(xa, ba):
    # from every 4th row of the ASIC, rows 2, 6, ..., 62 (1024 values), at least 32 / 4 values
    xs, bs = xa[2::4], ba[2::4]
    y = (xs + R) * np.float32(B / (2 * 2.0))
    ok = (y >= 0) & (y < B) & ~bs
    h = np.bincount(np.floor(y[ok]).astype(int), minlength=B)[:B]
    return level_of(h)


for m in mods:
    trains = []  # (train ID, data, mask) in run order
    for fn in sorted(glob.glob('%s/proc/*/CORR-*-AGIPD%02d-S*.h5' % (run, m)) + glob.glob('%s/CORR-*-AGIPD%02d-S*.h5' % (run, m))):
        with h5py.File(fn, 'r') as f:
            src = [k for k in f['INSTRUMENT/MID_DET_AGIPD1M-1/CORR'].keys()][0]
            g = f['INSTRUMENT/MID_DET_AGIPD1M-1/CORR/%s/image' % src]
            data, mask, tid = g['data'][...], g['mask'][...], g['trainId'][...].ravel()
        for t in np.unique(tid[tid > 0]):
            rows = np.nonzero(tid == t)[0]
            trains.append((t, data[rows], mask[rows]))
    trains.sort(key=lambda x: x[0])

    def values(d, mk):
        v = d * scale
        bad = (mk != 0) | ~np.isfinite(v)
        return np.where(bad, np.float32(0), v).astype(np.float32), bad
    cell = None
    if cellK:
        nfr = trains[0][1].shape[0]
        csum, ccnt = np.zeros((nfr, 512, 128), np.float32), np.zeros((nfr, 512, 128), np.int64)
        for t, d, mk in trains[:cellK]:
            v, bad = values(d, mk)
            for k in range(nfr):
                for a0 in range(0, 512, 64):
                    for c0 in (0, 64):
                        xa, ba = v[k, a0:a0 + 64, c0:c0 + 64], bad[k, a0:a0 + 64, c0:c0 + 64]
                        r = asic_level(xa, ba)
                        if r is None:
                            continue
                        y = xa - np.float32(r[0])
                        sel = ~ba & (np.abs(y) < np.float32(0.5))
                        csum[k, a0:a0 + 64, c0:c0 + 64] += np.where(sel, y, np.float32(0))
                        ccnt[k, a0:a0 + 64, c0:c0 + 64] += sel
        cell = np.where(ccnt > 0, csum / np.maximum(ccnt, 1).astype(np.float32), np.float32(0)).astype(np.float32)
    for t, d, mk in trains:
            v, bad = values(d, mk)
            if cell is not None:
                v = (v - cell).astype(np.float32)
            out = np.zeros_like(v)
            for k in range(v.shape[0]):
                x = v[k]
                for a0 in range(0, 512, 64):
                    for c0 in (0, 64):
                        xa, ba = x[a0:a0 + 64, c0:c0 + 64], bad[k, a0:a0 + 64, c0:c0 + 64]
                        r = asic_level(xa, ba)
                        lev = np.float32(0)
                        if r is None:
                            st[m]['none'] += 1
                        else:
                            lv, n, var = r
                            st[m]['n'] += 1; st[m]['s'] += lv; st[m]['q'] += lv * lv
                            st[m]['nn'] += n; st[m]['ns'] += var * n
                            lev = np.float32(lv)
                        ya = xa - lev
                        p = count(ya)
                        ch_cm += int(((count(xa) != count(ya)) & ~ba).sum())
                        ch_ph += int(((np.abs(p - ya) > np.float32(1e-3)) & ~ba).sum())
                        out[k, a0:a0 + 64, c0:c0 + 64] = np.where(ba, 0, p)
            sp = (out > CAP) & ~bad
            spikes += int(sp.sum())
            bad = bad | sp
            out[bad] = 0
            good += int((~bad).sum())
            ring = (roi[m] > 0)[None] & ~bad
            hist += [((out < 0.5) & ring).sum(), ((out >= 0.5) & (out < 1.5) & ring).sum(), ((out >= 1.5) & ring).sum()]
            valid = ~bad.any(axis=0)
            img[m][0] += np.where(valid, out.sum(axis=0), 0)
            img[m][1] += np.where(valid, v.shape[0], 0)

ng = good + spikes
ref = {
    'common_mode_mean': np.array([st[m]['s'] / st[m]['n'] for m in mods]),
    'common_mode_rms': np.array([np.sqrt(st[m]['q'] / st[m]['n']) for m in mods]),
    'common_mode_no_estimate': np.array([st[m]['none'] / (st[m]['n'] + st[m]['none']) for m in mods]),
    'noise': np.array([np.sqrt(st[m]['ns'] / st[m]['nn']) for m in mods]),
    'photon_histogram': hist / hist.sum(),
    'fraction_changed_cm': ch_cm / ng, 'fraction_changed_ph': ch_ph / ng, 'spikes': spikes / ng,
}
print('numpy: common mode mean %s rms %s, noise %s, no estimate %s; ring 0/1/2+ %s; changed %.4g / %.4g, spikes %.3g' % (
    np.round(ref['common_mode_mean'], 5), np.round(ref['common_mode_rms'], 5), np.round(ref['noise'], 5),
    np.round(ref['common_mode_no_estimate'], 4), np.round(ref['photon_histogram'], 5), ref['fraction_changed_cm'],
    ref['fraction_changed_ph'], ref['spikes']))
fails = []
first = None
for path in results:
    with h5py.File(path, 'r') as f:
        c = f['xpcs/corrections']
        got = {k: c[k][...] for k in ('common_mode_mean', 'common_mode_rms', 'common_mode_no_estimate', 'noise', 'photon_histogram')}
        fc = c['fraction_changed'][...]
        got['fraction_changed_cm'], got['fraction_changed_ph'], got['spikes'] = fc[0], fc[1], fc[3]
        im = f['xpcs/saxs/image'][...]
        imods = list(f['xpcs/saxs/image_modules'][...])
    worst = 0.0
    for k, r in ref.items():
        d = np.max(np.abs(np.asarray(got[k], float) - r))
        worst = max(worst, d)
        if not d < 1e-6:
            fails.append('%s %s: %s vs numpy %s' % (path, k, got[k], r))
    di = 0.0
    for j, m in enumerate(imods):
        n = img[m][1]
        mine = np.where(n > 0, img[m][0] / np.maximum(n, 1), np.nan)
        both = np.isfinite(mine) & np.isfinite(im[j])
        if (np.isfinite(mine) != np.isfinite(im[j])).any():
            fails.append('%s image of module %d: valid pixels differ (%d)' % (path, m, int((np.isfinite(mine) != np.isfinite(im[j])).sum())))
        di = max(di, float(np.max(np.abs(mine[both] - im[j][both]) / np.maximum(np.abs(mine[both]), 1e-3))))
    if not di < 1e-6: fails.append('%s mean image: relative difference %.3g' % (path, di))
    same = ''
    if first is None:
        first = got
    else:
        dd = max(float(np.max(np.abs(np.asarray(got[k], float) - np.asarray(first[k], float)))) for k in got)
        same = ', %.2g from the first file' % dd
        if dd > 1e-12: fails.append('%s differs from %s by %.3g' % (path, results[0], dd))
    print('%s: largest difference from numpy %.2g (statistics), %.2g (mean image, relative)%s  %s' % (path, worst, di, same, 'ok' if not fails else 'FAIL'))
if fails:
    print('FAIL:\n  ' + '\n  '.join(fails))
    sys.exit(1)
print('all checks passed')
