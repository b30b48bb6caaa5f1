#!/usr/bin/env bash
# Build <graph-dir>/HCLG.fst for a model dir (Kaldi's mkgraph.sh) with the Kaldi bindings:
# LG, context composition from the tree, H, determinisation/minimisation, disambiguation
# symbol removal and self-loops (transition-scale 1.0, self-loop-scale 0.1). Also writes
# words.txt, phones.txt, phones/word_boundary.int, num_pdfs, tid2pdf and graph_info.txt.
# --lm uses another grammar FST (e.g. a weak LM for denominator lattices).
set -euo pipefail
# shellcheck source=path.sh
. "$(dirname "$0")/../path.sh"

# Begin configuration section.
lm=                     # grammar FST instead of <lang-dir>/G.fst
self_loop_scale=0.1     # Kaldi's self-loop scale
transition_scale=1.0    # Kaldi's transition scale
force=${NGHF_FORCE:-false}             # true: rebuild even if done (default: $NGHF_FORCE, set under run.sh --force true)
# End configuration section.
usage="Usage: $0 [options] <lang-dir> <model-dir> <graph-dir>
 e.g.: $0 data/lang_test exp/tri2 exp/tri2/graph"
# shellcheck source=utils/parse_options.sh
. "$NGHF_ROOT/utils/parse_options.sh"
check_nargs 3 "$@"
lang=$1
model_dir=$2
dir=$3
check_dirs "$lang" "$model_dir"
check_files "$lang/L_disambig.fst" "$lang/phones/disambig.int" "$model_dir/final.mdl"
[[ -n $lm ]] && check_files "$lm"
[[ -z $lm ]] && check_files "$lang/G.fst"

if [[ $force != true && -f $dir/.done && $dir/.done -nt $model_dir/final.mdl ]]; then
  echo "$0: $dir/HCLG.fst is built already (use --force true to redo)"
  exit 0
fi
rm -f "$dir/.done"
mkdir -p "$dir"
nghf-make-graph ${lm:+--lm "$lm"} --self-loop-scale "$self_loop_scale" \
  --transition-scale "$transition_scale" "$lang" "$model_dir" "$dir"
touch "$dir/.done"
