#!/usr/bin/python3
"""End-to-end checks of `mxpcs md` with short LAMMPS runs (small N, few steps).

usage: md_check.py dilute|monotonic|refine|repeat|ranks|bad
Environment (set by ctest): MXPCS, MPIEXEC. Every check compares numbers with tolerances inside
this script and exits non-zero on the first failure, printing what was compared.
"""
import math
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MXPCS = os.environ.get("MXPCS", "mxpcs")
MPIEXEC = os.environ.get("MPIEXEC", "mpiexec")
TMP = tempfile.mkdtemp(prefix="mxpcs-md-test-")
failures = []


def run(args, np_=1, expect_ok=True):
    cmd = [MPIEXEC, "--oversubscribe", "-n", str(np_), MXPCS, "md"] + [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=280)
    if expect_ok and p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def finish():
    if failures:
        sys.exit(f"{len(failures)} check(s) failed (files kept in {TMP})")
    shutil.rmtree(TMP, ignore_errors=True)
    print("all checks passed")


def all_units(path):
    """Every dataset under /md carries a units attribute."""
    missing = []
    with h5py.File(path, "r") as f:
        f["md"].visititems(lambda n, o: missing.append(n) if isinstance(o, h5py.Dataset) and "units" not in o.attrs else None)
    return missing


def py_sq(x, phi):
    """Percus-Yevick S(q sigma) (physics-reference.md section 1), independent of the C code."""
    a = (1 + 2 * phi) ** 2 / (1 - phi) ** 4
    b = -6 * phi * (1 + phi / 2) ** 2 / (1 - phi) ** 4
    g = phi * a / 2
    s, c = np.sin(x), np.cos(x)
    G = a * (s - x * c) / x**2 + b * (2 * x * s + (2 - x**2) * c - 2) / x**3 + g * (-(x**4) * c + 4 * ((3 * x**2 - 6) * c + (x**3 - 6 * x) * s + 6)) / x**5
    return 1 / (1 + 24 * phi * G / x)


SHORT = ["-md_equil_steps", 5000, "-md_steps", 20000, "-md_sample_every", 100]


def dilute():
    out = os.path.join(TMP, "dilute.h5")
    run(["-o", out, "-md_n", 200, "-md_phi", 0.005, "-md_epsilon", "0,1", "-md_seeds", 2, "-md_blocks", 8, "-md_sq_frames", 0, "-md_coex_steps_factor", 0] + SHORT)
    with h5py.File(out, "r") as f:
        D, E = f["md/Ds_over_D0"][()], f["md/Ds_over_D0_err"][()]
        T = f["md/temperature"][()]
        check(abs(f["md/phi"][()] - 0.005) < 1e-12, "phi written")
        check(abs(f["md/D0"][()] - 0.05) < 1e-15, "D0 = kT damp/m = 0.05")
    for e, d, s in zip([0, 1], D, E):
        # COM correction lowers the ideal-gas MSD by 1/N; dilute LJ at phi = 0.005 by ~1 %
        check(0 < s < 0.05 and abs(d - 1) < 4 * s + 0.02, f"phi = 0.005, epsilon = {e}: Ds/D0 = {d:.4f} +- {s:.4f} is 1 within errors")
    check(np.all(abs(T - 1) < 0.02), f"thermostat temperature {T} = 1 kT")
    check(not all_units(out), f"every /md dataset has units (missing: {all_units(out)})")
    # the file as the schema has it (include/mxpcs/schema.def): units, NX_class, the /entry
    sch = subprocess.run([sys.executable, os.path.join(HERE, "..", "peer", "check_schema.py"), out], capture_output=True, text=True)
    check(sch.returncode == 0, f"md.h5 holds what the schema says\n{sch.stdout}")
    with h5py.File(out, "r") as f:
        check(f["entry"].attrs.get("NX_class") in (b"NXentry", "NXentry") and f["entry/process/program"][()].decode().endswith(" md"), "/entry (NXentry) with its NXprocess")
    # writing over an existing file says so
    p = run(["-o", out, "-md_n", 200, "-md_phi", 0.005, "-md_epsilon", "0,1", "-md_seeds", 1, "-md_sq_frames", 0, "-md_equil_steps", 100, "-md_steps", 1600])
    check(f"md: replaced {out}" in p.stdout, "writing over an existing md.h5 says 'replaced'")
    finish()


