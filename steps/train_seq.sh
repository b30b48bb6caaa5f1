#!/usr/bin/env bash
# Lattice-based sequence training (MMI, bMMI, MPFE, sMBR) of a hybrid model, starting from
# the cross-entropy model (its priors, features and architecture are kept), with any
# optimiser of the generic trainer: sgd, adam, hf, ng or nghf, chosen by --optim-config
# alone. Numerators are the reference alignments of <ali-dir> (ali.*.gz with its final.mdl,
# or pdf.*.gz + phone.*.gz); denominators come from steps/make_denlats.sh. A killed run
# continues from its last checkpoint when started again (bit-identical).
# Outputs in <exp-dir>: final.mdl (same format as CE: steps/decode.sh decodes it unchanged),
# train_log.jsonl (one line per update: loss, held-out loss, CG iterations, damping, rho,
# quadratic reductions, accepted, time), meta.json, checkpoints, resolved configs,
# bad_utts.txt, log/train.1.log.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
cmd=utils/run_local.sh                       # job dispatcher (see cmd.sh; use $cuda_cmd for a GPU)
criterion_config=conf/criterion_mmi.yaml     # sequence criterion (nghf.criteria.seqbase.SequenceCriterionConfig)
optim_config=conf/optim_nghf.yaml            # optimiser: conf/optim_{sgd,adam,hf,ng,nghf}.yaml
train_config=conf/train_seq.yaml             # nghf.train.sequence_run.TrainSeqConfig
overrides=                                   # space-separated training overrides, e.g. "epochs=1"
criterion_overrides=                         # space-separated criterion overrides, e.g. "xent_weight=0"
trans_model=                                 # transition model for <ali-dir>/ali.*.gz (default <ali-dir>/final.mdl)
den_graph=                                   # weak-LM graph of the lattices: regenerates them (overrides "regenerate.every=N")
device=cpu                                   # cpu, cuda or cuda:N (with --num-workers > 1: one GPU per worker)
num_workers=1                                # torch.distributed ranks per node (torchrun; srun across Slurm nodes)
dist_timeout=600                             # seconds before the ranks give up on a failed or hung peer
resume=true                                  # continue from the last checkpoint if there is one
force=${NGHF_FORCE:-false}                                  # true: retrain from the CE model even if done (default: $NGHF_FORCE, set under run.sh --force true)
# End configuration section.
usage="Usage: $0 [options] <data-dir> <ali-dir> <denlat-dir> <ce-model-dir> <exp-dir>
 e.g.: $0 --criterion-config conf/criterion_mpfe.yaml --optim-config conf/optim_nghf.yaml \\
         data/train exp/tri2_ali exp/tdnn_denlats exp/tdnn exp/tdnn_mpfe_nghf"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 5 "$@"
data=$1
ali=$2
denlats=$3
ce=$4
dir=$5
check_dirs "$data" "$ali" "$denlats" "$ce"
check_files "$data/feats.scp" "$ce/final.mdl" "$criterion_config" "$optim_config" "$train_config"
if [[ ! -f $denlats/.done ]]; then
  if compgen -G "$denlats/lat.*.gz" > /dev/null && ! compgen -G "$denlats/lat.*.npz" > /dev/null; then
    echo "$0: error: $denlats holds Kaldi lattices (lat.*.gz); convert them with:" \
      "nghf-import-lattices --trans-model $ali/final.mdl $denlats <new-denlat-dir>" >&2
  else
    echo "$0: error: $denlats has no finished lattices (run steps/make_denlats.sh)" >&2
  fi
  exit 1
fi
[[ -n $trans_model ]] && check_files "$trans_model"
[[ -n $den_graph ]] && check_dirs "$den_graph"
num_pdfs=
for f in "$ali/num_pdfs" "$ce/num_pdfs"; do
  [[ -f $f ]] && { num_pdfs=$(< "$f"); break; }
done
[[ $num_pdfs =~ ^[0-9]+$ ]] || { echo "$0: error: no num_pdfs in $ali or $ce (run steps/ali_to_pdf.sh)" >&2; exit 1; }

if [[ $force != true && -f $dir/final.mdl.done ]]; then
  echo "$0: $dir/final.mdl is trained already (use --force true to redo)"
  exit 0
fi
if [[ $force == true ]]; then
  rm -f "$dir"/checkpoint.*.pt "$dir/final.mdl" "$dir/final.mdl.done" "$dir/train_log.jsonl"
fi
mkdir -p "$dir/log"
opts=(--denlat-dir "$denlats" --init-model "$ce/final.mdl" --criterion-config "$criterion_config"
      --optim-config "$optim_config" --config "$train_config" --device "$device")
add_set_options opts --trans-model "$trans_model" --den-graph "$den_graph"
[[ $resume == true ]] && opts+=(--resume)
for item in $overrides; do opts+=(--set "$item"); done
for item in $criterion_overrides; do opts+=(--criterion-set "$item"); done

# shellcheck source=steps/lib/train_launch.sh
. "$NGHF_ROOT/steps/lib/train_launch.sh"
nghf_train_job
echo "$0: done: $(tr -d '\n ' < "$dir/meta.json")"
