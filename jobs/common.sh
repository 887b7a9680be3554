# shellcheck shell=bash
# Shared by jobs/*.sbatch (sourced, not run). Site parameters, all environment variables with
# defaults that work on a plain Slurm + Debian Open MPI installation (docs/slurm.md):
#   MXPCS_HOME      the mxpcs source tree (default: from the submitted script's path, which
#                   `scontrol show job` knows, else $SLURM_SUBMIT_DIR)
#   MXPCS           the mxpcs executable (default: $MXPCS_HOME/build/mxpcs, else mxpcs on PATH)
#   MXPCS_MODULES   environment modules to load first, space or comma separated (default: none)
#   MXPCS_SRUN      the launcher of the MPI step (default: "srun --mpi=pmix"; Debian's Open MPI 4
#                   needs PMIx under srun: plain srun and --mpi=pmi2 start N singletons that abort)
# Partition and account are sbatch's own: `sbatch -p PART -A ACCOUNT ...`, or the SBATCH_PARTITION
# and SBATCH_ACCOUNT variables that sbatch reads; tools/campaign.py passes MXPCS_PARTITION and
# MXPCS_ACCOUNT as -p and -A.

mx_log() { echo "[mxpcs-job] $(date '+%F %T') $*"; }
# to both logs (not `tee /dev/stderr`: reopening the .err file would truncate it)
mx_log2() { local l; l=$(mx_log "$@"); echo "$l"; echo "$l" >&2; }
mx_die() { mx_log2 "error: $*"; exit 2; }

# the job's own reference: ARRAYID_TASK for an array task, else the job ID
mx_jobref() {
  if [ -n "${SLURM_ARRAY_JOB_ID:-}" ] && [ -n "${SLURM_ARRAY_TASK_ID:-}" ]; then
    echo "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
  else echo "${SLURM_JOB_ID:-interactive}"; fi
}

mx_setup() {
  # source tree: sbatch runs a copy of the script from its spool, so $0 does not point there
  if [ -z "${MXPCS_HOME:-}" ] && [ -n "${SLURM_JOB_ID:-}" ]; then
    local cmd
    cmd=$(scontrol show job "$SLURM_JOB_ID" 2>/dev/null | sed -n 's/^ *Command=\([^ ]*\).*/\1/p' | head -1)
    [ -n "$cmd" ] && [ -f "$(dirname "$cmd")/common.sh" ] && MXPCS_HOME=$(cd "$(dirname "$cmd")/.." && pwd)
  fi
  MXPCS_HOME=${MXPCS_HOME:-${SLURM_SUBMIT_DIR:-$PWD}}
  export MXPCS_HOME
  # environment modules (Lmod or Tcl modules), when the site needs them
  if [ -n "${MXPCS_MODULES:-}" ]; then
    if ! type module >/dev/null 2>&1; then
      for f in /etc/profile.d/lmod.sh /etc/profile.d/modules.sh /usr/share/lmod/lmod/init/bash; do
        [ -f "$f" ] && . "$f" && break
      done
    fi
    type module >/dev/null 2>&1 || mx_die "MXPCS_MODULES='$MXPCS_MODULES' but no 'module' command on $(hostname)"
    local m
    for m in ${MXPCS_MODULES//,/ }; do module load "$m" || mx_die "module load $m failed"; done
  fi
  if [ -z "${MXPCS:-}" ]; then
    if [ -x "$MXPCS_HOME/build/mxpcs" ]; then MXPCS=$MXPCS_HOME/build/mxpcs
    else MXPCS=$(command -v mxpcs) || mx_die "no mxpcs: set MXPCS or MXPCS_HOME (tried $MXPCS_HOME/build/mxpcs and PATH)"; fi
  fi
  [ -x "$MXPCS" ] || mx_die "MXPCS=$MXPCS is not an executable"
  read -r -a MX_SRUN <<<"${MXPCS_SRUN:-srun --mpi=pmix}"
  # parallel file systems: HDF5's flock is often unsupported (Lustre without flock, NFS)
  export HDF5_USE_FILE_LOCKING=${HDF5_USE_FILE_LOCKING:-FALSE}
  # one BLAS thread per rank unless asked otherwise (the ranks fill the cores)
  export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}
  # a header in both logs, so that tools/campaign.py reads only the latest attempt of a requeue
  local hdr="start job $(mx_jobref) (restart ${SLURM_RESTART_COUNT:-0}) on $(hostname), ${SLURM_NTASKS:-?} tasks, time limit $(mx_time_left)"
  mx_log2 "$hdr"
}

# seconds left in the allocation (squeue %L: [D-]HH:MM:SS, MM:SS, UNLIMITED), "" if unknown
mx_seconds_left() {
  local l d=0 h=0 m=0 s=0
  l=$(squeue -h -j "${SLURM_JOB_ID:-0}" -o %L 2>/dev/null | head -1)
  case "$l" in ""|UNLIMITED|NOT_SET|INVALID) echo ""; return;; esac
  if [[ $l == *-* ]]; then d=${l%%-*}; l=${l#*-}; fi
  IFS=: read -r -a p <<<"$l"
  case ${#p[@]} in
    3) h=${p[0]} m=${p[1]} s=${p[2]};;
    2) m=${p[0]} s=${p[1]};;
    1) s=${p[0]};;
  esac
  echo $(( 10#$d * 86400 + 10#$h * 3600 + 10#$m * 60 + 10#$s ))
}
mx_time_left() { local s; s=$(mx_seconds_left); [ -n "$s" ] && echo "${s} s left" || echo "unknown"; }

# the sidecar of a finished output: the hash of its inputs and options (tools/campaign.py)
mx_write_hash() { # OUT HASH
  [ -n "$2" ] || return 0
  printf '%s\n' "$2" >"$1.inputs.sha256.part" && mv -f "$1.inputs.sha256.part" "$1.inputs.sha256"
}
mx_status() { # OUT WORDS...: one line in OUT.status, read by tools/campaign.py status
  local out=$1; shift
  printf '%s %s %s\n' "$*" "$(mx_jobref)" "$(date +%s)" >"$out.status.part" && mv -f "$out.status.part" "$out.status"
}

# run one mxpcs subcommand as an MPI step: mx_run OUT SUBCOMMAND ARGS...; -log_view goes beside
# OUT; on success the sidecar hash ($MX_HASH) is written; returns the step's exit code
mx_run() {
  local out=$1 sub=$2; shift 2
  mkdir -p "$(dirname "$out")"
  rm -f "$out.inputs.sha256"   # the output is about to be replaced
  mx_status "$out" running
  local cmd=("${MX_SRUN[@]}" "$MXPCS" "$sub" "$@" -log_view ":$out.log_view.txt")
  mx_log "${cmd[*]}"
  local rc=0
  "${cmd[@]}" || rc=$?
  if [ "$rc" = 0 ] && [ -e "$out" ]; then
    mx_write_hash "$out" "${MX_HASH:-}"
    mx_status "$out" "done"
    mx_log "done: $out"
  elif [ "$rc" = 0 ]; then
    mx_log "error: mxpcs $sub exited 0 but wrote no $out" >&2; rc=3
    mx_status "$out" failed $rc
  fi
  return $rc
}