def monotonic():
    # no bisection here (md.refine tests it on a smaller system); 1.5 kT is in coexistence: run twice as long too
    base = ["-md_n", 256, "-md_phi", 0.3, "-md_epsilon", "0,0.5,1.5", "-md_seeds", 2, "-md_blocks", 8, "-md_sq_frames", 10, "-md_refine", 0] + SHORT
    out = os.path.join(TMP, "mono.h5")
    p = run(["-o", out, "-md_target_Ds_over_D0", 0.45, "-md_target_Ds_over_D0_err", 0.02] + base)
    print(p.stdout)
    with h5py.File(out, "r") as f:
        eps, D, E = f["md/epsilon"][()], f["md/Ds_over_D0"][()], f["md/Ds_over_D0_err"][()]
        coex = f["md/coexistence"][()]
        q, S, Spy, Sbh = f["md/sq/q_sigma"][()], f["md/sq/S"][()], f["md/sq/S_py"][()], f["md/sq/S_py_bh"][()]
        d_bh = f["md/sq/d_bh"][()]
        em, ee = f["md/epsilon_match"][()], f["md/epsilon_match_err"][()]
        status = f["md/match_status_code"][()]
        t0, t1 = f["md/runs/fit_t0"][()], f["md/runs/fit_t1"][()]
    check(abs(D[0] - 1) < 4 * E[0] + 0.02, f"phi = 0.3, epsilon = 0 (ideal gas): Ds/D0 = {D[0]:.4f} +- {E[0]:.4f} is 1")
    for i in range(len(eps) - 1):
        gap = D[i] - D[i + 1]
        check(gap > 3 * math.hypot(E[i], E[i + 1]), f"Ds/D0 falls from epsilon {eps[i]} to {eps[i+1]}: {D[i]:.4f} -> {D[i+1]:.4f} (errors {E[i]:.4f}, {E[i+1]:.4f})")
    check(list(coex) == [0, 0, 1], f"coexistence flag only for T* < Tc* = 1.078: {coex}")
    check("coexistence" in p.stdout, "the summary reports the coexistence region")
    check(np.all(t0 > 0) and np.all(t1 > t0) and np.all(t1 <= 20 * 0.002 * 1000), f"fit ranges chosen from the data: {t0.ravel()}..{t1.ravel()} tau")
    # S(q): ideal gas S = 1; eps = 0.5 near the PY S(q) of the Barker-Henderson spheres
    check(np.sqrt(np.mean((S[0] - 1) ** 2)) < 0.05, f"epsilon = 0: S(q) = 1 (rms deviation {np.sqrt(np.mean((S[0]-1)**2)):.3f})")
    check(np.allclose(Spy, py_sq(q, 0.3), rtol=1e-9), "S_py is Percus-Yevick at phi = 0.3")
    check(np.allclose(Sbh[1], py_sq(q * d_bh[1], 0.3 * d_bh[1] ** 3), rtol=1e-9), "S_py_bh is PY with the Barker-Henderson diameter")
    i, j = np.argmax(np.where(q > 3, S[1], 0)), np.argmax(np.where(q > 3, Sbh[1], 0))
    check(abs(q[i] - q[j]) < 0.08 * q[j], f"epsilon = 0.5: S(q) peak at q sigma = {q[i]:.3f}, PY(d_BH) at {q[j]:.3f}")
    check(abs(S[1][i] - Sbh[1][j]) < 0.25 * Sbh[1][j], f"epsilon = 0.5: S(q) peak height {S[1][i]:.3f}, PY(d_BH) {Sbh[1][j]:.3f}")
    sel = q > 8
    check(np.sqrt(np.mean((S[1][sel] - Sbh[1][sel]) ** 2)) < 0.1, "epsilon = 0.5: S(q) follows PY(d_BH) beyond the peak")
    # the match and its error budget against an independent computation
    check(status == 0, "the target 0.45 is matched")
    check_budget(out, 0.45, 0.02)
    # the settings and the run-length items
    with h5py.File(out, "r") as f:
        st = f["md/settings"]
        check(st["cutoff_mode"][()].decode() == "shifted" and st["shift"][()] == 1 and st["cutoff"][()] == 2.5, "cut-off written: 2.5 sigma, shifted")
        check(st["seeds"][()] == 2 and f["md/runs/Ds_over_D0"].shape == (3, 2), "seeds written: 2 per epsilon")
        check(st["coex_steps_factor"][()] == 2 and st["steps_long"][()] == 40000 and st["refine"][()] == 0, "second run length written: 2 x 20000 steps")
        check_run_length(f)
    check("run length at/inside coexistence" in p.stdout and "short-time" in p.stdout, "the summary reports the run-length dependence and what the comparison means")
    check(not all_units(out), f"every /md dataset has units (missing: {all_units(out)})")
    # the same target from an mxpcs fit file: same run, same epsilon*
    fit = os.path.join(TMP, "fit.h5")
    with h5py.File(fit, "w") as f:
        f["hydro/Ds_over_D0"] = 0.45
        f["hydro/Ds_over_D0_err"] = 0.02
    out2 = os.path.join(TMP, "mono_file.h5")
    # without the long runs: Ds/D0 at -md_steps is the first part of the long run, bitwise
    run(["-o", out2, "-md_target_file", fit, "-md_coex_steps_factor", 0] + base)
    with h5py.File(out2, "r") as f:
        check(f["md/epsilon_match"][()] == em and f["md/epsilon_match_err"][()] == ee, "-md_target_file gives the same epsilon* bitwise")
    # a joint fit: the one dense sample of /hydro/<sample>
    joint = os.path.join(TMP, "joint.h5")
    with h5py.File(joint, "w") as f:
        for name, dense, v in (("colloid", 0.0, 0.9), ("liquid", 1.0, 0.45)):
            f[f"hydro/{name}/Ds_over_D0"] = v
            f[f"hydro/{name}/Ds_over_D0_err"] = 0.02
            f[f"hydro/{name}/dense"] = dense
    out4 = os.path.join(TMP, "mono_joint.h5")
    run(["-o", out4, "-md_target_file", joint, "-md_coex_steps_factor", 0] + base)
    with h5py.File(out4, "r") as f:
        check(f["md/epsilon_match"][()] == em and f["md/epsilon_match_err"][()] == ee, "-md_target_file of a joint fit takes its dense sample: the same epsilon*")
    # a target outside the scan is flagged, never extrapolated
    out3 = os.path.join(TMP, "outside.h5")
    p = run(["-o", out3, "-md_n", 125, "-md_phi", 0.3, "-md_epsilon", "0,1", "-md_seeds", 1, "-md_equil_steps", 500, "-md_steps", 2000, "-md_sq_frames", 0, "-md_target_Ds_over_D0", 0.05])
    with h5py.File(out3, "r") as f:
        check(f["md/match_status_code"][()] == 2 and math.isnan(f["md/epsilon_match"][()]), "target 0.05 below the scan: status 2, epsilon_match = nan")
        check("above the scanned range" in f["md/match_status"][()].decode(), "the status text says where epsilon* lies")
    check("outside the scanned range" in p.stdout, "the summary warns that the target is outside the scan")
    finish()


