#!/usr/bin/env bash
# Copy a lang dir and add G.fst compiled from an ARPA LM (kaldilm's arpa2fst with #0 on
# back-off arcs, <s>/</s> as epsilons); the result is validated.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
cmd=utils/run_local.sh   # job dispatcher (see cmd.sh)
# End configuration section.
usage="Usage: $0 [options] <lang-dir> <arpa(.gz)> <out-lang-dir>
 e.g.: $0 data/lang data/local/lm/tg/lm.arpa.gz data/lang_test_tg"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 3 "$@"
lang=$1; arpa=$2; out=$3
check_dirs "$lang"
check_files "$arpa" "$lang/words.txt" "$lang/L_disambig.fst"
logdir=$(dirname "$out")/log
mkdir -p "$logdir"
$cmd "$logdir/format_lm.$(basename "$out").log" nghf-format-lm "$lang" "$arpa" "$out"
echo "$0: wrote $out/G.fst"
