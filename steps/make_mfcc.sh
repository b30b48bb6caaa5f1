#!/usr/bin/env bash
# MFCC features for the GMM system: nghf-gmm compute-mfcc per job (kaldi-native-fbank,
# conf/mfcc.yaml), merged into <data>/mfcc.scp, then per-speaker CMVN stats
# <data>/mfcc_cmvn.scp. Archives go to <mfcc-dir>; logs to <mfcc-dir>/log.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
nj=4                        # number of parallel jobs
cmd=utils/run_local.sh      # job dispatcher (see cmd.sh)
mfcc_config=conf/mfcc.yaml  # MFCC options (nghf.gmm.feats.MfccConfig)
force=${NGHF_FORCE:-false}                 # true: recompute even if done (default: $NGHF_FORCE, set under run.sh --force true)
# End configuration section.
usage="Usage: $0 [options] <data-dir> <mfcc-dir>
 e.g.: $0 --nj 8 --cmd \"\$train_cmd\" data/train mfcc/train"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 2 "$@"
data=$1
mfccdir=$2
check_dirs "$data"
check_files "$data/wav.scp" "$data/utt2spk" "$data/spk2utt" "$mfcc_config"

if [[ $force != true && -f $data/.mfcc.done && -f $data/mfcc.scp ]]; then
  echo "$0: $data/mfcc.scp is done already (use --force true to redo)"
  exit 0
fi
rm -f "$data/.mfcc.done"
mkdir -p "$mfccdir/log"
$cmd JOB=1:"$nj" "$mfccdir/log/make_mfcc.JOB.log" \
  nghf-gmm compute-mfcc --config "$mfcc_config" --nj "$nj" --job JOB "$data" "$mfccdir"
for j in $(seq "$nj"); do cat "$mfccdir/raw_mfcc.$j.scp"; done | sort > "$data/mfcc.scp.tmp"
mv "$data/mfcc.scp.tmp" "$data/mfcc.scp"
nghf-gmm --log "$mfccdir/log/cmvn.log" compute-cmvn "$data" "$mfccdir"
touch "$data/.mfcc.done"
echo "$0: $(wc -l < "$data/mfcc.scp") utterances in $data/mfcc.scp"
