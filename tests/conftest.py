"""Shared pytest fixtures: the repository root and a deterministic torch set-up."""

from __future__ import annotations

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
