#!/usr/bin/env bash
# Sort a Kaldi data dir and keep only ids present in every file; prints how many entries were
# removed from which file and why, and keeps the originals and removed lines in <data>/.backup/.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
keep_empty_text=false   # true: do not remove utterances with an empty transcript
# End configuration section.
usage="Usage: $0 [options] <data-dir>
 e.g.: $0 data/train"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 1 "$@"
data=$1
check_dirs "$data"
check_files "$data/utt2spk"

opts=()
[[ $keep_empty_text == true ]] && opts+=(--keep-empty-text)
nghf-fix-data "${opts[@]}" "$data"
