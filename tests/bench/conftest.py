"""Load a bench script (bench/*.py are scripts, not a package) as a module for its tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    """``bench/<name>.py`` imported as module ``name`` (with ``bench/`` on ``sys.path``, as
    when the script runs: the scripts import their shared modules, e.g. ``sweeplib``)."""
    if str(REPO / "bench") not in sys.path:
        sys.path.insert(0, str(REPO / "bench"))
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as an import would: dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_bench():
    """The loader: ``load_bench("bench_gpu")`` is bench/bench_gpu.py as a module."""
    return _load
