#!/usr/bin/env bash
# nghf: the whole pipeline on the embedded broadcast-style corpus, stage by stage.
#
#   ./run.sh                          install what is missing, then run every stage
#   ./run.sh --quick true             the tiny corpus and small systems: the whole pipeline in minutes
#   ./run.sh --stage 8                resume from stage 8 (finished stages are skipped)
#   ./run.sh --stage 8 --force true   redo stage 8 onwards
#   ./run.sh --backend slurm          dispatch the parallel jobs through Slurm (cmd.sh; or NGHF_BACKEND=slurm)
#   ./run.sh --paper-table true       the paper's systems table: TDNN, LSTM and RNN x {CE, MMI, MPFE} x
#                                     {SGD, Adam, HF, NG, NGHF} (after a default run: only the new systems train)
#
# Stages: 0 corpus, 1 data dirs, 2 features, 3 lang + LMs, 4 monophone GMM, 5 triphone GMM
# (tri1), 6 triphone GMM (tri2) + pdf alignments, 7 GMM graph + decoding, 8 hybrid CE training,
# 9 hybrid CE decoding, 10 denominator lattices (weak-LM graph), 11 sequence training (each
# criterion x optimiser), 12 sequence-trained decoding, 20 results table and plots.
set -euo pipefail
cd "$(dirname "$0")"

# Begin configuration section.
stage=0               # first stage to run
stop_stage=100        # last stage to run
force=false           # redo stages that already have a .done marker
quick=false           # true: tiny corpus and small systems (the end-to-end test uses this)
size=default          # corpus size: tiny or default (--quick true implies tiny)
train_hours=""        # hours of training speech (empty: the size's, conf/corpus.yaml); a new --exp/--corpus, or --stage 0 --force true
nj=2                  # parallel jobs for corpus, features, GMM training, alignment, decoding
backend=${NGHF_BACKEND:-local}  # job dispatch of cmd.sh: local or slurm
models="tdnn"         # hybrid models to train: any of "tdnn lstm rnn"
criteria="mmi mpfe"   # sequence criteria: any of "mmi bmmi mpfe smbr"
optimisers="sgd adam nghf"  # sequence-training optimisers: any of "sgd adam hf ng nghf"
paper_table=false     # true: models "tdnn lstm rnn", criteria "mmi mpfe", optimisers "sgd adam hf ng nghf", and
                      # RESULTS.md laid out as egs/mgb/s5's systems table ("-" for systems not run yet)
nn_align=false        # true: numerators from the CE network's own alignment (steps/align_nn.sh)
epoch_dev_wer=seq     # dev WER of every epoch's model (plot): seq (sequence-trained systems), all (also CE), none
num_workers=1         # torch.distributed ranks for CE and sequence training
tri1_leaves=""        # first triphone pass: tree leaves (empty: 800, with --quick true 200)
tri1_gauss=""         # first triphone pass: Gaussians (empty: 5000, quick 1000)
tri2_leaves=""        # second triphone pass: tree leaves, the hybrid models' outputs (empty: 1000, quick 300)
tri2_gauss=""         # second triphone pass: Gaussians (empty: 7000, quick 1500)
device=cpu            # device for neural-network training and decoding (cpu, cuda)
exp=exp               # models, logs, decodes and the results file
data=data             # Kaldi data directories
corpus=corpus         # where the embedded corpus is generated
featdir=features      # feature archives (fbank for the networks, MFCC for the GMMs)
results_md=RESULTS.md # the generated results table (plots go to <exp>/plots)
# End configuration section.
usage="Usage: $0 [options]
Runs the embedded-corpus recipe end to end (stages listed at the top of $0)."
. utils/parse_options.sh
check_nargs 0 "$@"

# The paper's systems table (Haider et al. 2021: RNN, LSTM and TDNN models; NGHF against SGD and
# Adam, with HF and NG beside them) on the embedded corpus, in the layout of the MGB recipe's.
expected_systems=""
if [[ $paper_table == true ]]; then
  models="tdnn lstm rnn"
  criteria="mmi mpfe"
  optimisers="sgd adam hf ng nghf"
  expected_systems=egs/mgb/s5/conf/paper_systems.yaml
fi

