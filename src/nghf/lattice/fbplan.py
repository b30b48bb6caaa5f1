"""Per-batch precomputations of the forward-backward (:mod:`nghf.lattice.fb`).

The frame loop of the recursions is dispatch-bound on the CPU for small batches, so
everything that does not depend on the scores is computed once per batch and cached on it
(:attr:`nghf.lattice.types.LatticeBatch.plan`): the per-frame views of the arc index tensors
(no slicing inside the loop), the flattened ``(row, frame, pdf)`` index of every arc for a
given score shape (one ``index_select`` gathers all arc scores before the loop), and the row
chunks of ``max_arcs`` processing.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from nghf.lattice.types import LatticeBatch


def plain_tensors() -> contextlib.AbstractContextManager:
    """A context in which torch ops on the batch's index tensors give plain tensors even inside
    ``torch.func`` transforms (a plan is data, cached beyond the transform that built it)."""
    disable = getattr(torch._C, "_DisableFuncTorch", None)
    return disable() if disable is not None else contextlib.nullcontext()


@dataclasses.dataclass(frozen=True, eq=False)
class FBPlan:
    """Per-frame views ``src[t]``/``dst[t]`` (time-slice-local state indices of frame ``t``'s
    arcs), the arc counts per frame, and a cache for score-shape dependent indices."""

    src: tuple[torch.Tensor, ...]
    dst: tuple[torch.Tensor, ...]
    arc_counts: tuple[int, ...]
    cache: dict = dataclasses.field(default_factory=dict, repr=False)

    def flat_index(self, batch: LatticeBatch, frames: int, pdfs: int) -> torch.Tensor:
        """``(A,)`` index of every arc's ``(row, frame, pdf)`` in a flattened ``(B, frames, pdfs)`` tensor."""
        key = ("flat", frames, pdfs)
        if key not in self.cache:
            with plain_tensors():
                self.cache[key] = (batch.arc_row * frames + batch.frame) * pdfs + batch.pdf
        return self.cache[key]


def build_plan(batch: LatticeBatch) -> FBPlan:
    """The plan of ``batch`` (views of its own tensors: no copies)."""
    counts = tuple(b - a for a, b in zip(batch.arc_ptr[:-1], batch.arc_ptr[1:], strict=True))
    with plain_tensors():
        return FBPlan(src=tuple(batch.src_local.split(counts)), dst=tuple(batch.dst_local.split(counts)),
                      arc_counts=counts)
