#!/usr/bin/python3
"""Load an mxpcs results file with pyXpcsViewer's own reading code, without the GUI.

    /usr/bin/python3 tools/check_viewer.py --viewer /path/to/pyXpcsViewer/src RESULTS.h5

The viewer is imported from the checkout given by --viewer (its `src` directory, the one that
holds `pyxpcsviewer/`); nothing of it is copied here. Only `pyxpcsviewer.core` is imported:
it needs numpy, scipy, h5py and scikit-learn (Debian: python3-sklearn), no Qt. The GUI package
itself needs PySide6 and pyqtgraph and is not imported; its default widget values are read from
the text of `gui/view/viewer_ui.py`.

What it does, as the GUI does it:
  1. XpcsFile(fname, qmap_manager=QMapManager()), as gui/model/file_locator.py loads a file
     (the GUI logs the traceback and drops the file; here the traceback is printed and the
     exit code is 2);
  2. the g2 panel's data: XpcsFile.get_g2_data() (q and t "auto": no ranges), delays in s;
  3. SAXS-1D (get_saxs1d_data), SAXS-2D (saxs_2d, saxs_2d_log, extent), stability,
     intensity vs time (Int_t, Int_t_fft), the q-map panel, and for two-time files the C2 map
     of the first label (get_twotime_maps, get_twotime_c2, as the two-time panel);
  4. the g2 panel's fit: core.fitting.fit_g2_batch (what G2FitWorker runs) with
     fit_func="single", on every q, twice:
       A. the panel's defaults: a, b (tau), c (stretching), d all free, bounds from
          viewer_ui.py, and the tau bounds that init_g2 puts into the b spin boxes after the
          first g2 plot (t_min/20, t_max*10, rounded and clamped as a QDoubleSpinBox does);
       B. a pure exponential: c fixed at 1, tau in [t_min/20, t_max*10] unrounded. The GUI
          cannot enter this (its tau spin box stops at 1e-5 s); it is passed through the API.
     and compares the viewer's tau with mxpcs's /xpcs/fit/gamma for the age window of
     /xpcs/multitau/normalized_g2 (attribute age_window, else 0). The viewer's model
     convention is found by evaluating its model function, not assumed.

Exit codes: 0 all steps ran; 1 some panel step failed (tracebacks printed); 2 the file does not
load (the viewer's traceback printed); 3 the viewer cannot be imported.
"""
import argparse
import math
import os
import re
import sys
import traceback

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mxschema  # noqa: E402  the results schema: the paths of mxpcs's files
S = mxschema.load()


def hdr(s):
    print("\n== " + s)


def finite_str(a):
    a = np.asarray(a)
    if a.size == 0:
        return "empty"
    if not np.issubdtype(a.dtype, np.number):
        return "non-numeric"
    n = int(np.count_nonzero(~np.isfinite(a)))
    return "all finite" if n == 0 else f"{n} of {a.size} non-finite"


def rng(a):
    a = np.asarray(a, dtype=float)
    f = a[np.isfinite(a)]
    return f"[{f.min():.4g}, {f.max():.4g}]" if f.size else "[no finite values]"


class Steps:
    def __init__(self):
        self.failed = []

    def run(self, name, fn):
        try:
            return fn()
        except Exception:
            self.failed.append(name)
            print(f"  FAILED: {name}; the viewer's traceback:")
            traceback.print_exc(file=sys.stdout)
            return None