def check_budget(path, target, target_err):
    """epsilon* and its error budget (seeds, interpolation, target) recomputed from the file."""
    with h5py.File(path, "r") as f:
        eps, D, E = f["md/epsilon"][()], f["md/Ds_over_D0"][()], f["md/Ds_over_D0_err"][()]
        m = {k: f["md/" + k][()] for k in ("epsilon_match", "epsilon_match_err", "epsilon_match_err_seeds", "epsilon_match_err_interp", "epsilon_match_err_target", "epsilon_match_quadratic", "match_bracket")}
    d = D - target
    k = next(k for k in range(len(D) - 1) if (d[k] > 0 and d[k + 1] <= 0) or (d[k] < 0 and d[k + 1] >= 0))
    u = (target - D[k]) / (D[k + 1] - D[k])
    g = abs((eps[k + 1] - eps[k]) / (D[k + 1] - D[k]))
    lin = eps[k] + u * (eps[k + 1] - eps[k])
    es, et = g * math.hypot((1 - u) * E[k], u * E[k + 1]), g * target_err
    # next order: the parabola through the bracket and its nearer neighbour
    nb = [j for j in (k - 1, k + 2) if 0 <= j < len(eps)]
    j = min(nb, key=lambda j: (eps[k] - eps[j]) if j < k else (eps[j] - eps[k + 1]) + 1e-300)
    c = np.polyfit(eps[[k, k + 1, j]], D[[k, k + 1, j]] - target, 2)
    quad = [r.real for r in np.roots(c) if abs(r.imag) < 1e-12 and eps[k] - 1e-9 <= r.real <= eps[k + 1] + 1e-9][0]
    ei = abs(quad - lin)
    check(abs(m["epsilon_match"] - lin) < 1e-12 and list(m["match_bracket"]) == [eps[k], eps[k + 1]], f"epsilon* = {m['epsilon_match']:.5f} in {m['match_bracket']} (independent: {lin:.5f} in [{eps[k]}, {eps[k + 1]}])")
    check(abs(m["epsilon_match_err_seeds"] - es) < 1e-12 and abs(m["epsilon_match_err_target"] - et) < 1e-12, f"error from the seeds {m['epsilon_match_err_seeds']:.5f} (independent {es:.5f}) and the target {m['epsilon_match_err_target']:.5f} ({et:.5f})")
    check(abs(m["epsilon_match_quadratic"] - quad) < 1e-9 and abs(m["epsilon_match_err_interp"] - ei) < 1e-9, f"interpolation error |linear - quadratic| = {m['epsilon_match_err_interp']:.5f} (independent {ei:.5f})")
    tot = math.sqrt(es**2 + et**2 + ei**2)
    check(abs(m["epsilon_match_err"] - tot) < 1e-12, f"total error {m['epsilon_match_err']:.5f} = seeds, interpolation and target in quadrature ({tot:.5f})")


