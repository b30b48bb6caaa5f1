#!/usr/bin/env bash
# Option parsing for recipe and stage scripts (Kaldi's utils/parse_options.sh, with help
# generated from the script's own defaults).
#
# A script declares its options between two marker lines, one per line, with a comment:
#
#   # Begin configuration section.
#   nj=4                 # number of parallel jobs
#   cmd=utils/run_local.sh  # job dispatcher (see cmd.sh)
#   # End configuration section.
#   usage="Usage: $0 [options] <data-dir> <exp-dir>"
#   . utils/parse_options.sh
#   check_nargs 2 "$@"
#
# and is then called as `script --nj 8 --cmd "utils/run_slurm.sh" data/train exp/mono`.
# `--help` prints the usage and every option with the value it has before parsing (the
# script's own default), so the help text cannot drift from the behaviour. `--config FILE`
# reads `name=value` lines first. An unknown option, a missing value, a non-boolean value
# for a true/false option, or a non-number for an option whose default is a number (see
# _po_set) is a one-line error plus the usage line, with exit status 1, before the script
# has done anything.
# Options must come before positional arguments; `--` ends them.
#
# Shared defaults: a script may set the array `option_files` (files it has sourced, whose own
# configuration sections declare options) before sourcing this file. Their options come first,
# in their order; an option the script declares again keeps its place, takes the script's
# default (the value before parsing) and, where the script's line has a comment, its comment.
# This is how egs/*/s5/run.sh hold only their differences from steps/lib/recipe_defaults.sh.

_po_script=$0
_po_name=$(basename "$_po_script")

