#!/bin/bash
# Fixture: the shared mock MID run (raw, proc, proc_modern) and extra_data's reading of it.
set -eu
data=$1
rm -rf "$data/mock"; mkdir -p "$data"
"$MX_PYTHON" "$(dirname "$0")/../../tools/make_mid_mock.py" "$data/mock" >/dev/null
for k in raw proc proc_modern; do
  "$MX_PYTHON" "$(dirname "$0")/extra_data_dump.py" "$data/mock/$k/r0123" "$data/ed_$k.txt"
done
echo "mock run and extra_data dumps in $data"
