#!/usr/bin/env bash
# Environment for every recipe and stage script: the project's venv and its tools on PATH.
# Sourced (`. ./path.sh`) from a recipe directory; works from egs/*/s5 too.
NGHF_ROOT=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
export NGHF_ROOT
NGHF_VENV=${NGHF_VENV:-$NGHF_ROOT/.venv}
export NGHF_VENV
export PATH="$NGHF_VENV/bin:$NGHF_ROOT/utils:$PATH"
export PYTHONUNBUFFERED=1
export LC_ALL=C
# Keep one BLAS thread per job: parallelism comes from the dispatcher's jobs.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# The same numbers on every x86-64 machine with AVX2 (NGHF_PORTABLE_NUMERICS=false: native kernels).
# shellcheck source=tools/portable_numerics.sh
. "$NGHF_ROOT/tools/portable_numerics.sh"
# kaldi-io warns on import when KALDI_ROOT does not exist; nghf needs no Kaldi installation,
# so point it at the project unless the user has a real one.
if [[ -z ${KALDI_ROOT:-} || ! -d ${KALDI_ROOT:-} ]]; then
  export KALDI_ROOT=$NGHF_ROOT
fi
