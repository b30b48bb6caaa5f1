"""utils/stages.sh: stage ranges, .done markers, --force, failure messages and timings."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

RECIPE = """#!/usr/bin/env bash
set -euo pipefail
# Begin configuration section.
stage=0          # first stage
stop_stage=100   # last stage
force=false      # redo finished stages
fail_at=-1       # make this stage fail (for tests)
fail_first=-1    # make the first command of this stage fail (the last one succeeds)
# End configuration section.
. utils/parse_options.sh
stage_dir=exp
. utils/stages.sh
step() { [ "$1" -ne "$fail_first" ]; echo "ran $1" >> ran.txt; bash -c 'echo "force ${NGHF_FORCE-unset}"' >> force.txt; [ "$1" -ne "$fail_at" ]; }
run_stage 0 prep step 0
run_stage 1 features step 1
run_stage 2 train step 2
print_stage_times
"""


@pytest.fixture()
def recipe(tmp_path: Path, repo_root: Path) -> Path:
    path = tmp_path / "run.sh"
    path.write_text(RECIPE)
    (tmp_path / "utils").symlink_to(repo_root / "utils")
    return path


def run(recipe: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(recipe), *args], cwd=recipe.parent, capture_output=True, text=True)


def ran(recipe: Path) -> list[str]:
    path = recipe.parent / "ran.txt"
    stages = path.read_text().split("\n") if path.exists() else []
    path.unlink(missing_ok=True)
    return [s for s in stages if s]


def test_all_stages_then_noop(recipe: Path) -> None:
    proc = run(recipe)
    assert proc.returncode == 0, proc.stderr
    assert ran(recipe) == ["ran 0", "ran 1", "ran 2"]
    assert (recipe.parent / "exp/.done/stage_1.features").exists()
    assert "features" in proc.stdout and "seconds" in proc.stdout  # the timing table
    proc = run(recipe)
    assert ran(recipe) == []
    assert proc.stdout.count("done already, skipping") == 3


def test_stage_range(recipe: Path) -> None:
    assert run(recipe, "--stage", "1", "--stop-stage", "1").returncode == 0
    assert ran(recipe) == ["ran 1"]


def test_force_redoes_selected_stages(recipe: Path) -> None:
    run(recipe)
    ran(recipe)
    forced = recipe.parent / "force.txt"
    assert forced.read_text().split("\n")[:3] == ["force false"] * 3
    forced.unlink()
    assert run(recipe, "--stage", "2", "--force", "true").returncode == 0
    assert ran(recipe) == ["ran 2"]
    # The steps a forced stage runs see NGHF_FORCE=true (their force= default), so they redo
    # their work instead of skipping on their own done markers.
    assert forced.read_text() == "force true\n"


def test_failure_stops_and_resume_continues(recipe: Path) -> None:
    proc = run(recipe, "--fail-at", "1")
    assert proc.returncode != 0
    assert "ERROR: stage 1 (features) failed" in proc.stderr and "--stage 1" in proc.stderr
    assert ran(recipe) == ["ran 0", "ran 1"]
    assert not (recipe.parent / "exp/.done/stage_1.features").exists()
    assert run(recipe).returncode == 0
    assert ran(recipe) == ["ran 1", "ran 2"]  # stage 0 is not redone


def test_a_failing_command_inside_a_stage_fails_it(recipe: Path) -> None:
    # Not only the stage's last command counts: bash ignores set -e in a function called as
    # `fn || rc=$?`, so run_stage runs the body in a subshell with errexit on.
    proc = run(recipe, "--fail-first", "1")
    assert proc.returncode != 0
    assert "ERROR: stage 1 (features) failed" in proc.stderr
    assert ran(recipe) == ["ran 0"]
    assert not (recipe.parent / "exp/.done/stage_1.features").exists()

