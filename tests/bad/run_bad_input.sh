#!/bin/bash
# Bad input: each case must exit non-zero within seconds on every rank, print one error line
# naming the file / dataset / train / option, and leave no output behind.
# usage: run_bad_input.sh DATADIR NP
set -u
data=$1 np=$2
bad=$data/bad_n$np
# the broken copies of the mock run go on exit; the messages stay (MX_KEEP_TESTDATA=1 keeps all)
trap '[ "${MX_KEEP_TESTDATA:-0}" = 1 ] || find "$bad" -name "*.h5" -delete 2>/dev/null' EXIT
"$MX_PYTHON" "$(dirname "$0")/make_bad_runs.py" "$data/mock/proc/r0123" "$bad" >/dev/null || exit 1
good=$data/mock/proc/r0123
fails=0 n=0

# expect NAME PATTERN -- mxpcs args...
expect() {
  local name=$1 pattern=$2; shift 3
  local out=$bad/out_$name.txt err=$bad/err_$name.txt
  n=$((n + 1))
  timeout 60 "$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" "$@" >"$bad/stdout_$name.txt" 2>"$err"
  local rc=$?
  if [ $rc -eq 0 ]; then echo "FAIL $name: exit 0"; fails=$((fails + 1)); return; fi
  if [ $rc -eq 124 ]; then echo "FAIL $name: hung (killed after 60 s)"; fails=$((fails + 1)); return; fi
  if ! grep -q "error" "$err" || ! grep -qE -- "$pattern" "$err"; then
    echo "FAIL $name: message does not match /$pattern/:"; head -5 "$err"; fails=$((fails + 1)); return
  fi
  if ls "$bad"/dump_"$name"* >/dev/null 2>&1; then echo "FAIL $name: output left behind"; fails=$((fails + 1)); return; fi
  echo "ok   $name: $(grep -m1 error "$err")"
}
dump() { echo "-info_quiet -info_dump $bad/dump_$1.txt"; }
# expect_ok NAME PATTERN -- mxpcs args...: a problem in part of the data is skipped, counted and
# reported (exit 0, the report matches PATTERN)
expect_ok() {
  local name=$1 pattern=$2; shift 3
  n=$((n + 1))
  timeout 60 "$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" "$@" >"$bad/stdout_$name.txt" 2>"$bad/err_$name.txt"
  local rc=$?
  if [ $rc -ne 0 ]; then echo "FAIL $name: exit $rc:"; head -3 "$bad/err_$name.txt"; fails=$((fails + 1)); return; fi
  if ! grep -qE -- "$pattern" "$bad/stdout_$name.txt"; then echo "FAIL $name: report does not match /$pattern/"; fails=$((fails + 1)); return; fi
  echo "ok   $name: $(grep -m1 -E -- "$pattern" "$bad/stdout_$name.txt" | sed 's/^ *//')"
}

expect missing_dir   "run directory $bad/nonexistent: cannot open" -- info -run "$bad/nonexistent" $(dump missing_dir)
expect empty_dir     "$bad/empty: no EuXFEL run files" -- info -run "$bad/empty" $(dump empty_dir)
expect truncated     "AGIPD01-S00000.h5: cannot open as HDF5" -- info -run "$bad/truncated" $(dump truncated)
expect garbage       "AGIPD00-S00000.h5: cannot open as HDF5" -- info -run "$bad/garbage" $(dump garbage)
expect no_frames     "no frames in any train" -- info -run "$bad/noframes" $(dump no_frames)
expect frames_differ "train 1200000000: module 4 has 1 frames .* but module 0 has 2" -- info -run "$bad/frames_disagree" -strict $(dump frames_differ)
expect_ok frames_skip "train 1200000000: modules disagree on frames per train .* train dropped" -- info -run "$bad/frames_disagree"
expect strict_any    "module 3: no data for train 1200000002 .*-strict: 2 anomalies" -- info -run "$good" -strict $(dump strict_any)
expect wrong_det     "no AGIPD-1M module sources .*wrong detector" -- info -run "$bad/wrong_detector" $(dump wrong_det)
expect wrong_shape   "AGIPD00-S0000[01].h5: .*image/data has rank 3, shape not .*wrong detector" -- info -run "$bad/wrong_shape" $(dump wrong_shape)
expect past_end      "AGIPD00-S00001.h5: train 1200000007 needs rows .* which has 6 rows" -- info -run "$bad/index_past_end" $(dump past_end)
expect wrong_rows    "AGIPD00-S00000.h5: .*image/trainId row 2 holds train 1200000077, INDEX says train 1200000001" -- info -run "$bad/wrong_train_rows" $(dump wrong_rows)
expect no_run        "no run directory: give -run DIR" -- info $(dump no_run)
expect adu_negative  "option -reader_adu_per_photon: -1\\.? must be > 0" -- info -run "$good" -reader_adu_per_photon -1 $(dump adu_negative)
expect pulses_beyond "option -reader_pulses: 0:99 reaches beyond the train length of 2 frames" -- info -run "$good" -reader_pulses 0:99 $(dump pulses_beyond)
expect pulses_syntax "option -reader_pulses: '5' is not a range" -- info -run "$good" -reader_pulses 5 $(dump pulses_syntax)
expect module_absent "option -reader_modules: module 11 has no data" -- info -run "$good" -reader_modules 11 $(dump module_absent)
expect module_range  "option -reader_modules: module 16 is not in 0..15" -- info -run "$good" -reader_modules 16 $(dump module_range)
expect trains_beyond "option -reader_trains: 50:60 starts beyond the run's 8 trains" -- info -run "$good" -reader_trains 50:60 $(dump trains_beyond)
expect no_trains_sel "selection leaves no trains" -- info -run "$good" -reader_train_ids 5:9 $(dump no_trains_sel)
expect parts_divide  "option -reader_pixel_parts: 3 must be >= 1 and divide" -- info -run "$good" -reader_pixel_parts 3 $(dump parts_divide)
expect unknown_opt   "unknown option\\(s\\) for 'mxpcs info': -reader_modles" -- info -run "$good" -reader_modles 3 $(dump unknown_opt)
expect mask_missing  "$bad/nomask.h5: cannot open the mask file" -- info -run "$good" -mask_file "$bad/nomask.h5" $(dump mask_missing)
for f in "$(dirname "$0")"/cases_*.sh; do [ -e "$f" ] && . "$f"; done

echo "$((n - fails)) passed, $fails failed"
[ $fails -eq 0 ]
