#!/usr/bin/env bash
# Interpolated modified Kneser-Ney n-gram LM (ARPA, gzipped) over a lang dir's vocabulary;
# words outside it become <unk>. Reports perplexity and OOV rate on optional dev texts.
# Optional count cutoffs (--min-counts) and Stolcke relative-entropy pruning
# (--prune-threshold, as SRILM's ngram -prune) keep decoding graphs small.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
cmd=utils/run_local.sh   # job dispatcher (see cmd.sh)
lm_config=conf/lm.yaml   # LmConfig YAML ('' for built-in defaults)
order=3                  # n-gram order (3 for decoding, 1-2 for denominator graphs)
text_has_ids=false       # <lm-text> is a Kaldi text file (utt-id first)
dev_text=                # Kaldi text of a dev set to report perplexity on (before and after pruning)
prune_threshold=         # relative-entropy pruning threshold, e.g. 1e-7 ('' = the config's, which is none)
min_counts=              # raw-count cutoffs per order, e.g. '1 1 2' ('' = the config's, which is none)
# End configuration section.
usage="Usage: $0 [options] <lm-text> <lang-dir> <out-dir>
 e.g.: $0 --dev-text data/dev/text data/local/lm/text.txt data/lang data/local/lm/tg
       $0 --prune-threshold 1e-7 --dev-text data/dev/text data/local/lm/text.txt data/lang data/local/lm/tg_pr
 writes <out-dir>/lm.arpa.gz and <out-dir>/report.json"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 3 "$@"
text=$1; lang=$2; dir=$3
check_files "$text" "$lang/words.txt"
opts=(--order "$order" --text "$text" --vocab "$lang/words.txt" --arpa "$dir/lm.arpa.gz" --report "$dir/report.json")
[[ -n $lm_config ]] && { check_files "$lm_config"; opts+=(--config "$lm_config"); }
$text_has_ids && opts+=(--text-has-ids)
if [[ -n $prune_threshold ]]; then
  [[ $prune_threshold =~ ^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$ ]] \
    || usage_error "--prune-threshold must be a non-negative number, got '$prune_threshold'"
  opts+=(--prune-threshold "$prune_threshold")
fi
if [[ -n $min_counts ]]; then
  read -r -a counts <<< "$min_counts"
  for c in "${counts[@]}"; do
    [[ $c =~ ^[1-9][0-9]*$ ]] || usage_error "--min-counts must be positive integers, got '$min_counts'"
  done
  opts+=(--min-counts "${counts[@]}")
fi
if [[ -n $dev_text ]]; then
  check_files "$dev_text"
  opts+=(--eval "$dev_text" --eval-has-ids)
fi
mkdir -p "$dir/log"
$cmd "$dir/log/train_lm.log" nghf-train-lm "${opts[@]}"
grep "nghf-train-lm:" "$dir/log/train_lm.log" || true
touch "$dir/.done"
