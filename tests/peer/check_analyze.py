#!/usr/bin/python3
"""mxpcs analyze results against the truth of the mxpcs simulate run they came from.

usage: check_analyze.py RESULTS.h5 SIM_DIR [--noxc RESULTS_NOXC.h5] [--disjoint RESULTS_DISJOINT.h5]
                        [--shared RESULTS_SHARED.h5]

For every ring whose decay is measurable at the pulse spacing (0.05 < Gamma0 dt < 1.5):
Gamma(q, 0) within 5 % of the truth (averaged over the ring's pixels), beta within 5 % of the
realised contrast, and D_eff_mean within 3 % of the truth. A ring's truth is the mean over its
pixels weighted by the simulation's model intensity squared (truth.h5 /detector/I_model: the
weights of the ring's C); its D is that Gamma over the same weighted mean of q^2, which the
results' /xpcs/fit/q_eff (from the measured mean image) must match to 2e-3 or 30 % of the mean
q's distance from it (measured: up to 1.3e-3 on the colloid's partly covered inner ring, where
the mean q lies 0.16-0.29 % below q_eff; weights I instead of I^2 would leave about half that
distance). The ring's I(q) spread F (/xpcs/contrast/heterogeneity) within 2e-3 + 5 % of F - 1
of the model intensity's over the same pixels, and the speckle contrast beta/F within 5 % of the
realised contrast, as beta. With --noxc, the same run analysed without the neighbour-train correction must be measurably biased (contrast off by more than
5 % and by more than 3x the corrected run's deviation in most rings). With --disjoint, the same
run analysed with disjoint age windows: the jackknife error of D_eff_mean must not depend on how
much the windows overlap (ratio 0.6..1.5; the errors the fits propagate shrink with the
overlap), and D_eff_mean must lie within 3 of its errors of the truth. With --shared, the same run
analysed with -fit_beta shared (one contrast per ring across the age windows): the shared beta
within 5 % (or 3 errors) of the realised contrast, Gamma(q, 0) within 5 % where measurable,
D_eff_mean within 3 % of the truth, at most one ring flagged (diagonal and intercept apart by
more than 3 sigma, photon counts here: no bias), and the intercept of the fixed-beta run (a
shared fit made for the report) the same as the shared run's."""
import argparse, sys
import h5py, numpy as np

ap = argparse.ArgumentParser()
ap.add_argument('results'); ap.add_argument('sim')
ap.add_argument('--noxc'); ap.add_argument('--disjoint'); ap.add_argument('--dose'); ap.add_argument('--shared')
a = ap.parse_args()
t = h5py.File(a.sim + '/truth.h5', 'r')
tq, tg0, tH, tS = t['truth/q'][...], t['truth/gamma0'][...], t['truth/H'][...], t['truth/S'][...]
D0 = float(t['params/D0_um2_s'][()])
dt = float(t['params/pulse_spacing_s'][()])
mods = list(t['detector/modules'][...])
qmap = t['detector/q_map'][...]
bq, bb = t['truth/beta_q'][...], t['truth/beta'][...]
Imod = t['detector/I_model'][...]

def load(path):
    r = h5py.File(path, 'r')
    return {k: r[k][...] for k in ('xpcs/qmap/q', 'xpcs/qmap/roi_map', 'xpcs/fit/gamma0', 'xpcs/fit/gamma0_err',
                                   'xpcs/contrast/beta', 'xpcs/contrast/beta_err', 'xpcs/fit/D_eff',
                                   'xpcs/fit/D_eff_mean', 'xpcs/fit/D_eff_mean_err', 'xpcs/fit/q_eff',
                                   'xpcs/contrast/heterogeneity', 'xpcs/contrast/beta_speckle')}

r = load(a.results)
roi = r['xpcs/qmap/roi_map']
with h5py.File(a.results, 'r') as f:  # the pixels in C: those with a mean image (valid in some train)
    img, imods = f['xpcs/saxs/image'][...], list(f['xpcs/saxs/image_modules'][...])