def check_run_length(f):
    """Ds/D0 at the second run length exactly at the coexistence points; the paired difference."""
    coex, D, Ds = f["md/coexistence"][()], f["md/runs/Ds_over_D0"][()], f["md/Ds_over_D0"][()]
    Dl, Dsl, rd, rde = f["md/runs/Ds_over_D0_long"][()], f["md/Ds_over_D0_long"][()], f["md/run_length_rel_diff"][()], f["md/run_length_rel_diff_err"][()]
    check(np.array_equal(np.isfinite(Dsl), coex == 1) and np.array_equal(np.isfinite(Dl).all(axis=1), coex == 1), f"Ds/D0 at the second run length where T* < Tc* only: {Dsl}")
    sel = coex == 1
    check(np.allclose(Dsl[sel], Dl[sel].mean(axis=1), rtol=1e-12) and np.allclose(rd[sel], (Dl - D)[sel].mean(axis=1) / Ds[sel], rtol=1e-9), f"run-length difference = mean over seeds of (long - short) / Ds/D0: {rd[sel]}")
    if D.shape[1] >= 3:
        check(np.allclose(rde[sel], (Dl - D)[sel].std(axis=1, ddof=1) / math.sqrt(D.shape[1]) / Ds[sel], rtol=1e-9), "its error is the standard error of the paired differences")
    check(np.all(np.isfinite(rde[sel])) and np.all(rde[sel] > 0), f"run-length difference errors {rde[sel]}")


