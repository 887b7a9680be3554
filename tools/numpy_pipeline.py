#!/usr/bin/python3
"""The baseline of tools/bench_analyze.sh: mxpcs analyze's train loop written as a beamline
scientist would in Python, with h5py, numpy and BLAS (numpy's matmul), on the same files.

Per train, for the modules that hold ring pixels (mxpcs reads every row of them): read
image/data and image/mask of the train's frames (one h5py slice each, through HDF5's filter
pipeline), photons = data where the mask is 0 and the value finite, else 0; the pixels valid in
every frame; per q-ring the pixel count, the per-frame sums and the Gram matrix of the valid ring
pixels (float32 matmul, summed in float64); the cross term with the previous train when the train
IDs are consecutive (pixels valid in both); the two-time C and the neighbour-train XC as in
src/corr/kernels.c, C - XC averaged over trains; SAXS bin sums per frame (np.bincount over the
corrected intensities of the valid pixels, mxpcs's 200-bin grid); the mean detector image.
usage: numpy_pipeline.py RUN_DIR RESULTS.h5 QMAP.h5
  RESULTS.h5: mxpcs analyze's output on RUN_DIR (the ring map /xpcs/qmap/roi_map, the SAXS grid,
  and its C to check against); QMAP.h5: mxpcs qmap with the same geometry (per-pixel q, solid
  angle, polarisation).
Prints the time of the train loop and the agreement of the mean C with mxpcs's."""
import glob, os, sys, time
import h5py, numpy as np

t_start = time.time()
run, res_path, qmap_path = sys.argv[1:4]
with h5py.File(res_path, 'r') as f:
    roi = f['xpcs/qmap/roi_map'][...]
    C_mx = f['xpcs/twotime/C'][...]
    sq = f['xpcs/saxs/q'][...]
    tids_used = set(f['xpcs/meta/train_ids'][...].tolist())
with h5py.File(qmap_path, 'r') as f:
    qmap = f['xpcs/qmap/q_map'][...]
    sa = f['xpcs/qmap/solid_angle_map'][...]
    pol = f['xpcs/qmap/polarization_map'][...]
    dist = float(f['entry/instrument/detector/distance'][()])
    px = float(f['entry/instrument/detector/x_pixel_size'][()])
nring = int(roi.max())
mods = [m for m in range(16) if (roi[m] > 0).any()]

# the files of each module (CORR sequence files) and, per train, (file, first, count)
index = {}
for m in mods:
    for fn in sorted(glob.glob(os.path.join(run, 'proc', '*', 'CORR-*-AGIPD%02d-S*.h5' % m))):
        f = h5py.File(fn, 'r')
        src = 'INSTRUMENT/MID_DET_AGIPD1M-1/CORR/%dCH0:output/image' % m
        isrc = 'INDEX/MID_DET_AGIPD1M-1/CORR/%dCH0:output/image' % m
        tid = f['INDEX/trainId'][...]
        first, count = f[isrc + '/first'][...], f[isrc + '/count'][...]
        for t, a, n in zip(tid, first, count):
            if t and n:
                index.setdefault(int(t), {})[m] = (f[src + '/data'], f[src + '/mask'], int(a), int(n))
trains = sorted(t for t in index if len(index[t]) == len(mods))

# per-pixel set-up over the stacked ring modules
npix = len(mods) * 512 * 128
roi_l = np.concatenate([roi[m].ravel() for m in mods])
ring_idx = [np.flatnonzero(roi_l == r + 1) for r in range(nring)]
G_rel = np.concatenate([(sa[m] / (px * px / dist ** 2) * pol[m]).ravel() for m in mods])
q_l = np.concatenate([qmap[m].ravel() for m in mods])
corr = np.where(G_rel > 0, 1.0 / np.where(G_rel > 0, G_rel, 1), 0).astype(np.float32)
dq = sq[1] - sq[0]
qlo = sq[0] - dq / 2
nbins = len(sq)
sbin = np.floor((q_l - qlo) / dq).astype(np.int64)
saxs_ok = (corr > 0) & (sbin >= 0) & (sbin < nbins)

