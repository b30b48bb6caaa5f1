"""Sharding of utterances and update batches across ranks, balanced by frames.

Two levels, both pure functions of their inputs (and the seed), so every rank computes the
same plan without communication:

* ``partition_by_frames`` splits a set of utterances (with their lattices and alignments)
  into ``world_size`` disjoint shards whose frame totals differ by at most the longest
  utterance (greedy longest-first onto the lightest shard; ties broken by a seeded hash, so
  the plan depends only on ``(ids, lengths, seed, world_size)``). Use it to load only a
  rank's share of a corpus.
* ``ShardedUpdates`` wraps any ``UpdateSource`` built identically on every rank and gives
  each rank its rows of every gradient and curvature batch. The union over ranks of update
  ``k`` is exactly update ``k`` of the single-process run, so a distributed update equals
  the 1-process update (to float rounding of the all-reduce), the learning curve does not
  depend on the number of workers, and a run can resume with a different world size.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Mapping, Sequence

from nghf.data.batch import SequenceBatch, UpdateSource


class ShardError(ValueError):
    """A batch or corpus too small for the number of ranks."""


def _tie_key(item: str, seed: int) -> bytes:
    return hashlib.blake2b(f"{seed}\x00{item}".encode(), digest_size=8).digest()


def partition_by_frames(lengths: Mapping[str, int], world_size: int, seed: int = 0) -> list[list[str]]:
    """Disjoint shards (one per rank, each sorted) covering every id of ``lengths``.

    Longest-processing-time greedy: items in decreasing length (seeded tie-break) go to the
    shard with the fewest frames so far (lowest rank on ties). The heaviest shard exceeds
    the lightest by at most the longest item.
    """
    if world_size < 1:
        raise ShardError(f"world size must be >= 1, got {world_size}")
    for key, n in lengths.items():
        if n < 0:
            raise ShardError(f"utterance {key} has a negative frame count ({n})")
    order = sorted(lengths, key=lambda k: (-lengths[k], _tie_key(k, seed)))
    heap = [(0, r) for r in range(world_size)]
    shards: list[list[str]] = [[] for _ in range(world_size)]
    for key in order:
        frames, rank = heapq.heappop(heap)
        shards[rank].append(key)
        heapq.heappush(heap, (frames + lengths[key], rank))
    return [sorted(s) for s in shards]


def split_rows(lengths: Sequence[int], world_size: int) -> list[list[int]]:
    """Row indices of one batch per rank, balanced by ``lengths`` (deterministic)."""
    shards = partition_by_frames({f"{i:09d}": int(n) for i, n in enumerate(lengths)}, world_size)
    return [[int(k) for k in s] for s in shards]


def shard_batch(batch: SequenceBatch, rank: int, world_size: int) -> SequenceBatch | None:
    """Rank ``rank``'s rows of ``batch`` (``None`` if it gets none); lattices follow through
    ``SequenceBatch.select``."""
    if world_size == 1:
        return batch
    rows = split_rows(batch.feature_lengths.tolist(), world_size)[rank]
    return batch.select(rows) if rows else None


class ShardedUpdates:
    """``UpdateSource`` giving this rank its share of every update of ``source``.

    ``source`` must be the same single-process source on every rank (built with rank 0 and
    world size 1). Second-order methods need curvature rows on every rank, so a curvature
    batch with fewer utterances than ranks is an error naming the update.
    """

    def __init__(self, source: UpdateSource, rank: int, world_size: int) -> None:
        if not 0 <= rank < world_size:
            raise ShardError(f"rank {rank} outside world size {world_size}")
        self.source = source
        self.rank = rank
        self.world_size = world_size

    def num_updates(self, epoch: int) -> int:
        return self.source.num_updates(epoch)

    def update_batches(self, epoch: int, index: int) -> tuple[list[SequenceBatch], list[SequenceBatch]]:
        grad, curv = self.source.update_batches(epoch, index)
        if curv and sum(c.size for c in curv) < self.world_size:
            raise ShardError(
                f"epoch {epoch} update {index}: {sum(c.size for c in curv)} curvature utterances cannot be "
                f"shared by {self.world_size} ranks (raise the batch size or curvature fraction)"
            )
        if self.world_size == 1:
            return list(grad), list(curv)
        return _shard_batches(grad, self.rank, self.world_size), _shard_batches(curv, self.rank, self.world_size)


def _shard_batches(batches: Sequence[SequenceBatch], rank: int, world_size: int) -> list[SequenceBatch]:
    """This rank's rows of several batches, balanced over their union (so that every rank
    gets at least one row whenever the union has ``world_size`` rows)."""
    lengths = {f"{b:06d}:{r:06d}": int(n) for b, batch in enumerate(batches)
               for r, n in enumerate(batch.feature_lengths.tolist())}
    chosen = partition_by_frames(lengths, world_size)[rank]
    out = []
    for b, batch in enumerate(batches):
        rows = [int(k.split(":")[1]) for k in chosen if int(k.split(":")[0]) == b]
        if rows:
            out.append(batch.select(rows))
    return out
