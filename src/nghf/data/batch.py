"""The minibatch that flows from data loading through models, criteria and optimisers.

One type for every trainer path (CE and sequence training) so that criteria and optimisers
are interchangeable: padded features, their lengths, and optional frame targets (pdf-ids from
an alignment) and lattices (numerator/denominator, for the sequence criteria). An
``UpdateSource`` serves the gradient and curvature batches of each update.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import torch

IGNORE_TARGET = -100
"""Target value of padded (or excluded) frames; matches torch's cross-entropy ``ignore_index``."""


@dataclasses.dataclass(frozen=True)
class SequenceBatch:
    """A padded batch of utterances.

    Attributes:
        utt_ids: utterance ids, one per row (kept for error messages and logging).
        features: ``(B, T, F)`` float features, zero-padded after each utterance's length.
        feature_lengths: ``(B,)`` int64 number of valid input frames per utterance.
        targets: ``(B, T_out)`` int64 pdf-ids at the model's output frame rate, padded with
            ``IGNORE_TARGET``; ``None`` when not needed (decoding).
        lattices: criterion-specific lattice data (e.g. numerator and denominator lattices in
            the lattice package's batched form); ``None`` for frame-level criteria.
    """

    utt_ids: tuple[str, ...]
    features: torch.Tensor
    feature_lengths: torch.Tensor
    targets: torch.Tensor | None = None
    lattices: Any = None

    def __post_init__(self) -> None:
        b = self.features.shape[0]
        if self.features.dim() != 3:
            raise ValueError(f"features must be (B, T, F), got {tuple(self.features.shape)}")
        if len(self.utt_ids) != b or self.feature_lengths.shape != (b,):
            raise ValueError(
                f"batch of {b} feature rows has {len(self.utt_ids)} ids and lengths of shape "
                f"{tuple(self.feature_lengths.shape)}"
            )

    @property
    def size(self) -> int:
        return len(self.utt_ids)

    def to(self, device: torch.device | str) -> SequenceBatch:
        """The same batch on ``device`` (lattices move if they have a ``to`` method)."""
        lattices = self.lattices.to(device) if hasattr(self.lattices, "to") else self.lattices
        return dataclasses.replace(
            self,
            features=self.features.to(device),
            feature_lengths=self.feature_lengths.to(device),
            targets=None if self.targets is None else self.targets.to(device),
            lattices=lattices,
        )

    def select(self, rows: list[int]) -> SequenceBatch:
        """A sub-batch of the given rows (e.g. the curvature batch); lattices need ``select``."""
        index = torch.tensor(rows, dtype=torch.long, device=self.features.device)
        lattices = self.lattices.select(rows) if hasattr(self.lattices, "select") else self.lattices
        return dataclasses.replace(
            self,
            utt_ids=tuple(self.utt_ids[i] for i in rows),
            features=self.features.index_select(0, index),
            feature_lengths=self.feature_lengths.index_select(0, index.to(self.feature_lengths.device)),
            targets=None if self.targets is None else self.targets.index_select(0, index.to(self.targets.device)),
            lattices=lattices,
        )


class UpdateSource(Protocol):
    """Deterministic per-epoch batches for each update of this rank."""

    def num_updates(self, epoch: int) -> int: ...

    def update_batches(self, epoch: int, index: int) -> tuple[list[SequenceBatch], list[SequenceBatch]]:
        """``(grad_batches, curvature_batches)`` of update ``index`` of ``epoch``."""
        ...