# Option names and comments from the configuration sections of the option files and the script.
_po_names=()
_po_comments=()
_po_read_section() {
  local line name comment i in_section=false
  while IFS= read -r line; do
    case $line in
      "# Begin configuration section"*) in_section=true; continue ;;
      "# End configuration section"*) in_section=false; continue ;;
    esac
    $in_section || continue
    [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)= ]] || continue
    name=${BASH_REMATCH[1]}
    comment=""
    [[ $line =~ \#[[:space:]]*(.*)$ ]] && comment=${BASH_REMATCH[1]}
    for i in "${!_po_names[@]}"; do
      if [[ ${_po_names[$i]} == "$name" ]]; then
        [[ -n $comment ]] && _po_comments[i]=$comment
        continue 2
      fi
    done
    _po_names+=("$name")
    _po_comments+=("$comment")
  done < "$1"
}
# shellcheck disable=SC2154  # option_files: optional, set by the sourcing script
for _po_file in ${option_files[@]+"${option_files[@]}"} "$_po_script"; do
  [[ -f $_po_file ]] && _po_read_section "$_po_file"
done

# Defaults as they stand before any option is applied: this is what --help shows.
_po_defaults=()
for _po_var in "${_po_names[@]}"; do
  _po_defaults+=("${!_po_var-}")
done

nghf_usage() {
  local i flag
  echo "${usage:-Usage: $_po_name [options] <args>}"
  echo
  echo "Options (default in angle brackets):"
  for i in "${!_po_names[@]}"; do
    flag="--${_po_names[$i]//_/-}"
    printf '  %-34s %s\n' "$flag <${_po_defaults[$i]}>" "${_po_comments[$i]}"
  done
  printf '  %-34s %s\n' "--config <file>" "read name=value option lines from <file> first"
  printf '  %-34s %s\n' "--help" "print this message"
}

usage_error() {
  echo "$_po_name: error: $*" >&2
  echo "${usage%%$'\n'*}" >&2
  echo "Run '$_po_name --help' for the options." >&2
  exit 1
}

# check_nargs N "$@"  or  check_nargs MIN:MAX "$@"
check_nargs() {
  local want=$1 min max
  shift
  if [[ $want == *:* ]]; then min=${want%:*}; max=${want#*:}; else min=$want; max=$want; fi
  if (( $# < min || $# > max )); then
    if [[ $min == "$max" ]]; then
      usage_error "expected $min argument(s), got $#"
    else
      usage_error "expected $min to $max arguments, got $#"
    fi
  fi
}

check_files() {
  local f
  for f in "$@"; do
    [[ -f $f ]] || { echo "$_po_name: error: expected file $f to exist" >&2; exit 1; }
  done
}

check_dirs() {
  local d
  for d in "$@"; do
    [[ -d $d ]] || { echo "$_po_name: error: expected directory $d to exist" >&2; exit 1; }
  done
}

# check_source SPEC [FILE...]: a log-likelihood (or alignment) source is either a Kaldi table
# (ark:FILE or scp:FILE: FILE must exist) or a file that must exist with the FILEs it needs.
check_source() {
  case $1 in
    ark:*|scp:*) check_files "${1#*:}" ;;
    *) check_files "$@" ;;
  esac
}

# add_set_options ARRAY FLAG VALUE [FLAG VALUE...]: append each `FLAG VALUE` pair whose VALUE
# is set (non-empty) to the array ARRAY, in the order given: the options a step passes on to
# its command only when they are given.
add_set_options() {
  local -n _po_array=$1
  shift
  while (( $# >= 2 )); do
    [[ -n $2 ]] && _po_array+=("$1" "$2")
    shift 2
  done
  return 0
}

# check_numbers NAME...: each option NAME that is set must be a number (1e-5 too); for options
# whose empty default means "from a config file", so their default cannot say their type.
check_numbers() {
  local name
  for name in "$@"; do
    [[ -z ${!name} || ${!name} =~ $_po_num_re ]] || usage_error "option --${name//_/-} takes a number, got '${!name}'"
  done
}

# check_integers NAME...: likewise, an integer.
check_integers() {
  local name
  for name in "$@"; do
    [[ -z ${!name} || ${!name} =~ $_po_int_re ]] || usage_error "option --${name//_/-} takes an integer, got '${!name}'"
  done
}

_po_known() {
  local v
  for v in "${_po_names[@]}"; do [[ $v == "$1" ]] && return 0; done
  return 1
}

# An option whose default is a number takes a number: an integer default an integer, any other
# numeric default an integer or a decimal (1e-5 too). Checked here, before the script runs,
# so that a bad value (--nj abc) stops it before it removes a done marker or an output. A
# word the option's comment lists as "word: meaning" (e.g. "none: off") is accepted too.
_po_int_re='^[-+]?[0-9]+$'
_po_num_re='^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$'

_po_set() {
  local name=$1 value=$2 current default="" comment="" i
  current=${!name-}
  if [[ $current == true || $current == false ]] && [[ $value != true && $value != false ]]; then
    usage_error "option --${name//_/-} takes true or false, got '$value'"
  fi
  for i in "${!_po_names[@]}"; do
    if [[ ${_po_names[$i]} == "$name" ]]; then
      default=${_po_defaults[$i]}
      comment=${_po_comments[$i]}
      break
    fi
  done
  if [[ -z $value || $comment != *"$value:"* ]]; then
    if [[ $default =~ $_po_int_re ]] && ! [[ $value =~ $_po_int_re ]]; then
      usage_error "option --${name//_/-} takes an integer, got '$value'"
    elif [[ $default =~ $_po_num_re ]] && ! [[ $value =~ $_po_num_re ]]; then
      usage_error "option --${name//_/-} takes a number, got '$value'"
    fi
  fi
  printf -v "$name" '%s' "$value"
}

_po_read_config() {
  local file=$1 line name value n=0
  [[ -f $file ]] || usage_error "config file '$file' does not exist"
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    line=${line%%#*}
    [[ $line =~ ^[[:space:]]*$ ]] && continue
    if [[ $line =~ ^[[:space:]]*--?([A-Za-z0-9_-]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])?[[:space:]]*$ ]] \
      || [[ $line =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*=[[:space:]]*(.*[^[:space:]])?[[:space:]]*$ ]]; then
      name=${BASH_REMATCH[1]//-/_}
      value=${BASH_REMATCH[2]}
      value=${value#\"}; value=${value%\"}
      _po_known "$name" || usage_error "$file:$n: unknown option '$name'"
      _po_set "$name" "$value"
    else
      usage_error "$file:$n: expected name=value, got '$line'"
    fi
  done < "$file"
}

while (( $# > 0 )); do
  case $1 in
    --help|-h)
      nghf_usage
      exit 0
      ;;
    --)
      shift
      break
      ;;
    --config=*)
      _po_read_config "${1#--config=}"
      shift
      ;;
    --config)
      (( $# >= 2 )) || usage_error "option --config needs a value"
      _po_read_config "$2"
      shift 2
      ;;
    --*=*)
      _po_var=${1%%=*}
      _po_var=${_po_var#--}
      _po_var=${_po_var//-/_}
      _po_known "$_po_var" || usage_error "unknown option ${1%%=*}"
      _po_set "$_po_var" "${1#*=}"
      shift
      ;;
    --?*)
      _po_var=${1#--}
      _po_var=${_po_var//-/_}
      _po_known "$_po_var" || usage_error "unknown option $1"
      (( $# >= 2 )) || usage_error "option $1 needs a value"
      _po_set "$_po_var" "$2"
      shift 2
      ;;
    *)
      break
      ;;
  esac
done

unset _po_line _po_var _po_in_section
true
