#!/bin/bash
# Does mxpcs online keep up with the facility? A server built on karabo_bridge's own Sender
# (tools/bench_online_server.py) serves a simulated run (the demo colloid: 2 modules x 50 pulses)
# at RATE trains/s (default 10, EuXFEL's train rate), in one run on the same server:
#   - PUB, as a live bridge publishes: a consumer that falls behind loses trains. A receive-only
#     pyzmq client (tools/bench_online_drain.py) gives the transport's limit; mxpcs online at 1
#     and 2 ranks subscribes with karabo_bridge's client queue (-bridge_queue 1) and with mxpcs's
#     default (16).
#   - REP (the bridge's default): each train is available at its scheduled time and sent when
#     mxpcs online asks for it, so nothing is lost and falling behind shows as lag.
# Reported side by side: trains sent, received, analysed, lost, the analysed rate, and the lag
# (how long after its scheduled send time the last train was analysed).
#   tools/bench_online.sh [OUTDIR] [TRAINS] [RATE]     (defaults: a new temporary directory, 100, 10)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d)}; n=${2:-100}; rate=${3:-10}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 PYTHONUNBUFFERED=1
mx=$here/build/mxpcs; py=/usr/bin/python3
[ -d "$out/sim/proc" ] || mpiexec -n 2 "$mx" simulate -options_file "$here/inputs/sim_colloid.yaml" -sim_trains 20 -o "$out/sim" > /dev/null
report=$out/bench_online.md
echo "# mxpcs online at $rate trains/s ($(nproc) cores, $(date -u +%F))" | tee "$report"
echo "| server | client | -bridge_queue | sent | received | analysed | lost | analysed/s | lag of the last train (s) |" | tee -a "$report"
echo "|---|---|---|---|---|---|---|---|---|" | tee -a "$report"
# server client-ranks queue (ranks 0: the receive-only pyzmq client)
while read -r sock np queue; do
  fifo=$out/go; rm -f "$fifo"; mkfifo "$fifo"
  # the server binds, says where, and waits for "go" (the client has connected) on the FIFO
  so=$out/server; rm -f "$so"; mkfifo "$so"
  "$py" "$here/tools/bench_online_server.py" "$out/sim/proc/r0001" "$n" "$rate" "$fifo" "$sock" > "$so" < /dev/null &
  spid=$!
  exec 3< "$so"
  read -r line <&3; ep=${line##* }
  log=$out/online_${sock}_n${np}_q$queue.log
  if [ "$np" = 0 ]; then
    "$py" "$here/tools/bench_online_drain.py" "$ep" "$queue" 5 > "$log" 2>&1 < /dev/null &
  else
    pat=sub; [ "$sock" = REP ] && pat=req
    mpiexec -n "$np" "$mx" online -bridge_endpoint "$ep" -bridge_pattern $pat -o "$out/live_n$np.h5" \
      -options_file "$here/inputs/analyze_colloid.yaml" -analyze_filter_sigma 0 -analyze_xgm off \
      -online_idle_s 5 -online_update_s 5 -bridge_queue "$queue" > "$log" 2>&1 < /dev/null &
  fi
  cl=$!
  sleep 2   # a SUB joins a PUB a moment after it connects (ZeroMQ's slow joiner): the only sleep
  echo go > "$fifo"
  read -r stats <&3   # "sent N t0 t_last_scheduled"
  exec 3<&-
  wait $cl || true
  wait $spid || true
  "$py" - "$log" "$stats" "$sock" "$np" "$queue" <<'PYEOF' | tee -a "$report"
import re, sys
log, stats, sock, np_, q = open(sys.argv[1]).read(), sys.argv[2].split(), sys.argv[3], sys.argv[4], sys.argv[5]
sent, t_last = int(stats[1]), float(stats[3])
who = 'receive only (pyzmq)' if np_ == '0' else 'mxpcs online, %s rank(s)' % np_
if sock == 'REP':
    q = '-'
m = re.findall(r'trains: (\d+) received \(([\d.]+)/s\), (\d+) analysed \(([\d.]+)/s\)', log)
if not m:
    print('| %s | %s | %s | %d | - | - | - | - | the client failed: see its log |' % (sock, who, q, sent)); sys.exit()
rec, _, ana, _ = m[-1]
tt = re.findall(r'first train analysed at unix ([\d.]+), last train analysed at unix ([\d.]+)', log)
first, last = (float(x) for x in tt[-1])
rate = (int(ana) - 1) / max(last - first, 1e-9)
print('| %s | %s | %s | %d | %s | %s | %d | %.1f | %.2f |' % (sock, who, q, sent, rec, ana, sent - int(rec), rate, last - t_last))
PYEOF
done <<'RUNS'
PUB 0 1
PUB 0 16
PUB 1 1
PUB 1 16
PUB 2 1
PUB 2 16
REP 1 1
REP 2 1
RUNS
echo "report: $report"
