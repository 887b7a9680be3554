#!/usr/bin/python3
"""Figures of an mxpcs analysis, after the seed paper (Tanner et al. 2024), as PNG and PDF.

  /usr/bin/python3 tools/plot_figures.py --dir DIR [--out DIR/figures]

DIR holds what `mxpcs demo` writes: colloid.h5 and liquid.h5 (mxpcs analyze), joint.h5
(mxpcs fit, joint), md.h5 (mxpcs md), and the runs colloid/ and liquid/ with truth.h5 (optional:
the truth is drawn beside the measurement when it is there). Other files can be named with
--analyze a.h5,b.h5 --fit joint.h5 --md md.h5. A figure whose inputs are missing is skipped
with a message. Needs Debian's python3-matplotlib and python3-h5py.

  fig1_detector     mean detector image of the modules read, with the q-rings
  fig2_saxs         I(q) with the SAXS model and its parts (paper Fig. 2b)
  fig3_twotime      C_raw, XC and C = C_raw - XC for one ring of each sample (Fig. 3a)
  fig4_g2           g2(q, tau) of the first age window with the fits (Fig. 3b)
  fig5_rates        Gamma(q) at the first age and at zero age with D_eff q^2 (Fig. 3c);
                    Gamma against age with the extrapolation (Fig. S3b)
  fig6_hydro        S(q) and H(q) with the delta-gamma model (Fig. 4a)
  fig7_Ds_phi       Ds/D0 against phi with the hard- and charged-sphere curves (Fig. 4b)
  fig8_md           Ds/D0 against epsilon from MD and the match (Fig. 4c)
"""
import argparse, os, sys

try:
    import h5py
    import numpy as np
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
except ImportError as e:  # pragma: no cover
    sys.exit('plot_figures: needs Debian\'s python3-matplotlib, python3-h5py and python3-numpy '
             '(apt-get install python3-matplotlib python3-h5py): %s' % e)

plt.rcParams.update({'font.size': 9, 'axes.titlesize': 9, 'legend.fontsize': 7.5, 'figure.dpi': 110})
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mxschema  # noqa: E402  the results schema: every path read below comes from it
S = mxschema.load()


class Group:
    """A group of an mxpcs file by its schema item; g['key'] reads a member the schema knows."""
    def __init__(self, f, name, *args):
        self.f, self.path = f, S.path(name, *args)

    def __contains__(self, key):
        return self.path + '/' + key in self.f

    def __iter__(self):
        return iter(self.f[self.path]) if self.path in self.f else iter(())

    def __getitem__(self, key):
        p = self.path + '/' + key
        if S.find(p) is None:
            raise KeyError('%s is not in the results schema' % p)
        return self.f[p]

COLORS = {'colloid': 'k', 'liquid': 'tab:blue'}


def save(fig, out, name):
    for ext in ('png', 'pdf'):
        fig.savefig(os.path.join(out, '%s.%s' % (name, ext)), bbox_inches=None if fig.get_constrained_layout() else 'tight')
    plt.close(fig)
    print('plot_figures: %s/%s.{png,pdf}' % (out, name))


def sample_name(path):
    return os.path.splitext(os.path.basename(path))[0]


def color(name, i=0):
    return COLORS.get(name, 'C%d' % i)


def truth_of(dir_, name):
    p = os.path.join(dir_, name, 'truth.h5') if dir_ else ''
    return h5py.File(p, 'r') if p and os.path.exists(p) else None


