#!/usr/bin/env bash
# Compute log-mel fbank features of a data dir in parallel jobs: split the data into nj parts
# (<data>/split<nj>, by speaker), run nghf-compute-fbank per part through $cmd, merge the
# per-job indices into <data>/feats.scp and <data>/utt2num_frames, and validate the result.
# Archives go to <feat-dir>/raw_fbank_<name>.JOB.ark; logs to <log-dir>.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
nj=4                         # number of parallel jobs
cmd=utils/run_local.sh       # job dispatcher (see cmd.sh)
fbank_config=conf/fbank.yaml # fbank options (nghf.data.features.FbankConfig)
split_per_utt=false          # true: split by utterance instead of by speaker
force=${NGHF_FORCE:-false}                  # true: recompute even if the features are marked done (default: $NGHF_FORCE, set under run.sh --force true)
# End configuration section.
usage="Usage: $0 [options] <data-dir> [<log-dir> [<feat-dir>]]
 e.g.: $0 --nj 8 --cmd \"\$train_cmd\" data/train exp/make_fbank/train fbank
 defaults: <log-dir>=<data-dir>/log, <feat-dir>=<data-dir>/data"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 1:3 "$@"
data=$1
logdir=${2:-$data/log}
featdir=${3:-$data/data}
check_dirs "$data"
check_files "$data/utt2spk" "$data/wav.scp" "$fbank_config"

name=$(basename "$data")
marker=$data/.fbank.done
if [[ $force != true && -f $marker && -f $data/feats.scp && $data/feats.scp -nt $data/utt2spk ]]; then
  echo "$0: $data/feats.scp is done already (use --force true to redo)"
  exit 0
fi
rm -f "$marker"
mkdir -p "$logdir" "$featdir"
featdir=$(cd "$featdir" && pwd -P)

# Features must be computed for a valid data dir (old features are ignored here).
nghf-validate-data --no-feats --no-text "$data" > "$logdir/validate_input.log" \
  || { cat "$logdir/validate_input.log" >&2
       echo "$0: fix $data first: steps/fix_data_dir.sh removes the utterances whose audio is missing or empty" \
         "and ids missing from a file; other audio errors (sample rate, truncated files) need the data preparation fixed" >&2
       exit 1; }

split_opts=()
splitdir=$data/split$nj
if [[ $split_per_utt == true ]]; then split_opts+=(--per-utt); splitdir=${splitdir}utt; fi
nghf-split-data "${split_opts[@]}" "$data" "$nj" > /dev/null

$cmd JOB=1:"$nj" "$logdir/make_fbank_$name.JOB.log" \
  nghf-compute-fbank --config "$fbank_config" --utt2num-frames "$featdir/utt2num_frames_$name.JOB" \
    "$splitdir/JOB" "$featdir/raw_fbank_$name.JOB.ark" "$featdir/raw_fbank_$name.JOB.scp"

for n in $(seq "$nj"); do
  cat "$featdir/raw_fbank_$name.$n.scp"
done | sort -k1,1 > "$data/.feats.scp.tmp"
mv "$data/.feats.scp.tmp" "$data/feats.scp"
for n in $(seq "$nj"); do
  cat "$featdir/utt2num_frames_$name.$n"
done | sort -k1,1 > "$data/.utt2num_frames.tmp"
mv "$data/.utt2num_frames.tmp" "$data/utt2num_frames"
rm -f "$featdir"/utt2num_frames_"$name".*

n_utts=$(wc -l < "$data/utt2spk")
n_feats=$(wc -l < "$data/feats.scp")
if (( n_feats != n_utts )); then
  echo "$0: error: $n_feats feature matrices for $n_utts utterances; see $logdir" >&2
  exit 1
fi
rm -f "$data/cmvn.scp"  # stale: it belonged to the old features
nghf-validate-data --no-text "$data" > "$logdir/validate_output.log" \
  || { cat "$logdir/validate_output.log" >&2; exit 1; }
touch "$marker"
echo "$0: computed fbank features of $n_feats utterances of $data into $featdir"