inC = [np.isfinite(img[imods.index(m)]) if m in imods else np.zeros(qmap[j].shape, bool) for j, m in enumerate(mods)]
fails, checked = [], 0
truth_g0, truth_beta, truth_D = [], [], []
for i, q in enumerate(r['xpcs/qmap/q']):
    qs = np.concatenate([qmap[j][roi[m] == i + 1] for j, m in enumerate(mods)])
    sel = [(roi[m] == i + 1) & inC[j] for j, m in enumerate(mods)]
    w = np.concatenate([Imod[j][sel[j]] for j in range(len(mods))]) ** 2
    qw = np.concatenate([qmap[j][sel[j]] for j in range(len(mods))])
    g0 = (w * np.interp(qw, tq, tg0)).sum() / w.sum()
    bt = np.interp(qs, bq, bb).mean()
    qe = np.sqrt((w * qw * qw).sum() / w.sum())
    Dt = (w * qw * qw * np.interp(qw, tq, D0 * tH / tS)).sum() / (w * qw * qw).sum()
    truth_g0.append(g0); truth_beta.append(bt); truth_D.append(Dt)
    qm = r['xpcs/fit/q_eff'][i]
    okq = abs(qm / qe - 1) < max(2e-3, 0.3 * abs(q / qe - 1))
    if not okq:
        fails.append('ring %d q_eff' % i)
    print('ring %d q_eff %.6f (truth %.6f, %+.2g; mean q %+.3f %%)  %s' % (i, qm, qe, qm / qe - 1, 100 * (qm / q - 1),
          'ok' if okq else 'FAIL'))
    meas = 0.05 < g0 * dt < 1.5
    g, ge = r['xpcs/fit/gamma0'][i], r['xpcs/fit/gamma0_err'][i]
    b, be = r['xpcs/contrast/beta'][i], r['xpcs/contrast/beta_err'][i]
    okg = abs(g - g0) < 0.05 * g0 if meas else True
    okb = abs(b - bt) < 0.05 * bt
    wI = np.concatenate([Imod[j][sel[j]] for j in range(len(mods))])
    Ft, F, bs = len(wI) * (wI ** 2).sum() / wI.sum() ** 2, r['xpcs/contrast/heterogeneity'][i], r['xpcs/contrast/beta_speckle'][i]
    okF = abs(F - Ft) < 2e-3 + 0.05 * (Ft - 1) and abs(bs - bt) < 0.05 * bt
    print('ring %d I(q) spread F %.4f (model %.4f); speckle contrast beta/F %.4f (%+.1f %%)  %s' % (
        i, F, Ft, bs, 100 * (bs / bt - 1), 'ok' if okF else 'FAIL'))
    if not okF: fails.append('ring %d F or beta/F' % i)
    print('ring %d q=%.4f  Gamma0 %.4g +- %.2g (truth %.4g, %+.1f %%)%s  beta %.4f +- %.4f (truth %.4f, %+.1f %%)  %s' % (
        i, q, g, ge, g0, 100 * (g / g0 - 1), '' if meas else ' [not measurable]', b, be, bt, 100 * (b / bt - 1),
        'ok' if okg and okb else 'FAIL'))
    checked += meas
    if not (okg and okb): fails.append('ring %d' % i)
