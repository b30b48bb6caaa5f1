#!/usr/bin/env bash
# nghf: the whole pipeline on the embedded broadcast-style corpus, stage by stage.
#
#   ./run.sh                          install what is missing, then run every stage
#   ./run.sh --quick true             the tiny corpus and small systems: the whole pipeline in minutes
#   ./run.sh --stage 8                resume from stage 8 (finished stages are skipped)
#   ./run.sh --stage 8 --force true   redo stage 8 onwards
#   NGHF_BACKEND=slurm ./run.sh       dispatch the parallel jobs through Slurm (cmd.sh)
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
nj=2                  # parallel jobs for corpus, features, GMM training, alignment, decoding
models="tdnn"         # hybrid models to train: any of "tdnn lstm rnn"
criteria="mmi mpfe"   # sequence criteria: any of "mmi bmmi mpfe smbr"
optimisers="sgd adam nghf"  # sequence-training optimisers: any of "sgd adam hf ng nghf"
num_workers=1         # torch.distributed ranks for CE and sequence training
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

tools/install.sh
. ./path.sh
. ./cmd.sh
stage_dir=$exp
. utils/stages.sh

# System sizes: the full recipe, or the quick one on the tiny corpus.
if [[ $quick == true ]]; then
  size=tiny
  vocab_words=2000       # most frequent LM-text words added to the training words
  lm_prune=1e-6          # relative-entropy pruning of the decoding trigram (graph size)
  mono_gauss=300; mono_iters=15
  tri1_leaves=200; tri1_gauss=1000; tri2_leaves=300; tri2_gauss=1500; tri_iters=10
  ce_overrides="epochs=3"
  seq_overrides="epochs=1 second_order.utts_per_update=16 first_order.utts_per_update=4"
  decode_opts="--beam 10 --lattice-beam 5 --min-lmwt 2 --max-lmwt 21"
else
  vocab_words=20000
  lm_prune=1e-7
  mono_gauss=1000; mono_iters=30
  tri1_leaves=1000; tri1_gauss=6000; tri2_leaves=1500; tri2_gauss=10000; tri_iters=25
  ce_overrides=""
  seq_overrides=""
  decode_opts="--beam 11 --lattice-beam 6 --min-lmwt 2 --max-lmwt 21"
fi
results=$exp/results.jsonl

# Number of jobs for a data dir: at most one per speaker.
nj_for() {
  local speakers
  speakers=$(wc -l < "$1/spk2utt")
  echo $(( speakers < nj ? speakers : nj ))
}

stage_corpus() {
  local/make_corpus.sh --size "$size" --nj "$nj" --cmd "$train_cmd" "$corpus"
}

stage_data() {
  local x
  for x in train dev eval; do
    rm -rf "${data:?}/$x"
    mkdir -p "$data"
    cp -r "$corpus/data/$x" "$data/$x"
    steps/fix_data_dir.sh "$data/$x"
    steps/validate_data_dir.sh --no-feats true "$data/$x"
  done
  mkdir -p "$data/local/lm"
  cp "$corpus/data/local/lm_text.txt" "$data/local/lm/text.txt"
}

stage_features() {
  local x n
  for x in train dev eval; do
    n=$(nj_for "$data/$x")
    steps/make_fbank.sh --nj "$n" --cmd "$train_cmd" "$data/$x" "$exp/make_fbank/$x" "$featdir/fbank"
    steps/compute_cmvn_stats.sh "$data/$x" "$exp/make_fbank/$x" "$featdir/fbank"
    steps/make_mfcc.sh --nj "$n" --cmd "$train_cmd" "$data/$x" "$featdir/mfcc/$x"
  done
}

stage_lang() {
  steps/make_lexicon.sh --max-extra-words "$vocab_words" --extra-text "$data/local/lm/text.txt" \
    "$data/local/dict" "$data/train"
  steps/prepare_lang.sh "$data/local/dict" "<unk>" "$data/local/lang_tmp" "$data/lang"
  steps/validate_lang.sh "$data/lang"
  # Trigram for decoding; bigram (weak LM) for the denominator graphs of sequence training.
  steps/train_lm.sh --order 3 --prune-threshold "$lm_prune" --dev-text "$data/dev/text" "$data/local/lm/text.txt" "$data/lang" "$data/local/lm/tg"
  steps/format_lm.sh "$data/lang" "$data/local/lm/tg/lm.arpa.gz" "$data/lang_test_tg"
  steps/train_lm.sh --order 2 --dev-text "$data/dev/text" "$data/local/lm/text.txt" "$data/lang" "$data/local/lm/bg"
  steps/format_lm.sh "$data/lang" "$data/local/lm/bg/lm.arpa.gz" "$data/lang_bg"
}

stage_mono() {
  steps/train_mono.sh --nj "$(nj_for "$data/train")" --cmd "$train_cmd" --num-iters "$mono_iters" \
    --tot-gauss "$mono_gauss" "$data/train" "$data/lang" "$exp/mono"
  steps/align.sh --nj "$(nj_for "$data/train")" --cmd "$train_cmd" "$data/train" "$data/lang" "$exp/mono" "$exp/mono_ali"
}

