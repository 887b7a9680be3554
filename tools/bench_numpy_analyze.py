#!/usr/bin/python3
"""mxpcs analyze's train loop as plain numpy + h5py (+ BLAS through numpy's matmul), for timing
beside mxpcs on the same files, whole process:

    /usr/bin/time /usr/bin/python3 tools/bench_numpy_analyze.py RUN_DIR RESULTS_H5 [--check]

RUN_DIR: a run in the EuXFEL corrected layout (as `mxpcs simulate` writes it: RUN_DIR or
RUN_DIR/proc/r####/CORR-R####-AGIPD<mm>-S<nnnnn>.h5). RESULTS_H5: `mxpcs analyze`'s output on
that run; the analysis set-up comes from it so that this script does the same work:

  * /xpcs/qmap/roi_map       the q-ring of every pixel (ring index + 1, 0 = no ring)
  * /xpcs/twotime/C          nf (frames per train) and, with --check, the reference C - XC
  * /entry/process/options   the reader's selections (-reader_modules, -reader_trains,
                             -reader_train_ids, -reader_pulses, -reader_pulse_by,
                             -reader_adu_per_photon, -reader_skip_suspect, -mask_file),
                             -corr_xc, -corr_block, -saxs_nbins, -saxs_q_min, -saxs_q_max
  * /xpcs/meta/train_ids_dropped_{intensity,xgm,unreadable}: trains mxpcs's filters dropped
    (they are not read in its loop either, and are no neighbour of anything)
  * /xpcs/g2/tau, /xpcs/g2/age, /entry/instrument/detector/frame_time: the age windows of the
    per-train g2 (a few hundred diagonal means per train; cheap, done because mxpcs does it)

The per-pixel q and the per-pixel correction 1/(relative solid angle x polarisation) that the
SAXS bins need are not stored in an analyze results file today (docs/output-format.md). They are
taken from, in this order: RESULTS_H5's /xpcs/qmap/q_map (+ solid_angle_map, polarization_map:
the layout of `mxpcs qmap`, should a results file ever carry them); RUN_DIR/truth.h5
/detector/q_map and /detector/geom_factor (every `mxpcs simulate` run has them: the per-pixel q
and G = relative solid angle x polarisation of the simulated modules, the same geometry analyze
uses with the same -geom options); if neither exists, weight 1 and a placeholder bin per pixel
(pixel index spread over the bins) so that the SAXS pass does the same amount of work: the timing
is what matters here, not the SAXS values. The SAXS grid follows src/analyze/saxs.c
MxAnalyzeSetUp: -saxs_nbins (200) bins between the smallest and largest q of the pixels read
whose correction is defined (or -saxs_q_min/-saxs_q_max).

Per train, for the modules that hold ring pixels (mxpcs reads every row of those modules unless
-saxs_q_min/-saxs_q_max bound the SAXS range; then this script reads the span of rows holding a
ring or SAXS pixel):
  1. h5py reads image/data and image/mask of the train's frames, one slice ds[first:first+count]
     each per module (HDF5's filter pipeline inflates the mask); bad = mask != 0 or not finite
     (or flagged by -mask_file); photons = data/adu_per_photon where not bad, else 0
     (src/reader/direct.c MxReaderFinishRows);
  2. valid pixel = bad in no frame of the train;
  3. per q-ring: the valid ring pixels as an (nf x n) float32 matrix A; n, s1 = A.sum(1) (float64)
     and the Gram matrix A @ A.T (float32 BLAS, numpy picks ssyrk for A @ A.T; summed in float64
     over blocks of -corr_block = 4096 pixels, as MxCorrGramAccumulate);
  4. when the previous train read has the previous train ID: the pixels valid in both,
     X = A_prev @ A_cur.T and both sums (MxCorrCrossAccumulate);
  5. C_n = N G / (s1 s1^T) - 1 (MxCorrTwoTime), X = N x / (s1a s1b^T) - 1 (MxCorrCross),
     XC_n = mean over the neighbours present of (X + X^T)/2 (MxCorrXC); C_n - XC_n, C_n and XC_n
     summed over the trains with a neighbour (without -corr_xc 0: trains without one are left
     out); per train also g2 - 1 per age window and lag (MxCorrG2) and the contrast
     C(t,t) - N/s1(t) (MxCorrContrast), summed with their squares (analyze.c Finalise);
  6. SAXS: per frame, np.bincount of the corrected valid pixel values into the bins, and the
     pixel counts per bin; per-train bin means summed (analyze.c's SAXS accumulation);
  7. the mean image: photons of the valid pixels summed over frames, frames counted, per pixel.

Not done (mxpcs does it outside the per-train loop): the intensity/XGM pre-filter (mxpcs reads an
8-row band per module and train and the XGM before its loop; this script takes the trains it
dropped from RESULTS_H5 instead), the fits, writing the results.

Output: one line, `numpy pipeline: T trains, F frames, X.XX s in the train loop, Y.YY GB of
frames read`, T = trains read in the loop, F = T x nf, GB = T x nf x pixels read x 4 bytes of
float32 frames (the definition of mxpcs's -analyze_bench "GB of frames"; the masks, read as well,
are not counted). With --check it then prints how its means compare with RESULTS_H5's.
One process, one thread (numpy's BLAS limited to one thread unless OPENBLAS_NUM_THREADS is set)."""
import os
import re
import sys
import time

