#!/usr/bin/env bash
# Check a Kaldi data dir (sorting, unique and consistent ids, spk2utt, segments inside their
# recordings, transcripts, audio files and sample rate, features); every problem is printed
# with file, line and id. Exits non-zero on any error. See nghf-validate-data --help.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
no_feats=false      # true: do not check feats.scp/cmvn.scp/utt2num_frames
no_text=false       # true: text is optional (unlabelled test data)
no_audio=false      # true: do not open the audio files
sample_rate=16000   # expected sample rate of every recording in Hz (0: any)
lexicon=            # word list or lexicon (first column): print an OOV report for text
# End configuration section.
usage="Usage: $0 [options] <data-dir>
 e.g.: $0 --no-feats true data/train"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 1 "$@"
data=$1
check_dirs "$data"

opts=(--sample-rate "$sample_rate")
[[ $no_feats == true ]] && opts+=(--no-feats)
[[ $no_text == true ]] && opts+=(--no-text)
[[ $no_audio == true ]] && opts+=(--no-audio)
[[ -n $lexicon ]] && opts+=(--lexicon "$lexicon")
nghf-validate-data "${opts[@]}" "$data"
