# mxpcs analyze: bad options (sourced by run_bad_input.sh)
expect an_no_out      "mxpcs analyze needs -o FILE" -- analyze -run "$good"
expect an_window      "option -g2_age_window: 5 must be in 2..2 \\(frames per train\\)" -- analyze -run "$good" -g2_age_window 5 -o "$bad/dump_an_window.h5"
expect an_one_frame   "analyze: 1 frame\\(s\\) per train selected" -- analyze -run "$good" -reader_pulses 0:0 -o "$bad/dump_an_one_frame.h5"
expect an_block       "option -corr_block: must be >= 1" -- analyze -run "$good" -corr_block 0 -o "$bad/dump_an_block.h5"
expect an_rings       "options -rings_q_min 0.5 and -rings_q_max 0.4: need q_min < q_max" -- analyze -run "$good" -rings_q_min 0.5 -rings_q_max 0.4 -o "$bad/dump_an_rings.h5"
expect an_extrap     "option -g2_extrapolation: quadratic needs at least 3 age windows, there are 1" -- analyze -run "$good" -g2_extrapolation quadratic -o "$bad/dump_an_extrap.h5"
expect an_jackknife  "option -g2_jackknife: -2 must be 0 \\(off\\) or a number of train groups" -- analyze -run "$good" -g2_jackknife -2 -o "$bad/dump_an_jackknife.h5"
expect an_distance    "option -geom_distance_m: -1.? is not a positive distance" -- analyze -run "$good" -geom_distance_m -1 -o "$bad/dump_an_distance.h5"
expect an_energy      "option -geom_energy_kev: 0.? is not a positive energy" -- analyze -run "$good" -geom_energy_kev 0 -o "$bad/dump_an_energy.h5"
expect an_energy_heat "geometry: photon energy 60.? keV is outside 4.*50.? keV, the heating model" -- analyze -run "$good" -geom_energy_kev 60 -o "$bad/dump_an_energy_heat.h5"
expect an_edges       "option -rings_q_edges: edges must be strictly increasing" -- analyze -run "$good" -rings_q_edges 0.02,0.01 -o "$bad/dump_an_edges.h5"
printf 'rings_nn: 3\ngeom_distance_m: 7\n' > "$bad/mistyped.yaml"
expect an_yaml_key    "unknown option\\(s\\) for 'mxpcs analyze': -rings_nn" -- analyze -run "$good" -options_file "$bad/mistyped.yaml" -o "$bad/dump_an_yaml_key.h5"
printf 'rings_n: [3\n' > "$bad/broken.yaml"
expect an_yaml_broken "cannot read the options file .*broken.yaml" -- analyze -run "$good" -options_file "$bad/broken.yaml" -o "$bad/dump_an_yaml_broken.h5"
if [ ! -f "$bad/dark/truth.h5" ]; then
  rm -rf "$bad/dark" "$bad/dark.part"
  timeout 60 "$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" simulate -sim_detector ideal -sim_modules 4 -sim_trains 4 -sim_pulses 6 -sim_photons 1e-12 -sim_artifacts 0 -sim_subpixels 1 -o "$bad/dark" >/dev/null 2>&1
