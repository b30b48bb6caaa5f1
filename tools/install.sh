#!/usr/bin/env bash
# Idempotent installer for nghf, called by ./run.sh and ./test.sh.
#
# Installs what is missing and nothing else; silent when everything is there:
#   1. Debian packages listed in tools/apt-packages.txt (one `apt-get update`,
#      only when at least one package is missing); with --corpus also those of
#      tools/apt-packages-corpus.txt (speech synthesis and text sources of the embedded
#      corpus; local/make_corpus.sh asks for them, a recipe on your own corpus does not).
#   2. A project virtual environment (.venv, or $NGHF_VENV) with torch==2.13.0
#      and the exact runtime pins of tools/requirements.txt, plus nghf itself (editable);
#      with --dev also the test and lint tools of tools/requirements-dev.txt.
#
#   tools/install.sh                   what ./run.sh and the recipes need
#   tools/install.sh --corpus          also what the embedded corpus needs (stage 0)
#   tools/install.sh --dev --corpus    also what ./test.sh needs
#
# Environment:
#   NGHF_VENV=path        use/create the virtual environment there (default: <repo>/.venv)
#   NGHF_SKIP_TORCH=1     never install torch (bring your own CUDA build); a torch that is
#                         already importable in the venv is always kept
#   NGHF_SKIP_APT=1       do not touch Debian packages (report the missing ones only)
#   NGHF_PYTHON=python3   interpreter used to create the venv
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${NGHF_VENV:-$root/.venv}
python=${NGHF_PYTHON:-python3}
torch_pin="torch==2.13.0"

say() { echo "tools/install.sh: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

dev=false     # also the development pins (tools/requirements-dev.txt)
corpus=false  # also the embedded corpus's Debian packages (tools/apt-packages-corpus.txt)
for arg in "$@"; do
  case $arg in
    --dev) dev=true ;;
    --corpus) corpus=true ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$arg' (known: --dev, --corpus)" ;;
  esac
done

# ---------------------------------------------------------------- Debian packages
install_apt() {
  local missing=() pkg lists=("$root/tools/apt-packages.txt")
  [[ $corpus == true ]] && lists+=("$root/tools/apt-packages-corpus.txt")
  while read -r pkg; do
    [[ -z $pkg || $pkg == \#* ]] && continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done < <(cat "${lists[@]}")
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ ${NGHF_SKIP_APT:-0} == 1 ]]; then
    say "NGHF_SKIP_APT=1: not installing missing Debian packages: ${missing[*]}"
    return 0
  fi
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "missing Debian packages (${missing[*]}); run as root or install sudo"
    sudo=(sudo)
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get install failed for: ${missing[*]}"
}

# ---------------------------------------------------------------- Python venv
# The stamps hold a hash of everything that decides the venv's content; when they
# match, the venv is complete and nothing is run (not even pip). The runtime stamp
# covers the runtime pins and the package; the dev stamp also the development pins
# and the runtime stamp's value, so a changed runtime pin reinstalls both.
venv_stamp_value() {
  cat "$root/tools/requirements.txt" "$root/pyproject.toml" "$root/setup.py" \
    | sha256sum | cut -d' ' -f1
  echo "skip_torch=${NGHF_SKIP_TORCH:-0}"
}

dev_stamp_value() {
  venv_stamp_value
  sha256sum < "$root/tools/requirements-dev.txt" | cut -d' ' -f1
}

install_python() {
  local stamp="$venv/.nghf-installed" want
  want=$(venv_stamp_value)
  if [[ -f $stamp && "$(cat "$stamp")" == "$want" && -x $venv/bin/python ]]; then
    [[ $dev == true ]] && install_dev
    return 0
  fi
  if [[ ! -x $venv/bin/python ]]; then
    say "creating virtual environment $venv"
    "$python" -m venv "$venv" || die "could not create a venv with $python (install python3-venv)"
  fi
  local pip=("$venv/bin/python" -m pip -q --disable-pip-version-check)
  if [[ ${NGHF_SKIP_TORCH:-0} == 1 ]]; then
    say "NGHF_SKIP_TORCH=1: using the torch already in $venv"
    "$venv/bin/python" -c "import torch" 2>/dev/null \
      || die "NGHF_SKIP_TORCH=1 but torch is not importable in $venv; install your CUDA build there first"
  elif "$venv/bin/python" -c "import torch" 2>/dev/null; then
    :  # keep whatever torch is there (e.g. a CUDA build on a cluster)
  else
    say "installing $torch_pin"
    "${pip[@]}" install "$torch_pin" || die "pip install $torch_pin failed"
  fi
  say "installing pinned Python packages (tools/requirements.txt)"
  "${pip[@]}" install -r "$root/tools/requirements.txt" || die "pip install -r tools/requirements.txt failed"
  "${pip[@]}" install --no-deps --no-build-isolation -e "$root" \
    || die "pip install -e $root failed"
  "$venv/bin/nghf-check-install" --quiet || die "installed environment failed its import check"
  echo "$want" > "$stamp"
  [[ $dev == true ]] && install_dev
  return 0
}

# The development pins (pytest, ruff, shellcheck, ...) on top of the runtime set.
install_dev() {
  local dev_stamp="$venv/.nghf-installed-dev" want_dev
  want_dev=$(dev_stamp_value)
  [[ -f $dev_stamp && "$(cat "$dev_stamp")" == "$want_dev" ]] && return 0
  say "installing development Python packages (tools/requirements-dev.txt)"
  "$venv/bin/python" -m pip -q --disable-pip-version-check install -r "$root/tools/requirements-dev.txt" \
    || die "pip install -r tools/requirements-dev.txt failed"
  echo "$want_dev" > "$dev_stamp"
}

install_apt
install_python
