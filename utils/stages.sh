#!/usr/bin/env bash
# shellcheck disable=SC2154  # stage, stop_stage, force, stage_dir are set by the sourcing recipe
# Stage bookkeeping for recipe run.sh scripts. Source it after parse_options.sh.
#
# Needs the variables  stage, stop_stage (numbers), force (true|false), stage_dir (where the
# markers and the timing table live). A recipe defines one shell function per stage and
# calls
#
#   run_stage 3 features stage_features
#
# run_stage runs the function only when stage <= 3 <= stop_stage and the stage has no
# `.done` marker (or --force true); it logs the start, times the stage, writes the marker
# and a line of `$stage_dir/stage_times.tsv` on success, and on failure stops the recipe with
# a message that says how to resume. Re-running a finished recipe is therefore a no-op.

stage_marker() {  # stage_marker N NAME
  echo "$stage_dir/.done/stage_$1.$2"
}

run_stage() {
  local num=$1 name=$2 fn=$3 marker start end rc
  shift 3
  (( num < stage || num > stop_stage )) && return 0
  marker=$(stage_marker "$num" "$name")
  if [[ -f $marker ]]; then
    if [[ $force == true ]]; then
      rm -f "$marker"
    else
      echo "$(date '+%F %T') stage $num ($name): done already, skipping (use --force true to redo)"
      return 0
    fi
  fi
  mkdir -p "$stage_dir/.done"
  echo "$(date '+%F %T') stage $num ($name): starting"
  start=$(date +%s)
  rc=0
  # Under --force true the steps/ scripts redo their work too (their force= defaults to
  # $NGHF_FORCE), instead of finding their own done markers and skipping.
  local outer_force=${NGHF_FORCE-unset}
  export NGHF_FORCE=$force
  # The stage body runs in a subshell with errexit on: a failing command anywhere in it fails
  # the stage (called as `"$fn" || rc=$?`, bash would ignore set -e inside the function and
  # judge the stage by its last command only).
  local had_errexit=false
  [[ $- == *e* ]] && had_errexit=true
  set +e
  (set -e; "$fn" "$@")
  rc=$?
  [[ $had_errexit == true ]] && set -e
  if [[ $outer_force == unset ]]; then unset NGHF_FORCE; else NGHF_FORCE=$outer_force; fi
  end=$(date +%s)
  if (( rc != 0 )); then
    echo "$(date '+%F %T') ERROR: stage $num ($name) failed (exit $rc) after $((end - start)) s;" \
      "fix the cause and resume with: $0 --stage $num" >&2
    exit "$rc"
  fi
  printf '%s\t%s\t%s\n' "$num" "$name" "$((end - start))" >> "$stage_dir/stage_times.tsv"
  touch "$marker"
  echo "$(date '+%F %T') stage $num ($name): done in $((end - start)) s"
}

print_stage_times() {  # the last recorded time of each stage, as a table
  local table=$stage_dir/stage_times.tsv
  [[ -f $table ]] || return 0
  echo "stage  name                       seconds"
  awk -F'\t' '{ t[$1] = $3; n[$1] = $2 } END { for (s in t) printf "%5d  %-26s %7d\n", s, n[s], t[s] }' \
    "$table" | sort -n
}
