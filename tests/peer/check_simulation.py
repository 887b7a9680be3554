#!/usr/bin/python3
"""Statistics of an `mxpcs simulate` run against its truth, computed directly with numpy from
the run files (independent of the analysis code).

usage: check_simulation.py DIR [--checks mean,beta,decay,artifact]

mean:     ring-binned mean intensity / (pulse energy x geometric factor) equals truth I(q)
          averaged over the same pixels, within 5 standard errors (train-to-train spread) + 2 %.
beta:     speckle contrast from photon counts, (<n^2> - <n>)/mu^2 - 1 per pixel-frame with
          mu the expected mean, equals the realised truth beta within 4 jackknife standard
          errors (over trains) + 3 %.
decay:    g2(tau = 1 pulse)/beta = exp(-2 int Gamma dt) at the train start gives Gamma within
          4 jackknife standard errors + 3 % of the truth in every bin where it is measurable.
artifact: with (almost) no photons, every frame equals the truth memory-cell offset of its
          cell, identically in every train (the pattern is present and repeats).
"""
import argparse, glob, sys
import h5py, numpy as np

ap = argparse.ArgumentParser()
ap.add_argument('dir')
ap.add_argument('--checks', default='mean,beta,decay')
ap.add_argument('--nbins', type=int, default=12)
a = ap.parse_args()
checks = a.checks.split(',')

t = h5py.File(a.dir + '/truth.h5', 'r')
mods = list(t['detector/modules'][...])
qmap = t['detector/q_map'][...]
G = t['detector/geom_factor'][...]
Ibar = t['detector/I_model'][...]
bad = t['detector/mask'][...] != 0
e = t['truth/pulse_energy'][...]
tq, tI, tgam = t['truth/q'][...], t['truth/I'][...], t['truth/gamma'][...]
bq, bbeta = t['truth/beta_q'][...], t['truth/beta'][...]
dt = float(t['params/pulse_spacing_s'][()])
adu = float(t['params/adu_per_photon'][()])

def frames(m):
    """(ntrains, npulses, 512, 128) of module m, in photons."""
    out = []
    for f in sorted(glob.glob(a.dir + '/proc/r*/CORR-*-AGIPD%02d-S*.h5' % m)):
        with h5py.File(f, 'r') as h:
            d = h['INSTRUMENT/MID_DET_AGIPD1M-1/CORR/%dCH0:output/image/data' % m][...]
            out.append(d)
    d = np.concatenate(out) / adu
    return d.reshape(-1, e.shape[1], 512, 128)

fails = []
for im, m in enumerate(mods):
    d = frames(m)
    good = ~bad[im] & (Ibar[im] > 0)
    q = qmap[im]
    qs = q[good]
    edges = np.quantile(qs, np.linspace(0, 1, a.nbins + 1))
    mu = e[:, :, None, None] * (G[im] * Ibar[im])[None, None]   # expected mean per pixel-frame
    for b in range(a.nbins):
        sel = good & (q >= edges[b]) & (q < edges[b + 1])
        if sel.sum() < 200:
            continue
        qc = q[sel].mean()
        n = d[:, :, sel]                       # (trains, pulses, pix)
        mub = mu[:, :, sel]
        if 'mean' in checks:
            per_train = (n / (e[:, :, None] * G[im][sel][None, None])).mean(axis=(1, 2))
            est, se = per_train.mean(), per_train.std(ddof=1) / np.sqrt(len(per_train))
            truth = np.interp(q[sel], tq, tI).mean()   # the truth over the same pixels
            ok = abs(est - truth) < 5 * se + 0.02 * truth
            print('mean  m%d q=%.4f  I=%.5f +- %.5f  truth %.5f  %s' % (m, qc, est, se, truth, 'ok' if ok else 'FAIL'))
            if not ok: fails.append('mean q=%.4f' % qc)
        if 'beta' in checks or 'decay' in checks:
            x = n / mub
            # per-train sums, then jackknife over trains for the standard errors
            s2 = ((n * n - n) / mub ** 2).mean(axis=(1, 2))          # E[s^2] per train
            s11 = (x[:, 0:6] * x[:, 1:7]).mean(axis=(1, 2))         # lag-1, first 6 pulses
            T = len(s2)
            jk = lambda f: (f(np.arange(T)), np.sqrt((T - 1) / T * sum((f(np.delete(np.arange(T), i)) - f(np.arange(T))) ** 2 for i in range(T))))
            fbeta = lambda idx: s2[idx].mean() - 1
            beta, beta_se = jk(fbeta)
            tb = np.interp(qc, bq, bbeta)
        if 'beta' in checks:
            ok = abs(beta - tb) < 4 * beta_se + 0.03 * tb
            print('beta  m%d q=%.4f  beta=%.4f +- %.4f  truth %.4f  %s' % (m, qc, beta, beta_se, tb, 'ok' if ok else 'FAIL'))
            if not ok: fails.append('beta q=%.4f' % qc)
        if 'decay' in checks:
            # truth/gamma[:, n]: the interval after pulse n; lag 1 over frames 0..6 spans intervals 0..5
            gam_truth = np.array([np.interp(qc, tq, tgam[:, k]) for k in range(6)])
            gt = gam_truth.mean()
            expect = np.exp(-2 * dt * gt)
            if 0.05 < expect < 0.9:
                fgam = lambda idx: -np.log(max((s11[idx].mean() - 1) / (s2[idx].mean() - 1), 1e-9)) / (2 * dt)
                gam, gam_se = jk(fgam)
                ok = abs(gam - gt) < 4 * gam_se + 0.03 * gt
                print('decay m%d q=%.4f  Gamma=%.4g +- %.2g  truth %.4g  %s' % (m, qc, gam, gam_se, gt, 'ok' if ok else 'FAIL'))
                if not ok: fails.append('decay q=%.4f' % qc)
    if 'artifact' in checks:
        off = t['detector/cell_offset'][im]
        gain = t['detector/cell_gain'][im]
        diff = np.abs(d - off[None]) if True else None
        frac = (diff[:, :, good] < 1e-5).mean()
        rep = np.abs(d[1:] - d[:-1])[:, :, good]
        frac_rep = (rep < 1e-5).mean()
        ok = frac > 0.99 and frac_rep > 0.99
        print('artifact m%d: %.4f of pixel-frames equal the cell offset, %.4f repeat train to train  %s' % (m, frac, frac_rep, 'ok' if ok else 'FAIL'))
        if not ok: fails.append('artifact m%d' % m)
print('%d failed' % len(fails) if fails else 'all checks passed')
sys.exit(1 if fails else 0)