Dm, Dme = float(r['xpcs/fit/D_eff_mean']), float(r['xpcs/fit/D_eff_mean_err'])
Dt = float(np.mean(truth_D))
ok = abs(Dm - Dt) < 0.03 * Dt
print('D_eff_mean %.3f +- %.3f um^2/s, truth %.3f (%+.1f %%)  %s' % (Dm, Dme, Dt, 100 * (Dm / Dt - 1), 'ok' if ok else 'FAIL'))
if not ok: fails.append('D_eff_mean')
if checked < 3: fails.append('only %d rings with a measurable decay' % checked)
# the extrapolations to zero dose: the heating model within 3 % of the truth and closer than the
# age-linear one, which shows its bias (the simulation's heating is concave in age: heat
# diffuses out of the beam, solved by finite differences, not the fit's kernel); the fitted
# fluence within 3 errors + 10 % of simulate's
rf = h5py.File(a.results, 'r')
names = [x.decode() if isinstance(x, bytes) else x for x in rf['xpcs/fit/extrapolations'][...]]
Dx = dict(zip(names, rf['xpcs/fit/D_eff_mean_by_extrapolation'][...]))
Dxe = dict(zip(names, rf['xpcs/fit/D_eff_mean_by_extrapolation_err'][...]))
print('D_eff_mean by extrapolation: ' + ', '.join('%s %.2f +- %.2f (%+.1f %%)' % (k, Dx[k], Dxe[k], 100 * (Dx[k] / Dt - 1)) for k in names))
heat = t.attrs['heating']
if (heat.decode() if isinstance(heat, bytes) else str(heat)) == 'diffusive':
    okh = abs(Dx['heating'] / Dt - 1) < 0.03
    biased = Dx['linear'] - Dt > 3 * Dxe['linear'] and abs(Dx['linear'] - Dt) > abs(Dx['heating'] - Dt)
    F, Fe, Ft = float(rf['xpcs/fit/heating_fluence_J_cm2'][()]), float(rf['xpcs/fit/heating_fluence_J_cm2_err'][()]), float(t['params/fluence_J_cm2'][()])
    okF = abs(F - Ft) < 3 * Fe + 0.1 * Ft
    print('heating model: %s; age-linear %s; fitted fluence %.3f +- %.3f J/cm^2 (simulated %.3f)  %s' % (
        'within 3 %' if okh else 'FAIL', 'biased high' if biased else 'FAIL: not measurably biased', F, Fe, Ft, 'ok' if okF else 'FAIL'))
    if not okh: fails.append('heating extrapolation')
    if not biased: fails.append('age-linear extrapolation not biased')
    if not okF: fails.append('fluence')
if a.dose:
    # trains grouped by XGM pulse energy: Gamma at the last age rises with the group's energy in
    # every measurable ring, and the heating model over all groups recovers D_eff and the fluence
    d = h5py.File(a.dose, 'r')['xpcs/fit/dose']
    rel, g = d['pulse_energy_rel'][...], d['gamma'][...]
    Dd, Dde = float(d['D_eff_mean'][()]), float(d['D_eff_mean_err'][()])
    Fd, Fde = float(d['heating_fluence_J_cm2'][()]), float(d['heating_fluence_J_cm2_err'][()])
    Ft = float(t['params/fluence_J_cm2'][()])
    last = g[:, :, -1]
    rises = np.all(np.diff(last[:, np.isfinite(last).all(axis=0)], axis=0) > 0, axis=0)
    print('dose groups at relative energy %s: Gamma at the last age rises with the energy in %d of %d rings; '
          'D_eff_mean %.2f +- %.2f (%+.1f %%), fluence %.3f +- %.3f J/cm^2 (simulated %.3f)' % (
          np.round(rel, 3).tolist(), rises.sum(), rises.size, Dd, Dde, 100 * (Dd / Dt - 1), Fd, Fde, Ft))
    if not (np.all(np.diff(rel) > 0.1) and rises.mean() >= 0.75): fails.append('dose groups: Gamma does not follow the pulse energy')
    if abs(Dd / Dt - 1) >= 0.03: fails.append('dose-resolved D_eff_mean')
    if abs(Fd - Ft) >= 3 * Fde + 0.1 * Ft: fails.append('dose-resolved fluence')
if a.noxc:
    n = load(a.noxc)
    dev = np.abs(r['xpcs/contrast/beta'] / truth_beta - 1)
    devn = np.abs(n['xpcs/contrast/beta'] / truth_beta - 1)
    biased = (devn > 0.05) & (devn > 3 * dev)
    print('without the correction: contrast off by %s %% (corrected: %s %%)' % (
        np.round(100 * devn, 1).tolist(), np.round(100 * dev, 1).tolist()))
    if biased.mean() < 0.5: fails.append('-corr_xc 0 is not measurably biased')
