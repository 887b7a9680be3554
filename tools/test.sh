#!/bin/bash
# Set up (tools/setup.sh) and run the whole test suite with ctest.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/tools/setup.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
cd "$here/build"
# the suite writes simulated runs of up to ~2.5 GB at a time (each test removes its frames when done)
avail=$(df -Pk . | awk 'NR==2{print int($4/1024)}')
echo "test: $avail MiB free on $(df -P . | awk 'NR==2{print $6}') before the tests"
[ "$avail" -ge 4096 ] || echo "test: WARNING: less than 4 GiB free; the large simulated runs may not fit"
rc=0
ctest --output-on-failure -j"$(nproc)" "$@" || rc=$?
echo "test: $(df -Pk . | awk 'NR==2{print int($4/1024)}') MiB free after the tests; testdata $(du -sh testdata 2>/dev/null | cut -f1)"
exit $rc
