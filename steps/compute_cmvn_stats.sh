#!/usr/bin/env bash
# Per-speaker CMVN statistics (Kaldi's 2x(D+1) format) of <data>/feats.scp, written to
# <cmvn-dir>/cmvn_<name>.ark with the index <data>/cmvn.scp.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
cmd=utils/run_local.sh   # job dispatcher (see cmd.sh)
# End configuration section.
usage="Usage: $0 [options] <data-dir> [<log-dir> [<cmvn-dir>]]
 e.g.: $0 data/train exp/make_fbank/train fbank
 defaults: <log-dir>=<data-dir>/log, <cmvn-dir>=<data-dir>/data"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 1:3 "$@"
data=$1
logdir=${2:-$data/log}
cmvndir=${3:-$data/data}
check_files "$data/feats.scp" "$data/utt2spk"
mkdir -p "$logdir" "$cmvndir"
cmvndir=$(cd "$cmvndir" && pwd -P)
name=$(basename "$data")

$cmd "$logdir/cmvn_$name.log" \
  nghf-compute-cmvn "$data" "$cmvndir/cmvn_$name.ark" "$data/cmvn.scp"
nghf-validate-data --no-text --no-audio "$data" > "$logdir/validate_cmvn.log" \
  || { cat "$logdir/validate_cmvn.log" >&2; exit 1; }
echo "$0: wrote CMVN stats of $(wc -l < "$data/cmvn.scp") speakers of $data"
