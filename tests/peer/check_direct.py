#!/usr/bin/python3
"""The direct read path (pread at the chunk addresses, libdeflate/ISA-L/zlib, mask chunks reused
when their bytes repeat, the reader thread) gives the same bits as HDF5's own filter path, on
every layout written here by h5py (an independent writer): contiguous, chunked per frame, chunked
per train, deflated at levels 1-9 with and without shuffle, masks that change between trains,
deflated data; layouts the direct path does not cover (fletcher32, another chunk shape, float64
data) go through HDF5 and still agree. Each layout is read with `mxpcs info -info_dump` (per
frame sums of the values and of the bad flags) with -reader_direct 0 and 1 (and the chunk
addresses from each file's whole chunk index or, -reader_chunk_index 0, looked up chunk by
chunk), and the path taken is checked on the reader's statistics line. Then `mxpcs analyze` results are compared bit for bit
(direct vs HDF5, thread vs none, the detector corrections on the reader thread, shared with the
main thread or all on it, 1/2/4 ranks with pixel parts against the same path at 1 rank),
and the peak memory of analyze must not grow with the number of trains (over 12 sequence files);
Open MPI's waits yield the core unless the user's environment says otherwise.
usage: check_direct.py DATADIR"""
import atexit, concurrent.futures, glob, itertools, os, re, shutil, subprocess, sys, tempfile
import h5py, numpy as np

data = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, '..', '..'))
mx, mpiexec, py = os.environ['MXPCS'], os.environ['MPIEXEC'], sys.executable
work = os.path.join(data, 'direct')
shutil.rmtree(work, True)
os.makedirs(work)
if os.environ.get('MX_KEEP_TESTDATA') != '1':
    atexit.register(shutil.rmtree, work, True)
fails = []


launches = itertools.count()


def run(args, np_=1, env=None):
    cmd = [mpiexec, '--oversubscribe', '-n', str(np_), mx] + args
    # launches run two or four at a time here: each its own Open MPI session directory (4.1
    # creates it with a check-then-mkdir that two launches at once can lose; tests/tests.cmake)
    base = os.path.join(os.environ.get('OMPI_MCA_orte_tmpdir_base', tempfile.gettempdir()), 'mx-l%d' % next(launches))
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ, OMPI_MCA_orte_tmpdir_base=base, **(env or {})))
    shutil.rmtree(base, True)
    if p.returncode:
        print(p.stdout[-3000:])
        raise SystemExit('FAIL: %s exited %d' % (' '.join(cmd), p.returncode))
    return p.stdout


base = os.path.join(work, 'base')
run(['simulate', '-sim_detector', 'ideal', '-sim_modules', '3,4', '-sim_trains', '6', '-sim_pulses', '10', '-sim_subpixels', '1',
     '-sim_trains_per_file', '4', '-sim_xgm', '0', '-o', base], 2)
NPULSE = 10


