"""The user-facing scripts: run.sh's help and bad options, its paper table, egs symlinks, CI entry."""

from __future__ import annotations

import subprocess
from pathlib import Path

from nghf.score.expected import load_expected_systems


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


def test_paper_table_run_lists_the_mgb_recipes_systems(repo_root: Path, tmp_path: Path) -> None:
    """``run.sh --paper-table true``'s results stage lays RESULTS.md out as egs/mgb/s5's systems
    table: every system of its conf/paper_systems.yaml, "–" for those not run yet."""
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp/results.jsonl").write_text("")
    train = tmp_path / "data/train"
    train.mkdir(parents=True)
    (train / "utt2spk").write_text("u1 s1\n")
    (train / "spk2utt").write_text("s1 u1\n")
    cmd = ["bash", "run.sh", "--paper-table", "true", "--stage", "20", "--exp", str(tmp_path / "exp"),
           "--data", str(tmp_path / "data"), "--results-md", str(tmp_path / "RESULTS.md")]
    proc = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    table = (tmp_path / "RESULTS.md").read_text().split("\n## ")[0]  # the systems table
    rows = {line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ") and "---" not in line}
    expected = {s.system for s in load_expected_systems(repo_root / "egs/mgb/s5/conf/paper_systems.yaml")}
    assert len(expected) == 34 and rows - {"system"} == expected
    proc = subprocess.run(["bash", "run.sh", "--paper-table", "yes"], cwd=repo_root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "option --paper-table takes true or false" in proc.stderr


def test_train_hours_reaches_the_corpus_builder(repo_root: Path, tmp_path: Path) -> None:
    """``run.sh --train-hours`` is handed to local/make_corpus.sh (whose check names the bad value)."""
    cmd = ["bash", "run.sh", "--stage", "0", "--stop-stage", "0", "--train-hours", "1.5x",
           "--exp", str(tmp_path / "exp"), "--corpus", str(tmp_path / "corpus")]
    proc = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "--hours must be a positive number, got '1.5x'" in proc.stderr
    assert not (tmp_path / "exp/.done/stage_0.corpus").exists()


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


def test_readme_option_claims_hold_for_both_run_sh(repo_root: Path) -> None:
    """README's "Adding a corpus" names options that `./run.sh --help` lists: they must be
    options of the top-level run.sh and of the template recipe's."""
    import re

    readme = (repo_root / "README.md").read_text()
    claim = readme[readme.index("(options as in the top-level `run.sh`:"):readme.index("--help` lists them")]
    claimed = set(re.findall(r"`(--[a-z0-9-]+)", claim))
    assert {"--backend", "--tri2-leaves", "--stage", "--models"} <= claimed, claimed
    for script in ("run.sh", "egs/template/s5/run.sh"):
        proc = subprocess.run(["bash", script, "--help"], cwd=repo_root, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        listed = set(re.findall(r"^  (--[a-z0-9-]+) <", proc.stdout, flags=re.MULTILINE))
        assert claimed <= listed, (script, claimed - listed)
    # --backend must reach cmd.sh: exported before it is sourced.
    text = (repo_root / "run.sh").read_text()
    assert text.index("export NGHF_BACKEND=$backend") < text.index(". ./cmd.sh")


def test_readme_says_how_lhotse_manifests_are_made(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    source = (repo_root / "src/nghf/data/datadir.py").read_text()
    assert "nghf-data-manifests data/train" in readme
    assert 'nghf-data-manifests = "nghf.bin.data_manifests:main"' in (repo_root / "pyproject.toml").read_text()
    for name in ("recordings", "supervisions", "cuts"):
        assert f"`{name}.jsonl.gz`" in readme and f'("{name}",' in source
