"""The user-facing scripts: run.sh's help and bad options, egs symlinks, CI entry."""

from __future__ import annotations

import subprocess
from pathlib import Path


def test_run_sh_help_without_installing(repo_root: Path) -> None:
    proc = subprocess.run(["bash", "run.sh", "--help"], cwd=repo_root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "--stage <0>" in proc.stdout and "--stop-stage" in proc.stdout and "--force <false>" in proc.stdout


def test_run_sh_rejects_unknown_option_and_arguments(repo_root: Path) -> None:
    proc = subprocess.run(["bash", "run.sh", "--no-such-option", "1"], cwd=repo_root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == "run.sh: error: unknown option --no-such-option"
    proc = subprocess.run(["bash", "run.sh", "extra"], cwd=repo_root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "expected 0 argument(s), got 1" in proc.stderr


def test_mgb_recipe_links_to_generic_scripts(repo_root: Path) -> None:
    s5 = repo_root / "egs/mgb/s5"
    for link in ("steps", "utils", "path.sh", "cmd.sh"):
        assert (s5 / link).is_symlink(), link
        assert (s5 / link).resolve() == (repo_root / link).resolve()


def test_ci_calls_test_sh(repo_root: Path) -> None:
    assert "./test.sh" in (repo_root / ".ci/run").read_text()
    first_lines = (repo_root / "README.md").read_text().split("```")[1]
    assert "./run.sh" in first_lines and "./test.sh" in first_lines


def test_path_sh_from_recipe_dir_points_at_the_top(repo_root: Path) -> None:
    proc = subprocess.run(["bash", "-c", ". ./path.sh && echo $NGHF_ROOT"], cwd=repo_root / "egs/mgb/s5",
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and Path(proc.stdout.strip()) == repo_root.resolve()
