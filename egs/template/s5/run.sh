#!/usr/bin/env bash
# Generic recipe for a new corpus. A recipe directory holds three things of its own and links
# (run.sh -> this file, steps, utils, path.sh, cmd.sh -> the repository's):
#
#   local/prepare_data.sh <data-dir>   writes Kaldi data dirs <data-dir>/{train,dev,eval}
#                                      (wav.scp, text, utt2spk, spk2utt, optional segments) and,
#                                      if it has one, the LM text <data-dir>/local/lm/text.txt
#   local/lexicon.txt                  optional: "word phone phone ..." per line; without it,
#                                      CMUdict + espeak-ng G2P pronounce the words (English)
#   conf/                              configs that differ from the top-level conf/ (e.g.
#                                      model_tdnn.yaml, train_ce.yaml); the rest fall back to it
#
#   ./run.sh                               every stage
#   ./run.sh --stop-stage 7                up to the GMM system's decoding
#   ./run.sh --stage 11 --optimisers nghf  resume at sequence training with one optimiser
#
# Stages: 1 data (local/prepare_data.sh), then the stages shared with every recipe
# (steps/lib/recipe_stages.sh): 2 features, 3 lang + LMs, 4 mono, 5 tri1, 6 tri2, 7 GMM
# decode, 8 CE training, 9 CE decode, 10 denominator lattices, 11 sequence training, 12
# decoding, 20 RESULTS.md.
set -euo pipefail

# shellcheck source=steps/lib/recipe_defaults.sh
. "$(dirname "$0")/steps/lib/recipe_defaults.sh"  # the options every recipe has; below, this one's own
# Begin configuration section.
lexicon=auto          # auto: local/lexicon.txt if it exists, else CMUdict + G2P; or a lexicon file; '' for CMUdict + G2P
lm_text=""            # LM training text (one sentence per line); empty: <data>/local/lm/text.txt from prepare_data.sh, else the training transcripts
# End configuration section.
usage="Usage: $0 [options]
Runs the recipe of this directory: local/prepare_data.sh, [local/lexicon.txt], conf/ (see $0)."
option_files=("$(dirname "$0")/steps/lib/recipe_defaults.sh")
# shellcheck source=utils/parse_options.sh
. "$(dirname "$0")/utils/parse_options.sh"
check_nargs 0 "$@"
# shellcheck source=steps/lib/recipe_setup.sh
. "$(dirname "$0")/steps/lib/recipe_setup.sh"  # cd to the recipe dir, path.sh, cmd.sh, stages
if [[ $lexicon == auto ]]; then
  lexicon=""
  [[ -f local/lexicon.txt ]] && lexicon=local/lexicon.txt
fi

stage_data() {
  [[ -x local/prepare_data.sh ]] || { echo "$0: error: no executable local/prepare_data.sh in $PWD" >&2; return 1; }
  local/prepare_data.sh "$data"
  finish_data_dirs train dev eval
  mkdir -p "$data/local/lm"
  if [[ -n $lm_text ]]; then
    check_files "$lm_text"
    cp "$lm_text" "$data/local/lm/text.txt"
  elif [[ ! -s $data/local/lm/text.txt ]]; then
    echo "$0: no LM text from local/prepare_data.sh: the LMs are trained on the training transcripts"
    cut -d' ' -f2- "$data/train/text" > "$data/local/lm/text.txt"
  fi
}

run_stage 1 data stage_data
run_common_stages
print_stage_times
