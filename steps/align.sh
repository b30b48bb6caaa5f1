#!/usr/bin/env bash
# Align a data dir with a trained GMM-HMM in parallel jobs (Kaldi's align_si.sh). Writes
# <ali-dir>/ali.JOB.gz, copies final.mdl and tree, logs alignment statistics (silence share,
# per-phone mean durations) per job. Utterances that fail are listed by id in ali.JOB.failed
# and the log; a job fails when more than align.max_fail_share of its utterances fail.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
nj=4                    # number of parallel jobs
cmd=utils/run_local.sh  # job dispatcher (see cmd.sh)
gmm_config=conf/gmm.yaml  # GMM options (nghf.gmm.config.GmmConfig: align section)
max_fail_share=         # override align.max_fail_share (empty: from config)
force=${NGHF_FORCE:-false}             # true: re-align even if done (default: $NGHF_FORCE, set under run.sh --force true)
# End configuration section.
usage="Usage: $0 [options] <data-dir> <lang-dir> <src-exp-dir> <ali-dir>
 e.g.: $0 --nj 8 --cmd \"\$train_cmd\" data/train data/lang exp/mono exp/mono_ali"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 4 "$@"
data=$1
lang=$2
srcdir=$3
dir=$4
check_dirs "$data" "$lang" "$srcdir"
check_files "$srcdir/final.mdl" "$srcdir/tree" "$data/text" "$lang/L.fst" "$gmm_config"

if [[ $force != true && -f $dir/.done ]]; then
  echo "$0: $dir is aligned already (use --force true to redo)"
  exit 0
fi
rm -f "$dir/.done" "$dir"/ali.*.failed
mkdir -p "$dir/log"
cp -L "$srcdir/final.mdl" "$dir/final.mdl"
cp "$srcdir/tree" "$dir/tree"
opts=(--config "$gmm_config")
[[ -n $max_fail_share ]] && opts+=(--set "align.max_fail_share=$max_fail_share")
$cmd JOB=1:"$nj" "$dir/log/align.JOB.log" \
  nghf-gmm align "${opts[@]}" --nj "$nj" --job JOB "$data" "$lang" "$dir/final.mdl" "$dir/ali.JOB.gz"
echo "$nj" > "$dir/num_jobs"
failed=$( { cat "$dir"/ali.*.failed 2>/dev/null || true; } | wc -l)
echo "$0: aligned $data with $srcdir into $dir ($failed utterances failed)"
grep -h "alignment stats" "$dir"/log/align.*.log | head -n 1 || true
touch "$dir/.done"