def fig_detector(res, out):
    fig, axes = plt.subplots(len(res), 1, figsize=(7, 2.6 * len(res)), squeeze=False, constrained_layout=True)
    for ax, (name, f) in zip(axes[:, 0], res.items()):
        if S.path('SAXS_IMAGE') not in f:
            ax.set_axis_off(); ax.set_title('%s: no /xpcs/saxs/image' % name); continue
        img, mods = f[S.path('SAXS_IMAGE')][...], f[S.path('SAXS_IMAGE_MODULES')][...]
        roi = f[S.path('QMAP_ROI_MAP')][...]
        # modules side by side, each 128 (fast scan) wide and 512 (slow scan) high, transposed
        panels = [img[i].T for i in range(len(mods))]
        rois = [roi[m].T if roi.shape[0] == 16 else roi[i].T for i, m in enumerate(mods)]
        gap = np.full((panels[0].shape[0], 8), np.nan)
        im = np.hstack(sum([[p, gap] for p in panels], [])[:-1])
        rm = np.hstack(sum([[r.astype(float), np.zeros_like(gap)] for r in rois], [])[:-1])
        pos = im[np.isfinite(im) & (im > 0)]
        norm = LogNorm(vmin=max(np.percentile(pos, 1), 1e-4), vmax=np.percentile(pos, 99.8)) if pos.size else None
        h = ax.imshow(im, origin='lower', norm=norm, cmap='viridis', aspect='auto', interpolation='nearest')
        ax.contour(rm, levels=np.arange(0.5, rm.max() + 1), colors='w', linewidths=0.5)
        ax.set_title('%s: mean intensity of modules %s with the %d q-rings (white)' % (name, ', '.join(map(str, mods)), int(rm.max())))
        ax.set_xlabel('fast-scan pixel (modules side by side)'); ax.set_ylabel('slow-scan pixel')
        fig.colorbar(h, ax=ax, label='photons/pixel/pulse')
    save(fig, out, 'fig1_detector')


def fig_saxs(joint, out):
    names = list(Group(joint, 'SAXS_MODEL'))
    if not names: print('plot_figures: fig2_saxs skipped (no /saxs_model)'); return
    fig, axes = plt.subplots(len(names), 1, figsize=(4.8, 3.2 * len(names)), squeeze=False, constrained_layout=True)
    for i, (ax, n) in enumerate(zip(axes[:, 0], names)):
        g = Group(joint, 'SAXS_SAMPLE', n)
        q, I, e, fit, P, Sm = (g[k][...] for k in ('q', 'I', 'I_err', 'I_fit', 'P', 'S_model'))
        bg = g['background'][()]  # P is the form-factor term scale P(q)
        ok = I > 0
        ax.errorbar(q[ok], I[ok], e[ok], fmt='o', ms=2, color='k', ecolor='0.6', lw=0.6, label='data')
        ax.plot(q, fit, 'r-', lw=1.2, label='fit')
        ax.plot(q, P + bg, '--', color='tab:green', lw=1, label='form factor: scale P(q) + bg')
        if np.any(np.abs(Sm - 1) > 1e-9):
            ax.plot(q, P * Sm, '-', color='tab:blue', lw=1, label='liquid: scale P(q) S_PY(q)')
        if q.max() / q.min() > 4: ax.set_xscale('log')  # a narrow range reads better linear
        ax.set_yscale('log')
        pos = I[ok]
        ax.set_ylim(np.percentile(pos, 1) * 0.5, pos.max() * 1.5)
        ax.set_xlabel('q (1/Å)'); ax.set_ylabel('I(q) (photons/pixel/pulse)')
        phi = g['phi'][()]
        ax.set_title('%s: R = %.2f ± %.2f Å, pd = %.3f%s, χ² = %.0f / %d' % (
            n, g['radius'][()], g['radius_err'][()], g['pd'][()], (', φ = %.3f ± %.3f' % (phi, g['phi_err'][()])) if phi > 0 else '',
            g['chi2'][()], g['npoints'][()]), fontsize=8)
        ax.legend()
    save(fig, out, 'fig2_saxs')


def pick_ring(q, target):
    return int(np.argmin(np.abs(q - target)))


def fig_twotime(res, out):
    fig, axes = plt.subplots(len(res), 3, figsize=(10, 3.2 * len(res)), squeeze=False, constrained_layout=True)
    for row, (name, f) in enumerate(res.items()):
        q = f[S.path('QMAP_Q')][...]
        r = pick_ring(q, 0.016 if name == 'colloid' else np.median(q))
        t = f[S.path('TWOTIME_T')][...] * 1e6
        ext = [t[0], t[-1], t[0], t[-1]]
        Craw, XC, C = (f[S.path(k)][r] for k in ('TWOTIME_C_RAW', 'TWOTIME_XC', 'TWOTIME_C'))
        off = ~np.eye(C.shape[0], dtype=bool)  # the diagonal holds the photon shot noise: scale by the rest
        vmax = np.nanpercentile(C[off], 99.8)
        for ax, M, title in zip(axes[row], (Craw, XC, C), ('C_raw', 'XC', 'C = C_raw - XC')):
            h = ax.imshow(M, origin='lower', extent=ext, cmap='magma', vmin=min(0, np.nanmin(XC)), vmax=vmax, interpolation='nearest')
            ax.set_title('%s, q = %.4f 1/Å: %s' % (name, q[r], title), fontsize=8)
            ax.set_xlabel('t1 (µs)'); ax.set_ylabel('t2 (µs)')
        fig.colorbar(h, ax=axes[row].tolist(), shrink=0.85, label='g2 - 1 (diagonal off scale)')
    save(fig, out, 'fig3_twotime')


