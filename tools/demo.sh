#!/bin/bash
# The newest end-to-end path, until `mxpcs demo` exists: set up, write a small synthetic
# EuXFEL MID run (shared/tools/make_mid_mock.py: raw, legacy and modern corrected layouts with a
# missing module and missing trains), show what is in it, read every frame through a 2-D rank
# grid and check it against EuXFEL's own reader (extra_data), and build the q-map and q-rings
# of a real AGIPD-1M geometry.
#   tools/demo.sh [OUTDIR]     (default: demo-out)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/demo-out}
shared=${MX_SHARED:-$here/../shared}
"$here/tools/setup.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
np=$(nproc); [ "$np" -gt 4 ] && np=4
mx="mpiexec -n $np $here/build/mxpcs"
mkdir -p "$out"

echo "== 1. a synthetic MID run in the EuXFEL layout"
/usr/bin/python3 "$shared/tools/make_mid_mock.py" "$out/mock"
run=$out/mock/proc_modern/r0123

echo "== 2. mxpcs info: what is in the run ($np ranks)"
$mx info -run "$run"

echo "== 3. every frame read through a $np-rank grid (train blocks x pixel parts), compared with extra_data"
$mx info -run "$run" -info_quiet -info_dump "$out/mxpcs_dump.txt" -reader_pixel_parts "$(( np > 1 ? 2 : 1 ))"
/usr/bin/python3 "$here/tests/peer/extra_data_dump.py" "$run" "$out/extra_data_dump.txt"
/usr/bin/python3 "$here/tests/peer/compare_dump.py" "$out/mxpcs_dump.txt" "$out/extra_data_dump.txt"

echo "== 4. q-map and q-rings of the real AGIPD-1M geometry at 7 m, 12.3 keV"
$mx qmap -options_file "$here/inputs/qmap_demo.yaml" -geom_file "$shared/data/geometry/agipd_mar18_v11.geom" -o "$out/qmap.h5"
echo "demo done: outputs in $out"
