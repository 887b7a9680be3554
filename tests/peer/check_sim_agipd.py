#!/usr/bin/python3
"""mxpcs simulate -sim_detector agipd writes what EuXFEL's calibration writes, and its truth says
what each correction must give back (issue 13). usage: check_sim_agipd.py WORKDIR

Five runs of the same seed: A agipd with the defaults (keV, artifacts on), B ideal without
artifacts (the photon counts), C agipd in photons with every effect off, D as C with charge
sharing, E ideal with artifacts (A's photons through the memory-cell pattern). Checked: A's
image.data is keV with a one-photon peak near the photon energy, image.gain uint8 and 1 exactly
above the medium-gain signal, the mask bits of dead, hot and wide pixels; A's common mode per
frame and ASIC, the median of its empty pixels, is truth's within its error; C's data equal B's
bitwise, D's frames sum to B's (the charge is conserved), and the count statistics in truth.h5
are those of ideal with the same -sim_artifacts; A's -sim_clean_copy (A/clean) holds E's photons
with A's mask."""
import atexit, os, shutil, subprocess, sys
import h5py, numpy as np

work = sys.argv[1]
mx, mpiexec = os.environ['MXPCS'], os.environ['MPIEXEC']
base = ['-sim_modules', '3', '-sim_trains', '4', '-sim_pulses', '10', '-sim_compress', '1', '-sim_seed', '7']
off = ['-sim_units', 'photons', '-sim_gain_error', '0', '-sim_offset_residual', '0', '-sim_common_mode', '0',
       '-sim_common_mode_cell', '0', '-sim_noise', '0', '-sim_charge_cloud_um', '0', '-sim_spike_rate', '0',
       '-sim_wide_pixels', 'false', '-sim_flag_wide', 'false', '-sim_dead_frac', '0', '-sim_hot_frac', '0']
runs = {'A': ['-sim_detector', 'agipd', '-sim_clean_copy'],
        'B': ['-sim_detector', 'ideal', '-sim_artifacts', 'false'],
        'C': ['-sim_detector', 'agipd', '-sim_artifacts', 'false'] + off,
        'D': ['-sim_detector', 'agipd', '-sim_artifacts', 'false'] + off + ['-sim_charge_cloud_um', '8'],
        'E': ['-sim_detector', 'ideal']}
dirs = {k: os.path.join(work, 'sim_agipd_' + k) for k in runs}
if os.environ.get('MX_KEEP_TESTDATA') != '1':   # the runs go when the test ends
    atexit.register(lambda: [shutil.rmtree(d, ignore_errors=True) for d in dirs.values()])
for k, o in runs.items():
    shutil.rmtree(dirs[k], ignore_errors=True)
    subprocess.run([mpiexec, '--oversubscribe', '-n', '2', mx, 'simulate', '-o', dirs[k]] + base + o, check=True,
                   stdout=subprocess.DEVNULL)

bad = []


def check(ok, what):
    print('%s %s' % ('ok  ' if ok else 'FAIL', what))
    if not ok:
        bad.append(what)


def image(k, sub=''):
    src = 'INSTRUMENT/MID_DET_AGIPD1M-1/CORR/3CH0:output/image/'
    with h5py.File(os.path.join(dirs[k], sub, 'proc/r0001/CORR-R0001-AGIPD03-S00000.h5'), 'r') as f:
        return {n: f[src + n][...] for n in ('data', 'mask', 'gain')}


a, b, c, dd, ee = image('A'), image('B'), image('C'), image('D'), image('E')
ta = h5py.File(os.path.join(dirs['A'], 'truth.h5'), 'r')
E = float(ta['params/energy_keV'][()])
np_, ntr = 10, 4
check(a['data'].dtype == np.float32 and a['mask'].dtype == np.uint32 and a['gain'].dtype == np.uint8,
      'image.data f4, image.mask u4, image.gain u1 (%s, %s, %s)' % (a['data'].dtype, a['mask'].dtype, a['gain'].dtype))
check(str(ta.attrs['units']) in ('keV', "b'keV'") and abs(ta['params/unit_scale'][()] - E) < 1e-12, 'units keV, %g per photon' % E)

