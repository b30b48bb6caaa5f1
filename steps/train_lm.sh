#!/usr/bin/env bash
# Interpolated modified Kneser-Ney n-gram LM (ARPA, gzipped) over a lang dir's vocabulary;
# words outside it become <unk>. Reports perplexity and OOV rate on optional dev texts.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
cmd=utils/run_local.sh   # job dispatcher (see cmd.sh)
lm_config=conf/lm.yaml   # LmConfig YAML ('' for built-in defaults)
order=3                  # n-gram order (3 for decoding, 1-2 for denominator graphs)
text_has_ids=false       # <lm-text> is a Kaldi text file (utt-id first)
dev_text=                # Kaldi text of a dev set to report perplexity on
# End configuration section.
usage="Usage: $0 [options] <lm-text> <lang-dir> <out-dir>
 e.g.: $0 --dev-text data/dev/text data/local/lm/text.txt data/lang data/local/lm/tg
 writes <out-dir>/lm.arpa.gz and <out-dir>/report.json"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 3 "$@"
text=$1; lang=$2; dir=$3
check_files "$text" "$lang/words.txt"
opts=(--order "$order" --text "$text" --vocab "$lang/words.txt" --arpa "$dir/lm.arpa.gz" --report "$dir/report.json")
[[ -n $lm_config ]] && { check_files "$lm_config"; opts+=(--config "$lm_config"); }
$text_has_ids && opts+=(--text-has-ids)
if [[ -n $dev_text ]]; then
  check_files "$dev_text"
  opts+=(--eval "$dev_text" --eval-has-ids)
fi
mkdir -p "$dir/log"
$cmd "$dir/log/train_lm.log" nghf-train-lm "${opts[@]}"
grep "nghf-train-lm:" "$dir/log/train_lm.log" || true
touch "$dir/.done"
