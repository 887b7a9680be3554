#!/usr/bin/python3
"""mxpcs online against EuXFEL's own bridge servers, and its faults.

1. A simulated run (one module, a gap in the train IDs) is served by extra_data's
   karabo-bridge-serve-files on 127.0.0.1; `mxpcs online` at 1, 2 and 4 ranks analyses the
   stream; its final results equal `mxpcs analyze` of the same files to 1e-12 relative.
2. Faults, with a test server built on karabo_bridge's Sender (the same serializer):
   garbage bytes and a train with a wrong dtype (one warning line naming the problem, the stream
   goes on), a train with a missing module (skipped, counted), a train the server skips (a gap:
   the pair breaks as in files), the server gone mid-run (the client ends after -online_idle_s
   with what it has and says so), a slow consumer on a PUB server (trains dropped upstream are
   counted, and the results equal a lossless stream of the trains it got), a port where nothing
   listens (a clear error, non-zero exit).
Every wait is on an event: a line the server or the client prints, a process's exit.
usage: check_online.py TESTDATA_DIR   (env MXPCS, MPIEXEC)"""
import os, sys, subprocess, shutil, atexit, socket
import numpy as np, h5py

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', '..', 'tools'))
import mxschema
S = mxschema.load()

mx, mpiexec = os.environ['MXPCS'], os.environ['MPIEXEC']
root = os.path.abspath(os.path.join(here, '..', '..'))
data = os.path.join(sys.argv[1] if len(sys.argv) > 1 else '/tmp', 'online')
shutil.rmtree(data, True)
os.makedirs(data)
if os.environ.get('MX_KEEP_TESTDATA') != '1':
    atexit.register(shutil.rmtree, data, True)
env = dict(os.environ, PYTHONUNBUFFERED='1')
fails = []

def check(ok, what):
    print(('ok    ' if ok else 'FAIL  ') + what)
    if not ok:
        fails.append(what)

run = os.path.join(data, 'sim')
subprocess.run([mpiexec, '--oversubscribe', '-n', '2', mx, 'simulate', '-options_file', root + '/inputs/sim_colloid.yaml',
                '-sim_modules', '4', '-sim_trains', '10', '-sim_pulses', '24', '-sim_missing_trains', '4', '-o', run],
               check=True, stdout=subprocess.DEVNULL)
proc = os.path.join(run, 'proc', 'r0001')
ANA = ['-options_file', root + '/inputs/analyze_colloid.yaml', '-g2_age_window', '8', '-analyze_progress', '0',
       '-analyze_filter_sigma', '0', '-analyze_xgm', 'off']
# the reference: analyze of the files on the same rank grid (every rank a pixel part of every
# train, as online); grids differ in float rounding only (mpi.analyze_ranks)
refs = {}
for n in (1, 2, 4):
    refs[n] = os.path.join(data, 'ref_n%d.h5' % n)
    subprocess.run([mpiexec, '--oversubscribe', '-n', str(n), mx, 'analyze', '-run', run, '-reader_pixel_parts', str(n), '-o', refs[n]] + ANA,
                   check=True, stdout=subprocess.DEVNULL)
ref = refs[1]
with h5py.File(ref) as f:
    ntrains = len(f[S.path('META_TRAIN_IDS')])   # trains in C
    tids_ref = f[S.path('META_TRAIN_IDS')][...]

KEYS = ('TWOTIME_C', 'TWOTIME_C_RAW', 'TWOTIME_XC', 'G2_G2', 'G2_G2_ERR', 'G2_TRAIN', 'CONTRAST_BETA', 'CONTRAST_BETA_ERR',
        'FIT_GAMMA', 'FIT_GAMMA0', 'FIT_D_EFF', 'SAXS_I', 'SAXS_I_PULSE', 'SAXS_IMAGE', 'META_TRAIN_IDS', 'MULTITAU_G2')

def compare(a, b, tol=1e-12):
    bad = []
    with h5py.File(a) as fa, h5py.File(b) as fb:
        for k in KEYS:
            x, y = fa[S.path(k)][...], fb[S.path(k)][...]
            if x.shape != y.shape:
                bad.append('%s: shape %s vs %s' % (k, x.shape, y.shape)); continue
            if x.dtype.kind in 'ui':
                if not np.array_equal(x, y): bad.append(k)
                continue
            fin = np.isfinite(y)
            if not np.array_equal(np.isfinite(x), fin):
                bad.append('%s: NaN pattern' % k); continue
            d = np.max(np.abs(x[fin] - y[fin]) / np.maximum(np.abs(y[fin]), 1e-300), initial=0)
            if d > tol:
                bad.append('%s: %.2g relative' % (k, d))
    return bad

