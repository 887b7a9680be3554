#!/usr/bin/python3
"""The Karabo bridge client (MxBridge, through tests/peer/bridge_dump) against EuXFEL's own servers
on 127.0.0.1 (docs/reference/karabo-bridge.md):

- karabo_bridge's simulation server (the code of karabo-bridge-server-sim, bound to 127.0.0.1,
  seeded, 2 pulses per train to stay small): protocols 2.2 and 1.0, REP, PUSH and PUB, a single
  AGIPD module (raw, two sources) and the stacked AGIPD (16 modules). Every train bridge_dump prints
  must equal the simulator's own train of that ID, regenerated here from the same seed (source
  names, keys, dtypes, shapes, CRC-32 of the bytes, body numbers), and so must every train
  karabo_bridge.Client receives from a twin server; REP and PUSH lose no train (consecutive IDs).
- extra_data's karabo-bridge-serve-files on a mock MID run (tools/make_mid_mock.py): two modules
  with a missing train each (metadata-only sources), compared with extra_data reading the files;
  two endpoints with different train ranges, matched by train ID (the unmatched trains dropped);
  the end of the run gives a timeout, not a hang.
- a port where nothing listens: a timeout naming the endpoint, quickly.

Servers are awaited by their "started on" line; bridge_dump by its exit. No sleeps.
  check_bridge.py BRIDGE_DUMP WORKDIR
"""
import math
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
import zlib

import numpy as np

DUMP = sys.argv[1]
WORK = os.path.join(sys.argv[2] if len(sys.argv) > 2 else '/tmp', 'bridge')
PY = '/usr/bin/python3'
HERE = os.path.dirname(os.path.abspath(__file__))
ENV = dict(os.environ, PYTHONUNBUFFERED='1')
failures = []
T0_SIM = 10000000000

# the simulation server as karabo-bridge-server-sim runs it, but bound to 127.0.0.1, seeded and small
SIM = r'''
import sys, numpy as np
from karabo_bridge import simulation
from karabo_bridge.server import SimServer
sock, proto, det, raw, nsrc, pulses, seed = sys.argv[1:]
simulation.AGIPDModule.pulses = int(pulses)
np.random.seed(int(seed))
SimServer('tcp://127.0.0.1:*', sock=sock, protocol_version=proto, detector=det, raw=raw == '1',
          nsources=int(nsrc), debug=False).loop()
'''