# the common mode: truth's per frame and per (cell, ASIC) part, against the median of the empty
# pixels (no photon in the 3x3 neighbourhood, from B's counts) of each frame and ASIC
te = h5py.File(os.path.join(dirs['E'], 'truth.h5'), 'r')   # E: A's photons, through the cell pattern
k = np.rint((ee['data'] - te['detector/cell_offset'][0][np.arange(len(ee['data'])) % np_])
            / te['detector/cell_gain'][0][np.arange(len(ee['data'])) % np_]).astype(np.int64)
kp = np.pad(k, ((0, 0), (1, 1), (1, 1)))
empty = sum(kp[:, 1 + i:513 + i, 1 + j:129 + j] for i in (-1, 0, 1) for j in (-1, 0, 1)) == 0
cm = ta['detector/common_mode'][...][:, :, 0, :].reshape(ntr * np_, 16)      # (train*frame, ASIC)
cmc = np.tile(ta['detector/common_mode_cell'][0], (ntr, 1))                   # frames are cells 0..np-1
good = a['mask'] == 0
zs = []
for fr in range(ntr * np_):
    for asic in range(16):
        r0, c0 = 64 * (asic // 2), 64 * (asic % 2)
        sel = (empty[fr] & good[fr])[r0:r0 + 64, c0:c0 + 64]
        v = a['data'][fr, r0:r0 + 64, c0:c0 + 64][sel] / E
        if v.size < 30:
            continue
        med = np.median(v)
        sig = 1.4826 * np.median(np.abs(v - med))
        zs.append((med - cm[fr, asic] - cmc[fr, asic]) / (1.2533 * sig / np.sqrt(v.size)))
zs = np.array(zs)
check(len(zs) > 300 and np.abs(zs).max() < 5 and abs(zs.mean()) < 5 / np.sqrt(len(zs)),
      'common mode of %d frame-ASICs: median of the empty pixels - truth within %.1f sigma (< 5), mean %.2f, rms %.2f sigma'
      % (len(zs), np.abs(zs).max(), zs.mean(), zs.std()))
# the one-photon peak near E, once the common mode is out
d = a['data'] / E - (cm + cmc)[:, np.repeat(np.arange(8), 64)[:, None] * 2 + np.repeat(np.arange(2), 64)[None, :]]
h, e = np.histogram(d[good] * E, bins=np.arange(0.5 * E, 1.6 * E, 0.25))
peak = e[np.argmax(h)] + 0.125
check(abs(peak - E) < 0.1 * E, 'one-photon peak at %.2f keV (photon energy %g)' % (peak, E))
# gain stages: 1 exactly where the signal is above -sim_medium_gain_photons
thr = float(ta['params/medium_gain_photons'][()]) * E
ga, hi = a['gain'], a['data'] > thr
check(set(np.unique(ga)) <= {0, 1} and np.array_equal(ga == 1, hi | ((ga == 1) & np.isclose(a['data'], thr, rtol=1e-6))),
      'image.gain 1 above %g keV only (%d pixel-frames)' % (thr, int((ga == 1).sum())))
# the zingers: in the data, unflagged beyond the pixel's own static bits
spk = ta['detector/spikes'][...]
tid = ta['truth/train_ids'][...]
ok = len(spk) == int(ta['detector/spike_count'][()])
for t, n, mod, ss, fs, ph in spk:
    fr = int(np.searchsorted(tid, t)) * np_ + int(n)
    ok &= a['data'][fr, int(ss), int(fs)] > 0.8 * ph * E or bool(ta['detector/dead'][0, int(ss), int(fs)])
    ok &= a['mask'][fr, int(ss), int(fs)] == ta['detector/mask'][0, int(ss), int(fs)]
check(ok, '%d zingers in the data, not flagged (expected ~%.1f)' % (len(spk), 2e-6 * ntr * np_ * 65536))
# mask bits: the same in every frame as truth's; dead 14 + 0, hot 1, wide rows 22
m = ta['detector/mask'][0]
check(all(np.array_equal(a['mask'][i], m) for i in range(len(a['mask']))), 'mask of every frame = truth/detector/mask')
dead, hot = ta['detector/dead'][0].astype(bool), ta['detector/hot'][0].astype(bool)
check(dead.any() and hot.any() and np.all(m[dead] & 0x4001 == 0x4001) and np.all(m[hot] & 2 == 2)
      and not np.any(m[~dead] & 0x4001) and not np.any(m[~hot] & 2),
      'dead pixels (%d) bits 14 and 0, hot (%d) bit 1, no others' % (dead.sum(), hot.sum()))
rows = [r for r in range(512) if (r % 64 == 63 and r != 511) or (r % 64 == 0 and r != 0)]
wide = np.zeros((512, 128), bool)
wide[rows] = True
check(len(rows) == 14 and np.array_equal((m >> 22 & 1).astype(bool), wide)
      and np.array_equal(ta['detector/wide'][...].astype(bool), wide), 'wide rows %s flagged bit 22, only they' % rows[:3])
check(np.all(a['data'][:, dead] == 0), 'dead pixels read 0')
# -sim_clean_copy: A/clean holds the photons each pixel collected (E's counts, k above, where
# neither run flags the pixel), A's mask, high gain everywhere; a wide pixel's count is >= E's
ac = image('A', 'clean')
both = good & (ee['mask'] == 0)
check(ac['data'].dtype == np.float32 and np.array_equal(ac['data'][both], k[both].astype(np.float32))
      and np.array_equal(ac['mask'], a['mask']) and not ac['gain'].any()
      and np.all(ac['data'][:, wide & ~dead] >= k[:, wide & ~dead]) and ac['data'][:, wide].sum() > k[:, wide].sum(),
      '-sim_clean_copy: DIR/clean = the photons of ideal with artifacts on %d pixel-frames, A\'s mask, gain 0; wide pixels hold more' % both.sum())

# effects off: the photons of ideal, bitwise; the count statistics the same in every run
check(a['data'].shape == c['data'].shape and c['data'].tobytes() == b['data'].tobytes() and not c['mask'].any(),
      'agipd with every effect off, in photons = ideal, bitwise')
# charge sharing alone: the photons spread over their neighbours, each frame's sum conserved
sb, sd = b['data'].sum(axis=(1, 2), dtype=np.float64), dd['data'].sum(axis=(1, 2), dtype=np.float64)
hit = b['data'] > 0
split = np.mean(np.abs(dd['data'][hit] - b['data'][hit]) > 0.01)   # lost or got > 0.01 photons
check(np.allclose(sd, sb, rtol=1e-5) and 0.1 < split < 0.6,
      'charge cloud 8 um: the sum of every frame = its photons (max rel. diff %.1e); %.3f of the hit pixel-frames share > 0.01'
      % (np.max(np.abs(sd / sb - 1)), split))
tb, tc, td = (h5py.File(os.path.join(dirs[x], 'truth.h5'), 'r') for x in 'BCD')
for n in ('counts_mean', 'counts_beta', 'counts_beta_pooled', 'counts_fractions', 'counts_samples'):
    x, y = ta['truth/' + n][...], tb['truth/' + n][...]
    check(x.tobytes() == te['truth/' + n][...].tobytes() and y.tobytes() == tc['truth/' + n][...].tobytes() == td['truth/' + n][...].tobytes(),
          'truth/%s: agipd = ideal with artifacts, and agipd = ideal without them' % n)
k = b['data'].astype(np.int64)                       # B: the photon counts (ideal, no artifacts)
# the counts' truth describes B's counts (the standard-size pixels of the contrast bins)
q = ta['detector/q_map'][0]
edges = ta['truth/beta_q_edges'][...]
bins = np.digitize(q, edges) - 1
sel = (bins >= 0) & (bins < len(edges) - 1) & ~wide & (ta['detector/I_model'][0] > 0)
ksum = np.bincount(bins[sel], weights=k[:, sel].sum(axis=0), minlength=len(edges) - 1)
nsum = np.bincount(bins[sel], minlength=len(edges) - 1) * len(k)
mean = tb['truth/counts_mean'][...]
fin = nsum > 0
check(np.allclose(ksum[fin] / nsum[fin], mean[fin], rtol=1e-9, atol=1e-12) and np.allclose(tb['truth/counts_samples'][...], nsum),
      'truth/counts_mean = the counts of the ideal run per bin')
fr3 = ta['truth/counts_fractions'][...]
check(np.allclose(fr3[fin].sum(axis=1), 1) and np.all(fr3[fin] >= 0), 'fractions of 0, 1, 2+ photons add up to 1')
print('%d passed, %d failed' % (1 if not bad else 0, 1 if bad else 0))
sys.exit(1 if bad else 0)