def start_server(args):
    """Start a server; return (process, endpoint) once it has printed where it listens."""
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    for line in p.stdout:
        if 'tcp://' in line:
            return p, 'tcp://127.0.0.1:' + line.strip().rsplit(':', 1)[1]
    raise RuntimeError('server ended without saying where it listens: %s' % args)

def online(n, ep, out, extra=(), wait=True):
    cmd = [mpiexec, '--oversubscribe', '-n', str(n), mx, 'online', '-bridge_endpoint', ep, '-o', out] + ANA + list(extra)
    if not wait:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

# 1. EuXFEL's server, 1, 2 and 4 ranks: equal to analyze of the files
nall = 9  # trains in the run (10 simulated, one missing)
for n in (1, 2, 4):
    srv, ep = start_server(['karabo-bridge-serve-files', proc, 'tcp://127.0.0.1:0'])
    out = os.path.join(data, 'live_n%d.h5' % n)
    r = online(n, ep, out, ['-online_trains', str(nall), '-online_update_trains', '3'])
    srv.wait()
    check(r.returncode == 0, 'online at %d rank(s) against karabo-bridge-serve-files exits 0' % n)
    if r.returncode:
        print(r.stdout[-3000:])
        continue
    bad = compare(out, refs[n])
    check(not bad, 'online at %d rank(s) equals analyze of the same files on the same grid to 1e-12 %s' % (n, bad))
    check('stopping (-online_trains) after %d trains' % nall in r.stdout, 'online at %d rank(s) says why it stopped' % n)

# 1b. the XGM in the stream (the simulated run's DA file beside it, served with the frames): the
# pulse energy per frame in the results equals analyze's from the DA files, and the table shows it
XGM_SERVER = r'''
import sys
from extra_data import RunDirectory
from karabo_bridge.server import Sender
proc, raw = sys.argv[1], sys.argv[2]
run = RunDirectory(proc).select('*/CORR/*').union(RunDirectory(raw).select('*XGM*', 'data.intensityTD'))
s = Sender('tcp://127.0.0.1:0')
print('listening on', s.endpoint, flush=True)
for tid, d in run.trains():
    if any('/CORR/' in k for k in d):
        s.send(d)
s.stopper_r.close(); s.stopper_w.close(); s.server_socket.close(linger=-1); s.zmq_context.term()
print('done', flush=True)
'''
xs = os.path.join(data, 'xgm_server.py')
open(xs, 'w').write(XGM_SERVER)
# with a user mask (-mask_file: rows 100-139 and column 60 of every module bad), applied online as
# the reader applies it to files
umask = os.path.join(data, 'user_mask.h5')
with h5py.File(umask, 'w') as f:
    m = np.zeros((16, 512, 128), np.uint8)
    m[:, 100:140, :] = 1
    m[:, :, 60] = 1
    f['mask'] = m
XGM = ['-analyze_xgm', 'auto', '-analyze_xgm_min_frac', '0', '-analyze_xgm_sigma', '0', '-mask_file', umask]
ref_x = os.path.join(data, 'ref_xgm_n2.h5')
subprocess.run([mpiexec, '--oversubscribe', '-n', '2', mx, 'analyze', '-run', run, '-reader_pixel_parts', '2', '-o', ref_x] + ANA + XGM,
               check=True, stdout=subprocess.DEVNULL)
srv, ep = start_server(['/usr/bin/python3', xs, proc, os.path.join(run, 'raw', 'r0001')])
out = os.path.join(data, 'live_xgm.h5')
r = online(2, ep, out, ['-online_trains', str(nall), '-online_update_trains', '4'] + XGM)
srv.wait()
check(r.returncode == 0 and 'XGM SA2_XTD1_XGM/XGM/DOOCS:output: pulse energy' in r.stdout, 'XGM: online at 2 ranks shows the pulse energy from the stream (rc %d)' % r.returncode)
if r.returncode == 0:
    bad = compare(out, ref_x, tol=1e-12)
    with h5py.File(out) as fo, h5py.File(ref_x) as fr:
        for k in ('META_PULSE_ENERGY', 'META_WITHOUT_XGM'):
            x, y = fo[S.path(k)][...], fr[S.path(k)][...]
            if x.shape != y.shape or not np.array_equal(x, y):
                bad.append('%s: %s vs %s' % (k, x, y))
    check(not bad, 'XGM and -mask_file: the results, pulse energy per frame included, equal analyze of the files and their DA file with the same mask %s' % bad)
    with h5py.File(ref_x) as fm, h5py.File(refs[2]) as fu:
        nm, nu = fm[S.path('SAXS_IMAGE')][...], fu[S.path('SAXS_IMAGE')][...]
    check(not np.array_equal(np.isfinite(nm), np.isfinite(nu)), 'XGM and -mask_file: the mask changes the results (masked pixels leave the SAXS image)')
