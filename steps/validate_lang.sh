#!/usr/bin/env bash
# Consistency checks on a Kaldi lang directory (symbol tables, phones/ lists, disambiguation
# symbols, topology, L.fst, L_disambig.fst and G.fst if present); one line per problem.
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
# End configuration section.
usage="Usage: $0 <lang-dir>
 e.g.: $0 data/lang_test_tg"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 1 "$@"
check_dirs "$1"
nghf-validate-lang "$1"
