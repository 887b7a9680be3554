#!/bin/bash
# Does mxpcs online keep up with the facility? A server built on karabo_bridge's own Sender
# (tools/bench_online_server.py) publishes a simulated run (the demo colloid: 2 modules x 50
# pulses) at RATE trains/s (default 10, EuXFEL's train rate) on PUB, as a live bridge does: a
# consumer that falls behind loses trains. mxpcs online subscribes at 1 and 2 ranks and analyses
# N trains (and, as the transport's limit, a receive-only pyzmq client does the same), with the receive queue of karabo_bridge's own client (-bridge_queue 1) and with
# mxpcs's default (16); reported side by side: trains sent, received, analysed, lost, the
# analysed rate, and the lag (how long after its scheduled send time the last train was analysed).
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
echo "| client | -bridge_queue | sent | received | analysed | lost | analysed/s | lag of the last train (s) |" | tee -a "$report"
echo "|---|---|---|---|---|---|---|---|" | tee -a "$report"
# np 0: the transport's limit, a receive-only pyzmq client (tools/bench_online_drain.py)
for np in 0 1 2; do for queue in 1 16; do
  fifo=$out/go.$np; rm -f "$fifo"; mkfifo "$fifo"
  # the server binds, says where, and waits for "go" (the client has subscribed) on the FIFO
  so=$out/server.$np; rm -f "$so"; mkfifo "$so"
  "$py" "$here/tools/bench_online_server.py" "$out/sim/proc/r0001" "$n" "$rate" "$fifo" > "$so" &
  spid=$!
  exec 3< "$so"
  read -r line <&3; ep=${line##* }
  log=$out/online_n${np}_q$queue.log
  if [ $np = 0 ]; then
    "$py" "$here/tools/bench_online_drain.py" "$ep" $queue 5 > "$log" 2>&1 &
  else
    mpiexec -n $np "$mx" online -bridge_endpoint "$ep" -bridge_pattern sub -o "$out/live_n$np.h5" \
      -options_file "$here/inputs/analyze_colloid.yaml" -analyze_filter_sigma 0 -analyze_xgm off \
      -online_idle_s 5 -online_update_s 5 -bridge_queue $queue > "$log" 2>&1 &
  fi
  cl=$!
  sleep 2   # a SUB joins a PUB a moment after it connects (ZeroMQ's slow joiner): the only sleep
  echo go > "$fifo"
  read -r stats <&3   # "sent N t0 t_last_scheduled"
  exec 3<&-
  wait $cl || true
  wait $spid || true
  "$py" - "$log" "$stats" "$np" "$queue" <<'EOF' | tee -a "$report"
import re, sys
log, stats, np_, q = open(sys.argv[1]).read(), sys.argv[2].split(), sys.argv[3], sys.argv[4]
sent, t_last = int(stats[1]), float(stats[3])
m = re.findall(r'trains: (\d+) received \(([\d.]+)/s\), (\d+) analysed \(([\d.]+)/s\)', log)
if not m:
    print('| %s | %s | %d | - | - | - | - | the client failed: see its log |' % (np_, q, sent)); sys.exit()
rec, _, ana, _ = m[-1]
tt = re.findall(r'first train analysed at unix ([\d.]+), last train analysed at unix ([\d.]+)', log)
first, last = (float(x) for x in tt[-1])
rate = (int(ana) - 1) / max(last - first, 1e-9)
who = 'receive only (pyzmq)' if np_ == '0' else 'mxpcs online, %s rank(s)' % np_
print('| %s | %s | %d | %s | %s | %d | %.1f | %.2f |' % (who, q, sent, rec, ana, sent - int(rec), rate, last - t_last))
EOF
done; done
echo "report: $report"
