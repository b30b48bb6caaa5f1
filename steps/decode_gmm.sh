#!/usr/bin/env bash
# Decode a data dir with a GMM-HMM: per-job GMM pdf log-likelihoods (nghf-gmm loglikes, the
# model's MFCC+CMVN+delta features) are written as a Kaldi matrix archive and handed to the
# shared decoder and scorer (steps/decode.sh with <decode-dir>/loglikes.ark).
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
nj=4                    # number of parallel jobs
cmd=utils/run_local.sh  # job dispatcher (see cmd.sh)
gmm_config=conf/gmm.yaml  # GMM options (nghf.gmm.config.GmmConfig: feats section)
skip_scoring=false      # true: decode only
decode_opts=            # extra options for steps/decode.sh, e.g. "--beam 10 --lattice-beam 6"
# End configuration section.
usage="Usage: $0 [options] <graph-dir> <data-dir> <model-dir> <decode-dir>
 e.g.: $0 --nj 8 --cmd \"\$decode_cmd\" exp/tri2/graph data/dev exp/tri2 exp/tri2/decode_dev"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 4 "$@"
graph=$1
data=$2
model_dir=$3
dir=$4
check_dirs "$graph" "$data" "$model_dir"
check_files "$graph/HCLG.fst" "$graph/tid2pdf" "$model_dir/final.mdl" "$gmm_config"

mkdir -p "$dir/log"
$cmd JOB=1:"$nj" "$dir/log/loglikes.JOB.log" \
  nghf-gmm loglikes --config "$gmm_config" --nj "$nj" --job JOB "$data" "$model_dir/final.mdl" \
    "$dir/loglikes.JOB.ark"
for j in $(seq "$nj"); do cat "$dir/loglikes.$j.ark"; done > "$dir/loglikes.ark"
for j in $(seq "$nj"); do rm -f "$dir/loglikes.$j.ark"; done
# shellcheck disable=SC2086  # decode_opts is a list of options
"$NGHF_ROOT/steps/decode.sh" --nj "$nj" --cmd "$cmd" --tid2pdf "$graph/tid2pdf" $decode_opts \
  --skip-scoring "$skip_scoring" "$graph" "$data" "ark:$dir/loglikes.ark" "$dir"
