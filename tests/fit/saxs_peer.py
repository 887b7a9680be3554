"""Shared by the tests/fit peer checks: run `mxpcs fit`, read /saxs_model, and fit the same data
with the same model (sasmodels' own kernel) and weights by scipy.optimize.least_squares and by
lmfit. Parameters in mxpcs order: radius [A], pd, scale, background (, phi)."""
import os
import subprocess
import tempfile

import h5py
import numpy as np
from sasmodels.core import load_model
from sasmodels.direct_model import call_kernel

NAMES = {'sphere': ['radius', 'pd', 'scale', 'background'],
         'sphere@hardsphere': ['radius', 'pd', 'scale', 'background', 'phi']}
SASNAME = {'radius': 'radius', 'pd': 'radius_pd', 'scale': 'scale', 'background': 'background', 'phi': 'volfraction'}
# mxpcs' default bounds (src/fit/saxsfit.c MxSaxsModelCreate)
BOUNDS = {'radius': (1.0, 1e5), 'pd': (0.0, 0.3), 'scale': (0.0, np.inf), 'background': (-np.inf, np.inf), 'phi': (0.0, 0.6)}

_models = {}


def kernel_I(model, q, values):
    """sasmodels I(q) with mxpcs' conventions: sld contrast 1, 35-point +-3 sigma Gaussian pd,
    radius_effective_mode 1 and structure_factor_mode 0 for the product."""
    key = (model, len(q), float(q[0]), float(q[-1]))
    if key not in _models:
        _models[key] = load_model(model, dtype='double').make_kernel([np.asarray(q, float)])
    kw = dict(sld=1.0, sld_solvent=0.0, radius_pd_n=35, radius_pd_nsigma=3, radius_pd_type='gaussian')
    if '@' in model:
        kw.update(radius_effective_mode=1, structure_factor_mode=0)
    for name, v in zip(NAMES[model], values):
        kw[SASNAME[name]] = v
    return call_kernel(_models[key], kw)


def run_mxpcs(datafile, model, *extra, out=None):
    """`mxpcs fit -saxs_file datafile -saxs_model model` -> dict name: (value, error), plus extras."""
    mx = os.environ['MXPCS']
    tmpdir = None
    if out is None:
        tmpdir = tempfile.mkdtemp(prefix='mx_fit_')
        out = os.path.join(tmpdir, 'fit.h5')
    cmd = [mx, 'fit', '-saxs_file', datafile, '-saxs_model', model, '-o', out] + list(extra)
    if os.environ.get('MPIEXEC'):
        cmd = [os.environ['MPIEXEC'], '-n', '1'] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError('%s failed (%d): %s' % (' '.join(cmd), proc.returncode, proc.stderr.strip()))
    res = {}
    with h5py.File(out, 'r') as f:
        g = f['saxs_model']
        for name in NAMES[model]:
            res[name] = (float(g[name][()]), float(g[name + '_err'][()]))
        # chi2 is the sum, chi2_red = chi2/ndof (chi2_sum: the 0.1 name of the sum)
        res['chi2'], res['chi2_red'] = float(g['chi2'][()]), float(g['chi2_red'][()])
        ndof = float(g['ndof'][()])
        if not (abs(res['chi2'] - res['chi2_red'] * ndof) <= 1e-12 * res['chi2'] and g['chi2_sum'][()] == res['chi2']):
            raise RuntimeError('%s: chi2 %r is not chi2_red %r x ndof %r (or chi2_sum)' % (out, res['chi2'], res['chi2_red'], ndof))
        res['converged'] = int(g['converged'][()])
        res['npoints'] = int(g['npoints'][()])
        res['q_range'] = g['q_range'][()]
    if tmpdir:
        os.remove(out)
        os.rmdir(tmpdir)
    return res


def _cov(jac, resid, npar):
    chi2 = float(resid @ resid)
    dof = len(resid) - npar
    cov = np.linalg.inv(jac.T @ jac) * chi2 / dof
    return cov, chi2 / dof


def scipy_fit(model, q, I, dI, start):
    """scipy.optimize.least_squares (trf, bounds, '3-point' Jacobian) in x = p/start, weights 1/dI;
    errors from the Jacobian scaled by the reduced chi^2 (curve_fit's absolute_sigma=False)."""
    from scipy.optimize import least_squares
    names = NAMES[model]
    s = np.array([abs(v) if v != 0 else 1.0 for v in start])
    lo = np.array([BOUNDS[n][0] for n in names]) / s
    hi = np.array([BOUNDS[n][1] for n in names]) / s

    def resid(x):
        return (kernel_I(model, q, x * s) - I) / dI
    r = least_squares(resid, np.asarray(start) / s, jac='3-point', bounds=(lo, hi), method='trf',
                      x_scale='jac', xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=20000)
    cov, chi2r = _cov(r.jac, r.fun, len(names))
    p = r.x * s
    err = np.sqrt(np.diag(cov)) * s
    return p, err, chi2r, r


def lmfit_fit(model, q, I, dI, start):
    """lmfit (MINPACK leastsq, bounds by lmfit's transformation), the same residuals."""
    import lmfit
    names = NAMES[model]
    pars = lmfit.Parameters()
    for n, v in zip(names, start):
        lo, hi = BOUNDS[n]
        pars.add(n, value=v, min=lo, max=hi)

    def resid(pp):
        return (kernel_I(model, q, [pp[n].value for n in names]) - I) / dI
    # epsfcn: forward-difference steps of ~1e-5 relative; the default (~1e-8) drowns in the ~1e-10
    # rounding of sasmodels' closed-form S(q) at small q sigma
    out = lmfit.minimize(resid, pars, method='leastsq', xtol=1e-15, ftol=1e-15, epsfcn=1e-10, max_nfev=20000)
    p = np.array([out.params[n].value for n in names])
    err = np.array([out.params[n].stderr if out.params[n].stderr is not None else np.nan for n in names])
    return p, err, out.redchi, out


def compare(label, names, a, a_err, b, b_err, rtol, etol):
    """Largest relative deviation of values (a parameter smaller than its error is compared in
    units of the error instead) and of errors; True when both within tolerance."""
    worst_p, worst_e, ok = 0.0, 0.0, True
    for n, x, xe, y, ye in zip(names, a, a_err, b, b_err):
        d = abs(x - y) / abs(y) if abs(y) > xe else abs(x - y) / xe
        de = abs(xe - ye) / abs(ye)
        worst_p, worst_e = max(worst_p, d), max(worst_e, de)
        flag = '' if (d <= rtol and de <= etol) else '   <-- exceeds %g / %g' % (rtol, etol)
        ok = ok and not flag
        print('    %-10s mxpcs %.10g +- %.4g   %s %.10g +- %.4g   rel %.2e, err rel %.2e%s'
              % (n, x, xe, label, y, ye, d, de, flag))
    return ok, worst_p, worst_e