# ---------------------------------------------------------------- GUI defaults (g2 fit box)
def gui_fit_defaults(viewer_src):
    """Read the g2-fit spin boxes and check boxes from the viewer's generated Qt UI module.

    Returns {widget: {"value":..,"decimals":..,"min":..,"max":..}} and {flag: bool}, or None.
    QDoubleSpinBox defaults (decimals 2, range 0..99.99) apply where the UI sets nothing."""
    path = os.path.join(viewer_src, "pyxpcsviewer", "gui", "view", "viewer_ui.py")
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return None, None, path
    boxes = {}
    for w in ["g2_amin", "g2_amax", "g2_bmin", "g2_bmax", "g2_cmin", "g2_cmax", "g2_dmin", "g2_dmax"]:
        b = {"decimals": 2, "min": 0.0, "max": 99.99, "value": None}
        for meth, key in [("setDecimals", "decimals"), ("setMinimum", "min"),
                          ("setMaximum", "max"), ("setValue", "value")]:
            m = re.findall(rf"self\.{w}\.{meth}\(([^)]*)\)", text)
            if m:
                b[key] = float(m[-1])
        boxes[w] = b
    flags = {}
    for w in ["g2_afit", "g2_bfit", "g2_cfit", "g2_dfit"]:
        m = re.findall(rf"self\.{w}\.setChecked\((True|False)\)", text)
        flags[w] = (m[-1] == "True") if m else False  # QCheckBox default: unchecked
    if any(b["value"] is None for b in boxes.values()):
        return None, None, path
    return boxes, flags, path


