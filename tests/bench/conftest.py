"""Load a bench script (bench/*.py are scripts, not a package) as a module for its tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    """``bench/<name>.py`` imported as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, REPO / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_bench():
    """The loader: ``load_bench("bench_gpu")`` is bench/bench_gpu.py as a module."""
    return _load
