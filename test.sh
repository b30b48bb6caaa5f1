#!/usr/bin/env bash
# Install what is missing, then run the tests, shellcheck, ruff and lint-imports.
#   ./test.sh                 everything
#   ./test.sh tests/utils     only some tests (lint still runs)
set -euo pipefail
cd "$(dirname "$0")"
tools/install.sh --dev --corpus  # the tests also need pytest/ruff and the corpus's packages
. ./path.sh

status=0
pytest -n "${NGHF_TEST_JOBS:-2}" -q "$@" || status=$?

# Every shell script of the project: *.sh plus extension-less scripts with a bash shebang.
mapfile -t shell_files < <(
  git ls-files --cached --others --exclude-standard -- '*.sh'
  git ls-files --cached --others --exclude-standard -- 'utils/*' 'steps/*' 'local/*' 'egs/*/s5/local/*' \
    | while read -r f; do [[ -f $f && $f != *.* ]] && head -1 "$f" | grep -q '^#!.*bash' && echo "$f"; done
)
if (( ${#shell_files[@]} )); then
  shellcheck -x "${shell_files[@]}" || status=1
fi
ruff check src tests bench || status=1
# The import layers of docs/design.md ([tool.importlinter] in pyproject.toml).
lint-imports --no-cache || status=1
exit "$status"