if a.disjoint:
    g = lambda path, k: float(h5py.File(path, 'r')['xpcs/fit/' + k][()])
    K = g(a.results, 'jackknife_groups')
    e_s, e_d = g(a.results, 'D_eff_mean_err'), g(a.disjoint, 'D_eff_mean_err')
    f_s, f_d = g(a.results, 'D_eff_mean_err_fit'), g(a.disjoint, 'D_eff_mean_err_fit')
    ok = K >= 2 and 0.6 < e_s / e_d < 1.5
    print('D_eff_mean error, overlapping / disjoint age windows: jackknife (%d groups) %.3f / %.3f = %.2f; '
          'the fits alone %.3f / %.3f = %.2f  %s' % (K, e_s, e_d, e_s / e_d, f_s, f_d, f_s / f_d, 'ok' if ok else 'FAIL'))
    if not ok: fails.append('jackknife error depends on the window overlap')
    pull = (Dm - Dt) / Dme
    print('D_eff_mean - truth = %.2f jackknife errors (limit 3)  %s' % (pull, 'ok' if abs(pull) < 3 else 'FAIL'))
    if abs(pull) >= 3: fails.append('D_eff_mean pull %.2f' % pull)
if a.shared:
    def contrast(path):
        f = h5py.File(path, 'r')
        c = {k: f['xpcs/contrast/' + k][...] for k in ('beta', 'beta_err', 'beta_intercept', 'beta_intercept_err', 'beta_disagree')}
        mode = f['xpcs/contrast/fit_beta'][()]
        c['mode'] = mode.decode() if isinstance(mode, bytes) else str(mode)
        c['gamma0'], c['Dm'] = f['xpcs/fit/gamma0'][...], float(f['xpcs/fit/D_eff_mean'][()])
        return c
    cx, cs = contrast(a.results), contrast(a.shared)
    bi, bie = cs['beta_intercept'], cs['beta_intercept_err']
    tb, tg = np.array(truth_beta), np.array(truth_g0)
    okb = np.abs(bi - tb) < np.maximum(0.05 * tb, 3 * bie)
    meas = (0.05 < tg * dt) & (tg * dt < 1.5)
    okg = ~meas | (np.abs(cs['gamma0'] / tg - 1) < 0.05)
    okD = abs(cs['Dm'] / Dt - 1) < 0.03
    same = np.allclose(cx['beta_intercept'], bi, rtol=1e-9, equal_nan=True)
    nflag = int(cs['beta_disagree'].sum())
    for i in range(len(bi)):
        print('shared beta ring %d: %.4f +- %.4f (diagonal %.4f +- %.4f, truth %.4f)%s  Gamma0 %.4g (%+.1f %%)  %s' % (
            i, bi[i], bie[i], cs['beta'][i], cs['beta_err'][i], tb[i], ' flagged' if cs['beta_disagree'][i] else '',
            cs['gamma0'][i], 100 * (cs['gamma0'][i] / tg[i] - 1), 'ok' if okb[i] and okg[i] else 'FAIL'))
    print('-fit_beta shared: D_eff_mean %.3f (truth %.3f, %+.1f %%), %d ring(s) flagged; modes written %s/%s; '
          'fixed run\'s intercept %s  %s' % (cs['Dm'], Dt, 100 * (cs['Dm'] / Dt - 1), nflag, cx['mode'], cs['mode'],
          'the same' if same else 'DIFFERENT', 'ok' if okb.all() and okg.all() and okD and nflag <= 1 and same else 'FAIL'))
    if not (okb.all() and okg.all()): fails.append('-fit_beta shared: rings %s' % np.nonzero(~(okb & okg))[0].tolist())
    if not okD: fails.append('-fit_beta shared: D_eff_mean')
    if nflag > 1: fails.append('-fit_beta shared: %d rings flagged on photon counts' % nflag)
    if not same: fails.append('intercept of the fixed run differs from the shared run')
    if (cx['mode'], cs['mode']) != ('fixed', 'shared'): fails.append('fit_beta written %s/%s' % (cx['mode'], cs['mode']))
print('%d failed: %s' % (len(fails), fails) if fails else 'all checks passed')
sys.exit(1 if fails else 0)