def spinbox(value, box):
    """The value a QDoubleSpinBox holds after setValue(value): rounded to its decimals, then
    clamped to its range (Qt's documented behaviour)."""
    d = int(box["decimals"])
    v = round(value * 10**d) / 10**d
    return min(max(v, box["min"]), box["max"])


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--viewer", required=True, help="pyXpcsViewer checkout's src directory")
    ap.add_argument("results", help="mxpcs results file (.h5)")
    ap.add_argument("--no-fit", action="store_true", help="skip the g2 fits")
    ap.add_argument("--a-max", type=float, default=None, help="upper bound of the contrast a in fit B (default: the GUI's)")
    ap.add_argument("--partial", type=int, default=None, metavar="K", help="fit age window K (normalized_g2_partial[K]) and compare with /xpcs/fit/gamma[:, K]")
    args = ap.parse_args()

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # harmless: no Qt module is imported
    src = os.path.abspath(args.viewer)
    if os.path.isdir(os.path.join(src, "src", "pyxpcsviewer")):
        src = os.path.join(src, "src")
    sys.path.insert(0, src)
    fname = os.path.abspath(args.results)

    hdr("viewer")
    try:
        import pyxpcsviewer
        from pyxpcsviewer.core import fitting as vfit
        from pyxpcsviewer.core.file_io.hdf_reader import get_analysis_type
        from pyxpcsviewer.core.file_io.qmap_utils import QMapManager
        from pyxpcsviewer.core.xpcs_file import XpcsFile
    except Exception:
        print(f"  cannot import pyxpcsviewer.core from {src}:")
        traceback.print_exc(file=sys.stdout)
        print("  (the core needs numpy, scipy, h5py, scikit-learn: apt-get install python3-sklearn)")
        return 3
    print(f"  imported {os.path.dirname(pyxpcsviewer.__file__)} (version {pyxpcsviewer.__version__})")
    if not os.path.abspath(pyxpcsviewer.__file__).startswith(src + os.sep):
        print(f"  WARNING: that is not under --viewer {src}")
    print(f"  python {sys.version.split()[0]}, numpy {np.__version__}, h5py {h5py.__version__}")

    st = Steps()
    hdr(f"load {fname}")
    if not fname.lower().endswith((".hdf", ".h5")) or os.path.basename(fname).startswith("."):
        print("  WARNING: the GUI lists only non-hidden *.hdf / *.h5 files; it would not show this one")
    try:
        atype = get_analysis_type(fname)
        print(f"  hdf_reader.get_analysis_type: {atype}")
        xf = XpcsFile(fname, qmap_manager=QMapManager())
    except Exception:
        print("  LOAD FAILED (the GUI logs this and drops the file); the viewer's traceback:")
        traceback.print_exc(file=sys.stdout)
        return 2
    print(f"  XpcsFile loaded: label {xf.label!r}, atype {xf.atype}")
    print(f"  t0 = {xf.t0:.6g} s, start_time {xf.start_time!r}")
    print(f"  qmap: mask {xf.mask.shape}, dynamic grid {list(xf.dynamic_num_pts)}, "
          f"static grid {list(xf.static_num_pts)}, map_names {xf.map_names}, units {xf.map_units}")
    print(f"  beam centre (bcx, bcy) = ({xf.bcx:.4g}, {xf.bcy:.4g}) pixel, "
          f"distance {xf.det_dist:.4g} m, pixel {xf.pixel_size:.4g} m, E {xf.X_energy:.4g} keV")

    # ------------------------------------------------------------ g2 panel
    g2data = None
    if "Multitau" in xf.atype:
        hdr("g2 panel (XpcsFile.get_g2_data, q and t auto)")

        def g2panel():
            q, t_el, g2, g2_err, labels = xf.get_g2_data(qrange=None, trange=None)
            print(f"  g2 {g2.shape} ({finite_str(g2)}), g2_err {g2_err.shape} ({finite_str(g2_err)})")
            print(f"  delays t_el: {t_el.size} values, {t_el[0]*1e6:.4g} .. {t_el[-1]*1e6:.4g} us "
                  f"(g2_t0 = {xf.g2_t0:.6g} s)")
            print(f"  q values {len(q)} {np.array2string(np.asarray(q), precision=5)}")
            for lab in labels:
                print(f"    {lab}")
            if len(q) != g2.shape[1]:
                print(f"  WARNING: {len(q)} q values for {g2.shape[1]} g2 columns: the fit and tau-q "
                      "panels will mis-assign q (empty grid cells)")
            with h5py.File(fname, "r") as f:
                if S.path("G2_TAU") in f:
                    tau = f[S.path("G2_TAU")][()]
                    if tau.shape == t_el.shape:
                        print(f"  t_el vs /xpcs/g2/tau: max rel diff {np.max(np.abs(t_el / tau - 1)):.2e}")
                    else:
                        print(f"  t_el {t_el.shape} vs /xpcs/g2/tau {tau.shape}: shapes differ")
            return q, t_el, g2, g2_err, labels

        g2data = st.run("g2 panel", g2panel)

        hdr("g2 stability panel (get_g2_stability_data)")

        def stab():
            if xf.g2_partial is None:
                print("  no normalized_g2_partial (optional)")
                return
            q, t_el, g2p, g2pe, qlabels, plabels = xf.get_g2_stability_data()
            print(f"  partial g2 {g2p.shape} ({finite_str(g2p)}), labels {plabels}")

        st.run("g2 stability panel", stab)
    else:
        hdr("g2 panel: not a Multitau file (no /xpcs/multitau/normalized_g2)")

    # ------------------------------------------------------------ SAXS, intensity
    hdr("SAXS-1D panel (get_saxs1d_data)")

    def saxs1d():
        q, Iq, xl, yl = xf.get_saxs1d_data()
        print(f"  q {q.shape} {rng(q)} 1/A, I {Iq.shape} ({finite_str(Iq)}), lines {xf.saxs_1d['labels']}")
        q, Iqp, _, _ = xf.get_saxs1d_data(target="saxs1d_partial")
        print(f"  stability (scattering_1d_segments, phi-averaged) {Iqp.shape} ({finite_str(Iqp)})")

    st.run("SAXS-1D panel", saxs1d)

    hdr("SAXS-2D panel (saxs_2d, saxs_2d_log, extent)")

    def saxs2d():
        img = xf.saxs_2d
        print(f"  saxs_2d {img.shape} {img.dtype} ({finite_str(img)}), range {rng(img)}")
        lg = xf.saxs_2d_log
        print(f"  saxs_2d_log {lg.shape} ({finite_str(lg)})")
        print(f"  extent (qx0, qx1, qy0, qy1) = {tuple(round(float(x), 5) for x in xf.get_detector_extent())} 1/A")
        if img.shape != xf.mask.shape:
            print(f"  WARNING: saxs_2d {img.shape} != mask {xf.mask.shape}")

    st.run("SAXS-2D panel", saxs2d)

    hdr("q-map panel (get_cropped_qmap)")

    def qmappanel():
        d = xf.get_cropped_qmap("dqmap")
        s = xf.get_cropped_qmap("sqmap")
        print(f"  dqmap cropped {d.shape}, labels {np.unique(d[d > 0]).size}; sqmap cropped {s.shape}")

    st.run("q-map panel", qmappanel)

    hdr("intensity vs time panel (Int_t, Int_t_fft)")

    def intt():
        it = np.asarray(xf.Int_t)
        print(f"  Int_t {it.shape} ({finite_str(it)}), row 1 range {rng(it[1])}")
        fft = xf.Int_t_fft
        print(f"  Int_t_fft {fft.shape} ({finite_str(fft)}), f up to {fft[0, -1]:.4g} Hz (spacing t0 = {xf.t0:.4g} s)")

    st.run("intensity vs time panel", intt)

    # ------------------------------------------------------------ two-time
    if "Twotime" in xf.atype:
        hdr("two-time panel (get_twotime_maps, get_twotime_c2; selection 0, correct_diag off)")

        def twotime():
            labels = xf.get_twotime_qbin_labels()
            print(f"  processed_bins {xf.c2_processed_bins.tolist()}")
            print(f"  labels: {labels}")
            dq, saxs, sel = xf.get_twotime_maps(selection=0)
            print(f"  q-map display {dq.shape}, highlighted selection {sel}")
            r = xf.get_twotime_c2(selection=0, correct_diag=False)
            c2 = r["c2_mat"]
            print(f"  C2 (first label) {c2.shape} ({finite_str(c2)}), range {rng(c2)}, "
                  f"pixel = {r['delta_t']*1e6:.4g} us")
            print(f"  C2-derived g2_full {np.shape(r['g2_full'])}, g2_partial {np.shape(r['g2_partial'])}")
            with h5py.File(fname, "r") as f:
                obj = f.get(S.path("TWOTIME_C"))
                if isinstance(obj, h5py.Dataset) and obj.ndim == 3:
                    k = int(xf.c2_processed_bins[0]) - 1
                    ref = obj[k] + 1.0
                    if ref.shape == c2.shape:
                        off = ~np.eye(c2.shape[0], dtype=bool)
                        print(f"  vs /xpcs/twotime/C[{k}]+1: max |diff| off-diagonal "
                              f"{np.max(np.abs(c2 - ref)[off]):.3g}, diagonal {np.max(np.abs(np.diag(c2 - ref))):.3g}")

        st.run("two-time panel", twotime)
    else:
        hdr("two-time panel: not a Twotime file (no /xpcs/twotime/correlation_map)")

    # ------------------------------------------------------------ g2 fit
    if g2data is not None and not args.no_fit:
        st.run("g2 fit", lambda: fit_compare(xf, fname, g2data, vfit, src, args.partial, args.a_max))

    hdr("summary")
    if st.failed:
        print(f"  loaded; failed steps: {', '.join(st.failed)}")
        return 1
    print("  loaded; every step ran")
    return 0


