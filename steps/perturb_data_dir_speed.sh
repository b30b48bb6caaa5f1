#!/usr/bin/env bash
# Speed-perturbed copy of a data dir (Kaldi style): ids get the prefix sp<factor>-, wav.scp
# entries become "sox ... speed <factor> |" pipes, segment times and durations are divided by
# the factor. Features must then be computed for <dst> (steps/make_fbank.sh).
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
# (no options)
# End configuration section.
usage="Usage: $0 <factor> <src-data-dir> <dst-data-dir>
 e.g.: $0 0.9 data/train data/train_sp0.9"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 3 "$@"
factor=$1
src=$2
dst=$3
check_dirs "$src"
check_files "$src/utt2spk" "$src/wav.scp"
nghf-perturb-speed "$factor" "$src" "$dst"
nghf-validate-data --no-feats --no-text --no-audio "$dst" > /dev/null \
  || { nghf-validate-data --no-feats --no-text --no-audio "$dst" >&2; exit 1; }
