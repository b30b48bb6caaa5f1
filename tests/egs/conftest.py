"""Fixtures of the recipe tests: one tiny embedded corpus shared by every test of the run."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def egs_tiny_corpus(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """The tiny embedded corpus (``local/make_corpus.sh --size tiny``), built once per test run.

    Under pytest-xdist the workers share it: a file lock makes the first worker build it and
    the others wait (the script itself resumes and skips a finished build)."""
    shared = os.environ.get("PYTEST_XDIST_WORKER") is not None
    root = tmp_path_factory.getbasetemp().parent if shared else tmp_path_factory.getbasetemp()
    corpus = root / "egs_corpus_tiny"
    with open(root / "egs_corpus_tiny.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (corpus / ".done").exists():
            proc = subprocess.run([str(repo_root / "local" / "make_corpus.sh"), "--size", "tiny", "--nj", "2",
                                   str(corpus)], capture_output=True, text=True, cwd=repo_root)
            assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return corpus
