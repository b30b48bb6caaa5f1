"""The lang/LM stage scripts end to end on a tiny corpus, as run.sh calls them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from nghf.lang.validate import validate_lang


def _run(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    return subprocess.run(list(args), cwd=repo, capture_output=True, text=True, env=env, timeout=120)


def test_lang_steps_end_to_end(repo_root: Path, tmp_path: Path) -> None:
    data = tmp_path / "data" / "train"
    data.mkdir(parents=True)
    (data / "text").write_text("u1 THE CAT SAT ON THE MAT\nu2 A DOG READ THE ZORBLAX\n")
    (tmp_path / "lm.txt").write_text("THE CAT READ A BOOK\nTHE DOG SAT\n")
    dev = tmp_path / "dev_text"
    dev.write_text("d1 THE CAT SAT\nd2 THE QUUXLY DOG\n")
    steps = [
        ("steps/make_lexicon.sh", "--extra-text", str(tmp_path / "lm.txt"), str(tmp_path / "dict"), str(data)),
        ("steps/prepare_lang.sh", str(tmp_path / "dict"), "<unk>", str(tmp_path / "tmp"), str(tmp_path / "lang")),
        ("steps/train_lm.sh", "--order", "2", "--dev-text", str(dev), str(tmp_path / "lm.txt"),
         str(tmp_path / "lang"), str(tmp_path / "lm")),
        ("steps/format_lm.sh", str(tmp_path / "lang"), str(tmp_path / "lm" / "lm.arpa.gz"), str(tmp_path / "lang_test")),
        ("steps/validate_lang.sh", str(tmp_path / "lang_test")),
    ]
    for cmd in steps:
        proc = _run(repo_root, *cmd)
        assert proc.returncode == 0, (cmd, proc.stdout, proc.stderr)
    report = json.loads((tmp_path / "lm" / "report.json").read_text())
    assert report[f"eval:{dev}"]["oovs"] == 1  # QUUXLY is not in the lexicon: counted, scored as <unk>
    assert report[f"eval:{dev}"]["words"] == 6
    assert validate_lang(tmp_path / "lang_test") == []
    # rerunning a finished prepare_lang is a no-op
    proc = _run(repo_root, "steps/prepare_lang.sh", str(tmp_path / "dict"), "<unk>", str(tmp_path / "tmp"), str(tmp_path / "lang"))
    assert proc.returncode == 0 and "done already" in proc.stdout


def test_steps_reject_wrong_arguments(repo_root: Path, tmp_path: Path) -> None:
    proc = _run(repo_root, "steps/prepare_lang.sh", str(tmp_path))
    assert proc.returncode == 1 and "expected 4 argument(s), got 1" in proc.stderr
    proc = _run(repo_root, "steps/format_lm.sh", str(tmp_path), str(tmp_path / "x.arpa"), str(tmp_path / "out"))
    assert proc.returncode == 1 and "expected file" in proc.stderr