# One BLAS thread unless OPENBLAS_NUM_THREADS says otherwise, as mxpcs does (src/app/main.c): the
# Gram matrices here are (nf x nf) over a few thousand pixels, too small for threads to pay (with
# Debian's pthread OpenBLAS on 2 cores the loop was 25 % slower and spun the second core).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mxschema  # noqa: E402  the results schema: the paths of mxpcs's files
S = mxschema.load()

NSS, NFS = 512, 128
MODPIX = NSS * NFS
FILE_RE = re.compile(r"^(RAW|CORR)-R[0-9]{4}-.+-S[0-9]{5}\.h5$")
SRC_RE = re.compile(r"^INSTRUMENT/([^/]*_AGIPD1M[^/]*)/(DET|CORR)/([0-9]+)CH0:(xtdf|output)/image$")


def parse_options(s):
    """mxpcs's options string ('-name value -flag ...') as {name: value or ''}."""
    opts, tok = {}, s.split()
    i = 0
    while i < len(tok):
        t = tok[i]
        if t.startswith("-") and len(t) > 1 and not re.match(r"^-[0-9.]", t):
            v = ""
            if i + 1 < len(tok) and not (tok[i + 1].startswith("-") and not re.match(r"^-[0-9.]", tok[i + 1])):
                v = tok[i + 1]
                i += 1
            opts[t[1:]] = v
        i += 1
    return opts


def opt_bool(opts, name, default):
    if name not in opts:
        return default
    return opts[name].lower() not in ("0", "false", "no", "off")


def opt_range(opts, name):
    if not opts.get(name):
        return None
    a, b = opts[name].split(":")
    return int(a), int(b)


def resolve_run_dir(d):
    """A directory without run files but one proc/r#### (or raw/r####) inside stands for that run
    (src/reader/scan.c ResolveRunDir)."""
    if any(FILE_RE.match(n) for n in os.listdir(d)):
        return d
    for kind in ("proc", "raw"):
        sub = os.path.join(d, kind)
        if os.path.isdir(sub):
            rs = [n for n in os.listdir(sub) if re.match(r"^r[0-9]{4}$", n)]
            if len(rs) == 1:
                return os.path.join(sub, rs[0])
    return d


