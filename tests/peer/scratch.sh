# Sourced by the test drivers. Simulated runs are large (hundreds of MB to GB of frames) and
# cheap to make again, so a driver removes the frames it made when it exits, pass or fail, and
# keeps what it checks (results files, truth.h5, logs). MX_KEEP_TESTDATA=1 keeps everything.
#   mx_scratch RUN...   remove RUN/proc, RUN/raw and RUN.part on exit (RUN/truth.h5 stays)
#   mx_scratch_dir D... remove the directories D on exit
MX_SCRATCH=()
mx_scratch_exit() {
  local rc=$?
  if [ "${MX_KEEP_TESTDATA:-0}" != 1 ] && [ ${#MX_SCRATCH[@]} -gt 0 ]; then rm -rf -- "${MX_SCRATCH[@]}"; fi
  return $rc
}
mx_scratch() {
  local r
  for r in "$@"; do MX_SCRATCH+=("$r/proc" "$r/raw" "$r.part"); done
  trap mx_scratch_exit EXIT
}
mx_scratch_dir() {
  MX_SCRATCH+=("$@")
  trap mx_scratch_exit EXIT
}
