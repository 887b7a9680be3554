#!/usr/bin/python3
"""Cross-check of MxG2FitExp (src/fit/g2fit.c) against scipy.optimize.curve_fit.

Usage:  /usr/bin/python3 tests/peer/g2fit_scipy.py build/tests/test_g2fit
        (environment MPIEXEC, when set, runs the binary as `$MPIEXEC -n 1 BINARY ...`)

Fixed noisy curves g2 - 1 = beta exp(-2 Gamma tau) + noise (numpy default_rng(seed)) are
written to a temporary "tau y sigma" file and fitted by `BINARY --fit-file FILE BETA0 MODE`
and by curve_fit(sigma=..., absolute_sigma=False, analytic Jacobian, tight tolerances), for
beta fixed and free. Gamma, beta and their errors must agree within 1e-6 relative; prints the
largest relative deviation and exits 1 on disagreement or non-convergence.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy.optimize import curve_fit

TOL = 1e-6
DT = 443.1e-9  # s, 2.2 MHz pulse spacing
CASES = [  # (seed, Gamma 1/s, beta, number of lags, beta0 start/fixed value)
    (1, 3.0e5, 0.25, 49, 0.25),
    (2, 1.0e6, 0.20, 49, 0.20),
    (3, 2.0e6, 0.30, 30, 0.28),
    (4, 2.0e5, 0.15, 20, 0.16),
]


def curve(seed, gamma, beta, n):
    rng = np.random.default_rng(seed)
    tau = DT * np.arange(1, n + 1)
    sigma = 2e-3 * (1.0 + np.arange(n) / 25.0)
    y = beta * np.exp(-2.0 * gamma * tau) + sigma * rng.standard_normal(n)
    return tau, y, sigma


def run_c(binary, path, beta0, mode):
    cmd = [binary, "--fit-file", path, repr(beta0), mode]
    if os.environ.get("MPIEXEC"):
        cmd = [os.environ["MPIEXEC"], "-n", "1"] + cmd
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()
    g, ge, b, be, chi2, conv = (float(v) for v in out[:6])
    return g, ge, b, be, chi2, int(conv)


def run_scipy(tau, y, sigma, beta0, mode, gamma_start):
    s = tau.max()  # fit Gamma*s: the same optimum, better conditioned for the solver
    kw = dict(sigma=sigma, absolute_sigma=False, xtol=1e-14, ftol=1e-14, gtol=1e-14, maxfev=10000)
    if mode == "free":
        f = lambda t, u, b: b * np.exp(-2.0 * u * t / s)
        jac = lambda t, u, b: np.c_[-2.0 * b * t / s * np.exp(-2.0 * u * t / s), np.exp(-2.0 * u * t / s)]
        p, cov = curve_fit(f, tau, y, p0=[gamma_start * s, beta0], jac=jac, **kw)
        e = np.sqrt(np.diag(cov))
        return p[0] / s, e[0] / s, p[1], e[1]
    f = lambda t, u: beta0 * np.exp(-2.0 * u * t / s)
    jac = lambda t, u: (-2.0 * beta0 * t / s * np.exp(-2.0 * u * t / s))[:, None]
    p, cov = curve_fit(f, tau, y, p0=[gamma_start * s], jac=jac, **kw)
    return p[0] / s, np.sqrt(cov[0, 0]) / s, beta0, 0.0


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary, worst, ok = sys.argv[1], 0.0, True
    with tempfile.TemporaryDirectory() as tmp:
        for seed, gamma, beta, n, beta0 in CASES:
            tau, y, sigma = curve(seed, gamma, beta, n)
            path = os.path.join(tmp, f"curve{seed}.txt")
            np.savetxt(path, np.c_[tau, y, sigma], fmt="%.17g")
            for mode in ("fixed", "free"):
                g, ge, b, be, chi2, conv = run_c(binary, path, beta0, mode)
                ref = run_scipy(tau, y, sigma, beta0, mode, gamma)
                names = ("gamma", "gamma_err", "beta", "beta_err")
                dev = {k: abs(c - r) / abs(r) if r != 0 else abs(c) for k, c, r in zip(names, (g, ge, b, be), ref)}
                m = max(dev.values())
                worst = max(worst, m)
                good = conv == 1 and m <= TOL
                ok &= good
                print(f"seed {seed} Gamma {gamma:.3g} {mode:5s}: C Gamma {g:.10g} +- {ge:.6g} beta {b:.8g} +- {be:.4g} "
                      f"chi2_red {chi2:.4f} | scipy Gamma {ref[0]:.10g} +- {ref[1]:.6g} beta {ref[2]:.8g} +- {ref[3]:.4g} "
                      f"| max rel dev {m:.2e} ({max(dev, key=dev.get)}){'' if good else '  FAIL'}")
    print(f"max relative deviation C vs scipy: {worst:.3e} (tolerance {TOL:g})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
