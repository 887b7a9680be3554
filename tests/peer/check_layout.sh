#!/bin/bash
# results.h5 as users' tools read it: an analyze result and a qmap file hold nothing the schema
# does not know (units, NX_class, links: check_schema.py), the analyze result passes the
# pyXpcsViewer and NXxpcs checks of docs/reference/result-layouts.md (check_layout.py), its q-map hash
# changes with the rings, and writing over an existing result says "replaced".
# usage: check_layout.sh DATADIR
set -eu
data=$1
here=$(cd "$(dirname "$0")/../.." && pwd)
sim=$data/sim_layout
. "$(dirname "$0")/scratch.sh"; mx_scratch "$sim"
rm -rf "$sim" "$sim.part" "$data"/layout_*.h5
"$MPIEXEC" -n 2 "$MXPCS" simulate -sim_detector ideal -sim_trains 6 -sim_pulses 12 -sim_modules 3,4 -o "$sim" >/dev/null
an() { "$MPIEXEC" -n 2 "$MXPCS" analyze -run "$sim" -rings_q_min 0.01 -rings_q_max 0.03 -analyze_progress 0 -g2_age_window 6 "$@"; }
an -rings_n 3 -o "$data/layout_a.h5" >"$data/layout_a.log"
grep -q "mxpcs analyze: wrote $data/layout_a.h5" "$data/layout_a.log" || { echo "FAIL: no 'wrote' line"; cat "$data/layout_a.log"; exit 1; }
an -rings_n 3 -rings_n_phi 2 -o "$data/layout_b.h5" >/dev/null   # other rings: bins x sectors
an -rings_n 3 -rings_n_phi 2 -o "$data/layout_b.h5" >"$data/layout_b.log"
grep -q "mxpcs analyze: replaced $data/layout_b.h5" "$data/layout_b.log" || { echo "FAIL: writing over a result does not say 'replaced'"; cat "$data/layout_b.log"; exit 1; }
"$MPIEXEC" -n 2 "$MXPCS" qmap -rings_n 4 -o "$data/layout_q.h5" >/dev/null
"$MX_PYTHON" "$here/tests/peer/check_schema.py" "$data/layout_a.h5" "$data/layout_b.h5" "$data/layout_q.h5"
"$MX_PYTHON" "$here/tests/peer/check_layout.py" "$data/layout_a.h5" --facts "$here/tests/data/nxxpcs_required.txt" --hash-differs "$data/layout_b.h5"
"$MX_PYTHON" "$here/tests/peer/check_layout.py" "$data/layout_b.h5" --facts "$here/tests/data/nxxpcs_required.txt"
rm -rf "$sim" "$data"/layout_*
echo "1 passed, 0 failed"
