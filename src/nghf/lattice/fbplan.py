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
from typing import Any

import numpy as np
import torch

LatticeBatch = Any
"""A :class:`nghf.lattice.types.LatticeBatch`; not imported, since that module imports this one
(the plan is cached on the batch), and imports run one way only."""


def plain_tensors() -> contextlib.AbstractContextManager:
    """A context in which torch ops on the batch's index tensors give plain tensors even inside
    ``torch.func`` transforms (a plan is data, cached beyond the transform that built it)."""
    disable = getattr(torch._C, "_DisableFuncTorch", None)
    return disable() if disable is not None else contextlib.nullcontext()


@dataclasses.dataclass(frozen=True, eq=False)
class FBPlan:
    """Per-frame views ``src[t]``/``dst[t]`` (time-slice-local state indices of frame ``t``'s
    arcs), the arc counts per frame, and a cache for score-shape dependent indices.

    For the per-row normalisation of the recursions: ``arc_cell`` (A,) and ``state_cell``
    (S,) index a ``(T + 1, B)`` grid by ``time * B + row``; ``state_row[t]`` is the row of
    each state of time ``t``; ``final_local[t]`` the time-slice-local index of the final
    states of time ``t`` (rows that end there).
    """

    src: tuple[torch.Tensor, ...]
    dst: tuple[torch.Tensor, ...]
    arc_counts: tuple[int, ...]
    arc_cell: torch.Tensor
    state_cell: torch.Tensor
    state_row: tuple[torch.Tensor, ...]
    row_counts: tuple[torch.Tensor, ...]
    final_local: tuple[torch.Tensor, ...]
    cache: dict = dataclasses.field(default_factory=dict, repr=False)

    def flat_index(self, batch: LatticeBatch, frames: int, pdfs: int) -> torch.Tensor:
        """``(A,)`` index of every arc's ``(row, frame, pdf)`` in a flattened ``(B, frames, pdfs)`` tensor."""
        key = ("flat", frames, pdfs)
        if key not in self.cache:
            with plain_tensors():
                self.cache[key] = (batch.arc_row * frames + batch.frame) * pdfs + batch.pdf
        return self.cache[key]


    def scaled_graph_cost(self, batch: LatticeBatch, graph_scale: float, dtype: torch.dtype) -> torch.Tensor:
        """``graph_scale * graph_cost`` of every arc in ``dtype`` (a constant of the batch)."""
        key = ("graph", float(graph_scale), dtype)
        if key not in self.cache:
            with plain_tensors():
                self.cache[key] = (graph_scale * batch.graph_cost).to(dtype)
        return self.cache[key]


def build_plan(batch: LatticeBatch) -> FBPlan:
    """The plan of ``batch`` (arc index views of its own tensors; row/cell indices from numpy)."""
    with plain_tensors():
        return _build_plan(batch)


def _build_plan(batch: LatticeBatch) -> FBPlan:
    counts = tuple(b - a for a, b in zip(batch.arc_ptr[:-1], batch.arc_ptr[1:], strict=True))
    b, t_max = batch.size, batch.max_frames
    # States per (time, row), in the batch's global (time, row, state) order.
    per_cell = np.zeros((t_max + 1, b), dtype=np.int64)
    for r, lat in enumerate(batch.lattices):
        per_cell[:, r] = np.bincount(lat.state_times.numpy(), minlength=t_max + 1)[: t_max + 1]
    cells = np.arange((t_max + 1) * b, dtype=np.int64)
    state_cell = np.repeat(cells, per_cell.reshape(-1))
    state_row = state_cell % b
    state_counts = per_cell.sum(axis=1)
    sp = np.asarray(batch.state_ptr, dtype=np.int64)
    fs = batch.final_state.cpu().numpy()
    fp = batch.final_ptr
    final_local = [fs[fp[t]:fp[t + 1]] - sp[t] for t in range(t_max + 1)]
    dev = batch.device

    def ints(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(x), dtype=torch.int64).to(dev)

    return FBPlan(
        src=tuple(batch.src_local.split(counts)), dst=tuple(batch.dst_local.split(counts)),
        arc_counts=counts, arc_cell=batch.frame * b + batch.arc_row, state_cell=ints(state_cell),
        state_row=tuple(ints(state_row).split(tuple(int(c) for c in state_counts))),
        row_counts=tuple(ints(per_cell)),
        final_local=tuple(ints(f) for f in final_local),
    )
