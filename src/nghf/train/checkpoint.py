"""Training checkpoints: model, optimiser, schedule, RNG (torch, numpy, python) and progress.

Written atomically; ``checkpoint.last.pt`` always points at the newest state so that
``--resume`` continues exactly where the run stopped (bit-identical parameters).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nghf.utils.atomic import atomic_path

LAST = "checkpoint.last.pt"


def rng_state() -> dict[str, Any]:
    """The process's random-number generator states."""
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore states saved by ``rng_state``."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(out_dir: str | Path, state: dict[str, Any], name: str | None = None) -> Path:
    """Write ``state`` as ``checkpoint.<name>.pt`` (if named) and as ``checkpoint.last.pt``."""
    out_dir = Path(out_dir)
    paths = [out_dir / LAST] if name is None else [out_dir / f"checkpoint.{name}.pt", out_dir / LAST]
    for path in paths:
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
    return paths[0]


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by ``save_checkpoint`` (our own files: full unpickling)."""
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no checkpoint to resume from") from None
    except Exception as err:
        raise ValueError(f"{path}: unreadable checkpoint (corrupt or truncated?): {err}") from None