def refine():
    """Bisection around epsilon*, the error budget, the second run length and the cut-off, on a
    small system (seconds)."""
    small = ["-md_n", 128, "-md_phi", 0.3, "-md_equil_steps", 1000, "-md_steps", 4000, "-md_sample_every", 20, "-md_sq_frames", 0]
    base = small + ["-md_epsilon", "0,1,2", "-md_seeds", 4, "-md_refine", 3, "-md_target_Ds_over_D0", 0.6, "-md_target_Ds_over_D0_err", 0.01]
    a, b = os.path.join(TMP, "refine.h5"), os.path.join(TMP, "refine_short.h5")
    p = run(["-o", a] + base, np_=2)
    print(p.stdout)
    with h5py.File(a, "r") as f:
        eps, refd, D, E = f["md/epsilon"][()], f["md/refined"][()], f["md/Ds_over_D0"][()], f["md/Ds_over_D0_err"][()]
        runs, br, steps = f["md/runs/Ds_over_D0"][()], list(f["md/match_bracket"][()]), f["md/match_refine_steps"][()]
        check(f["md/settings/seeds"][()] == 4 and runs.shape == (6, 4) and f["md/settings/refine"][()] == 3, "4 seeds at each of the 3 grid and 3 bisection points")
        check(np.allclose(D, runs.mean(axis=1), rtol=1e-12) and np.allclose(E, runs.std(axis=1, ddof=1) / 2, rtol=1e-9), "Ds/D0 per epsilon: mean over the seeds, standard error of their spread")
        check_run_length(f)
    check(np.all(np.diff(eps) > 0) and refd.sum() == 3 and steps == 3, f"epsilons sorted, 3 of them from the bisection: {eps} {refd}")
    # the bisection replayed from the file: each midpoint was evaluated, the final bracket is the match's
    grid = refd == 0
    ge, gD = eps[grid], D[grid]
    k = next(k for k in range(len(gD) - 1) if (gD[k] - 0.6) * (gD[k + 1] - 0.6) <= 0)
    lo, hi, ylo = ge[k], ge[k + 1], gD[k]
    for _ in range(3):
        mid = 0.5 * (lo + hi)
        i = np.flatnonzero(np.abs(eps - mid) < 1e-12)
        check(len(i) == 1 and refd[i[0]] == 1, f"bisection point {mid} evaluated")
        if not len(i):
            break
        ym = D[i[0]]
        if (ylo > 0.6 and ym <= 0.6) or (ylo < 0.6 and ym >= 0.6):
            hi = mid
        else:
            lo, ylo = mid, ym
    check(br == [lo, hi] and abs(hi - lo - 1 / 8) < 1e-12, f"final bracket {br} = bisection's [{lo}, {hi}] (1/8 kT wide)")
    check_budget(a, 0.6, 0.01)
    check("bisection 3/3" in p.stdout and "error budget" in p.stdout, "the summary shows the bisection and the error budget")
    # without the second run length: the same Ds/D0 bitwise (the long run's first part is the run)
    run(["-o", b, "-md_coex_steps_factor", 0] + base, np_=2)
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        check(np.array_equal(fa["md/runs/Ds_over_D0"][()], fb["md/runs/Ds_over_D0"][()]) and fa["md/epsilon_match"][()] == fb["md/epsilon_match"][()], "Ds/D0 at -md_steps is the same with and without the longer runs, bitwise")
        check(np.all(np.isnan(fb["md/Ds_over_D0_long"][()])) and fb["md/settings/steps_long"][()] == 0, "-md_coex_steps_factor 0: no second run length")
    # the cut-off in the dynamics: the shift changes only the energy (pair_modify shift), not the
    # forces, so an unshifted run is bitwise the shifted one; a longer cut-off changes them (and
    # LAMMPS' atom sorting, whose bins follow the cut-off, so even epsilon 0 differs)
    c, l = os.path.join(TMP, "unshifted.h5"), os.path.join(TMP, "rc3.h5")
    run(["-o", c, "-md_epsilon", "0,2", "-md_seeds", 1, "-md_cutoff", "unshifted", "-md_coex_steps_factor", 0] + small, np_=2)
    run(["-o", l, "-md_epsilon", "0,2", "-md_seeds", 1, "-md_cutoff_sigma", 3, "-md_coex_steps_factor", 0] + small, np_=2)
    with h5py.File(a, "r") as fa, h5py.File(c, "r") as fc, h5py.File(l, "r") as fl:
        st = fc["md/settings"]
        check(st["cutoff_mode"][()].decode() == "unshifted" and st["shift"][()] == 0 and st["tc_star"][()] == fa["md/settings/tc_star"][()], "unshifted written; the same Tc* (same forces)")
        check(fl["md/settings/cutoff"][()] == 3 and fl["md/settings/tc_star"][()] > fa["md/settings/tc_star"][()], "cut-off 3 sigma written, with its higher Tc*")
        ra, rc, rl = fa["md/runs/Ds_over_D0"][()], fc["md/runs/Ds_over_D0"][()], fl["md/runs/Ds_over_D0"][()]
        check(ra[-1, 0] == rc[1, 0], f"same seed, epsilon 2: unshifted = shifted bitwise ({ra[-1, 0]:.4f}, {rc[1, 0]:.4f}): the shift is not in the forces")
        check(ra[-1, 0] != rl[1, 0], f"same seed, epsilon 2: a 3 sigma cut-off changes Ds/D0 ({ra[-1, 0]:.4f}, {rl[1, 0]:.4f})")
    finish()