def relayout(name, data_kw, mask_kw, change_mask=False, data_dtype=None):
    """A copy of the base run whose image/data and image/mask are written again with h5py."""
    d = os.path.join(work, name)
    shutil.copytree(base, d)
    rng = np.random.default_rng(7)
    for fn in sorted(glob.glob(d + '/proc/*/CORR-*.h5')):
        with h5py.File(fn, 'r+') as f:
            src = [k for k in f['INSTRUMENT/MID_DET_AGIPD1M-1/CORR'].keys()][0]
            g = f['INSTRUMENT/MID_DET_AGIPD1M-1/CORR/%s/image' % src]
            v, m = g['data'][...], g['mask'][...]
            if change_mask:   # a few pixels flagged differently in each train, some cells unchanged
                for t in range(v.shape[0] // NPULSE):
                    for c in range(0, NPULSE, 2):
                        idx = rng.integers(0, 512 * 128, 50)
                        m[t * NPULSE + c].flat[idx] = 1 << (t % 20)
            if data_dtype is not None:
                v = v.astype(data_dtype)
            del g['data'], g['mask']
            g.create_dataset('data', data=v, **data_kw)
            g.create_dataset('mask', data=m, **mask_kw)
    return d


F = dict(chunks=(1, 512, 128))
layouts = [
    ('contiguous', dict(), dict(), 'direct'),
    ('frame', F, F, 'direct'),
    ('train', dict(chunks=(NPULSE, 512, 128)), dict(chunks=(NPULSE, 512, 128)), 'direct'),
    ('train_deflate', dict(chunks=(NPULSE, 512, 128), compression='gzip', compression_opts=1),
     dict(chunks=(NPULSE, 512, 128), compression='gzip', compression_opts=6, shuffle=True), 'direct'),
    ('data_deflate', dict(F, compression='gzip', compression_opts=1, shuffle=True), dict(F), 'direct'),
]
for lev in range(1, 10):
    layouts.append(('mask_deflate%d' % lev, F, dict(F, compression='gzip', compression_opts=lev, shuffle=lev % 2 == 0), 'direct'))
layouts += [
    ('mask_changing', F, dict(F, compression='gzip', compression_opts=1), 'direct', True),
    ('fletcher32', F, dict(F, compression='gzip', compression_opts=1, fletcher32=True), 'hdf5'),
    ('half_chunks', dict(chunks=(1, 256, 128)), F, 'hdf5'),
    ('float64', dict(F), dict(F), 'hdf5', False, np.float64),
]

stats_re = re.compile(r'\[rank 0\] read .* \((\d+) module row ranges direct, (\d+) through HDF5')
reuse_re = re.compile(r'mask chunks inflated (\d+), reused (\d+)')
index_re = re.compile(r'chunk indexes read whole (\d+), chunks looked up one by one (\d+)')
def check_layout(lay):
    """Read one layout in every mode; its failures and its summary line."""
    fails = []
    name, dkw, mkw, path = lay[:4]
    change = lay[4] if len(lay) > 4 else False
    dt = lay[5] if len(lay) > 5 else None
    d = relayout(name, dkw, mkw, change, dt)
    dumps = {}
    for mode, extra in (('hdf5', ['-reader_direct', '0']), ('direct', []), ('direct_nothread', ['-reader_async', '0']),
                        ('lookups', ['-reader_chunk_index', '0']),
                        ('isal', ['-reader_inflate', 'isal']), ('zlib', ['-reader_inflate', 'zlib'])):
        if mode in ('isal', 'zlib') and 'deflate' not in name and name != 'mask_changing':
            continue
        out = os.path.join(work, 'dump_%s_%s.txt' % (name, mode))
        log = run(['info', '-run', d, '-info_quiet', '-info_dump', out] + extra)
        m = stats_re.search(log)
        if not m:
            fails.append('%s %s: no reader statistics line' % (name, mode)); continue
        ndir, nh5 = int(m.group(1)), int(m.group(2))
        want_direct = mode != 'hdf5' and path == 'direct'
        if (ndir > 0 and nh5 == 0) != want_direct or (not want_direct and ndir != 0):
            fails.append('%s %s: %d ranges direct, %d through HDF5; expected the %s path' % (name, mode, ndir, nh5, 'direct' if want_direct else 'HDF5'))
        # chunked layouts: each file's chunk index read whole (h5py writes HDF5 1.10's default
        # format), or with -reader_chunk_index 0 each chunk looked up
        ix = index_re.search(log)
        if want_direct and name != 'contiguous':
            whole, looked = (int(ix.group(1)), int(ix.group(2))) if ix else (0, 0)
            if mode == 'lookups' and (looked == 0 or whole != 0):
                fails.append('%s %s: the chunks were not looked up one by one (%s)' % (name, mode, ix.group(0) if ix else 'no statistics'))
            if mode != 'lookups' and (whole == 0 or looked != 0):
                fails.append('%s %s: the chunk indexes were not read whole (%s)' % (name, mode, ix.group(0) if ix else 'no statistics'))
        r = reuse_re.search(log)
        if want_direct and 'mask_deflate' in name and r and int(r.group(2)) == 0:
            fails.append('%s %s: no mask chunk was reused though the masks repeat per cell' % (name, mode))
        if want_direct and name == 'mask_changing' and r and int(r.group(1)) <= 2 * NPULSE:
            fails.append('%s %s: changed mask chunks were not inflated again (%s)' % (name, mode, r.group(0)))
        dumps[mode] = open(out).read()
    for mode, txt in dumps.items():
        if txt != dumps['hdf5']:
            fails.append('%s: the %s read differs from the HDF5 path' % (name, mode))
    return fails, '%-15s %-6s path: %d reads agree bit for bit with HDF5\'s filter path' % (name, path, len(dumps) - 1)


# the layouts (and below the two analysed runs) are independent: four (two) at a time, as many as
# the test's PROCESSORS; their lines and failures reported in order
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    for f, line in pool.map(check_layout, layouts):
        fails += f
        print(line)

# analyze: the whole result, bit for bit
opts = ['-geom_distance_m', '7', '-geom_energy_kev', '12.3', '-rings_q_min', '0.006', '-rings_q_max', '0.03', '-rings_n', '4',
        '-g2_age_window', '5', '-analyze_progress', '0', '-analyze_checkpoint', 'none']
cmp = [py, os.path.join(here, 'compare_results.py')]
def check_analyze(name):
    """analyze of one relaid run on every path and grid against the HDF5 path; failures, lines."""
    fails, lines = [], []
    d = os.path.join(work, name)
    ref = os.path.join(work, 'an_%s_hdf5.h5' % name)
    run(['analyze', '-run', d, '-reader_direct', '0', '-o', ref] + opts)
    # the detector corrections (on by default, droplets) run in the cache path on both threads;
    # -reader_share 1 shares them after the whole train is read (share_caller: all on the main
    # thread), -reader_cache 0 runs them in units of the train's buffer
    for tag, extra, np_ in (('direct', [], 1), ('nothread', ['-reader_async', '0'], 1), ('isal', ['-reader_inflate', 'isal'], 1),
                            ('share', ['-reader_share', '1'], 1), ('share_caller', ['-reader_share', '1', '-reader_test_share_caller', '-analyze_bench'], 1),
                            ('caller', ['-reader_test_share_caller', '-analyze_bench'], 1), ('nocache', ['-reader_cache', '0'], 1),
                            ('n2p2', ['-reader_pixel_parts', '2'], 2), ('n4p2', ['-reader_pixel_parts', '2'], 4), ('n2p1', [], 2),
                            ('n2p2_caller', ['-reader_pixel_parts', '2', '-reader_test_share_caller'], 2),
                            # rounding: no sharing, so the units of 64 rows read into buffers that stay in the cache
                            # (-reader_cache), by both threads, by the main thread alone, on a pixel grid, and not
                            ('round', ['-reader_photonize', 'round'], 1), ('round_caller', ['-reader_photonize', 'round', '-reader_test_share_caller', '-analyze_bench'], 1),
                            ('round_n2p2', ['-reader_photonize', 'round', '-reader_pixel_parts', '2'], 2),
                            ('round_nocache', ['-reader_photonize', 'round', '-reader_cache', '0'], 1)):
        out = os.path.join(work, 'an_%s_%s.h5' % (name, tag))
        log = run(['analyze', '-run', d, '-o', out] + opts + extra, np_)
        if tag in ('share_caller', 'caller', 'round_caller'):
            m = re.search(r'work on the main thread while waiting ([0-9.]+) s', log)
            if not m or not float(m.group(1)) > 0:
                fails.append('analyze %s %s: the main thread did not run the shared per-frame work (%s)' % (name, tag, m.group(0) if m else 'no statistics line'))
        if tag in ('caller', 'round_caller'):
            m = re.search(r'(\d+) units of rows finished in the cache', log)
            if not m or not int(m.group(1)) > 0:
                fails.append('analyze %s %s: no unit was read into the cache (%s)' % (name, tag, m.group(0) if m else 'no statistics line'))
        if tag in ('direct', 'nothread', 'isal', 'share', 'share_caller', 'caller', 'nocache'):
            p = subprocess.run(cmp + [ref, out], stdout=subprocess.PIPE, text=True)
        else:   # other rank grids: against the HDF5 path on the same grid
            ref2 = out.replace('.h5', '_hdf5.h5')
            run(['analyze', '-run', d, '-reader_direct', '0', '-o', ref2] + opts + extra, np_)
            p = subprocess.run(cmp + [ref2, out], stdout=subprocess.PIPE, text=True)
        lines.append('analyze %s %s: %s' % (name, tag, p.stdout.strip().splitlines()[-1]))
        if p.returncode:
            fails.append('analyze %s %s: results differ from the HDF5 path:\n%s' % (name, tag, p.stdout))
    return fails, lines


with concurrent.futures.ThreadPoolExecutor(2) as pool:
    for f, lines in pool.map(check_analyze, ('mask_changing', 'contiguous')):
        fails += f
        print('\n'.join(lines))

# memory does not grow with the trains (the mask cache is per memory cell, not per train) nor
# with the sequence files read (2 trains a file here: the reader keeps a few files open, not all)
long = os.path.join(work, 'long')
run(['simulate', '-sim_detector', 'ideal', '-sim_modules', '3', '-sim_trains', '24', '-sim_pulses', '10', '-sim_subpixels', '1', '-sim_compress', '1',
     '-sim_trains_per_file', '2', '-sim_xgm', '0', '-o', long], 2)
rss = {}
for tr in ('0:3', '0:23'):
    log = run(['analyze', '-run', long, '-reader_trains', tr, '-analyze_bench', '-o', os.path.join(work, 'long.h5')] + opts)
    rss[tr] = float(re.search(r'peak memory (\d+) MiB', log).group(1))
print('peak memory: %g MiB for 4 trains, %g MiB for 24' % (rss['0:3'], rss['0:23']))
# MPI waits yield the core a rank's reader thread may share (src/sys/mpienv.c): Open MPI's
# mpi_yield_when_idle set by mxpcs unless the user's environment says otherwise
if 'MPI waits: yield the core (OMPI_MCA_mpi_yield_when_idle=1, set by mxpcs)' not in log:
    fails.append('analyze -analyze_bench does not report MPI waits that yield: %s' % [l for l in log.splitlines() if 'MPI waits' in l])
log0 = run(['analyze', '-run', long, '-reader_trains', '0:3', '-analyze_bench', '-o', os.path.join(work, 'long.h5')] + opts, env={'OMPI_MCA_mpi_yield_when_idle': '0'})
if 'MPI waits: spin, on the core that a rank\'s reader thread may share (OMPI_MCA_mpi_yield_when_idle=0, set by the environment)' not in log0:
    fails.append("the user's OMPI_MCA_mpi_yield_when_idle=0 is not what mxpcs reports: %s" % [l for l in log0.splitlines() if 'MPI waits' in l])
print('MPI waits: %s' % [l for l in (log + log0).splitlines() if 'MPI waits' in l])
if rss['0:23'] > rss['0:3'] + 4:
    fails.append('peak memory grows with the trains: %g MiB for 4, %g MiB for 24' % (rss['0:3'], rss['0:23']))

for f in fails:
    print('FAIL ' + f)
print('%d passed, %d failed' % (0 if fails else 1, 1 if fails else 0))
sys.exit(1 if fails else 0)