stage_tri1() {
  steps/train_tri.sh --cmd "$train_cmd" --num-iters "$tri_iters" --max-iter-inc $((tri_iters * 2 / 3)) \
    --realign-iters "$((tri_iters / 3)) $((tri_iters * 2 / 3))" \
    "$tri1_leaves" "$tri1_gauss" "$data/train" "$data/lang" "$exp/mono_ali" "$exp/tri1"
  steps/align.sh --nj "$(nj_for "$data/train")" --cmd "$train_cmd" "$data/train" "$data/lang" "$exp/tri1" "$exp/tri1_ali"
}

stage_tri2() {
  steps/train_tri.sh --cmd "$train_cmd" --num-iters "$tri_iters" --max-iter-inc $((tri_iters * 2 / 3)) \
    --realign-iters "$((tri_iters / 3)) $((tri_iters * 2 / 3))" \
    "$tri2_leaves" "$tri2_gauss" "$data/train" "$data/lang" "$exp/tri1_ali" "$exp/tri2"
  steps/align.sh --nj "$(nj_for "$data/train")" --cmd "$train_cmd" "$data/train" "$data/lang" "$exp/tri2" "$exp/tri2_ali"
  steps/ali_to_pdf.sh "$exp/tri2_ali"
}

stage_gmm_decode() {
  local x
  steps/mkgraph.sh "$data/lang_test_tg" "$exp/tri2" "$exp/tri2/graph"
  for x in dev eval; do
    steps/decode_gmm.sh --nj "$(nj_for "$data/$x")" --cmd "$decode_cmd" --decode-opts "$decode_opts" \
      "$exp/tri2/graph" "$data/$x" "$exp/tri2" "$exp/tri2/decode_$x"
  done
  nghf-score record --results "$results" --system tri2 --model gmm --criterion ml --optimiser em \
    --updates "$tri_iters" "$exp/tri2/decode_dev" "$exp/tri2/decode_eval"
}

stage_ce_train() {
  local m
  for m in $models; do
    steps/train_ce.sh --cmd "$cuda_cmd" --device "$device" --num-workers "$num_workers" --overrides "$ce_overrides" \
      --model-config "conf/model_$m.yaml" "$data/train" "$exp/tri2_ali" "$exp/tri2_ali/num_pdfs" "$exp/${m}_ce"
  done
}

# Decode dev and eval with a hybrid system's final.mdl and record both (LM weight tuned on dev).
decode_and_record() {
  local sys=$1 x
  for x in dev eval; do
    # shellcheck disable=SC2086  # decode_opts is a list of options
    steps/decode.sh --nj "$(nj_for "$data/$x")" --cmd "$decode_cmd" --device "$device" $decode_opts \
      "$exp/tri2/graph" "$data/$x" "$sys/final.mdl" "$sys/decode_$x"
  done
  nghf-score record --results "$results" --meta "$sys/meta.json" "$sys/decode_dev" "$sys/decode_eval"
}

stage_ce_decode() {
  local m
  for m in $models; do
    decode_and_record "$exp/${m}_ce"
  done
}

stage_denlats() {
  local m
  steps/mkgraph.sh "$data/lang_bg" "$exp/tri2" "$exp/tri2/graph_bg"
  for m in $models; do
    steps/make_denlats.sh --nj "$(nj_for "$data/train")" --cmd "$decode_cmd" --device "$device" \
      --lattice-beam 6 --max-arcs-per-frame 50 --ali-dir "$exp/tri2_ali" "$exp/tri2/graph_bg" "$data/train" "$exp/${m}_ce/final.mdl" "$exp/${m}_denlats"
  done
}

stage_seq_train() {
  local m crit opt silence
  # MPFE/bMMI count silence frames by phone class: the lang dir's silence phones.
  silence="silence_phones=[$(tr ':' ',' < "$data/lang/phones/silence.csl")]"
  for m in $models; do
    for crit in $criteria; do
      for opt in $optimisers; do
        steps/train_seq.sh --cmd "$cuda_cmd" --device "$device" --num-workers "$num_workers" \
          --criterion-config "conf/criterion_$crit.yaml" --criterion-overrides "$silence" \
          --optim-config "conf/optim_$opt.yaml" --overrides "$seq_overrides" \
          "$data/train" "$exp/tri2_ali" "$exp/${m}_denlats" "$exp/${m}_ce" "$exp/${m}_${crit}_${opt}"
      done
    done
  done
}

stage_seq_decode() {
  local m crit opt
  for m in $models; do
    for crit in $criteria; do
      for opt in $optimisers; do
        decode_and_record "$exp/${m}_${crit}_${opt}"
      done
    done
  done
}

stage_results() {
  nghf-results --results "$results" --out "$results_md" --plots-dir "$exp/plots"
  cat "$results_md"
}

run_stage 0 corpus stage_corpus
run_stage 1 data stage_data
run_stage 2 features stage_features
run_stage 3 lang stage_lang
run_stage 4 mono stage_mono
run_stage 5 tri1 stage_tri1
run_stage 6 tri2 stage_tri2
run_stage 7 gmm_decode stage_gmm_decode
run_stage 8 ce_train stage_ce_train
run_stage 9 ce_decode stage_ce_decode
run_stage 10 denlats stage_denlats
run_stage 11 seq_train stage_seq_train
run_stage 12 seq_decode stage_seq_decode
run_stage 20 results stage_results
print_stage_times