def check(cond, what):
    print(('ok    ' if cond else 'FAIL  ') + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


class Server:
    """A server process whose stdout lines arrive in a queue; started() waits for its endpoint."""

    def __init__(self, cmd, name):
        self.name = name
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.endpoint = None
        while self.endpoint is None:
            try:
                line = self.lines.get(timeout=120)  # a safety net: the server's own line ends the wait
            except queue.Empty:
                raise SystemExit(f'{name}: no "started on" line in 120 s')
            if line is None:
                raise SystemExit(f'{name}: exited with {self.p.wait()} before it listened')
            i = line.find('tcp://')
            if i >= 0:
                self.endpoint = line[i:].split()[0]
        print(f'      {name} listens on {self.endpoint}', flush=True)

    def _read(self):
        for line in self.p.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
        self.p.wait()


def dump(endpoints, n, pattern='req', timeout_s=10):
    """bridge_dump's trains {tid: view}, its other lines, its exit code and run time."""
    t = time.monotonic()
    r = subprocess.run([DUMP, '-n', str(n), '-bridge_endpoint', ','.join(endpoints), '-bridge_pattern', pattern,
                        '-bridge_timeout_s', str(timeout_s)], capture_output=True, text=True, timeout=300)
    trains, other, cur = {}, [], None
    for line in r.stdout.splitlines():
        f = line.split('\t')
        if f[0] == 'train':
            cur = trains.setdefault(int(f[1]), {'_protocol': int(f[2])})
        elif f[0] == 'source':
            cur[f[1]] = {'arrays': {}, 'numbers': {}, 'tid': int(f[2])}
        elif f[0] == 'array':
            shape = tuple(int(x) for x in f[4].strip('()').split(',') if x)
            cur[f[1]]['arrays'][f[2]] = (np.dtype(f[3]).str, shape, int(f[5]), int(f[6], 16))
        elif f[0] == 'number':
            cur[f[1]]['numbers'][f[2]] = float(f[3])
        else:
            other.append(f)
    if r.returncode not in (0, 2):
        print(r.stdout[-2000:], r.stderr[-2000:])
    return trains, other, r.returncode, time.monotonic() - t


def view(data):
    """A train as karabo_bridge's serializer splits it: ndarrays, and numbers of the body."""
    out = {}
    for src, props in data.items():
        arrays, numbers = {}, {}
        for k, v in props.items():
            if k == 'metadata':
                continue
            if isinstance(v, np.ndarray):
                v = np.ascontiguousarray(v)
                arrays[k] = (v.dtype.str, v.shape, v.nbytes, zlib.crc32(v.tobytes()))
            elif isinstance(v, (np.number, np.bool_)):
                numbers[k] = float(v.item())
            elif isinstance(v, (bool, int, float)):
                numbers[k] = float(v)
        out[src] = {'arrays': arrays, 'numbers': numbers}
    return out


def same(label, got, ref):
    """got: bridge_dump's (or the Python client's) train; ref: the reference view."""
    srcs = sorted(s for s in got if not s.startswith('_'))
    if not check(srcs == sorted(ref), f'{label}: sources {srcs}'):
        return False
    ok = True
    for s in srcs:
        g, r = got[s], ref[s]
        if g['arrays'] != r['arrays']:
            bad = sorted(k for k in set(g['arrays']) | set(r['arrays']) if g['arrays'].get(k) != r['arrays'].get(k))
            ok = check(False, f'{label}: {s} arrays differ: ' + '; '.join(f'{k}: {g["arrays"].get(k)} vs {r["arrays"].get(k)}' for k in bad[:4]))
        if sorted(g['numbers']) != sorted(r['numbers']) or not all(
                math.isclose(g['numbers'][k], r['numbers'][k], rel_tol=1e-15, abs_tol=0) for k in g['numbers']):
            ok = check(False, f'{label}: {s} numbers differ: {g["numbers"]} vs {r["numbers"]}')
    return ok


def sim_reference(det, raw, nsrc, pulses, seed, tids):
    """The simulator's trains of these IDs, regenerated from the seed (what the server sent)."""
    from karabo_bridge import simulation
    simulation.AGIPDModule.pulses = pulses
    np.random.seed(seed)
    ref = {}
    for data, meta in simulation.data_generator(detector=det, raw=raw, nsources=nsrc):
        tid = next(iter(meta.values()))['timestamp.tid']
        if tid in tids:
            ref[tid] = view(data)
        if tid >= max(tids):
            return ref


def python_client(endpoint, sock, n):
    """n trains as karabo_bridge.Client receives them: {tid: view}."""
    from karabo_bridge import Client
    c = Client(endpoint, sock=sock, timeout=30)
    out = {}
    for _ in range(n):
        data, meta = c.next()
        out[next(iter(meta.values()))['timestamp.tid']] = view(data)
    return out


def sim_case(proto, zsock, det, raw, nsrc, n, pulses=2, seed=7):
    pattern = {'REP': 'req', 'PUSH': 'pull', 'PUB': 'sub'}[zsock]
    client = {'REP': 'REQ', 'PUSH': 'PULL', 'PUB': 'SUB'}[zsock]
    label = f'server-sim -p {proto} -z {zsock} -d {det}{" -r" if raw else ""} (sources {nsrc})'
    args = [PY, '-c', SIM, zsock, proto, det, '1' if raw else '0', str(nsrc), str(pulses), str(seed)]
    srv = Server(args, label)
    try:
        trains, other, rc, _ = dump([srv.endpoint], n, pattern)
    finally:
        srv.stop()
    tids = sorted(trains)
    if not check(rc == 0 and len(tids) == n, f'{label}: bridge_dump received {len(tids)}/{n} trains (rc {rc}) {other[:2]}'):
        return
    if zsock != 'PUB':
        check(tids == list(range(T0_SIM, T0_SIM + n)), f'{label}: train IDs {tids[0]}..{tids[-1]} consecutive from {T0_SIM}')
    check(all(trains[t]['_protocol'] == (10 if proto == '1.0' else 22) for t in tids), f'{label}: protocol {proto} recognised')
    twin = Server(args, label + ' (twin, Python client)')
    try:
        py = python_client(twin.endpoint, client, n)
    finally:
        twin.stop()
    ref = sim_reference(det, raw, nsrc, pulses, seed, set(tids) | set(py))
    good = all(same(f'{label}: train {t}', trains[t], ref[t]) for t in tids)
    good &= all(same(f'{label}: Python client train {t}', {s: v for s, v in py[t].items()}, ref[t]) for t in py)
    common = sorted(set(tids) & set(py))
    good &= all(same(f'{label}: train {t} C vs Python', trains[t], py[t]) for t in common)
    na = sum(len(v['arrays']) for v in ref[tids[0]].values())
    check(good, f'{label}: {n} trains x {len(ref[tids[0]])} sources x {na} arrays equal to the simulator\'s '
                f'(and {len(py)} trains of karabo_bridge.Client, {len(common)} of them the same IDs)')


def files_reference(run, pattern):
    from extra_data import RunDirectory
    return {tid: view(data) for tid, data in RunDirectory(run).select(pattern, '*').trains()}


def files_case():
    mock = os.path.join(WORK, 'mock')
    subprocess.run([PY, os.path.join(HERE, '..', '..', 'tools', 'make_mid_mock.py'), mock], check=True, capture_output=True)
    run = os.path.join(mock, 'proc', 'r0123')
    src = 'MID_DET_AGIPD1M-1/DET/{}CH0:xtdf'
    both = 'MID_DET_AGIPD1M-1/DET/[35]CH0:xtdf'
    ref = files_reference(run, both)

    # one server, modules 3 and 5 (module 3 has no data in one train, module 5 lacks another), REP
    srv = Server(['karabo-bridge-serve-files', run, 'tcp://127.0.0.1:*', '--source', both], 'serve-files modules 3,5 REP')
    try:
        trains, other, rc, _ = dump([srv.endpoint], len(ref) + 1, 'req', timeout_s=3)
    finally:
        srv.stop()
    label = 'serve-files 2 modules'
    check(sorted(trains) == sorted(ref), f'{label}: train IDs {sorted(trains)} = extra_data\'s ({len(ref)})')
    good = all(same(f'{label}: train {t}', trains[t], ref[t]) for t in sorted(set(trains) & set(ref)))
    partial = sum(1 for t in trains for s, v in trains[t].items() if not s.startswith('_') and not v['arrays'])
    check(good and partial == 2, f'{label}: every train equal to extra_data reading the files (sources, '
                                 f'{len(ref[min(ref)][src.format(3)]["arrays"])} arrays each, CRC-32, body numbers); '
                                 f'{partial} metadata-only sources')
    check(rc == 2 and other and other[0][0] == 'timeout', f'{label}: after the last train, a timeout (end of run): {other[:1]}')

    # two endpoints, one module each; module 5's server has only its second sequence file (trains 4..7)
    part = os.path.join(WORK, 'm5late')
    os.makedirs(part, exist_ok=True)
    for f in os.listdir(run):
        if 'AGIPD05-S00001' in f:
            os.symlink(os.path.join(run, f), os.path.join(part, f))
    ref3, ref5 = files_reference(run, src.format(3)), files_reference(part, src.format(5))
    matched = sorted(set(ref3) & set(ref5))
    for zsock, pattern in (('REP', 'req'), ('PUSH', 'pull')):
        label = f'serve-files two endpoints -z {zsock}'
        a = Server(['karabo-bridge-serve-files', run, 'tcp://127.0.0.1:*', '--source', src.format(3), '-z', zsock], label + ' module 3')
        b = Server(['karabo-bridge-serve-files', part, 'tcp://127.0.0.1:*', '--source', src.format(5), '-z', zsock], label + ' module 5')
        try:
            trains, other, rc, _ = dump([a.endpoint, b.endpoint], len(matched), pattern, timeout_s=10)
        finally:
            a.stop()
            b.stop()
        check(sorted(trains) == matched, f'{label}: matched train IDs {sorted(trains)} = both servers\' {matched}')
        good = all(same(f'{label}: train {t}', trains[t], {**ref3[t], **ref5[t]}) for t in sorted(set(trains) & set(matched)))
        stats = next((o for o in other if o[0] == 'stats'), ['stats', '-1', '-1', '-1'])
        ndrop = len(set(ref3) - set(ref5))
        check(good and stats[1:] == [str(len(matched)), '0', str(ndrop)],
              f'{label}: trains equal to extra_data\'s; stats received/bad/dropped {stats[1:]} (expected {len(matched)}/0/{ndrop})')


def no_listener():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    ep = f'tcp://127.0.0.1:{port}'
    for pattern in ('req', 'pull', 'sub'):
        trains, other, rc, dt = dump([ep], 1, pattern, timeout_s=0.5)
        line = next((o for o in other if o[0] == 'timeout'), ['', ''])
        check(rc == 2 and not trains and 'no train ever received from it' in line[1] and ep in line[1] and dt < 30,
              f'no listener ({pattern}): timeout after {dt:.1f} s: "{line[1]}"')


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    no_listener()
    sim_case('2.2', 'REP', 'AGIPDModule', True, 2, 4)
    sim_case('1.0', 'REP', 'AGIPDModule', True, 1, 3)
    sim_case('2.2', 'PUSH', 'AGIPD', False, 1, 3)
    sim_case('1.0', 'PUSH', 'AGIPD', True, 1, 2)
    sim_case('2.2', 'PUB', 'AGIPDModule', True, 1, 3)
    files_case()
    shutil.rmtree(WORK, ignore_errors=True)
    if failures:
        print(f'check_bridge: {len(failures)} FAILED')
        sys.exit(1)
    print('check_bridge: all passed')


main()