def scan_run(run_dir, skip_suspect):
    """The run's AGIPD module sources and, per module, {train ID: (file, source, first, count)};
    the trains kept (those whose modules agree on the run's frames per train) and that count."""
    d = resolve_run_dir(run_dir)
    slots, flags = {}, {}
    for name in sorted(n for n in os.listdir(d) if FILE_RE.match(n)):
        path = os.path.join(d, name)
        with h5py.File(path, "r") as f:
            ver = f["METADATA/dataFormatVersion"][0].decode() if "METADATA/dataFormatVersion" in f else "0.5"
            ds = "METADATA/dataSourceId" if ver == "0.5" else "METADATA/dataSources/dataSourceId"
            srcs, iscorr = {}, {}
            for s in f[ds][()]:
                s = s.decode() if isinstance(s, bytes) else s
                m = SRC_RE.match(s)
                if not m:
                    continue
                mod, corr = int(m.group(3)), m.group(2) == "CORR"
                if mod < 0 or mod > 15 or (mod in srcs and (iscorr[mod] or not corr)):
                    continue
                srcs[mod], iscorr[mod] = s[len("INSTRUMENT/"):-len("/image")], corr
            if not srcs:
                continue
            tid = f["INDEX/trainId"][()]
            nz = np.flatnonzero(tid == 0)
            n = int(nz[0]) if len(nz) else len(tid)
            major, minor = (int(x) for x in (ver.split(".") + ["0"])[:2])
            fl = np.ones(n, bool)
            if major >= 1 and "INDEX/flag" in f and len(f["INDEX/flag"]) >= n:
                raw = f["INDEX/flag"][:n]
                fl = (raw == 0) if (major, minor) == (1, 1) else (raw != 0)
            for mod, src in srcs.items():
                shape = f["INSTRUMENT/%s/image/data" % src].shape
                if len(shape) != 3:
                    sys.exit("bench_numpy_analyze: %s: %s/image/data has shape %s: only corrected (N,512,128) runs" % (path, src, shape))
                if major >= 1:
                    first = f["INDEX/%s/image/first" % src][:n]
                    count = f["INDEX/%s/image/count" % src][:n]
                else:
                    first = f["INDEX/%s/image/first" % src][:n]
                    last = f["INDEX/%s/image/last" % src][:n]
                    status = f["INDEX/%s/image/status" % src][:n]
                    count = np.where(status != 0, last - first + 1, 0)
                sm = slots.setdefault(mod, {})
                prev_t = 0
                for t, a, c, g in zip(tid[:n].tolist(), first.tolist(), count.tolist(), fl.tolist()):
                    if t <= prev_t:  # not increasing: skipped, as the scan does
                        continue
                    prev_t = t
                    if t not in sm:  # a train again in a later file: the first occurrence
                        sm[t] = (path, src, int(a), int(c))
                    if not g:
                        flags[t] = False
    if not slots:
        sys.exit("bench_numpy_analyze: no AGIPD-1M module sources in %s" % d)
    trains = sorted(set().union(*[set(s) for s in slots.values()]))
    per_train = []
    hist = {}
    for t in trains:
        counts = {s[t][3] for s in slots.values() if t in s and s[t][3]}
        per_train.append(counts)
        if len(counts) == 1:
            c = next(iter(counts))
            hist[c] = hist.get(c, 0) + 1
    frames = max(hist, key=hist.get) if hist else 0
    kept = [t for t, c in zip(trains, per_train) if c == {frames} and not (skip_suspect and not flags.get(t, True))]
    return slots, kept, frames


def pixel_maps(res, run_dir, mods):
    """Per-pixel q (1/A) and the correction 1/G of the modules read (see the module docstring)."""
    qd = res.get(S.path('QMAP'))
    if qd is not None and "q_map" in qd:
        q = np.stack([qd["q_map"][m] for m in mods]).astype(np.float64)
        if "solid_angle_map" in qd and "polarization_map" in qd:
            det = res[S.path('DETECTOR_OLD')]
            px, D = float(det["x_pixel_size"][()]), float(det["distance"][()])
            G = np.stack([qd["solid_angle_map"][m] / (px * px / (D * D)) * qd["polarization_map"][m] for m in mods])
        else:
            G = np.ones_like(q)
        return q, G, "results q_map"
    tpath = os.path.join(run_dir, "truth.h5")
    if os.path.exists(tpath):
        with h5py.File(tpath, "r") as t:
            if S.path("TRUTH_DETECTOR_Q_MAP") in t:
                tm = t[S.path("TRUTH_DETECTOR_MODULES")][()].tolist()
                if all(m in tm for m in mods):
                    q = np.stack([t[S.path("TRUTH_DETECTOR_Q_MAP")][tm.index(m)] for m in mods]).astype(np.float64)
                    G = np.stack([t[S.path("TRUTH_DETECTOR_GEOM_FACTOR")][tm.index(m)] for m in mods]).astype(np.float64) if S.path("TRUTH_DETECTOR_GEOM_FACTOR") in t else np.ones_like(q)
                    return q, G, "truth.h5"
    # No per-pixel q anywhere: weight 1 and a placeholder "q" (the pixel index), so that every
    # pixel read is binned into the same number of bins; SAXS values are then meaningless.
    q = np.arange(len(mods) * MODPIX, dtype=np.float64).reshape(len(mods), NSS, NFS)
    return q, np.ones_like(q), "placeholder"