def fit_compare(xf, fname, g2data, vfit, src, partial=None, a_max=None):
    q, t_el, g2, g2_err, labels = g2data
    if partial is not None:
        # the viewer's fit on one age window of normalized_g2_partial (mxpcs: NaN beyond its lags)
        with h5py.File(fname, "r") as f:
            gp = f[S.path("MULTITAU_G2_PARTIAL")][partial]
            ge = f[S.path("MULTITAU_G2_PARTIAL_ERR")][partial]
        rows = np.all(np.isfinite(gp), axis=1)
        g2, g2_err, t_el = gp[rows], ge[rows], np.asarray(t_el)[rows]
        g2data = (q, t_el, g2, g2_err, labels)
        print(f"  fitting normalized_g2_partial[{partial}]: {rows.sum()} lags, "
              f"{t_el.min()*1e6:.4g} .. {t_el.max()*1e6:.4g} us")
    nq = g2.shape[1]
    hdr("g2 fit: the viewer's model")
    model = getattr(vfit, "single_exp_all")
    # probe the convention: y(x) with a=1, b=1, c=1, d=0 is exp(-k x); k = 2 means exp(-2 t/tau)
    k = -math.log(float(model(1.0, 1.0, 1.0, 1.0, 0.0)))
    kc = -math.log(float(model(1.0, 1.0, 1.0, 2.0, 0.0)))
    print(f"  fit function: pyxpcsviewer.core.fitting.fit_g2_batch -> fit_with_fixed({model.__name__}), "
          "as G2FitWorker runs it for the g2 panel (fit_func 'single')")
    print(f"  probe: {model.__name__}(x=1, a=1, b=1, c=1, d=0) = exp(-{k:.4g}); with c=2: exp(-{kc:.4g})")
    print(f"  => viewer model g2(t) = d + a*exp(-{k:.3g}*(t/b)^c); b = tau (s), c = stretching exponent")
    conv = "1/Gamma" if abs(k - 2) < 1e-9 else ("1/(2 Gamma)" if abs(k - 1) < 1e-9 else None)
    print(f"  mxpcs model (docs/output-format.md): g2 - 1 = beta*exp(-2*Gamma*tau)")
    if conv:
        print(f"  => with c = 1 the viewer's tau corresponds to mxpcs's {conv}")
    else:
        print("  => unexpected model constant; the comparison below uses 1/Gamma")
        conv = "1/Gamma"
    factor = 1.0 if conv == "1/Gamma" else 0.5

    # mxpcs reference
    gamma = beta = None
    win = 0
    with h5py.File(fname, "r") as f:
        d = f[S.path("MULTITAU_G2")]
        if partial is not None:
            win = partial
            wsrc = "--partial"
        elif "age_window" in d.attrs:
            win = int(np.asarray(d.attrs["age_window"]).ravel()[0])
            wsrc = "attribute age_window"
        else:
            wsrc = "no age_window attribute: normalized_g2 is the whole train; compared with window 0"
        if S.path("FIT_GAMMA") in f:
            gamma = f[S.path("FIT_GAMMA")][()]
        if S.path("CONTRAST_BETA") in f:
            beta = f[S.path("CONTRAST_BETA")][()]
        if S.path("G2_G2") in f and f[S.path("G2_G2")].ndim == 3:
            g3 = f[S.path("G2_G2")][()]
            if g3.shape[0] == nq and win < g3.shape[1] and g3.shape[2] == g2.shape[0]:
                print(f"  normalized_g2 vs /xpcs/g2/g2[:, {win}, :].T: max |diff| "
                      f"{np.max(np.abs(g2 - g3[:, win, :].T)):.2e}")
    print(f"  age window {win} ({wsrc})")
    if gamma is not None and (gamma.ndim != 2 or gamma.shape[0] != nq or win >= gamma.shape[1]):
        print(f"  /xpcs/fit/gamma {gamma.shape} does not match {nq} q and window {win}: not compared")
        gamma = None
    if gamma is None:
        print("  no usable /xpcs/fit/gamma: viewer fits only")

    # the panel's settings
    boxes, flags, uipath = gui_fit_defaults(src)
    tmin, tmax = float(np.min(t_el)), float(np.max(t_el))
    runs = []
    if boxes is not None:
        lo = [boxes[w]["value"] for w in ("g2_amin", "g2_bmin", "g2_cmin", "g2_dmin")]
        hi = [boxes[w]["value"] for w in ("g2_amax", "g2_bmax", "g2_cmax", "g2_dmax")]
        ff = [flags[w] for w in ("g2_afit", "g2_bfit", "g2_cfit", "g2_dfit")]
        print(f"  GUI defaults ({uipath}): a {lo[0]}..{hi[0]}, b(tau) {lo[1]}..{hi[1]} s, "
              f"c {lo[2]}..{hi[2]}, d {lo[3]}..{hi[3]}, fit flags a,b,c,d = {ff}")
        bmin = spinbox(tmin / 20, boxes["g2_bmin"])
        bmax = spinbox(tmax * 10, boxes["g2_bmax"])
        print(f"  after the first g2 plot init_g2 sets b to t_min/20 = {tmin/20:.3g} -> spin box {bmin:g} s "
              f"and t_max*10 = {tmax*10:.3g} -> {bmax:g} s "
              f"(b spin boxes: {int(boxes['g2_bmin']['decimals'])} decimals, min {boxes['g2_bmin']['min']:g} s)")
        if bmin > tmax:
            print(f"  NOTE: the GUI's smallest tau ({bmin:g} s) is above the longest delay "
                  f"({tmax:.3g} s): the panel cannot fit these decays")
        runs.append(("A: GUI defaults (a,b,c,d free)", [lo[0], bmin, lo[2], lo[3]],
                     [hi[0], bmax, hi[2], hi[3]], ff))
        alo, ahi, dlo, dhi = lo[0], hi[0], lo[3], hi[3]
    if a_max is not None:
        ahi = a_max  # the contrast bound of run B (the GUI's 0.8 is below a contrast near 1)
    else:
        print(f"  could not read the g2-fit widgets from {uipath}; run A skipped, B uses a 0.01..2, d 0.9..1.1")
        alo, ahi, dlo, dhi = 0.01, 2.0, 0.9, 1.1
    # B: pure exponential. fit_with_fixed holds a parameter whose flag is False at its UPPER bound.
    runs.append(("B: exponential (c fixed 1; tau t_min/20..t_max*10, API only)",
                 [alo, tmin / 20, 0.5, dlo], [ahi, tmax * 10, 1.0, dhi], [True, True, False, True]))

    results = []
    for name, lo, hi, ff in runs:
        hdr(f"g2 fit {name}")
        print(f"  bounds lo {lo}\n  bounds hi {hi}\n  fit_flag {ff}")
        out = vfit.fit_g2_batch([g2data], [lo, hi], ff, "single", None, None)
        s = out[0]
        if s is None:
            print("  fit_g2_batch returned None (a chunk failed)")
            continue
        fv = s["fit_val"]  # (nq, 2, 4): [value, err] x [a, b, c, d]
        ok = [bool(fl["success"]) for fl in s["fit_line"]]
        results.append((name, fv, ok, lo, hi))
        print(f"  {'col':>3} {'q[1/A]':>8} {'ok':>3} {'a':>7} {'c':>6} {'d':>7} "
              f"{'tau[us]':>10} {'+-':>8} {'mx ' + conv + '[us]':>16} {'+-':>8} {'ratio':>7}  {'beta':>6}  note")
        gerr = None
        if gamma is not None:
            with h5py.File(fname, "r") as f:
                if S.path("FIT_GAMMA_ERR") in f:
                    gerr = f[S.path("FIT_GAMMA_ERR")][()]
        for c in range(nq):
            a_, b_, c_, d_ = fv[c, 0]
            eb = fv[c, 1, 1]
            qv = float(q[c]) if c < len(q) else float("nan")
            note = []
            if not ok[c]:
                note.append("FIT FAILED")
            if ok[c] and (np.isclose(b_, lo[1], rtol=1e-3) or np.isclose(b_, hi[1], rtol=1e-3)):
                note.append("tau at bound")
            for j, nm in ((0, "a"), (2, "c"), (3, "d")):
                v = fv[c, 0, j]
                if ok[c] and ff[j] and (np.isclose(v, lo[j], rtol=1e-3) or np.isclose(v, hi[j], rtol=1e-3)):
                    note.append(f"{nm} at bound")
            ref = rerr = ratio = float("nan")
            if gamma is not None:
                G = gamma[c, win]
                if np.isfinite(G) and G > 0:
                    ref = factor / G
                    ratio = b_ / ref
                    if gerr is not None and np.isfinite(gerr[c, win]):
                        rerr = ref * gerr[c, win] / G
                else:
                    note.append("mxpcs Gamma NaN")
            bt = f"{beta[c]:.4f}" if beta is not None and c < len(beta) else "-"
            print(f"  {c:>3} {qv:8.5f} {'y' if ok[c] else 'n':>3} {a_:7.4f} {c_:6.3f} {d_:7.4f} "
                  f"{b_*1e6:10.4g} {eb*1e6:8.2g} {ref*1e6:16.4g} {rerr*1e6:8.2g} {ratio:7.4f}  {bt:>6}  {'; '.join(note)}")
        if gamma is not None:
            good = [b for b in range(nq) if ok[b] and np.isfinite(gamma[b, win]) and gamma[b, win] > 0]
            if good:
                rr = np.array([fv[b, 0, 1] * gamma[b, win] / factor for b in good])
                print(f"  ratio tau/({conv}) over {len(good)} q: mean {rr.mean():.4f}, "
                      f"min {rr.min():.4f}, max {rr.max():.4f}")
    return results


if __name__ == "__main__":
    sys.exit(main())
