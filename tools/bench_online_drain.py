#!/usr/bin/python3
"""The transport's limit for tools/bench_online.sh: a receive-only client (pyzmq SUB, receive
high-water mark QUEUE trains, no decoding, no analysis) on the same server. Ends after IDLE s
without a train and prints what it got in the lines bench_online.sh reads from mxpcs online.
usage: bench_online_drain.py ENDPOINT QUEUE [IDLE]"""
import sys, time
import zmq

ep, queue = sys.argv[1], int(sys.argv[2])
idle = float(sys.argv[3]) if len(sys.argv) > 3 else 5
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.LINGER, 0)
sub.setsockopt(zmq.RCVHWM, queue)
sub.setsockopt(zmq.SUBSCRIBE, b'')
sub.setsockopt(zmq.RCVTIMEO, int(idle * 1000))
sub.connect(ep)
n, first, last = 0, None, None
try:
    while True:
        sub.recv_multipart(copy=False)
        last = time.time()
        first = first or last
        n += 1
except zmq.Again:
    pass
el = max((last or 0) - (first or 0), 1e-9)
print('  trains: %d received (%.1f/s), %d analysed (%.1f/s)' % (n, n / el, n, n / el))
print('first train analysed at unix %.3f, last train analysed at unix %.3f' % (first or 0, last or 0))
sub.close()
ctx.term()
