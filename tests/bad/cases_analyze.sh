# mxpcs analyze: bad options (sourced by run_bad_input.sh)
expect an_no_out      "mxpcs analyze needs -o FILE" -- analyze -run "$good"
expect an_window      "option -g2_age_window: 5 must be in 2..2 \\(frames per train\\)" -- analyze -run "$good" -g2_age_window 5 -o "$bad/dump_an_window.h5"
expect an_one_frame   "analyze: 1 frame\\(s\\) per train selected" -- analyze -run "$good" -reader_pulses 0:0 -o "$bad/dump_an_one_frame.h5"
expect an_block       "option -corr_block: must be >= 1" -- analyze -run "$good" -corr_block 0 -o "$bad/dump_an_block.h5"
expect an_rings       "options -rings_q_min 0.5 and -rings_q_max 0.4: need q_min < q_max" -- analyze -run "$good" -rings_q_min 0.5 -rings_q_max 0.4 -o "$bad/dump_an_rings.h5"
expect an_extrap     "option -g2_extrapolation: quadratic needs at least 3 age windows, there are 1" -- analyze -run "$good" -g2_extrapolation quadratic -o "$bad/dump_an_extrap.h5"
