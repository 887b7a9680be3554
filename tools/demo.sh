#!/bin/bash
# The newest end-to-end path, until `mxpcs demo` exists: set up, simulate the seed paper's two
# samples as European XFEL runs (colloid and phi = 0.3 liquid, 12.3 keV, 7 m, 50 pulses at
# 2.2 MHz, with X-ray heating and detector artifacts), show what is in a run, read every frame
# through a 2-D rank grid and check it against EuXFEL's own reader (extra_data), and build the
# q-map and q-rings of a real AGIPD-1M geometry, and analyse the colloid (two-time correlation,
# neighbour-train correction, g2, decay rates extrapolated to zero age, D_eff).
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
geom="-geom_file $shared/data/geometry/agipd_mar18_v11.geom"

echo "== 1. simulate the colloid and the liquid of the seed paper ($np ranks)"
rm -rf "$out/colloid" "$out/liquid"
$mx simulate -options_file "$here/inputs/sim_colloid.yaml" $geom -o "$out/colloid"
$mx simulate -options_file "$here/inputs/sim_liquid.yaml" $geom -o "$out/liquid"

echo "== 2. mxpcs info: what is in the colloid run"
$mx info -run "$out/colloid"

echo "== 3. every frame read through a $np-rank grid (train blocks x pixel parts), compared with extra_data"
$mx info -run "$out/colloid" -info_quiet -info_dump "$out/mxpcs_dump.txt" -reader_pixel_parts "$(( np > 1 ? 2 : 1 ))"
/usr/bin/python3 "$here/tests/peer/extra_data_dump.py" "$out/colloid/proc/r0001" "$out/extra_data_dump.txt"
/usr/bin/python3 "$here/tests/peer/compare_dump.py" "$out/mxpcs_dump.txt" "$out/extra_data_dump.txt"

echo "== 4. mean intensity of the simulated data against the truth (numpy, independent of mxpcs)"
# (the contrast is checked with artifacts off in ctest: the memory-cell pattern biases a naive
#  estimate, which is what the neighbour-train correction of mxpcs analyze removes)
/usr/bin/python3 "$here/tests/peer/check_simulation.py" "$out/colloid" --checks mean --nbins 6
/usr/bin/python3 "$here/tests/peer/check_simulation.py" "$out/liquid" --checks mean --nbins 6

echo "== 5. mxpcs analyze the colloid: SAXS, two-time C with the neighbour-train correction, g2, contrast, Gamma(q, 0), D_eff"
rm -f "$out/colloid.h5"
$mx analyze -run "$out/colloid" -options_file "$here/inputs/analyze_colloid.yaml" $geom -o "$out/colloid.h5"
/usr/bin/python3 -c "import h5py; t = h5py.File('$out/colloid/truth.h5'); print('simulated truth: D0 = %.1f um^2/s (D_eff = D0 for the dilute colloid)' % t['params/D0_um2_s'][()])"

echo "== 6. q-map and q-rings of the real AGIPD-1M geometry at 7 m, 12.3 keV"
rm -f "$out/qmap.h5"
$mx qmap -options_file "$here/inputs/qmap_demo.yaml" $geom -o "$out/qmap.h5"
echo "demo done: outputs in $out"
