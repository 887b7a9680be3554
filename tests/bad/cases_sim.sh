# mxpcs simulate: bad options and an existing output (sourced by run_bad_input.sh)
mkdir -p "$bad/exists"
expect sim_exists     "output directory $bad/exists exists" -- simulate -o "$bad/exists" -sim_trains 1
expect sim_rate       "option -sim_rep_rate_mhz: 3.? is not 1.1, 2.2 or 4.5" -- simulate -o "$bad/dump_sim_rate" -sim_rep_rate_mhz 3
expect sim_pulses     "option -sim_pulses: 400 must be in 2..352" -- simulate -o "$bad/dump_sim_pulses" -sim_pulses 400
expect sim_module     "option -sim_modules: 16 is not in 0..15" -- simulate -o "$bad/dump_sim_module" -sim_modules 3,16
expect sim_preset     "option -sim_preset: 'gel' is not colloid, liquid or full" -- simulate -o "$bad/dump_sim_preset" -sim_preset gel
expect sim_hydro_neg  "H\\(q\\) = Ds/D0 \\+ H_d\\(q\\) = .* <= 0 at q = " -- simulate -o "$bad/dump_sim_hydro_neg" -sim_preset liquid -sim_modules 3
expect sim_missing    "option -sim_missing_trains: 9 is not a train index in 0..3" -- simulate -o "$bad/dump_sim_missing" -sim_trains 4 -sim_missing_trains 9
expect sim_no_out     "mxpcs simulate needs -o DIR" -- simulate -sim_trains 1
# -sim_detector agipd (issue 13)
expect sim_detector   "option -sim_detector: 'pilatus' is not ideal or agipd" -- simulate -o "$bad/dump_sim_detector" -sim_detector pilatus
expect sim_units      "option -sim_units: 'eV' is not photons, keV or adu" -- simulate -o "$bad/dump_sim_units" -sim_detector agipd -sim_units eV
expect sim_units_ideal "option -sim_units: only with -sim_detector agipd" -- simulate -o "$bad/dump_sim_units_ideal" -sim_detector ideal -sim_units keV
expect sim_adu_kev    "option -sim_adu_per_photon: with -sim_detector agipd only for -sim_units adu" -- simulate -o "$bad/dump_sim_adu_kev" -sim_detector agipd -sim_adu_per_photon 66
expect sim_cloud      "option -sim_charge_cloud_um: 80.? must be in \\[0, 50\\]" -- simulate -o "$bad/dump_sim_cloud" -sim_detector agipd -sim_charge_cloud_um 80
expect sim_clean_ideal "option -sim_clean_copy: only with -sim_detector agipd" -- simulate -o "$bad/dump_sim_clean_ideal" -sim_detector ideal -sim_clean_copy
