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
#
# Options that shape a stage's output: if the recipe defines a function
# `stage_options_NAME`, its output (one line per part of the stage, e.g. per system: the
# options, configs and input models by content hash) is written into the marker. A later
# run compares: unchanged, the stage is skipped; changed (a system added, a config edited),
# the log shows what changed and the stage runs again. A stage whose parts are independent
# runs each through `run_part` (below): finished parts with unchanged options are kept, new
# parts run, and changed parts are redone with NGHF_FORCE=true (so their steps do not skip on
# their own done markers).
# Each part that runs adds a line to `$stage_dir/part_times.tsv` (stage, name, part, seconds,
# finished at), so a stage done over several invocations keeps the time of every part.

stage_marker() {  # stage_marker N NAME
  echo "$stage_dir/.done/stage_$1.$2"
}

# options_diff OLD NEW: the lines of OLD that NEW lacks ("was:") and of NEW that OLD lacks ("now:").
options_diff() {
  diff <(printf '%s\n' "$1") <(printf '%s\n' "$2") | sed -n -e 's/^< /    was: /p' -e 's/^> /    now: /p' || true
}

run_stage() {
  local num=$1 name=$2 fn=$3 marker start end rc options="" has_options=false old
  shift 3
  (( num < stage || num > stop_stage )) && return 0
  marker=$(stage_marker "$num" "$name")
  if declare -F "stage_options_$name" > /dev/null; then
    has_options=true
    options=$("stage_options_$name")
  fi
  if [[ -f $marker ]]; then
    old=$(cat "$marker")
    if [[ $force == true ]]; then
      rm -f "$marker"
    elif [[ $has_options == false || $old == "$options" ]]; then
      echo "$(date '+%F %T') stage $num ($name): done already, skipping (use --force true to redo)"
      return 0
    elif [[ -z $old ]]; then
      echo "$(date '+%F %T') stage $num ($name): its marker records no options (an older run): running it" \
        "again to record them; finished parts are kept"
      rm -f "$marker"
    else
      echo "$(date '+%F %T') stage $num ($name): options changed since it was done; running it again" \
        "(finished parts whose options are unchanged are kept):"
      options_diff "$old" "$options"
      rm -f "$marker"
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
  printf '%s\n' "$options" > "$marker"
  echo "$(date '+%F %T') stage $num ($name): done in $((end - start)) s"
}

part_marker() {  # part_marker N NAME PART
  echo "$stage_dir/.done/stage_$1.$2.parts/$3"
}

# run_part N NAME PART OPTIONS FN ARGS...: one independent part of stage N (e.g. one system),
# called from inside the stage's function (also as a background job). OPTIONS (one line)
# says what shapes the part's output; its marker keeps them. Same options as the finished
# part: skipped. No marker: FN runs. Different options: the log names the difference and FN
# runs with NGHF_FORCE=true, so the steps it calls redo their work. Under --force true every
# part runs forced. The marker is written only when FN succeeds.
run_part() {
  local num=$1 name=$2 part=$3 options=$4 fn=$5 marker part_force=$force rc had_errexit=false start
  shift 5
  marker=$(part_marker "$num" "$name" "$part")
  if [[ -f $marker && $force != true ]]; then
    if [[ $(cat "$marker") == "$options" ]]; then
      echo "$(date '+%F %T') stage $num ($name): $part: done already with these options, skipping"
      return 0
    fi
    echo "$(date '+%F %T') stage $num ($name): $part: options changed since it was done; redoing it:"
    options_diff "$(cat "$marker")" "$options"
    part_force=true
  fi
  rm -f "$marker"
  mkdir -p "$(dirname "$marker")"
  [[ $- == *e* ]] && had_errexit=true
  start=$(date +%s)
  set +e
  (set -e; export NGHF_FORCE=$part_force; "$fn" "$@")
  rc=$?
  [[ $had_errexit == true ]] && set -e
  (( rc == 0 )) || return "$rc"
  # One line per finished part: a stage resumed after an interruption (or run in several
  # invocations) still has the time each of its parts took, which stage_times.tsv (the last
  # invocation's time of the whole stage) does not keep.
  printf '%s\t%s\t%s\t%s\t%s\n' "$num" "$name" "$part" "$(( $(date +%s) - start ))" "$(date '+%F %T')" \
    >> "$stage_dir/part_times.tsv"
  printf '%s\n' "$options" > "$marker"
}

# options_of FILE...: "FILE=<first 12 hex digits of its sha256>" per file ("FILE=missing"),
# for the options lines of stage_options_* and run_part: a config or an input model that
# changes content changes the options. Paths below $NGHF_ROOT are written relative to it,
# so that a moved checkout keeps its markers.
options_of() {
  local f name out=()
  for f in "$@"; do
    name=${f#"${NGHF_ROOT:-/nonexistent}"/}
    if [[ -f $f ]]; then
      out+=("$name=$(sha256sum < "$f" | cut -c1-12)")
    else
      out+=("$name=missing")
    fi
  done
  echo "${out[*]}"
}

print_stage_times() {  # the last recorded time of each stage, as a table
  local table=$stage_dir/stage_times.tsv
  [[ -f $table ]] || return 0
  echo "stage  name                       seconds"
  awk -F'\t' '{ t[$1] = $3; n[$1] = $2 } END { for (s in t) printf "%5d  %-26s %7d\n", s, n[s], t[s] }' \
    "$table" | sort -n
}