tools/install.sh
. ./path.sh
export NGHF_BACKEND=$backend
. ./cmd.sh
stage_dir=$exp
. utils/stages.sh

# System sizes: the full recipe, or the quick one on the tiny corpus.
if [[ $quick == true ]]; then
  size=tiny
  vocab_words=2000       # most frequent LM-text words added to the training words
  lm_prune=1e-5          # relative-entropy pruning of the decoding trigram: ~25k n-grams, HCLG 190k
                         # states built in 5 s (at 1e-6: 134k n-grams, 960k states, 47 s; tri2 dev WER 85.3 vs 85.9)
  den_lm_prune=1e-6      # and of the denominator graph's bigram
  # Narrower denominator search: the quick CE model is weak (flat posteriors), and at the
  # default beams its lattices took 4x as long (26 s against 6 s a job)
  denlat_opts="--beam 8 --lattice-beam 4 --max-arcs-per-frame 20"
  mono_gauss=300; mono_iters=15
  tri1_leaves=${tri1_leaves:-200}; tri1_gauss=${tri1_gauss:-1000}; tri2_leaves=${tri2_leaves:-300}
  tri2_gauss=${tri2_gauss:-1500}; tri_iters=10
  ce_overrides="epochs=3"
  seq_overrides="epochs=1 second_order.epochs=1 second_order.utts_per_update=16 second_order.validation_utts=4"
  decode_opts="--beam 10 --lattice-beam 5 --min-lmwt 7 --max-lmwt 21"
  nn_decode_opts="--acwt 0.2 --beam 10 --lattice-beam 6 --min-lmwt 2 --max-lmwt 16"
else
  vocab_words=20000
  # Trigram pruned to ~100k n-grams: HCLG 3.8M arcs built in ~1 min (at 1e-7, 14M arcs and
  # ~4 min; tri2 dev WER 40.8 there vs 42.3 here). The bigram of the denominator graph likewise.
  lm_prune=2e-6
  den_lm_prune=2e-6
  mono_gauss=1000; mono_iters=20
  tri1_leaves=${tri1_leaves:-800}; tri1_gauss=${tri1_gauss:-5000}  # ~200 frames/leaf
  tri2_leaves=${tri2_leaves:-1000}; tri2_gauss=${tri2_gauss:-7000}; tri_iters=20
  ce_overrides=""
  seq_overrides=""
  # GMM decoding (best LM weight ~18); hybrid models' scores are flatter (best weight 3-7): they
  # are searched at acoustic scale 0.2 with a wider lattice beam, or the lattices miss the paths
  # the low weights prefer (CE TDNN dev WER 55.7 % at acwt 0.1 / lattice beam 6, 43.0 % here).
  # MMI-trained SGD/Adam models want high weights again (best 22 in the default run).
  decode_opts="--beam 11 --lattice-beam 6 --min-lmwt 7 --max-lmwt 21"
  nn_decode_opts="--acwt 0.2 --beam 11 --lattice-beam 7 --min-lmwt 2 --max-lmwt 26"
fi
results=$exp/results.jsonl

# Stages 2-20 (features ... results) are shared with the egs/ recipes.
# shellcheck source=steps/lib/recipe_stages.sh
. steps/lib/recipe_stages.sh

stage_corpus() {
  local/make_corpus.sh --size "$size" --hours "$train_hours" --nj "$nj" --cmd "$train_cmd" "$corpus"
}
# The corpus options in stage 0's marker: a changed size or --train-hours runs it again, and
# local/make_corpus.sh then refuses to resume a corpus built with other options.
stage_options_corpus() { echo "size=$size train_hours=$train_hours"; }

stage_data() {
  local x
  for x in train dev eval; do
    rm -rf "${data:?}/$x"
    mkdir -p "$data"
    cp -r "$corpus/data/$x" "$data/$x"
    finish_data_dirs "$x"
  done
  mkdir -p "$data/local/lm"
  cp "$corpus/data/local/lm_text.txt" "$data/local/lm/text.txt"
}

run_stage 0 corpus stage_corpus
run_stage 1 data stage_data
run_common_stages  # stages 2-20, shared with egs/*/s5 (steps/lib/recipe_stages.sh)
print_stage_times