else:
    print(r.stdout[-3000:])

# 1c. one stacked detector source, as a calibration pipeline that appends the modules sends it:
# (frames, 16, 512, 128) from extra_data's stack_detector_data, the 15 modules the run lacks
# filled with NaN (absent online); equal to analyze of the per-module files
STACK_SERVER = r'''
import sys, numpy as np
from extra_data import RunDirectory, stack_detector_data
from karabo_bridge.server import Sender
s = Sender('tcp://127.0.0.1:0')
print('listening on', s.endpoint, flush=True)
for tid, d in RunDirectory(sys.argv[1]).select('*/CORR/*').trains():
    if not d:
        continue
    first = d[sorted(d)[0]]
    st = {'image.data': stack_detector_data(d, 'image.data', fillvalue=np.nan, pattern=r'/CORR/(\d+)CH'),
          'image.pulseId': np.ascontiguousarray(first['image.pulseId']).reshape(-1).astype(np.uint64),
          'metadata': first['metadata']}
    if 'image.mask' in first:
        st['image.mask'] = stack_detector_data(d, 'image.mask', fillvalue=0, pattern=r'/CORR/(\d+)CH')
    s.send({'MID_DET_AGIPD1M-1/CAL/APPEND_CORRECTED:output': st})
s.stopper_r.close(); s.stopper_w.close(); s.server_socket.close(linger=-1); s.zmq_context.term()
print('done', flush=True)
'''
sts = os.path.join(data, 'stack_server.py')
open(sts, 'w').write(STACK_SERVER)
srv, ep = start_server(['/usr/bin/python3', sts, proc])
out = os.path.join(data, 'live_stacked.h5')
r = online(1, ep, out, ['-online_trains', str(nall)])
srv.wait()
import re
fl = re.findall(r'first train \d+: (\d+) module\(s\)', r.stdout)
check(r.returncode == 0 and fl == ['1'], 'stacked: online reads the run\'s one module (4) of a (frames, 16, 512, 128) array, the other 15 NaN (rc %d, %s module(s))' % (r.returncode, fl))
if r.returncode == 0:
    bad = compare(out, refs[1])
    check(not bad, 'stacked: its results equal analyze of the per-module files to 1e-12 %s' % bad)
else:
    print(r.stdout[-3000:])

# 2. faults, served by karabo_bridge's own Sender
FAULT_SERVER = r'''
import sys, numpy as np
from extra_data import RunDirectory
from karabo_bridge.server import Sender
run, kind = sys.argv[1], sys.argv[2]
s = Sender('tcp://127.0.0.1:0')
print('listening on', s.endpoint, flush=True)
trains = [(tid, d) for tid, d in RunDirectory(run).select('*/CORR/*').trains() if d]
for i, (tid, d) in enumerate(trains):
    if kind == 'garbage' and i == 3:
        s.server_socket.recv(); s.server_socket.send_multipart([b'\x93\x01\x02', b'garbage'])
    if kind == 'dtype' and i == 3:
        src = next(iter(d)); d[src]['image.data'] = d[src]['image.data'].astype(np.float64)
    if kind == 'missing' and i == 3:
        d = {k: {kk: vv for kk, vv in v.items() if not kk.startswith('image.')} for k, v in d.items()}
    if kind == 'skip' and i == 5:
        continue
    if kind == 'stop' and i == 5:
        print('stopping', flush=True); break
    s.send(d)
# what is queued goes out before the process ends: linger, and terminate the context (pyzmq does
# not at exit, and a queued train would be lost)
s.stopper_r.close(); s.stopper_w.close(); s.server_socket.close(linger=-1); s.zmq_context.term()
print('done', flush=True)
'''
fs = os.path.join(data, 'fault_server.py')
open(fs, 'w').write(FAULT_SERVER)
for kind, expect in (('garbage', 'message skipped'), ('dtype', 'not float32'), ('missing', 'train skipped'), ('skip', None), ('stop', 'end of stream')):
    srv, ep = start_server(['/usr/bin/python3', fs, proc, kind])
    out = os.path.join(data, 'fault_%s.h5' % kind)
    extra = ['-online_idle_s', '3'] + ([] if kind == 'stop' else ['-online_trains', str(nall - (kind in ('dtype', 'missing', 'skip')))])
    r = online(2, ep, out, extra)
    srv.wait()
    check(r.returncode == 0, '%s: online exits 0 with what it has' % kind)
    if expect:
        check(expect in r.stdout, '%s: says "%s"' % (kind, expect))
    if r.returncode == 0:
        with h5py.File(out) as f:
            used = f[S.path('META_TRAIN_IDS')][...]
        check(0 < len(used) < nall or kind == 'garbage', '%s: results of the trains it got (%d used)' % (kind, len(used)))