nf = None
sumC = np.zeros((nring,) + C_mx.shape[1:])
saxs_sum = None
img_sum = np.zeros(npix)
img_n = np.zeros(npix)
nbytes = 0


def two_time(N, s1, g):
    return N * g / np.outer(s1, s1) - 1


prev = None          # (frames, valid) of the previous train
pending = None       # the previous train's ring sums and its cross term with the one before
used = 0
t_loop = time.time()
for it, t in enumerate(trains):
    parts, bads = [], []
    for m in mods:
        dset, mset, a, n = index[t][m]
        d = dset[a:a + n]
        k = mset[a:a + n]
        nbytes += d.nbytes + k.nbytes
        bad = (k != 0) | ~np.isfinite(d)
        parts.append(np.where(bad, np.float32(0), d).reshape(n, -1))
        bads.append(bad.reshape(n, -1))
    frames = np.concatenate(parts, axis=1)
    bad = np.concatenate(bads, axis=1)
    nf = frames.shape[0]
    valid = ~bad.any(axis=0)
    # ring sums and Gram matrices
    rs = []
    for r in range(nring):
        idx = ring_idx[r][valid[ring_idx[r]]]
        A = frames[:, idx]
        rs.append((len(idx), A.sum(axis=1, dtype=np.float64), (A @ A.T).astype(np.float64)))
    # cross term with the previous train
    X = None
    if prev is not None and t == prev[2] + 1:
        X = []
        both = valid & prev[1]
        for r in range(nring):
            idx = ring_idx[r][both[ring_idx[r]]]
            A, B = prev[0][:, idx], frames[:, idx]
            x = (A @ B.T).astype(np.float64)
            X.append(len(idx) * x / np.outer(A.sum(1, dtype=np.float64), B.sum(1, dtype=np.float64)) - 1)
    # train t-1 is complete: C - XC with XC = mean of the symmetrised cross terms on each side
    if pending is not None:
        rs_p, Xm = pending
        for r in range(nring):
            C = two_time(*rs_p[r])
            xs = [0.5 * (x[r] + x[r].T) for x in (Xm, X) if x is not None]
            if xs:
                sumC[r] += C - sum(xs) / len(xs)
        used += 1
    pending = (rs, X)
    # SAXS: per frame and bin, the corrected intensity of the valid pixels
    sel = saxs_ok & valid
    b = sbin[sel]
    w = corr[sel]
    flat = (np.arange(nf)[:, None] * nbins + b[None, :]).ravel()
    s = np.bincount(flat, weights=(frames[:, sel] * w).ravel(), minlength=nf * nbins).reshape(nf, nbins)
    saxs_sum = s if saxs_sum is None else saxs_sum + s
    # the mean image
    img_sum += np.where(valid, frames.sum(axis=0, dtype=np.float64), 0)
    img_n += valid * nf
    prev = (frames, valid, t)
if pending is not None and pending[1] is not None:
    rs_p, Xm = pending
    for r in range(nring):
        sumC[r] += two_time(*rs_p[r]) - 0.5 * (Xm[r] + Xm[r].T)
    used += 1
t_loop = time.time() - t_loop
Cm = sumC / max(used, 1)
rel = np.nanmax(np.abs(Cm[0] - C_mx[0])) / np.nanmax(np.abs(C_mx[0]))
print('numpy pipeline: %d trains, %d frames, %.2f s in the train loop (%.2f s in all), %.2f GB of frames and masks read; '
      'mean C - XC of ring 0 against mxpcs: max |diff| %.2g of max |C|'
      % (len(trains), len(trains) * nf, t_loop, time.time() - t_start, nbytes / 1e9, rel))