def compare_all(a, b):
    """Names of /md datasets that differ bitwise (timings excluded)."""
    diff = []
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        def visit(name, o):
            if not isinstance(o, h5py.Dataset) or name.startswith("perf") or "wall_time" in name:
                return
            x, y = o[()], fb["md/" + name][()]
            if isinstance(x, bytes):
                same = x == y
            else:
                same = np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True)
            if not same:
                diff.append(name)
        fa["md"].visititems(visit)
    return diff


def repeat():
    base = ["-md_n", 200, "-md_phi", 0.3, "-md_epsilon", "0,1", "-md_seeds", 1, "-md_equil_steps", 2000, "-md_steps", 8000, "-md_sample_every", 50, "-md_sq_frames", 4, "-md_coex_steps_factor", 0]
    a, b, c = (os.path.join(TMP, n) for n in ("r_a.h5", "r_b.h5", "r_c.h5"))
    run(["-o", a] + base, np_=2)
    run(["-o", b] + base, np_=2)
    run(["-o", c] + base, np_=1)
    d = compare_all(a, b)
    check(not d, f"same seed, same layout (2 groups of 1 rank): bitwise identical (differ: {d})")
    d = compare_all(a, c)
    check(not d, f"2 groups of 1 rank vs 1 group of 1 rank: bitwise identical (differ: {d})")
    with h5py.File(a, "r") as f:
        msd = f["md/msd/msd"][()]
        check(np.all(np.isfinite(msd)) and np.all(np.diff(msd[0]) > 0), "MSD written and increasing")
    # a different seed gives different numbers (the comparison above can fail)
    e = os.path.join(TMP, "r_e.h5")
    run(["-o", e, "-md_seed", 2] + base, np_=1)
    check("Ds_over_D0" in compare_all(a, e), "another -md_seed changes Ds/D0")
    finish()


def ranks():
    base = ["-md_n", 500, "-md_phi", 0.3, "-md_epsilon", "1", "-md_seeds", 2, "-md_blocks", 8, "-md_sq_frames", 4, "-md_coex_steps_factor", 0] + SHORT
    a, b = os.path.join(TMP, "k1.h5"), os.path.join(TMP, "k2.h5")
    run(["-o", a, "-md_ranks_per_sim", 1] + base, np_=1)
    run(["-o", b, "-md_ranks_per_sim", 2] + base, np_=2)
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        d1, e1 = fa["md/Ds_over_D0"][0], fa["md/Ds_over_D0_err"][0]
        d2, e2 = fb["md/Ds_over_D0"][0], fb["md/Ds_over_D0_err"][0]
        check(fb["md/settings/ranks_per_sim"][()] == 2 and fb["md/perf/ranks"][()] == 2, "second run: one LAMMPS instance on 2 ranks")
        check(d1 != d2, "2 ranks per simulation run a different decomposition (different random streams)")
        check(abs(d1 - d2) < 4 * math.hypot(e1, e2), f"1 vs 2 ranks per simulation: {d1:.4f} +- {e1:.4f} vs {d2:.4f} +- {e2:.4f}")
        S1, S2 = fa["md/sq/S"][0], fb["md/sq/S"][0]
        s1, s2 = fa["md/sq/S_err"][0], fb["md/sq/S_err"][0]
        sel = fa["md/sq/q_sigma"][()] > 2
        z = (S1 - S2)[sel] / np.hypot(s1, s2)[sel]
        check(np.sqrt(np.mean(z**2)) < 2.5, f"S(q) from 1 and 2 ranks (FFT over the 2-rank group) agree: rms z = {np.sqrt(np.mean(z**2)):.2f}")
    finish()


