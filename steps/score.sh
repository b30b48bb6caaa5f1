#!/usr/bin/env bash
# Score a decode dir over LM weights (Kaldi's local/score.sh): for every LM weight in
# [min-lmwt, max-lmwt] the best path of each stored raw lattice is recomputed at that weight
# (graph cost x LMWT + acoustic cost) and scored against <data-dir>/text. Writes
# <decode-dir>/scoring/LMWT.tra, wer_LMWT, best_wer and scoring/summary.json; the best LM
# weight is cross-checked with sclite (identical counts required).
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
cmd=utils/run_local.sh        # job dispatcher (see cmd.sh)
min_lmwt=7                    # smallest LM weight
max_lmwt=17                   # largest LM weight
lmwt_step=1                   # step between LM weights
mode=sclite                   # alignment costs: sclite (3/3/4, as NIST sclite) or levenshtein (1/1/1)
normalizer=                   # YAML of tokens dropped before scoring (default: <unk>, [NOISE]-like)
sclite=true                   # cross-check the best LM weight with sclite
# End configuration section.
usage="Usage: $0 [options] <data-dir> <graph-dir> <decode-dir>
 e.g.: $0 --min-lmwt 7 --max-lmwt 17 data/dev exp/tri2/graph exp/tdnn/decode_dev"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 3 "$@"
data=$1
graph=$2
dir=$3
check_dirs "$data" "$graph" "$dir"
check_files "$data/text" "$data/utt2spk" "$graph/words.txt"

opts=(--mode "$mode")
[[ -n $normalizer ]] && opts+=(--normalizer "$normalizer")
mkdir -p "$dir/log"
$cmd "$dir/log/score.log" \
  nghf-score dir "${opts[@]}" --min-lmwt "$min_lmwt" --max-lmwt "$max_lmwt" --lmwt-step "$lmwt_step" \
    --sclite "$sclite" "$data" "$graph" "$dir"
cat "$dir/best_wer"
