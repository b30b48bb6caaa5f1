"""Sum-reductions across ranks, behind one small interface.

Optimisers and curvature products call ``reducer.sum_(tensor)`` after computing their
rank-local share; single-process runs use ``LocalReducer`` (nothing to do), distributed runs
``TorchDistReducer`` (``all_reduce`` with SUM over the default process group).
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.distributed as dist


class Reducer(Protocol):
    world_size: int
    rank: int

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum ``tensor`` in place over all ranks and return it."""
        ...


class LocalReducer:
    """The single-process reducer: sums over one rank are the identity."""

    world_size = 1
    rank = 0

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor


class TorchDistReducer:
    """All-reduce (SUM) over the default ``torch.distributed`` process group."""

    def __init__(self) -> None:
        if not dist.is_initialized():
            raise RuntimeError("torch.distributed is not initialised; launch with torchrun")
        self.world_size = dist.get_world_size()
        self.rank = dist.get_rank()

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor
