#!/usr/bin/env bash
# nghf: the whole pipeline on the embedded broadcast-style corpus, stage by stage.
#
#   ./run.sh                      install what is missing, then run every stage
#   ./run.sh --stage 4            resume from stage 4 (finished stages are skipped)
#   ./run.sh --stage 4 --force true   redo stage 4 onwards
#   NGHF_BACKEND=slurm ./run.sh   dispatch the parallel jobs through Slurm (cmd.sh)
set -euo pipefail
cd "$(dirname "$0")"

# Begin configuration section.
stage=0             # first stage to run
stop_stage=100      # last stage to run
force=false         # redo stages that already have a .done marker
exp=exp             # directory for models, lattices, logs and results
# End configuration section.
usage="Usage: $0 [options]
Runs the embedded-corpus recipe end to end; see README.md for the stages."
. utils/parse_options.sh
check_nargs 0 "$@"

tools/install.sh
. ./path.sh
. ./cmd.sh
stage_dir=$exp
. utils/stages.sh

stage_check_install() {
  nghf-check-install
}

run_stage 0 check_install stage_check_install

echo "Pipeline stages available so far: 0 (check_install)."
echo "Corpus, GMM, hybrid and sequence-training stages are added as their issues land;"
echo "no results table is produced until then."
print_stage_times