def bad():
    out = os.path.join(TMP, "bad.h5")
    fit = os.path.join(TMP, "nohydro.h5")
    with h5py.File(fit, "w") as f:
        f["other"] = 1.0
    tiny = ["-md_n", 125, "-md_equil_steps", 100, "-md_steps", 400]
    cases = [
        (["-md_phi", 0.8], "-md_phi"),
        (["-md_epsilon", "0,-1"], "-md_epsilon"),
        (["-md_epsilon", "1,0.5"], "increasing"),
        (["-md_ranks_per_sim", 3], "-md_ranks_per_sim"),
        (["-md_target_file", os.path.join(TMP, "missing.h5")], "missing.h5"),
        (["-md_target_file", fit], "/hydro/Ds_over_D0"),
        (["-md_target_Ds_over_D0", -0.3], "-md_target_Ds_over_D0"),
        (["-md_fit_range", "5"], "-md_fit_range"),
        (["-md_fit_range", "1:1000"], "beyond the production"),
        (["-md_phi", 0.3, "-md_rho_star", 0.5], "-md_rho_star"),
        (["-md_dt", 0.05], "-md_dt"),
        (["-md_n", 8], "-md_cutoff"),
        (["-md_sq_qmax", 100, "-md_sq_grid", 16], "-md_sq_qmax"),
        (["-md_bogus", 1], "md_bogus"),
        (["-md_cutoff", "sideways"], "-md_cutoff"),
        (["-md_refine", 99], "-md_refine"),
        (["-md_coex_steps_factor", 50], "-md_coex_steps_factor"),
        (["-md_epsilon", "1", "-md_target_Ds_over_D0", 0.4], "at least 2 values"),
    ]
    for extra, needle in cases:
        p = run(["-o", out] + tiny + extra, expect_ok=False)
        # one line from mxpcs (mpiexec adds its own banner about the exit code)
        lines = [l for l in p.stderr.splitlines() if l.startswith("mxpcs")]
        ok = p.returncode != 0 and len(lines) == 1 and needle in lines[0] and "error" in lines[0] and not os.path.exists(out) and not os.path.exists(out + ".part")
        check(ok, f"{' '.join(map(str, extra))}: exit {p.returncode}, message {lines}")
    p = run(tiny, expect_ok=False)
    check(p.returncode != 0 and "-o FILE" in p.stderr, "no -o: clear error")
    p = run(["-help"], expect_ok=False)
    opts = ["-o", "-md_epsilon", "-md_n", "-md_phi", "-md_rho_star", "-md_cutoff", "-md_cutoff_sigma", "-md_refine", "-md_coex_steps_factor", "-md_damp", "-md_dt", "-md_equil_steps", "-md_steps", "-md_sample_every", "-md_fit_range", "-md_fit_tol",
            "-md_blocks", "-md_seeds", "-md_seed", "-md_ranks_per_sim", "-md_target_Ds_over_D0", "-md_target_Ds_over_D0_err", "-md_target_file", "-md_sq_frames", "-md_sq_grid", "-md_sq_qmax", "-md_tc_star",
            "-md_lammps_log", "-md_com_correct", "-md_view"]
    listed = {l.split()[0].rstrip(":") for l in p.stdout.splitlines() if l.strip().startswith("-")}
    missing = [o for o in opts if o not in listed]
    check(p.returncode == 0 and not missing, f"-help lists every option (missing: {missing})")
    finish()


if __name__ == "__main__":
    {"dilute": dilute, "monotonic": monotonic, "refine": refine, "repeat": repeat, "ranks": ranks, "bad": bad}[sys.argv[1]]()
