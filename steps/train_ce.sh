#!/usr/bin/env bash
# Frame-level cross-entropy training of a hybrid acoustic model (TDNN, LSTM or RNN) on
# pdf-id alignments, with held-out frame accuracy, newbob (or warm-up) learning rates and
# checkpoints every epoch. A killed run continues from its last checkpoint when started
# again (bit-identical to an uninterrupted run).
# Outputs in <exp-dir>: final.mdl (self-describing: config, features, log priors),
# train_config.yaml, model_config.yaml, checkpoint.*.pt, tensorboard/, log/train.1.log
# (with --num-workers N: also log/train.1.rank.R.log per rank; rank 0 writes the outputs).
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
cmd=utils/run_local.sh             # job dispatcher (see cmd.sh; use $cuda_cmd for a GPU)
train_config=conf/train_ce.yaml    # training config (nghf.train.run.TrainConfig)
model_config=conf/model_tdnn.yaml  # model config (nghf.models.factory.ModelConfig)
optim_config=                      # optional optimiser config replacing the training config's
overrides=                         # space-separated training overrides, e.g. "epochs=2 data.batch_size=32"
device=cpu                         # cpu, cuda or cuda:N (with --num-workers > 1, cuda: one GPU per worker)
num_workers=1                      # torch.distributed ranks per node (torchrun; srun across Slurm nodes)
dist_timeout=600                   # seconds before the ranks give up on a failed or hung peer
resume=true                        # continue from the last checkpoint if there is one
force=${NGHF_FORCE:-false}                        # true: retrain from scratch even if done (default: $NGHF_FORCE, set under run.sh --force true)
# End configuration section.
usage="Usage: $0 [options] <data-dir> <ali-dir-or-file> <num-pdfs> <exp-dir>
 e.g.: $0 --model-config conf/model_lstm.yaml data/train exp/tri2_ali \$(cat exp/tri2_ali/num_pdfs) exp/lstm
 <num-pdfs> is a number or a file holding it (e.g. exp/tri2_ali/num_pdfs)."
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 4 "$@"
data=$1
ali=$2
num_pdfs=$3
dir=$4
check_dirs "$data"
check_files "$data/feats.scp" "$train_config" "$model_config"
[[ -n $optim_config ]] && check_files "$optim_config"
[[ -e $ali ]] || { echo "$0: error: expected alignment file or directory $ali to exist" >&2; exit 1; }
[[ -f $num_pdfs ]] && num_pdfs=$(< "$num_pdfs")
[[ $num_pdfs =~ ^[0-9]+$ ]] || { echo "$0: error: <num-pdfs> must be a number, got '$num_pdfs'" >&2; exit 1; }

if [[ $force != true && -f $dir/final.mdl.done ]]; then
  echo "$0: $dir/final.mdl is trained already (use --force true to redo)"
  exit 0
fi
if [[ $force == true ]]; then
  rm -f "$dir"/checkpoint.*.pt "$dir/final.mdl" "$dir/final.mdl.done"
fi
mkdir -p "$dir/log"
opts=(--config "$train_config" --model-config "$model_config" --device "$device")
add_set_options opts --optim-config "$optim_config"
[[ $resume == true ]] && opts+=(--resume)
for item in $overrides; do opts+=(--set "$item"); done

# shellcheck source=steps/lib/train_launch.sh
. "$NGHF_ROOT/steps/lib/train_launch.sh"
nghf_train_job
echo "$0: done; per epoch:"
grep -h "held-out frame accuracy" "$dir/log/train.1.log" | sed 's/.*(nghf.train.trainer) //'
