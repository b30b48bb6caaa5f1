"""utils/parse_options.sh: options from the configuration section, help from defaults, errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SCRIPT = """#!/usr/bin/env bash
set -euo pipefail
# Begin configuration section.
nj=4                    # number of parallel jobs
cmd=utils/run_local.sh  # job dispatcher
use_gpu=false           # run on the GPU
beam=13.0               # decoding beam
# End configuration section.
usage="Usage: $0 [options] <data-dir> <exp-dir>
e.g.: $0 data/train exp/mono"
. utils/parse_options.sh
check_nargs 2 "$@"
check_dirs "$1"
echo "nj=$nj cmd=$cmd use_gpu=$use_gpu beam=$beam args=$*"
"""


@pytest.fixture()
def script(tmp_path: Path, repo_root: Path) -> Path:
    path = tmp_path / "demo.sh"
    path.write_text(SCRIPT)
    (tmp_path / "utils").symlink_to(repo_root / "utils")
    (tmp_path / "data").mkdir()
    return path


def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script), *args], cwd=script.parent, capture_output=True, text=True)


def test_help_lists_every_option_with_its_default(script: Path) -> None:
    proc = run(script, "--help")
    assert proc.returncode == 0
    out = proc.stdout
    assert out.startswith(f"Usage: {script} [options] <data-dir> <exp-dir>")
    for flag, default, comment in (
        ("--nj", "4", "number of parallel jobs"),
        ("--cmd", "utils/run_local.sh", "job dispatcher"),
        ("--use-gpu", "false", "run on the GPU"),
        ("--beam", "13.0", "decoding beam"),
    ):
        line = next(line for line in out.splitlines() if line.strip().startswith(flag + " "))
        assert f"<{default}>" in line and comment in line


def test_help_follows_the_defaults(script: Path) -> None:
    # Change a default in the script: the help text changes with it.
    script.write_text(SCRIPT.replace("nj=4 ", "nj=9 "))
    assert "--nj <9>" in run(script, "--help").stdout


def test_options_are_applied(script: Path) -> None:
    proc = run(script, "--nj", "8", "--use-gpu", "true", "--beam=10", "--cmd", "utils/run_slurm.sh --mem 4G", "data", "exp")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "nj=8 cmd=utils/run_slurm.sh --mem 4G use_gpu=true beam=10 args=data exp"


def test_config_file(script: Path) -> None:
    (script.parent / "opts.conf").write_text("# comment\nnj=3\n--beam=7.5\n")
    proc = run(script, "--config", "opts.conf", "--nj", "5", "data", "exp")
    assert proc.returncode == 0, proc.stderr
    assert "nj=5" in proc.stdout and "beam=7.5" in proc.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("--foo", "1", "data", "exp"), "unknown option --foo"),
        (("data",), "expected 2 argument(s), got 1"),
        (("--use-gpu", "yes", "data", "exp"), "option --use-gpu takes true or false, got 'yes'"),
        (("--nj",), "option --nj needs a value"),
        (("--config", "missing.conf", "data", "exp"), "config file 'missing.conf' does not exist"),
        (("nodir", "exp"), "expected directory nodir to exist"),
    ],
)
def test_bad_input_gives_one_line_error(script: Path, args: tuple[str, ...], message: str) -> None:
    proc = run(script, *args)
    assert proc.returncode != 0
    first = proc.stderr.splitlines()[0]
    assert first == f"demo.sh: error: {message}"
    assert "Traceback" not in proc.stderr
    if "directory" not in message:
        assert proc.stderr.splitlines()[1].startswith("Usage:")


def test_option_files_share_defaults_and_the_script_changes_them(tmp_path: Path, repo_root: Path) -> None:
    """Options declared in a sourced defaults file (``option_files``) are options of the script;
    the script's own section adds options and changes defaults (and comments, where it has one)."""
    (tmp_path / "utils").symlink_to(repo_root / "utils")
    (tmp_path / "defaults.sh").write_text(
        "# Begin configuration section.\n"
        "nj=4                    # number of parallel jobs\n"
        "beam=13.0               # decoding beam\n"
        "# End configuration section.\n"
    )
    script = tmp_path / "recipe.sh"
    script.write_text(
        "#!/usr/bin/env bash\nset -euo pipefail\n. ./defaults.sh\n"
        "# Begin configuration section.\n"
        "corpus=/corpora/x      # where the corpus is\n"
        "nj=64\n"
        "beam=10.0              # a narrower beam\n"
        "# End configuration section.\n"
        'usage="Usage: $0 [options]"\noption_files=(./defaults.sh)\n. utils/parse_options.sh\ncheck_nargs 0 "$@"\n'
        'echo "corpus=$corpus nj=$nj beam=$beam"\n'
    )
    proc = run(script, "--help")
    assert proc.returncode == 0
    flags = [line.split()[:3] for line in proc.stdout.splitlines() if line.startswith("  --") and "<" in line]
    assert [f[:2] for f in flags[:3]] == [["--nj", "<64>"], ["--beam", "<10.0>"], ["--corpus", "</corpora/x>"]]
    assert "number of parallel jobs" in proc.stdout and "a narrower beam" in proc.stdout
    assert "decoding beam" not in proc.stdout
    assert run(script, "--nj", "8", "--corpus", "c").stdout.strip() == "corpus=c nj=8 beam=10.0"
    assert run(script, "--nj", "x").returncode == 1  # the shared integer default still types it