fi
expect an_no_photons  "every q-ring has zero mean intensity in some frame \\(no photons\\)" -- analyze -run "$bad/dark" -geom_distance_m 7 -geom_energy_kev 12.3 -rings_q_min 0.01 -rings_q_max 0.03 -rings_n 3 -g2_age_window 4 -o "$bad/dump_an_no_photons.h5"
# train IDs repeated or out of order in one file's INDEX: the entry is skipped, counted, reported
expect_ok dup_train     "INDEX/trainId not increasing at row 3 \\(train 1200000002 after 1200000002\\); entry skipped" -- info -run "$bad/dup_train"
expect    dup_strict    "AGIPD00-S00000.h5: INDEX/trainId not increasing at row 3 .*-strict" -- info -run "$bad/dup_train" -strict $(dump dup_strict)
expect_ok nonmono_train "INDEX/trainId not increasing at row 3 \\(train 1200000002 after 1200000003\\); entry skipped" -- info -run "$bad/nonmono_train"
# NaN and inf pixel values the mask does not flag: masked, counted, reported; -strict: an error
# (the mock's values, module * 1000 + ..., are not photons: no spike cap)
expect_ok nan_values    "6760 pixel values were NaN or inf where the mask does not flag them: masked" -- analyze -run "$bad/nan_values" -analyze_progress 0 -reader_max_photons 0 -o "$bad/ok_nan_values.h5"
expect    nan_strict    "nan_values: 6760 pixel values are NaN or inf where the mask does not flag them \\(-strict" -- analyze -run "$bad/nan_values" -analyze_progress 0 -strict -o "$bad/dump_nan_strict.h5"
# bytes zeroed in the middle of a file (the object header of image/data)
expect    zeroed_header "zeroed_header/CORR-R0123-AGIPD00-S00000.h5: cannot open INSTRUMENT/MID_DET_AGIPD1M-1/DET/0CH0:xtdf/image/data" -- info -run "$bad/zeroed_header" $(dump zeroed_header)
# a corrupted compressed chunk (image/mask of one frame): that train is dropped, counted and
# listed (and only that one: its neighbour train is read and used); -strict makes it an error naming
# file, dataset and train.
#   corrupt_case NAME FRAME: a 1-module run of 4 trains x 6 pulses, mask chunk FRAME overwritten
corrupt_case() {
  local name=$1 frame=$2 tid=$((1000001000 + $2 / 6))
  rm -rf "$bad/$name" "$bad/$name.part"
  timeout 60 "$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" simulate -sim_detector ideal -sim_modules 4 -sim_trains 4 -sim_pulses 6 -sim_subpixels 1 -sim_compress 1 -o "$bad/$name" >/dev/null 2>&1
  "$MX_PYTHON" - "$bad/$name" "$frame" <<'PY'
import glob, sys, h5py
p = glob.glob(sys.argv[1] + '/proc/r0001/*AGIPD04-S00000.h5')[0]
with h5py.File(p, 'r') as f:
    ci = f['INSTRUMENT/MID_DET_AGIPD1M-1/CORR/4CH0:output/image/mask'].id.get_chunk_info(int(sys.argv[2]))
with open(p, 'r+b') as f:
    f.seek(ci.byte_offset + 8); f.write(b'\xff' * 64)
PY
  local zc=(-run "$bad/$name" -geom_distance_m 7 -geom_energy_kev 12.3 -rings_q_min 0.006 -rings_q_max 0.03 -rings_n 4 -g2_age_window 3 -analyze_progress 0)
  expect_ok "$name" "1\\.? train\\(s\\) dropped because their frames could not be read" -- analyze "${zc[@]}" -o "$bad/ok_$name.h5"
  if [ -f "$bad/ok_$name.h5" ] && ! "$MX_PYTHON" -c "import h5py,sys; f = h5py.File(sys.argv[1]); assert list(f['xpcs/meta/train_ids_dropped_unreadable'][...]) == [$tid]; assert ($tid + 1 if $tid == 1000001000 else $tid - 1) in list(f['xpcs/meta/train_ids'][...])" "$bad/ok_$name.h5"; then
    echo "FAIL $name: /xpcs/meta/train_ids_dropped_unreadable is not [$tid], or its neighbour train was not used"; fails=$((fails + 1))
  fi
  expect "${name}_strict" "AGIPD04-S00000.h5: reading INSTRUMENT/MID_DET_AGIPD1M-1/CORR/4CH0:output/image/mask for train $tid failed" -- analyze "${zc[@]}" -strict -o "$bad/dump_${name}_strict.h5"
}
corrupt_case corrupt_chunk 13   # train 2 (1000001002), pulse 1
# the same in the first train of a memory cell (frame 1 = train 0, pulse 1): the direct reader
# reuses a cell's mask when its stored bytes repeat, so the first chunk of every cell must be
# inflated, and a corrupt one never cached (train 1's identical chunk is then inflated and read)
corrupt_case corrupt_first 1
# a ring with too few pixels is dropped and reported; a mask that covers everything is an error
expect_ok ring_few      "1 ring\\(s\\) dropped: too few good pixels" -- analyze -run "$bad/nan_values" -rings_q_edges 0.0001,0.0002,0.03,0.05 -analyze_progress 0 -reader_max_photons 0 -o "$bad/ok_ring_few.h5"
"$MX_PYTHON" -c "import h5py, numpy as np, sys; h5py.File(sys.argv[1], 'w')['mask'] = np.ones((16, 512, 128), np.uint8)" "$bad/all_masked.h5"
expect    all_masked    "no good pixels: every covered pixel is masked" -- analyze -run "$bad/nan_values" -mask_file "$bad/all_masked.h5" -analyze_progress 0 -o "$bad/dump_all_masked.h5"
# the detector corrections: options out of range, and corrections of calibrated data on raw data
expect    ph_threshold0  "option -reader_photon_threshold: 0\\.? must be in \\(0, 1\\) photon" -- analyze -run "$good" -reader_photonize threshold -reader_photon_threshold 0 -analyze_progress 0 -o "$bad/dump_ph_threshold0.h5"
expect    ph_threshold_neg "option -reader_photon_threshold: -0\\.2 must be in \\(0, 1\\) photon" -- analyze -run "$good" -reader_photonize threshold -reader_photon_threshold -0.2 -analyze_progress 0 -o "$bad/dump_ph_threshold_neg.h5"
expect    ph_kind        "-reader_photonize" -- analyze -run "$good" -reader_photonize rounded -analyze_progress 0 -o "$bad/dump_ph_kind.h5"
expect    cm_raw         "option -reader_common_mode asic: the run holds raw data" -- analyze -run "$data/mock/raw/r0123" -reader_common_mode asic -analyze_progress 0 -o "$bad/dump_cm_raw.h5"
expect    ph_raw         "option -reader_photonize round: the run holds raw data" -- analyze -run "$data/mock/raw/r0123" -reader_photonize round -analyze_progress 0 -o "$bad/dump_ph_raw.h5"
# a photon's shot noise in continuous values: out of range, or given for photon counts
expect    shot_noise0    "option -corr_shot_noise: 0\\.? must be in \\(0, 2\\]" -- analyze -run "$good" -reader_photonize none -corr_shot_noise 0 -analyze_progress 0 -o "$bad/dump_shot_noise0.h5"
expect    shot_noise_ph  "option -corr_shot_noise: 1\\.04 applies to continuous values only; with -reader_photonize round" -- analyze -run "$good" -reader_photonize round -corr_shot_noise 1.04 -analyze_progress 0 -o "$bad/dump_shot_noise_ph.h5"
