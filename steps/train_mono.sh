#!/usr/bin/env bash
# Monophone GMM-HMM training (Kaldi's train_mono.sh): flat start from the global mean and
# variance, equal alignment, then EM with Viterbi re-alignment on the realign iterations,
# adding Gaussians each iteration up to --tot-gauss. Accumulation runs as $nj parallel jobs.
# Outputs in <exp-dir>: final.mdl, tree, ali.JOB.gz (Kaldi alignments), like.jsonl (one JSON
# line per iteration: log-likelihood per frame, frames, pdfs, Gaussians), log/.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
nj=4                      # number of parallel jobs (whole speakers per job)
cmd=utils/run_local.sh    # job dispatcher (see cmd.sh)
gmm_config=conf/gmm.yaml  # GMM options (nghf.gmm.config.GmmConfig)
num_iters=40              # EM iterations
max_iter_inc=30           # last iteration that adds Gaussians
tot_gauss=1000            # target number of Gaussians
realign_iters="1 2 3 4 5 6 7 8 9 10 12 14 16 18 20 23 26 29 32 35 38"  # re-align on these
force=${NGHF_FORCE:-false}               # true: retrain even if done (default: $NGHF_FORCE, set under run.sh --force true)
# End configuration section.
usage="Usage: $0 [options] <data-dir> <lang-dir> <exp-dir>
 e.g.: $0 --nj 8 --cmd \"\$train_cmd\" data/train data/lang exp/mono"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 3 "$@"
data=$1
lang=$2
dir=$3
check_dirs "$data" "$lang"
check_files "$data/text" "$data/spk2utt" "$lang/topo" "$lang/L.fst" "$lang/phones/sets.int" "$gmm_config"

if [[ $force != true && -f $dir/.done ]]; then
  echo "$0: $dir is trained already (use --force true to redo)"
  exit 0
fi
rm -f "$dir/.done" "$dir/like.jsonl"
mkdir -p "$dir/log"
opts=(--config "$gmm_config")

nghf-gmm --log "$dir/log/init.log" init-mono "${opts[@]}" "$data" "$lang" "$dir/0.mdl"
# shellcheck source=steps/lib/em_loop.sh
. "$NGHF_ROOT/steps/lib/em_loop.sh"
gmm_em_loop equal
echo "$0: done; log-likelihood per frame by iteration:"
python -c "import json,sys; [print(i, round(json.loads(l)['like_per_frame'], 4), int(json.loads(l)['num_gauss'])) for i, l in enumerate(open(sys.argv[1]))]" "$dir/like.jsonl"
