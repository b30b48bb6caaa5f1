#!/usr/bin/env bash
# Align a data dir with a hybrid NN acoustic model (Kaldi's steps/nnet3/align.sh): the network's
# log-likelihoods go through each transcript's training graph (built from the GMM system's tree
# and transition model, as steps/align.sh does) and Kaldi's aligner. Writes <ali-dir>/ali.JOB.gz
# (transition-ids), num_jobs, and copies the GMM final.mdl and tree, so steps/ali_to_pdf.sh and
# everything else that reads GMM alignments reads these; nn.mdl records the network used.
# Utterances that fail are listed by id in ali.JOB.failed; a job fails when more than
# --max-fail-share of its utterances fail.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
nj=4                      # number of parallel jobs
cmd=utils/run_local.sh    # job dispatcher (see cmd.sh)
beam=10.0                 # alignment beam
retry_beam=40.0           # beam of the second try when the first finds no path
acwt=0.1                  # acoustic scale of the network's log-likelihoods
transition_scale=1.0      # scale of the HMM transition costs
self_loop_scale=0.1       # scale of the self-loop costs
max_fail_share=0.1        # fail if a larger share of a job's utterances does not align
device=cpu                # device of the network's forward passes
batch_size=16             # utterances per forward pass
force=${NGHF_FORCE:-false}               # true: re-align even if done (default: $NGHF_FORCE, set under run.sh --force true)
# End configuration section.
usage="Usage: $0 [options] <data-dir> <lang-dir> <gmm-dir> <nn-model> <ali-dir>
 e.g.: $0 --nj 8 --cmd \"\$train_cmd\" data/train data/lang exp/tri2 exp/tdnn_ce/final.mdl exp/tdnn_ali
 <gmm-dir> holds the final.mdl and tree the network's pdfs come from; <nn-model> is the
 network (or a Kaldi archive/script of its log-likelihoods, ark:FILE or scp:FILE)."
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 5 "$@"
data=$1
lang=$2
gmmdir=$3
model=$4
dir=$5
check_dirs "$data" "$lang" "$gmmdir"
check_files "$gmmdir/final.mdl" "$gmmdir/tree" "$data/text" "$data/utt2spk" "$lang/L.fst"
check_source "$model" "$data/feats.scp"

if [[ $force != true && -f $dir/.done && $(cat "$dir/num_jobs" 2>/dev/null) == "$nj" ]]; then
  echo "$0: $dir is aligned already (use --force true to redo)"
  exit 0
fi
rm -f "$dir/.done" "$dir"/ali.*.failed
mkdir -p "$dir/log"
cp -L "$gmmdir/final.mdl" "$dir/final.mdl"
cp "$gmmdir/tree" "$dir/tree"
echo "$model" > "$dir/nn.mdl"
opts=(--beam "$beam" --retry-beam "$retry_beam" --acwt "$acwt" --transition-scale "$transition_scale"
      --self-loop-scale "$self_loop_scale" --max-fail-share "$max_fail_share" --device "$device"
      --batch-size "$batch_size")
[[ $force == true ]] && opts+=(--force)
$cmd JOB=1:"$nj" "$dir/log/align.JOB.log" \
  nghf-align-nn "${opts[@]}" --nj "$nj" --job JOB "$data" "$lang" "$dir/final.mdl" "$model" "$dir/ali.JOB.gz"
echo "$nj" > "$dir/num_jobs"
failed=$( { cat "$dir"/ali.*.failed 2>/dev/null || true; } | wc -l)
echo "$0: aligned $data with $model into $dir ($failed utterances failed)"
grep -h "alignment stats" "$dir"/log/align.*.log | head -n 1 || true
touch "$dir/.done"
