#!/bin/bash
# SAXS I(q) of `mxpcs analyze` against pyFAI's integrate1d (saxs_pyfai.py): simulate a small run
# (artifacts on: static file mask), add static NaN pixels and a user mask, analyse it at 2 ranks
# (2 train blocks, and 2 pixel parts) in two geometries -- the MID SAXS set-up (7 m, f = 1) and a
# short distance (1 m, f = 0.8) where solid angle and polarisation change the intensity by
# percents -- and compare every bin with >= 50 pixels within 0.5 %.
# usage: saxs_pyfai.sh WORKDIR        (environment: MXPCS, MPIEXEC, MX_PYTHON; MX_DATA optional)
set -eu
work=$1
here=$(cd "$(dirname "$0")" && pwd)
geom=${MX_DATA:-$here/../data}/geometry/agipd_mar18_v11.geom
out=$work/saxs_pyfai
rm -rf "$out"; mkdir -p "$out"
. "$here/scratch.sh"; mx_scratch "$out/sim"
mpi() { "$MPIEXEC" --oversubscribe -n 2 "$MXPCS" "$@" </dev/null; }

mpi simulate -o "$out/sim" -sim_detector ideal -sim_modules 3,4 -sim_trains 4 -sim_pulses 6 -sim_photons 30 \
  -geom_file "$geom" -geom_distance_m 7 -geom_energy_kev 12.3 >/dev/null
"$MX_PYTHON" "$here/saxs_pyfai.py" prepare "$out/sim/proc/r0001" "$out/user_mask.h5"

# check NAME DISTANCE_M POLARISATION RINGS_Q_MIN RINGS_Q_MAX SAXS_Q_MIN SAXS_Q_MAX
check() {
  local name=$1 dist=$2 pol=$3 rlo=$4 rhi=$5 qlo=$6 qhi=$7 g a
  g=(-geom_file "$geom" -geom_distance_m "$dist" -geom_energy_kev 12.3 -geom_polarization "$pol")
  a=(analyze -run "$out/sim" "${g[@]}" -mask_file "$out/user_mask.h5" -rings_q_min "$rlo" -rings_q_max "$rhi"
     -rings_n 4 -saxs_nbins 100 -saxs_q_min "$qlo" -saxs_q_max "$qhi" -analyze_progress 0
     -reader_common_mode none -reader_photonize none -reader_max_photons 0) # pyFAI integrates the values as stored
  mpi "${a[@]}" -o "$out/$name.h5" >/dev/null
  mpi "${a[@]}" -reader_pixel_parts 2 -o "$out/$name.p2.h5" >/dev/null
  "$MXPCS" qmap "${g[@]}" -o "$out/$name.qmap.h5" >/dev/null
  echo "== $name: D = $dist m, E = 12.3 keV, f = $pol, SAXS 100 bins on [$qlo, $qhi] 1/A"
  "$MX_PYTHON" "$here/saxs_pyfai.py" compare --run "$out/sim/proc/r0001" --geom "$geom" --distance "$dist" \
    --energy 12.3 --pol "$pol" --qmin "$qlo" --qmax "$qhi" --nbins 100 --user-mask "$out/user_mask.h5" \
    --qmap "$out/$name.qmap.h5" --tol 0.005 --min-pixels 50 "$out/$name.h5" "$out/$name.p2.h5"
}
check mid7m 7 1 0.006 0.03 0.005 0.1
check short1m 1 0.8 0.05 0.2 0.035 0.7
