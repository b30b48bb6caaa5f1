#!/usr/bin/env bash
# Kaldi lang directory from a dictionary directory: position-dependent phones, disambiguation
# symbols, phones.txt, words.txt, phones/, topo, L.fst and L_disambig.fst; validated at the end.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
cmd=utils/run_local.sh              # job dispatcher (see cmd.sh)
lang_config=conf/lang.yaml           # LangConfig YAML ('' for built-in defaults)
position_dependent_phones=true       # word-position-dependent phones (_B _E _I _S)
sil_prob=0.5                         # optional silence probability between words
num_nonsil_states=3                  # emitting states per non-silence phone
num_sil_states=5                     # emitting states per silence phone
force=${NGHF_FORCE:-false}                          # rebuild even if <lang-dir>/.done exists (default: $NGHF_FORCE, set under run.sh --force true)
# End configuration section.
usage="Usage: $0 [options] <dict-dir> <oov-word> <tmp-dir> <lang-dir>
 e.g.: $0 data/local/dict '<unk>' data/local/lang_tmp data/lang"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 4 "$@"
dict=$1; oov=$2; tmp=$3; lang=$4
check_dirs "$dict"
check_files "$dict/silence_phones.txt" "$dict/nonsilence_phones.txt" "$dict/optional_silence.txt"
[[ -f $dict/lexicon.txt || -f $dict/lexiconp.txt ]] \
  || { echo "$0: error: expected $dict/lexicon.txt or $dict/lexiconp.txt" >&2; exit 1; }
if [[ -f $lang/.done ]] && ! $force; then
  echo "$0: $lang is done already (--force true to rebuild)"
  exit 0
fi
config_opt=()
[[ -n $lang_config ]] && { check_files "$lang_config"; config_opt=(--config "$lang_config"); }
mkdir -p "$tmp/log"
printf -v oov_q '%q' "$oov"   # the dispatcher runs the command through bash: quote <unk>
$cmd "$tmp/log/prepare_lang.log" \
  nghf-prepare-lang "${config_opt[@]}" \
    --set "position_dependent_phones=$position_dependent_phones" --set "sil_prob=$sil_prob" \
    --set "num_nonsil_states=$num_nonsil_states" --set "num_sil_states=$num_sil_states" \
    "$dict" "$oov_q" "$tmp" "$lang"
echo "$0: wrote $lang ($(wc -l < "$lang/phones.txt") phone symbols, $(wc -l < "$lang/words.txt") word symbols)"