class Slots:
    """h5py datasets opened once; a module's frames of one train, read with one slice each."""

    def __init__(self):
        self.files, self.ds = {}, {}

    def datasets(self, path, src):
        key = (path, src)
        if key not in self.ds:
            f = self.files.get(path) or self.files.setdefault(path, h5py.File(path, "r"))
            g = f["INSTRUMENT/%s/image" % src]
            self.ds[key] = (g["data"], g["mask"] if "mask" in g else None)
        return self.ds[key]

    def close(self):
        for f in self.files.values():
            f.close()


def main():
    args = [a for a in sys.argv[1:] if a != "--check"]
    check = "--check" in sys.argv[1:]
    if len(args) != 2:
        sys.exit(__doc__.split("\n\n")[0] + "\nusage: bench_numpy_analyze.py RUN_DIR RESULTS_H5 [--check]")
    run_dir, res_path = args

    # ------------------------------------------------------------------ set-up from RESULTS_H5
    res = h5py.File(res_path, "r")
    opts = parse_options(res[S.path('PROCESS_OPTIONS')][()].decode())
    roi = res[S.path('QMAP_ROI_MAP')][()]
    nring, nf = res[S.path('TWOTIME_C')].shape[:2]
    xc_on = opt_bool(opts, "corr_xc", True)
    block = int(opts.get("corr_block") or 4096)
    nbins = int(opts.get("saxs_nbins") or 200)
    sq_lo, sq_hi = float(opts.get("saxs_q_min") or 0), float(opts.get("saxs_q_max") or 0)
    scale = np.float32(1.0 / float(opts.get("reader_adu_per_photon") or 1.0))
    dropped = set()
    for k in ("intensity", "xgm", "unreadable"):
        p = S.path("META_IDS_DROPPED_" + k.upper())
        if p in res:
            dropped.update(res[p][()].tolist())
    ntau = res[S.path('G2_TAU')].shape[0]
    win_len = ntau + 1
    dt = float(res[S.path("DETECTOR_FRAME_TIME")][()])
    win_start = [int(round(a / dt - (win_len - 1) / 2)) for a in res[S.path('G2_AGE')][()]]

    slots, trains, frames_run = scan_run(run_dir, opt_bool(opts, "reader_skip_suspect", False))
    present = sorted(m for m, s in slots.items() if any(s[t][3] for t in trains if t in s))
    if opts.get("reader_modules"):
        present = [int(m) for m in opts["reader_modules"].split(",")]
    trains = [t for t in trains if any(t in slots[m] and slots[m][t][3] for m in present)]
    r = opt_range(opts, "reader_trains")
    if r:
        trains = trains[r[0]:r[1] + 1]
    r = opt_range(opts, "reader_train_ids")
    if r:
        trains = [t for t in trains if r[0] <= t <= r[1]]
    trains = [t for t in trains if t not in dropped]
    # the modules read: those of the run holding ring pixels
    mods = [m for m in present if (roi[m] > 0).any()]
    nmod = len(mods)

    # frames of the train: the run's pattern with -reader_pulses (by position or cellId)
    sel = np.arange(frames_run)
    pr = opt_range(opts, "reader_pulses")
    if pr:
        if opts.get("reader_pulse_by", "index") == "cell":
            m0 = mods[0]
            path, src, a, c = slots[m0][trains[0]]
            with h5py.File(path, "r") as f:
                cid = f["INSTRUMENT/%s/image/cellId" % src][a:a + c].astype(np.int64).ravel()
            sel = np.flatnonzero((cid >= pr[0]) & (cid <= pr[1]))
        else:
            sel = sel[pr[0]:pr[1] + 1]
    all_frames = len(sel) == frames_run
    if len(sel) != nf:
        sys.exit("bench_numpy_analyze: %d frames per train selected, %s has %d" % (len(sel), res_path, nf))

    umask = None
    if opts.get("mask_file"):
        with h5py.File(opts["mask_file"], "r") as f:
            umask = np.stack([f["mask"][m] != 0 for m in mods]).reshape(nmod, MODPIX)

    # per-pixel q and correction; SAXS grid and bin of every pixel read (MxAnalyzeSetUp)
    q, G, qsrc = pixel_maps(res, run_dir, mods)
    q = q.reshape(nmod, MODPIX)
    G = G.reshape(nmod, MODPIX)
    okG = np.isfinite(q) & np.isfinite(G) & (G > 0)
    corr = np.where(okG, 1.0 / np.where(okG, G, 1.0), 0.0).astype(np.float32)
    roi_l = np.stack([roi[m].reshape(MODPIX) for m in mods])

    # rows read per module: all of them, unless the SAXS q range is bounded
    ss0, ss1 = np.zeros(nmod, int), np.full(nmod, NSS)
    if sq_lo > 0 or sq_hi > 0:
        for i in range(nmod):
            inq = okG[i].copy()
            if sq_lo > 0:
                inq &= q[i] >= sq_lo
            if sq_hi > 0:
                inq &= q[i] < sq_hi
            need = (roi_l[i] > 0) | inq
            rows = np.flatnonzero(need.reshape(NSS, NFS).any(1))
            ss0[i], ss1[i] = rows[0], rows[-1] + 1
    offs = np.concatenate([[0], np.cumsum((ss1 - ss0) * NFS)])
    npix = int(offs[-1])

    def local(a):  # per-module (nmod, MODPIX) map -> the pixels read, concatenated
        return np.concatenate([a[i, ss0[i] * NFS:ss1[i] * NFS] for i in range(nmod)])

    q_l, corr_l, roi_r = local(q), local(corr), local(roi_l)
    um_l = local(umask) if umask is not None else None
    good = corr_l > 0
    qlo = sq_lo if sq_lo > 0 else q_l[good].min()
    qhi = sq_hi if sq_hi > 0 else q_l[good].max() * (1 + 1e-12)
    with np.errstate(invalid="ignore"):
        b = np.floor((q_l - qlo) / (qhi - qlo) * nbins)
    sbin_ok = good & (b >= 0) & (b < nbins)
    if um_l is not None:
        sbin_ok &= ~um_l
    # every pixel read gets a bin (0 for the pixels outside the SAXS set) and a weight (0 there),
    # so that a train's SAXS is one multiply and one bincount per frame over the frame's pixels
    saxs_bin = np.where(sbin_ok, b, 0).astype(np.intp)
    saxs_w = np.where(sbin_ok, corr_l, 0).astype(np.float32)
    ring_pix = [np.flatnonzero(roi_r == k + 1) for k in range(nring)]

    # g2 windows: flat indices of the pairs (t1, t1 + tau) of each window and lag, for reduceat
    pairs, starts, npairs = [], [], []
    for s in win_start:
        lo, hi = max(s, 0), min(s + win_len, nf)
        for tau in range(1, ntau + 1):
            t1 = np.arange(lo, max(hi - tau, lo))
            starts.append(len(pairs))
            npairs.append(len(t1))
            pairs.extend((t1 * nf + t1 + tau).tolist())
    pairs = np.array(pairs, dtype=np.intp)
    npairs = np.array(npairs, dtype=np.float64)
    starts = np.minimum(np.array(starts, dtype=np.intp), max(len(pairs) - 1, 0))  # empty segments: NaN below
    g2_has = npairs > 0

    # accumulators
    sumC = np.zeros((nring, nf, nf))
    sumCraw = np.zeros((nring, nf, nf))
    sumXC = np.zeros((nring, nf, nf))
    g2sum = np.zeros((nring, len(npairs)))
    g2sq = np.zeros_like(g2sum)
    bsum, bsq = np.zeros(nring), np.zeros(nring)
    saxs = np.zeros((3, nbins, nf))       # sum of per-train bin means, their squares, trains
    saxs_run = np.zeros((3, nbins))
    img_sum = np.zeros(npix)
    img_n = np.zeros(npix)
    stats = {"used": 0, "left_out": 0}

    def gram(A):
        n = A.shape[1]
        if n <= block:
            return (A @ A.T).astype(np.float64)
        g = np.zeros((nf, nf))
        for p0 in range(0, n, block):
            Ab = np.ascontiguousarray(A[:, p0:p0 + block])
            g += Ab @ Ab.T
        return g

    def cross(Ap, Ac):
        n = Ap.shape[1]
        if n <= block:
            return (Ap @ Ac.T).astype(np.float64)
        x = np.zeros((nf, nf))
        for p0 in range(0, n, block):
            x += np.ascontiguousarray(Ap[:, p0:p0 + block]) @ np.ascontiguousarray(Ac[:, p0:p0 + block]).T
        return x

    def finalise(rs, Xm, Xp):
        """Train n is complete once X(n, n+1) is known: C_n - XC_n into the sums, g2 and contrast."""
        if Xm is None and Xp is None and xc_on:
            stats["left_out"] += 1
            return
        N, s1, g = rs
        C = N[:, None, None] * g / (s1[:, :, None] * s1[:, None, :]) - 1.0
        if xc_on:
            xs = [x + x.transpose(0, 2, 1) for x in (Xm, Xp) if x is not None]
            XC = (0.25 if len(xs) == 2 else 0.5) * sum(xs)
        else:
            XC = np.zeros_like(C)
        sumCraw[...] += C
        sumXC[...] += XC
        C -= XC
        sumC[...] += C
        if len(pairs):
            Cf = C.reshape(nring, nf * nf)[:, pairs]
            g2 = np.add.reduceat(Cf, starts, axis=1) / np.where(g2_has, npairs, 1.0)
            g2[:, ~g2_has] = np.nan
            g2sum[...] += g2
            g2sq[...] += g2 * g2
        beta = np.diagonal(C, axis1=1, axis2=2) - N[:, None] / s1
        bm = beta.mean(1)
        bsum[...] += bm
        bsq[...] += bm * bm
        stats["used"] += 1

    io = Slots()
    nread = 0
    prev = None          # (train ID, photons, valid) of the previous train read
    pending = None       # (ring sums, X with its predecessor) of the train awaiting its successor

    # ------------------------------------------------------------------ the train loop
    t_loop = time.perf_counter()
    for t in trains:
        # 1. frames and masks of the modules read, one slice per dataset
        ph = np.empty((nf, npix), dtype=np.float32)
        valid = np.empty(npix, dtype=bool)
        for i, m in enumerate(mods):
            o0, o1 = offs[i], offs[i + 1]
            s = slots[m].get(t)
            if s is None or not s[3]:  # no data for this module in this train: all bad
                ph[:, o0:o1] = 0
                valid[o0:o1] = False
                continue
            dset, mset = io.datasets(s[0], s[1])
            a, c = s[2], s[3]
            if ss0[i] == 0 and ss1[i] == NSS:
                d = dset[a:a + c]
                k = mset[a:a + c] if mset is not None else None
            else:
                d = dset[a:a + c, ss0[i]:ss1[i]]
                k = mset[a:a + c, ss0[i]:ss1[i]] if mset is not None else None
            if not all_frames:
                d = d[sel]
                k = k[sel] if k is not None else None
            d = d.reshape(nf, -1)
            bad = ~np.isfinite(d)
            if k is not None:
                bad |= k.reshape(nf, -1) != 0
            if um_l is not None:
                bad |= um_l[o0:o1]
            if scale != 1:
                d *= scale
            np.copyto(d, 0, where=bad)
            ph[:, o0:o1] = d
            # 2. valid in every frame of the train
            valid[o0:o1] = ~bad.any(axis=0)
        nread += 1

        # 3./4. per ring: N, s1, Gram; cross term with the previous train when consecutive
        consecutive = prev is not None and t == prev[0] + 1
        N = np.empty(nring)
        s1 = np.empty((nring, nf))
        g = np.empty((nring, nf, nf))
        X = np.empty((nring, nf, nf)) if consecutive else None
        for r, rp in enumerate(ring_pix):
            v = valid[rp]
            idx = rp[v]
            A = ph.take(idx, axis=1)
            N[r] = len(idx)
            s1[r] = A.sum(axis=1, dtype=np.float64)
            g[r] = gram(A)
            if consecutive:
                both = v & prev[2][rp]
                if np.array_equal(both, v):
                    Ac = A
                    idx2 = idx
                else:
                    idx2 = rp[both]
                    Ac = ph.take(idx2, axis=1)
                Ap = prev[1].take(idx2, axis=1)
                s1a = Ap.sum(axis=1, dtype=np.float64)
                s1b = Ac.sum(axis=1, dtype=np.float64)
                # 5. the neighbour-train X (MxCorrCross)
                X[r] = len(idx2) * cross(Ap, Ac) / np.outer(s1a, s1b) - 1.0
        # 5. the previous train is complete now that X(t-1, t) is known
        if pending is not None:
            finalise(pending[0], pending[1], X)
        pending = ((N, s1, g), X)

        # 6. SAXS: per frame, the corrected intensities of the valid pixels into the bins
        #    (invalid pixels and pixels without a bin have weight 0: they add nothing)
        ok = valid & sbin_ok
        vals = ph * (saxs_w * ok)
        cnt = np.bincount(saxs_bin, weights=ok, minlength=nbins)
        ssum = np.empty((nbins, nf))
        for f in range(nf):
            ssum[:, f] = np.bincount(saxs_bin, weights=vals[f], minlength=nbins)
        has = cnt > 0
        m = ssum[has] / cnt[has, None]
        saxs[0, has] += m
        saxs[1, has] += m * m
        saxs[2, has] += 1
        mr = ssum[has].sum(1) / (cnt[has] * nf)
        saxs_run[0, has] += mr
        saxs_run[1, has] += mr * mr
        saxs_run[2, has] += 1

        # 7. the mean image
        img_sum += ph.sum(axis=0, dtype=np.float64) * valid
        img_n += nf * valid

        prev = (t, ph, valid)
    if pending is not None:  # the last train has no successor
        finalise(pending[0], pending[1], None)
    t_loop = time.perf_counter() - t_loop
    io.close()

    gb = nread * nf * npix * 4 / 1e9
    print("numpy pipeline: %d trains, %d frames, %.2f s in the train loop, %.2f GB of frames read" % (nread, nread * nf, t_loop, gb))
    sys.stdout.flush()

    if check:
        n = max(stats["used"], 1)
        Cm, Crawm, XCm = sumC / n, sumCraw / n, sumXC / n
        C_mx, Craw_mx, XC_mx = (res[S.path(k)][()] for k in ("TWOTIME_C", "TWOTIME_C_RAW", "TWOTIME_XC"))
        print("check: q/G from %s; modules read %s; %d trains used in C (mxpcs: %d), %d left out without a neighbour"
              % (qsrc, mods, stats["used"], len(res[S.path('META_TRAIN_IDS')]), stats["left_out"]))

        def rel(a, b):
            fin = np.isfinite(b)
            d, m = np.max(np.abs(a[fin] - b[fin])), np.max(np.abs(b[fin]))
            return d / m if m > 0 else d

        for k in range(nring):
            print("check: ring %d: C - XC max|diff|/max|C| = %.2e (mean C %.6f vs %.6f), C_raw %.2e, XC %.2e"
                  % (k, rel(Cm[k], C_mx[k]), Cm[k].mean(), C_mx[k].mean(), rel(Crawm[k], Craw_mx[k]), rel(XCm[k], XC_mx[k])))
        g2 = g2sum / n + 1.0
        g2_mx = res[S.path('G2_G2')][()].reshape(nring, -1)
        print("check: g2 (all rings, windows, lags): max|diff| = %.2e" % np.nanmax(np.abs(g2 - g2_mx)))
        beta_mx = res[S.path('CONTRAST_BETA')][()]
        print("check: contrast beta (mean over trains): %s vs %s"
              % (np.round(bsum / n, 4), np.round(beta_mx, 4)))
        I = np.where(saxs_run[2] > 0, saxs_run[0] / np.maximum(saxs_run[2], 1), np.nan)
        I_mx = res[S.path('SAXS_I')][()]
        sq_mx = res[S.path('SAXS_Q')][()]
        qc = qlo + (np.arange(nbins) + 0.5) * (qhi - qlo) / nbins
        both = np.isfinite(I) & np.isfinite(I_mx) & (I_mx != 0)
        print("check: SAXS grid centres max|diff| %.2e 1/A; I(q) max rel diff %.2e over %d bins"
              % (np.max(np.abs(qc - sq_mx)) if len(sq_mx) == nbins else np.nan,
                 np.max(np.abs(I[both] / I_mx[both] - 1)) if both.any() else np.nan, both.sum()))
        img = np.where(img_n > 0, img_sum / np.maximum(img_n, 1), np.nan)
        im_mx = res[S.path('SAXS_IMAGE')][()]
        im_mods = res[S.path('SAXS_IMAGE_MODULES')][()].tolist()
        d = []
        for i, m in enumerate(mods):
            a = img[offs[i]:offs[i + 1]]
            b_ = im_mx[im_mods.index(m)].reshape(-1)[ss0[i] * NFS:ss1[i] * NFS]
            f = np.isfinite(a) & np.isfinite(b_)
            d.append(np.max(np.abs(a[f] - b_[f])) if f.any() else 0.0)
        print("check: mean image max|diff| %.2e photons/pixel/pulse" % max(d))
    res.close()


if __name__ == "__main__":
    main()