def fig_g2(res, out):
    fig, axes = plt.subplots(1, len(res), figsize=(4.3 * len(res), 3.2), squeeze=False, constrained_layout=True)
    for ax, (name, f) in zip(axes[0], res.items()):
        q, tau = f[S.path('QMAP_Q')][...], f[S.path('G2_TAU')][...]
        g2, err = f[S.path('G2_G2')][...], f[S.path('G2_G2_ERR')][...]
        beta, gam = f[S.path('CONTRAST_BETA')][...], f[S.path('FIT_GAMMA')][...]
        age = f[S.path('G2_AGE')][...]
        cmap = plt.get_cmap('Purples')
        tt = np.linspace(0, tau[-1], 200)
        for r in range(len(q)):
            c = cmap(0.35 + 0.65 * r / max(len(q) - 1, 1))
            ax.errorbar(tau * 1e6, g2[r, 0], err[r, 0], fmt='o', ms=2.5, color=c, lw=0.6)
            ax.plot(tt * 1e6, 1 + beta[r] * np.exp(-2 * gam[r, 0] * tt), '-', color=c, lw=1, label='%.4f' % q[r])
        ax.set_xlabel('τ (µs)'); ax.set_ylabel('g2(q, τ)')
        ax.set_title('%s: age window centred at %.2f µs' % (name, age[0] * 1e6))
        ax.legend(title='q (1/Å)', ncol=2)
    save(fig, out, 'fig4_g2')