# SIGTERM (and SIGINT): the client stops, writes the final results of what it has, exits 0. One
# process without mpiexec, so that the signal reaches mxpcs itself; sent once the first live
# table is out, while the client waits for trains that do not come (no -online_trains, idle 600 s)
import signal
for sig, name in ((signal.SIGTERM, 'SIGTERM'), (signal.SIGINT, 'SIGINT')):
    srv, ep = start_server(['karabo-bridge-serve-files', proc, 'tcp://127.0.0.1:0'])
    out = os.path.join(data, 'signal_%s.h5' % name)
    p = subprocess.Popen([mx, 'online', '-bridge_endpoint', ep, '-o', out, '-online_update_trains', '2', '-online_idle_s', '600'] + ANA,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in p.stdout:
        seen.append(line)
        if 'D_eff_mean so far' in line:
            p.send_signal(sig)
            break
    rest = p.communicate()[0]
    srv.kill()   # it still holds trains nobody asks for
    srv.wait()
    text = ''.join(seen) + rest
    check(p.returncode == 0 and 'stopping (%s)' % name in text, '%s: online stops cleanly and says so (rc %s)' % (name, p.returncode))
    check(os.path.exists(out), '%s: the final results are written' % name)

# a slow consumer on a PUB server: the client holds after its first train (a test hook, released
# through a FIFO) while the server publishes 10 trains at once; what does not fit in the client's
# -bridge_queue 2 (and the server's one-train send queue) is dropped upstream. Then one more train,
# sent once there is room. The client goes on with what it got, counts the missing IDs, and its
# results equal a stream of exactly those trains (served by REQ, where nothing is lost). Every step
# waits on a line the other side prints or on ZeroMQ's own flow control; no time window.
SLOW_SERVER = r'''
import sys
from extra_data import RunDirectory
from karabo_bridge.server import Sender
run, only = sys.argv[1], sys.argv[2:]
trains = [(tid, d) for tid, d in RunDirectory(run).select('*/CORR/*').trains() if d]
if only:   # REP: exactly these train IDs, each on request
    s = Sender('tcp://127.0.0.1:0')
    print('listening on', s.endpoint, flush=True)
    for tid, d in trains:
        if str(tid) in only:
            s.send(d)
    s.stopper_r.close(); s.stopper_w.close(); s.server_socket.close(linger=-1); s.zmq_context.term()
    print('done', flush=True)
    sys.exit()
# a PUB with karabo_bridge's serializer and its Sender's hwm 1. XPUB, so that the subscription
# arriving is an event here (a SUB joins a PUB a moment after it connects), and XPUB_NODROP, so
# that a train that does not fit is refused (EAGAIN) and counted rather than dropped unseen; a
# PUB drops the same trains.
import zmq
from karabo_bridge.serializer import serialize
ctx = zmq.Context()
pub = ctx.socket(zmq.XPUB)
pub.setsockopt(zmq.LINGER, 0)
pub.setsockopt(zmq.XPUB_NODROP, 1)
pub.set_hwm(1)
pub.bind('tcp://127.0.0.1:0')
print('listening on', pub.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)
pub.recv()                                # the client's subscription
pub.send_multipart(serialize(trains[0][1], protocol_version='2.2'), copy=False)
sys.stdin.readline()                      # "send": the client holds after its first train
sent, dropped = [trains[0][0]], 0
for tid, d in trains[1:-1]:               # at once, never waiting, as a live bridge publishes
    try:
        pub.send_multipart(serialize(d, protocol_version='2.2'), copy=False, flags=zmq.NOBLOCK)
        sent.append(tid)
    except zmq.Again:
        dropped += 1
print('dropped %d, sent' % dropped, *sent, trains[-1][0], flush=True)
pub.send_multipart(serialize(trains[-1][1], protocol_version='2.2'), copy=False)  # waits for room
pub.close(linger=-1)
ctx.term()                                # the last train goes out before the process ends
print('done', flush=True)
'''
ss = os.path.join(data, 'slow_server.py')
open(ss, 'w').write(SLOW_SERVER)
slow_run = os.path.join(data, 'sim_slow')
subprocess.run([mpiexec, '--oversubscribe', '-n', '2', mx, 'simulate', '-options_file', root + '/inputs/sim_colloid.yaml',
                '-sim_modules', '4', '-sim_trains', '12', '-sim_pulses', '24', '-o', slow_run], check=True, stdout=subprocess.DEVNULL)
slow_proc = os.path.join(slow_run, 'proc', 'r0001')
fifo = os.path.join(data, 'hold.fifo')
os.mkfifo(fifo)
srv = subprocess.Popen(['/usr/bin/python3', ss, slow_proc], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
ep = 'tcp://127.0.0.1:' + srv.stdout.readline().strip().rsplit(':', 1)[1]
out = os.path.join(data, 'slow.h5')
cli = online(1, ep, out, ['-bridge_pattern', 'sub', '-bridge_queue', '2', '-online_test_hold_after', '1', '-online_test_hold_fifo', fifo,
                          '-online_idle_s', '3'], wait=False)
seen = []
for line in cli.stdout:
    seen.append(line)
    if 'test hold after train 1' in line:
        break
srv.stdin.write('send\n')
srv.stdin.flush()
sent = srv.stdout.readline()             # "dropped M, sent ID...": the burst is over; the client still holds
with open(fifo, 'w') as f:
    f.write('go\n')
rest = cli.communicate()[0]
srv.stdin.close()
srv.wait()
text = ''.join(seen) + rest
check(cli.returncode == 0 and 'end of stream' in text, 'slow consumer: online ends cleanly after the stream (rc %s)' % cli.returncode)
if cli.returncode or 'end of stream' not in text:
    print(text[-3000:])
if cli.returncode == 0:
    # what reached the client: every train the server sent (a train in ZeroMQ's queues is delivered)
    got = [int(x) for x in sent.split('sent', 1)[1].split()]
    with h5py.File(out) as f:
        used = [int(x) for x in f[S.path('META_TRAIN_IDS')][...]]
    import re
    m = re.findall(r'(\d+) analysed .* (\d+) IDs missing between analysed trains', text)
    gaps = got[-1] - got[0] + 1 - len(got)
    check(len(got) >= 2 and gaps >= 1, 'slow consumer: some trains analysed (%d), some dropped upstream (%d IDs missing); server: %s' % (len(got), gaps, sent.strip()))
    check(bool(m) and int(m[-1][0]) == len(got) and int(m[-1][1]) == gaps, 'slow consumer: the table counts the trains analysed and the missing IDs (%s, expected %d and %d)' % (m[-1] if m else None, len(got), gaps))
    if not (m and int(m[-1][0]) == len(got) and int(m[-1][1]) == gaps):
        print(text[-4000:])
    check(set(used) <= set(got), 'slow consumer: the trains that entered C (%s) are among those received' % used)
    rep, rep_ep = start_server(['/usr/bin/python3', ss, slow_proc] + [str(t) for t in got])
    out2 = os.path.join(data, 'slow_replay.h5')
    r = online(1, rep_ep, out2, ['-online_trains', str(len(got))])
    rep.wait()
    bad = compare(out, out2) if r.returncode == 0 else ['replay failed: ' + r.stdout[-500:]]
    check(not bad, 'slow consumer: its results equal a lossless (REQ) stream of the same trains to 1e-12 %s' % bad)

# a port where nothing listens
with socket.socket() as so:
    so.bind(('127.0.0.1', 0)); port = so.getsockname()[1]
r = online(1, 'tcp://127.0.0.1:%d' % port, os.path.join(data, 'none.h5'), ['-online_idle_s', '1'])
check(r.returncode != 0 and 'no usable train from tcp://127.0.0.1:%d' % port in r.stdout, 'nothing listening: a clear error, non-zero exit')
check(not os.path.exists(os.path.join(data, 'none.h5')), 'nothing listening: no output file')

print('%d failure(s)' % len(fails))
sys.exit(1 if fails else 0)
