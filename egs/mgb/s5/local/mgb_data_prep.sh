#!/usr/bin/env bash
# MGB-1 (English, BBC) data preparation: training XML transcripts, dev/eval STM references and
# audio lists -> Kaldi data dirs data/train, data/dev (and data/eval when present), each
# validated. Training segments are selected by PMER/WMER/AWD; rejected segments are listed in
# data/train/rejected.tsv. See README.md for the layout of <mgb-dir>.
set -euo pipefail
# The top-level path.sh (egs/mgb/s5/local -> repository root).
# shellcheck source=path.sh
. "$(cd "$(dirname "$0")/../../../.." && pwd -P)/path.sh"

# Begin configuration section.
max_pmer=40         # keep training segments with phone matched error rate <= this (%); none: off
max_wmer=none       # keep training segments with word matched error rate <= this (%); none: off
min_awd=0.165       # keep training segments with average word duration >= this (s); none: off
max_awd=0.66        # keep training segments with average word duration <= this (s); none: off
train_shows=        # file of show ids to train on (e.g. a one-week subset); empty: every XML
sample_rate=16000   # expected sample rate of the audio
# End configuration section.
usage="Usage: $0 [options] <mgb-dir> <data-dir>
 e.g.: $0 --max-pmer 40 /corpora/mgb1 data"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 2 "$@"
mgb=$1
data=$2
check_dirs "$mgb/train/xml"
check_files "$mgb/train/audio.list" "$mgb/dev/dev.stm" "$mgb/dev/audio.list"

train_opts=(--max-pmer "$max_pmer" --max-wmer "$max_wmer" --min-awd "$min_awd" --max-awd "$max_awd")
[[ -n $train_shows ]] && train_opts+=(--shows "$train_shows")
nghf-mgb-prep train "${train_opts[@]}" --xml-dir "$mgb/train/xml" \
  --audio-list "$mgb/train/audio.list" "$data/train"
sets=(train dev)
nghf-mgb-prep stm --stm "$mgb/dev/dev.stm" --audio-list "$mgb/dev/audio.list" "$data/dev"
if [[ -f $mgb/eval/eval.stm ]]; then
  nghf-mgb-prep stm --stm "$mgb/eval/eval.stm" --audio-list "$mgb/eval/audio.list" "$data/eval"
  sets+=(eval)
fi
for x in "${sets[@]}"; do
  nghf-validate-data --no-feats --sample-rate "$sample_rate" "$data/$x"
done
echo "$0: prepared ${sets[*]} in $data"