def fig_rates(res, out):
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6), constrained_layout=True)
    ax = axes[0]
    for i, (name, f) in enumerate(res.items()):
        q, gam, gerr = f[S.path('QMAP_Q')][...], f[S.path('FIT_GAMMA')][...], f[S.path('FIT_GAMMA_ERR')][...]
        g0, g0e = f[S.path('FIT_GAMMA0')][...], f[S.path('FIT_GAMMA0_ERR')][...]
        D, De = f[S.path('FIT_D_EFF_MEAN')][()], f[S.path('FIT_D_EFF_MEAN_ERR')][()]
        age = f[S.path('G2_AGE')][...]
        c = color(name, i)
        ax.errorbar(q, gam[:, 0], gerr[:, 0], fmt='o', mfc='none', color=c, ms=4, lw=0.7, label='%s: Γ at %.2f µs' % (name, age[0] * 1e6))
        ax.errorbar(q, g0, g0e, fmt='o', color=c, ms=4, lw=0.7, label='%s: Γ(age → 0)' % name)
        qq = np.linspace(q.min() * 0.85, q.max() * 1.15, 100)
        ax.plot(qq, D * 1e8 * qq ** 2, 'r-', lw=1)
        ax.text(q[-1] * 1.15, D * 1e8 * q[-1] ** 2, ' %.3g ± %.2g µm²/s' % (D, De), color='r', fontsize=7, va='top')
    ax.set_xscale('log'); ax.set_yscale('log')
    ax.set_xlabel('q (1/Å)'); ax.set_ylabel('Γ (1/s)'); ax.set_title('decay rates; red: ⟨D_eff⟩ q²')
    ax.legend()
    ax = axes[1]
    for i, (name, f) in enumerate(res.items()):
        q, gam, gerr, age = f[S.path('QMAP_Q')][...], f[S.path('FIT_GAMMA')][...], f[S.path('FIT_GAMMA_ERR')][...], f[S.path('G2_AGE')][...] * 1e6
        g0, g0e = f[S.path('FIT_GAMMA0')][...], f[S.path('FIT_GAMMA0_ERR')][...]
        for r in (0, len(q) // 2, len(q) - 1):
            c = plt.get_cmap('Greys' if name == 'colloid' else 'Blues')(0.45 + 0.5 * r / max(len(q) - 1, 1))
            ax.errorbar(age, gam[r] / g0[r], gerr[r] / g0[r], fmt='o', ms=3, color=c, lw=0.6, label='%s q = %.4f' % (name, q[r]))
        # the heating model at the run's fitted jump per pulse (the same for every ring), from
        # zero dose: half a pulse spacing before the first window's mean age
        if S.path('FIT_HEATING_H') in f:
            h = f[S.path('FIT_HEATING_H')][...]
            dt = f[S.path('G2_TAU')][0] * 1e6
            ax.plot(np.concatenate([[-dt / 2], age]), np.concatenate([[1.0], h]), '-', color='C3' if name == 'colloid' else 'C0', lw=1.0,
                    label='%s: heating model, %.2f K per pulse' % (name, f[S.path('FIT_HEATING_DT0_K')][()]))
    ax.axhline(1, color='0.6', lw=0.6)
    ax.set_xlabel('sample age t (µs)'); ax.set_ylabel('Γ(q, t) / Γ(q, 0)')
    ax.set_title('X-ray heating: Γ against age, from zero dose')
    ax.legend(ncol=2)
    save(fig, out, 'fig5_rates')


def fig_hydro(joint, out):
    if S.path('HYDRO') not in joint: print('plot_figures: fig6_hydro skipped (no /hydro)'); return
    fig, axes = plt.subplots(2, 1, figsize=(4.8, 5.8), sharex=True, constrained_layout=True)
    smax = 1.0
    for i, n in enumerate(Group(joint, 'HYDRO')):
        h, g = Group(joint, 'HYDRO_SAMPLE', n), Group(joint, 'SAXS_SAMPLE', n)
        c = color(n, i)
        qs, Sq, Se = g['q'][...], g['S'][...], g['S_err'][...]
        axes[0].errorbar(qs, Sq, Se, fmt='.', ms=2, color=c, lw=0.4, alpha=0.6, label='%s: I/(scale P)' % n)
        axes[0].plot(h['model_q'][...], h['model_S'][...], '-', color=c, lw=1)
        smax = max(smax, float(np.max(h['model_S'][...])))
        axes[1].errorbar(h['q'][...], h['H'][...], h['H_err'][...], fmt='o', ms=4, color=c, lw=0.7, label='%s: D_eff S/D0' % n)
        axes[1].plot(h['model_q'][...], h['model_H'][...], '-', color=c, lw=1, label='%s: δγ, Ds/D0 = %.3f ± %.3f' % (n, h['Ds_over_D0'][()], h['Ds_over_D0_err'][()]))
        if h['dense'][()] > 0:
            axes[1].axhline(h['Ds_over_D0'][()], ls='--', color=c, lw=0.8)
    axes[0].set_ylim(0, 1.3 * smax + 0.2)  # the few-pixel edge bins scatter far off scale
    axes[0].set_ylabel('S(q)'); axes[0].legend(); axes[0].set_title('structure factor; lines: model (PY or 1)')
    axes[1].set_ylabel('H(q)'); axes[1].set_xlabel('q (1/Å)'); axes[1].legend()
    axes[1].set_title('hydrodynamic function; dashed: Ds/D0 (q → ∞)')
    save(fig, out, 'fig6_hydro')


def fig_ds_phi(joint, data, out):
    fig, ax = plt.subplots(figsize=(4.6, 3.4), constrained_layout=True)
    phi = np.linspace(0, 0.5, 200)
    ax.plot(phi, 1 - 1.8315 * phi * (1 + 0.1195 * phi - 0.70665 * phi ** 2), 'k-', lw=1, label='hard spheres (Banchio & Nägele 2008)')
    ax.plot(phi, 1 - 2.5 * phi ** (4 / 3), '-', color='tab:purple', lw=1, label='charged spheres, 1 - 2.5 φ^(4/3)')
    tab = os.path.join(data, 'reference/bm_Ds_table.csv') if data else ''
    if tab and os.path.exists(tab):
        t = np.genfromtxt(tab, delimiter=',', names=True)
        ax.plot(t['phi'], t['Ds_D0_deltagamma_Sg0'], ':', color='0.4', lw=1, label='δγ (S_γ0), physics-reference 3a')
    if S.path('HYDRO') in joint:
        for i, n in enumerate(Group(joint, 'HYDRO')):
            h, g = Group(joint, 'HYDRO_SAMPLE', n), Group(joint, 'SAXS_SAMPLE', n)
            p, pe = g['phi'][()], g['phi_err'][()]
            if h['dense'][()] > 0:
                ax.errorbar(p, h['Ds_over_D0'][()], h['Ds_over_D0_err'][()], xerr=pe, fmt='*', ms=10, color='r', label='%s (this analysis)' % n)
            else:
                ax.errorbar(p, h['Ds_over_D0_data'][()], h['Ds_over_D0_data_err'][()], fmt='x', ms=7, color='r', label='%s (dilute, D0 measured here)' % n)
    ax.set_xlabel('φ'); ax.set_ylabel('Ds/D0'); ax.set_ylim(0, 1.08); ax.set_xlim(-0.01, 0.5)
    ax.set_title('short-time self-diffusion'); ax.legend(loc='upper right')
    save(fig, out, 'fig7_Ds_phi')


def fig_md(md, out):
    if S.path('MD') not in md: print('plot_figures: fig8_md skipped (no /md)'); return
    g = Group(md, 'MD')
    eps, D, De = g['epsilon'][...], g['Ds_over_D0'][...], g['Ds_over_D0_err'][...]
    coex = g['coexistence'][...] if 'coexistence' in g else np.zeros_like(eps)
    fig, ax = plt.subplots(figsize=(4.6, 3.4), constrained_layout=True)
    ax.errorbar(eps[coex == 0], D[coex == 0], De[coex == 0], fmt='o', color='k', ms=4, lw=0.8, label='MD (LAMMPS), one phase')
    if np.any(coex > 0):
        ax.errorbar(eps[coex > 0], D[coex > 0], De[coex > 0], fmt='o', mfc='none', color='k', ms=4, lw=0.8, label='MD, inside gas-liquid coexistence')
    if 'epsilon_match' in g and np.isfinite(g['epsilon_match'][()]):
        t, te = g['target_Ds_over_D0'][()], g['target_Ds_over_D0_err'][()]
        e, ee = g['epsilon_match'][()], g['epsilon_match_err'][()]
        ax.axhspan(t - te, t + te, color='tab:red', alpha=0.15, lw=0)
        ax.axhline(t, color='tab:red', lw=0.8, label='measured Ds/D0 = %.3f ± %.3f' % (t, te))
        ax.errorbar([e], [t], xerr=[ee], fmt='D', color='tab:red', ms=5, label='ε* = %.2f ± %.2f kT' % (e, ee))
    ax.set_xlabel('ε (kT)'); ax.set_ylabel('Ds/D0')
    ax.set_title('LJ particles at φ = %.2f: self-diffusion against attraction' % g['phi'][()])
    ax.legend()
    save(fig, out, 'fig8_md')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--dir', help='a directory as mxpcs demo writes it')
    ap.add_argument('--analyze', help='analyze results files a.h5,b.h5 (default: DIR/colloid.h5,DIR/liquid.h5)')
    ap.add_argument('--fit', help='joint fit output (default: DIR/joint.h5)')
    ap.add_argument('--md', help='md output (default: DIR/md.h5)')
    ap.add_argument('--data', default=os.environ.get('MX_DATA', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'data')),
                    help='the reference tables (tests/data of the source tree)')
    ap.add_argument('--out', help='output directory (default: DIR/figures)')
    a = ap.parse_args()
    d = a.dir or '.'
    out = a.out or os.path.join(d, 'figures')
    os.makedirs(out, exist_ok=True)
    paths = a.analyze.split(',') if a.analyze else [os.path.join(d, n + '.h5') for n in ('colloid', 'liquid')]
    res = {sample_name(p): h5py.File(p, 'r') for p in paths if os.path.exists(p)}
    for p in paths:
        if not os.path.exists(p): print('plot_figures: %s not found: its panels are skipped' % p)
    jp = a.fit or os.path.join(d, 'joint.h5')
    mp = a.md or os.path.join(d, 'md.h5')
    if res:
        fig_detector(res, out); fig_twotime(res, out); fig_g2(res, out); fig_rates(res, out)
    if os.path.exists(jp):
        with h5py.File(jp, 'r') as j:
            fig_saxs(j, out); fig_hydro(j, out); fig_ds_phi(j, a.data, out)
    else:
        print('plot_figures: %s not found: figures 2, 6, 7 skipped' % jp)
    if os.path.exists(mp):
        with h5py.File(mp, 'r') as m:
            fig_md(m, out)
    else:
        print('plot_figures: %s not found: figure 8 skipped' % mp)


if __name__ == '__main__':
    main()
