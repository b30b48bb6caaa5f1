# shellcheck shell=bash
# shellcheck disable=SC2154  # exp and backend are options of the sourcing recipe
# The common start of an egs/*/s5/run.sh, sourced right after its options are parsed:
# change into the recipe directory (run.sh may be a link to the template; relative paths are
# relative to the recipe), set up the environment and the dispatcher, and load the stage
# bookkeeping and the shared stages. Needs the recipe's options exp and backend.
cd "$(dirname "$0")" || exit 1

# shellcheck source=path.sh
. ./path.sh
"$NGHF_ROOT/tools/install.sh"
export NGHF_BACKEND=$backend
# shellcheck source=cmd.sh
. ./cmd.sh
# shellcheck disable=SC2034  # read by utils/stages.sh
stage_dir=$exp
# shellcheck source=utils/stages.sh
. utils/stages.sh
# shellcheck source=steps/lib/recipe_stages.sh
. steps/lib/recipe_stages.sh
# shellcheck disable=SC2034  # read by steps/lib/recipe_stages.sh
results=$exp/results.jsonl
