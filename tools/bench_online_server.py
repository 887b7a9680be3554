#!/usr/bin/python3
"""A paced Karabo bridge server for tools/bench_online.sh: karabo_bridge's own Sender on PUB at
127.0.0.1, publishing N trains at RATE trains/s from a run's files (its trains in memory, sent
again with fresh train IDs when N is larger), as a live bridge does: it never waits for a slow
consumer. Prints "listening on ENDPOINT", waits for a line on FIFO, publishes, then prints
"sent N T0 T_LAST" (unix times of the first and the last scheduled send).
With SOCK REP (the bridge's default, and the online calibration's): each train becomes
available at its scheduled time and is sent when the client asks for it ("next"), so nothing is
lost and a client that falls behind shows as a growing lag.
usage: bench_online_server.py RUN_DIR N RATE FIFO [PUB|REP]"""
import sys, time
from extra_data import RunDirectory
from karabo_bridge.server import Sender

run, n, rate, fifo = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
sock = sys.argv[5] if len(sys.argv) > 5 else 'PUB'
trains = [d for _, d in RunDirectory(run).select('*/CORR/*').trains() if d]
s = Sender('tcp://127.0.0.1:0', sock=sock)
print('listening on', s.endpoint, flush=True)
open(fifo).readline()
tid0 = 10**9
t0 = time.time()
for i in range(n):
    d = trains[i % len(trains)]
    for src in d:
        d[src]['metadata']['timestamp.tid'] = tid0 + i
        for k in ('image.trainId',):
            if k in d[src]:
                d[src][k][...] = tid0 + i
    while time.time() < t0 + i / rate:
        time.sleep(min(0.002, max(t0 + i / rate - time.time(), 0)))
    s.send(d)
t_last = t0 + (n - 1) / rate
s.stopper_r.close(); s.stopper_w.close(); s.server_socket.close(linger=-1); s.zmq_context.term()  # the last train goes out
print('sent %d %.3f %.3f' % (n, t0, t_last), flush=True)
