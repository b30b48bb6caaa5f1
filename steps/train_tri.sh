#!/usr/bin/env bash
# Triphone GMM-HMM training (Kaldi's train_deltas.sh) from the alignments of a previous
# model: tree statistics per job, our own decision tree (nghf-gmm build-tree: automatic and
# extra questions, likelihood-gain splitting to <num-leaves>), the initial triphone model,
# converted alignments, then EM with re-alignment and Gaussian splitting to <tot-gauss>.
# Outputs in <exp-dir>: tree, final.mdl, ali.JOB.gz, like.jsonl, questions.txt, log/.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
cmd=utils/run_local.sh    # job dispatcher (see cmd.sh)
gmm_config=conf/gmm.yaml  # GMM options (nghf.gmm.config.GmmConfig)
num_iters=35              # EM iterations
max_iter_inc=25           # last iteration that adds Gaussians
realign_iters="10 20 30"  # re-align on these iterations
force=${NGHF_FORCE:-false}               # true: retrain even if done (default: $NGHF_FORCE, set under run.sh --force true)
# End configuration section.
usage="Usage: $0 [options] <num-leaves> <tot-gauss> <data-dir> <lang-dir> <ali-dir> <exp-dir>
 e.g.: $0 --cmd \"\$train_cmd\" 2000 10000 data/train data/lang exp/mono_ali exp/tri1
 The number of jobs is that of <ali-dir> (its num_jobs file)."
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 6 "$@"
num_leaves=$1
tot_gauss=$2
data=$3
lang=$4
alidir=$5
dir=$6
check_dirs "$data" "$lang" "$alidir"
check_files "$alidir/final.mdl" "$alidir/num_jobs" "$alidir/ali.1.gz" "$lang/phones/roots.int" "$gmm_config"

if [[ $force != true && -f $dir/.done ]]; then
  echo "$0: $dir is trained already (use --force true to redo)"
  exit 0
fi
rm -f "$dir/.done" "$dir/like.jsonl"
mkdir -p "$dir/log"
nj=$(cat "$alidir/num_jobs")
opts=(--config "$gmm_config")

$cmd JOB=1:"$nj" "$dir/log/acc_tree.JOB.log" \
  nghf-gmm tree-stats "${opts[@]}" --nj "$nj" --job JOB \
    "$data" "$alidir/final.mdl" "$alidir/ali.JOB.gz" "$dir/tree_stats.JOB.npz"
stats=()
for j in $(seq "$nj"); do stats+=("$dir/tree_stats.$j.npz"); done
nghf-gmm --log "$dir/log/build_tree.log" build-tree "${opts[@]}" --num-leaves "$num_leaves" \
  "$lang" "$dir" "${stats[@]}"
rm -f "${stats[@]}"
grep "tree:" "$dir/log/build_tree.log" | tail -n 1
$cmd JOB=1:"$nj" "$dir/log/convert.JOB.log" \
  nghf-gmm convert-ali "$alidir/final.mdl" "$dir/0.mdl" "$alidir/ali.JOB.gz" "$dir/ali.JOB.gz"

# shellcheck source=steps/lib/em_loop.sh
. "$NGHF_ROOT/steps/lib/em_loop.sh"
gmm_em_loop auto
echo "$0: done; log-likelihood per frame by iteration (iteration, like/frame, pdfs, Gaussians):"
python -c "import json,sys; [print(i, round(json.loads(l)['like_per_frame'], 4), int(json.loads(l)['num_pdfs']), int(json.loads(l)['num_gauss'])) for i, l in enumerate(open(sys.argv[1]))]" "$dir/like.jsonl"
