"""Shared pytest fixtures: the repository root, a deterministic torch set-up, and the tiny
embedded corpus that several suites build on."""

from __future__ import annotations

import fcntl
import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's root directory (where run.sh, steps/ and utils/ live)."""
    return REPO_ROOT


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tests run in parallel workers on small machines: one intra-op thread each."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def egs_tiny_corpus(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    """The tiny embedded corpus (``local/make_corpus.sh --size tiny --nj 2``), built once per
    test run and shared by the recipe tests (tests/egs) and the corpus determinism test
    (tests/corpus, which compares it with an in-process build): one build instead of two.

    Under pytest-xdist the workers share it: a file lock makes the first worker build it and
    the others wait (the script itself resumes and skips a finished build). ``LC_ALL=C`` so
    that the build does not depend on the machine's locale."""
    shared = os.environ.get("PYTEST_XDIST_WORKER") is not None
    root = tmp_path_factory.getbasetemp().parent if shared else tmp_path_factory.getbasetemp()
    corpus = root / "egs_corpus_tiny"
    with open(root / "egs_corpus_tiny.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (corpus / ".done").exists():
            proc = subprocess.run([str(repo_root / "local" / "make_corpus.sh"), "--size", "tiny", "--nj", "2",
                                   str(corpus)], capture_output=True, text=True, cwd=repo_root,
                                  env={**os.environ, "LC_ALL": "C"})
            assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return corpus
