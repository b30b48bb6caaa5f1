#!/usr/bin/env bash
# Example data preparation of the template recipe: Kaldi data dirs <data-dir>/{train,dev,eval}
# and the LM text <data-dir>/local/lm/text.txt, here copied from the embedded corpus that the
# top-level ./run.sh builds (stage 0, in <repo>/corpus). Replace this script for a new corpus:
# it must write wav.scp, text, utt2spk and spk2utt (and segments when utterances are parts of
# recordings) for train, dev and eval; run.sh then sorts and validates them.
set -euo pipefail

# Begin configuration section.
corpus=              # the embedded corpus (empty: <repo>/corpus)
# End configuration section.
usage="Usage: $0 [options] <data-dir>"
# shellcheck source=utils/parse_options.sh
. utils/parse_options.sh
check_nargs 1 "$@"
data=$1
corpus=${corpus:-$NGHF_ROOT/corpus}
check_files "$corpus/data/local/lm_text.txt"
for x in train dev eval; do
  rm -rf "${data:?}/$x"
  mkdir -p "$data"
  cp -r "$corpus/data/$x" "$data/$x"
done
mkdir -p "$data/local/lm"
cp "$corpus/data/local/lm_text.txt" "$data/local/lm/text.txt"
