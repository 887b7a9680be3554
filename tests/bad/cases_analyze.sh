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
expect an_edges       "option -rings_q_edges: edges must be strictly increasing" -- analyze -run "$good" -rings_q_edges 0.02,0.01 -o "$bad/dump_an_edges.h5"
printf 'rings_nn: 3\ngeom_distance_m: 7\n' > "$bad/mistyped.yaml"
expect an_yaml_key    "unknown option\\(s\\) for 'mxpcs analyze': -rings_nn" -- analyze -run "$good" -options_file "$bad/mistyped.yaml" -o "$bad/dump_an_yaml_key.h5"
printf 'rings_n: [3\n' > "$bad/broken.yaml"
expect an_yaml_broken "cannot read the options file .*broken.yaml" -- analyze -run "$good" -options_file "$bad/broken.yaml" -o "$bad/dump_an_yaml_broken.h5"
if [ ! -f "$bad/dark/truth.h5" ]; then
  rm -rf "$bad/dark" "$bad/dark.part"
  timeout 60 "$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" simulate -sim_modules 4 -sim_trains 4 -sim_pulses 6 -sim_photons 1e-12 -sim_artifacts 0 -sim_subpixels 1 -o "$bad/dark" >/dev/null 2>&1
fi
expect an_no_photons  "every q-ring has zero mean intensity in some frame \\(no photons\\)" -- analyze -run "$bad/dark" -geom_distance_m 7 -geom_energy_kev 12.3 -rings_q_min 0.01 -rings_q_max 0.03 -rings_n 3 -g2_age_window 4 -o "$bad/dump_an_no_photons.h5"
