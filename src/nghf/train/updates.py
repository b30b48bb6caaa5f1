"""What each update sees: the data side of the trainer's ``updates`` loop.

An ``UpdateSource`` (:mod:`nghf.data.batch`) says how many updates an epoch has and gives
the gradient and curvature batches of each. ``ChunkedUpdates`` serves frame-level (CE) training from
``ChunkedData``: ``batches_per_update`` minibatches per update (1 for SGD/Adam) and, for
second-order methods, a seeded ``curvature_fraction`` of their rows as curvature batches.
A sequence-training source (utterances with lattices) implements the same protocol.
"""

from __future__ import annotations

import numpy as np

from nghf.data.batch import SequenceBatch
from nghf.train.data import ChunkedData


class ChunkedUpdates:
    """``UpdateSource`` over chunked frame-level data."""

    def __init__(
        self, data: ChunkedData, batches_per_update: int = 1, curvature_fraction: float = 0.0,
        rank: int = 0, world_size: int = 1,
    ) -> None:
        if batches_per_update < 1 or not 0 <= curvature_fraction <= 1:
            raise ValueError("batches_per_update must be >= 1 and curvature_fraction in [0, 1]")
        self.data = data
        self.batches_per_update = batches_per_update
        self.curvature_fraction = curvature_fraction
        self.rank = rank
        self.world_size = world_size
        self._cache: tuple[int, list] | None = None

    def _epoch(self, epoch: int) -> list:
        if self._cache is None or self._cache[0] != epoch:
            self._cache = (epoch, self.data.epoch_batches(epoch, self.rank, self.world_size))
        return self._cache[1]

    def num_updates(self, epoch: int) -> int:
        return len(self._epoch(epoch)) // self.batches_per_update

    def update_batches(self, epoch: int, index: int) -> tuple[list[SequenceBatch], list[SequenceBatch]]:
        k = self.batches_per_update
        grad = [self.data.make_batch(c) for c in self._epoch(epoch)[index * k : (index + 1) * k]]
        curv: list[SequenceBatch] = []
        if self.curvature_fraction > 0:
            rng = np.random.default_rng([self.data.config.seed, epoch, index, self.rank, 104729])
            for batch in grad:
                n = max(1, int(round(self.curvature_fraction * batch.size)))
                curv.append(batch.select(sorted(rng.choice(batch.size, size=n, replace=False).tolist())))
        return grad, curv
