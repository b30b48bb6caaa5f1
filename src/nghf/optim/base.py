"""The contract between the trainer and every optimiser (SGD, Adam, HF, NG, NGHF).

The trainer hands an optimiser an ``UpdateProblem`` -- the model, the criterion, the gradient
batches and the (smaller) curvature batches of this rank, the reducer and the global frame
count, optionally a validation set -- and the optimiser performs exactly one parameter update and returns its statistics.
First-order methods use only the gradient batches; second-order methods also evaluate
curvature-vector products on the curvature batches. Loss = Σ utterance losses / num_frames.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

from torch import nn

from nghf.criteria.base import Criterion
from nghf.data.batch import SequenceBatch
from nghf.dist.reduce import LocalReducer, Reducer


@dataclasses.dataclass(frozen=True)
class UpdateProblem:
    """Everything one update needs; ``num_frames`` counts output frames of the gradient
    batches over all ranks (the loss normaliser), ``curvature_frames`` likewise for the
    curvature batches."""

    model: nn.Module
    criterion: Criterion
    grad_batches: Sequence[SequenceBatch]
    curvature_batches: Sequence[SequenceBatch]
    num_frames: int
    curvature_frames: int
    reducer: Reducer = dataclasses.field(default_factory=LocalReducer)
    validation_batches: Sequence[SequenceBatch] = ()
    """This rank's share of a validation set (training utterances outside every gradient
    batch): second-order methods choose CG iterates, line-search, accept steps and compute the
    reduction ratio on it, so that a step fitted to the gradient batch is judged on other data."""
    validation_frames: int = 0
    """Output frames of the validation batches over all ranks (0: no validation set)."""


@dataclasses.dataclass(frozen=True)
class UpdateStats:
    """What one update did: the loss on the gradient batches before it, and method-specific
    numbers (CG iterations, damping, reduction ratio, step norm, ...) for logs and plots."""

    loss: float
    extras: dict[str, float] = dataclasses.field(default_factory=dict)


class Updater(Protocol):
    """One optimiser, ``torch.optim``-style state (``state_dict``/``load_state_dict``)."""

    def step(self, problem: UpdateProblem) -> UpdateStats: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...
