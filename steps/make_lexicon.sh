#!/usr/bin/env bash
# Kaldi dictionary directory (lexicon.txt, *_phones.txt, extra_questions.txt) for the words of
# Kaldi data dirs' text files and optional extra texts: CMUdict pronunciations, espeak-ng G2P
# for the rest; or, with --lexicon FILE, the corpus's own lexicon (words it lacks are listed in
# <dict-dir>/oov_words.txt); or, with --subword-vocab N, a sentencepiece subword lexicon.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
cmd=utils/run_local.sh   # job dispatcher (see cmd.sh)
extra_text=              # plain-text file with more words (e.g. LM text), one sentence per line
max_extra_words=0        # > 0: keep only this many most frequent words of --extra-text
oov_word="<unk>"         # OOV word, pronounced with the spoken-noise phone SPN
voice=en-us              # espeak-ng voice of the G2P fallback
lexicon=                 # the corpus's own lexicon.txt (word phones...) instead of CMUdict + G2P
subword_vocab=0          # > 0: subword lexicon of this many sentencepiece pieces
subword_type=bpe         # sentencepiece model type: bpe or unigram
# End configuration section.
usage="Usage: $0 [options] <dict-dir> <data-dir> [<data-dir> ...]
 e.g.: $0 --extra-text data/local/lm/text.txt data/local/dict data/train"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 2:100 "$@"
dict=$1
shift
inputs=()
for data in "$@"; do
  check_files "$data/text"
  inputs+=(--kaldi-text "$data/text")
done
if [[ -n $extra_text ]]; then
  check_files "$extra_text"
  inputs+=(--text "$extra_text")
fi
lexicon_opts=()
if [[ -n $lexicon ]]; then
  check_files "$lexicon"
  lexicon_opts=(--lexicon "$lexicon")
fi
mkdir -p "$dict/log"
printf -v oov_q '%q' "$oov_word"   # the dispatcher runs the command through bash: quote <unk>
$cmd "$dict/log/make_lexicon.log" \
  nghf-make-lexicon --max-text-words "$max_extra_words" --oov-word "$oov_q" --voice "$voice" \
    --subword-vocab "$subword_vocab" --subword-type "$subword_type" "${lexicon_opts[@]}" "${inputs[@]}" "$dict"
echo "$0: wrote $dict ($(wc -l < "$dict/lexicon.txt") pronunciations)"
