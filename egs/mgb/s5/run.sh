#!/usr/bin/env bash
# A recipe for the paper's setting (Haider et al., Neural Networks 2021) on MGB-1 (English
# multi-genre broadcast, BBC): hybrid TDNN/LSTM/RNN models, MMI and MPFE sequence training with
# SGD, Adam, HF, NG and NGHF. Its settings (conf/*.yaml, the options below) are ours unless a
# config comment starts with "abstract:" (stated in the paper's abstract). Defaults are for a
# GPU cluster: networks on --device cuda, jobs through Slurm
# (--backend slurm sets NGHF_BACKEND for cmd.sh). See README.md for the data layout.
#
#   ./run.sh --mgb-dir /corpora/mgb1                     everything, on Slurm with GPUs
#   ./run.sh --mgb-dir /corpora/mgb1 --stop-stage 1      data preparation only
#   ./run.sh --backend local --device cpu --nj 4 ...     on one machine without a GPU
#   ./run.sh --stage 11 --models tdnn --optimisers nghf  resume at sequence training, one system
#
# Stages: 1 data (local/mgb_data_prep.sh, LM text), then the stages shared with every recipe
# (steps/lib/recipe_stages.sh): 2 features, 3 lang + LMs (CMUdict + G2P lexicon), 4 mono,
# 5 tri1, 6 tri2, 7 GMM decode, 8 CE training, 9 CE decode, 10 denominator lattices,
# 11 sequence training (each criterion x optimiser), 12 decoding, 20 RESULTS.md listing every
# system of conf/paper_systems.yaml ("–" for those not run yet).
set -euo pipefail

# shellcheck source=steps/lib/recipe_defaults.sh
. "$(dirname "$0")/steps/lib/recipe_defaults.sh"  # the options every recipe has; below, MGB-1's own
# Begin configuration section.
mgb_dir=/corpora/mgb1 # the MGB-1 distribution, arranged as README.md says
mgb_prep_opts=""      # more options of local/mgb_data_prep.sh, e.g. "--train-shows list --max-pmer 40"
lm_text=""            # LM training text, one sentence per line, normalised like the transcripts (lower case, no punctuation); empty: the training transcripts
backend=${NGHF_BACKEND:-slurm}  # job dispatch of cmd.sh: slurm (GPU cluster) or local
device=cuda           # device for neural-network training, lattices and decoding (cuda, cpu)
nj=64
num_workers=1         # torch.distributed ranks (GPUs) per node for CE and sequence training
models="tdnn lstm rnn"
criteria="mmi mpfe"
optimisers="sgd adam hf ng nghf"
vocab_words=60000     # most frequent LM-text words added to the training words (lexicon)
lm_prune=1e-8
mono_iters=40
tri1_leaves=2500
tri1_gauss=30000
tri2_leaves=5000
tri2_gauss=50000
tri_iters=35
ce_overrides=""       # overrides of conf/train_ce.yaml, e.g. "epochs=4"
seq_overrides=""      # overrides of conf/train_seq.yaml, e.g. "second_order.utts_per_update=20000"
decode_opts="--min-lmwt 7 --max-lmwt 17"  # more options of steps/decode.sh (beams: conf/decode.yaml)
denlat_opts="--lattice-beam 7 --max-arcs-per-frame 100"
epoch_dev_wer=all
featdir=features      # feature archives (fbank for the networks, MFCC for the GMMs)
expected_systems=conf/paper_systems.yaml  # systems RESULTS.md lists ('' for only those run)
# End configuration section.
usage="Usage: $0 [options]
Runs the MGB-1 recipe (stages listed at the top of $0; data layout in README.md)."
option_files=("$(dirname "$0")/steps/lib/recipe_defaults.sh")
# shellcheck source=utils/parse_options.sh
. "$(dirname "$0")/utils/parse_options.sh"
check_nargs 0 "$@"
# shellcheck source=steps/lib/recipe_setup.sh
. "$(dirname "$0")/steps/lib/recipe_setup.sh"  # cd to the recipe dir, path.sh, cmd.sh, stages

stage_data() {
  local sets=(train dev)
  # shellcheck disable=SC2086  # mgb_prep_opts is a list of options
  local/mgb_data_prep.sh $mgb_prep_opts "$mgb_dir" "$data"
  if [[ -d $data/eval ]]; then
    sets+=(eval)
  elif (( stop_stage > 1 )); then
    echo "$0: error: no eval set ($mgb_dir/eval/eval.stm): the later stages score dev and eval" >&2
    return 1
  fi
  finish_data_dirs "${sets[@]}"
  mkdir -p "$data/local/lm"
  if [[ -n $lm_text ]]; then
    check_files "$lm_text"
    cp "$lm_text" "$data/local/lm/text.txt"
  else
    cut -d' ' -f2- "$data/train/text" > "$data/local/lm/text.txt"
  fi
}

run_stage 1 data stage_data
run_common_stages
print_stage_times
