#!/bin/bash
# Reader vs extra_data: mxpcs info -info_dump through an NP-rank grid with P pixel parts must
# match the extra_data dump of the same run, frame by frame.
# usage: crosscheck_reader.sh DATADIR KIND NP P [extra mxpcs options...]
set -eu
data=$1 kind=$2 np=$3 parts=$4; shift 4
run=$data/mock/$kind/r0123
out=$data/mx_${kind}_n${np}_p${parts}$(echo "$*" | tr -c 'a-z0-9' _).txt
rm -f "$out"
"$MPIEXEC" --oversubscribe -n "$np" "$MXPCS" info -run "$run" -info_quiet -info_dump "$out" -reader_pixel_parts "$parts" "$@"
peer=$data/ed_$kind.txt
# a selection changes what the peer must read
case "$*" in
  *-reader_pulses*|*-reader_modules*|*-reader_adu_per_photon*)
    args=()
    sel=--pulses; [[ "$*" == *"-reader_pulse_by cell"* ]] && sel=--cells
    [[ "$*" =~ -reader_pulses\ ([0-9]+:[0-9]+) ]] && args+=($sel "${BASH_REMATCH[1]}")
    [[ "$*" =~ -reader_modules\ ([0-9,]+) ]] && args+=(--modules "${BASH_REMATCH[1]}")
    [[ "$*" =~ -reader_adu_per_photon\ ([0-9.eE+-]+) ]] && args+=(--adu "${BASH_REMATCH[1]}")
    peer=$data/ed_${kind}_$(echo "$*" | tr -c 'a-z0-9' _).txt
    "$MX_PYTHON" "$(dirname "$0")/extra_data_dump.py" "$run" "$peer" "${args[@]}";;
esac
"$MX_PYTHON" "$(dirname "$0")/compare_dump.py" "$out" "$peer"
