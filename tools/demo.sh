#!/bin/bash
# The README's first command: set up (Debian packages, build), then run `mxpcs demo`, the seed
# paper's whole analysis on synthetic data: simulate a dilute colloid and a phi = 0.3 liquid as
# European XFEL runs (12.3 keV, 7 m, 50 pulses at 2.2 MHz, X-ray heating, detector artifacts),
# analyse both (two-time correlation with the neighbour-train correction, age-resolved g2,
# contrast, Gamma(q, age) -> Gamma(q, 0), D_eff), fit both jointly (SAXS, PY S(q), heating law,
# delta-gamma H(q), Ds/D0), run the LAMMPS epsilon scan and match epsilon, draw the figures and
# print the results beside the simulated truth. Then read every frame of the colloid run
# through a rank grid and compare it with EuXFEL's own reader (extra_data).
#   tools/demo.sh [OUTDIR]     (default: demo-out; a few minutes on 2 cores)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/demo-out}
"$here/tools/setup.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
np=$(nproc); [ "$np" -gt 4 ] && np=4
rm -rf "$out"
mpiexec -n "$np" "$here/build/mxpcs" demo -o "$out"

echo "== cross-check: every frame of the colloid run read through a $np-rank grid, compared with extra_data"
mpiexec -n "$np" "$here/build/mxpcs" info -run "$out/colloid" -info_quiet -info_dump "$out/mxpcs_dump.txt" -reader_pixel_parts "$(( np > 1 ? 2 : 1 ))"
/usr/bin/python3 "$here/tests/peer/extra_data_dump.py" "$out/colloid/proc/r0001" "$out/extra_data_dump.txt"
/usr/bin/python3 "$here/tests/peer/compare_dump.py" "$out/mxpcs_dump.txt" "$out/extra_data_dump.txt"
echo "demo done: results, figures ($out/figures) and runs in $out"
