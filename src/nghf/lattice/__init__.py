"""Lattices for sequence training: data structures, conversion, Kaldi I/O, forward-backward.

* :mod:`.types` — frame-synchronous :class:`Lattice`, batched :class:`LatticeBatch`, and the
  numerator/denominator pair :class:`SequenceLattices` that ``SequenceBatch.lattices`` holds.
* :mod:`.raw` — :class:`RawLattice`, the raw state-level decoder lattice (epsilon arcs, graph
  and acoustic costs apart) and its best paths at any LM weight.
* :mod:`.convert` — raw decoder lattices → frame-synchronous lattices.
* :mod:`.kaldi_io` — Kaldi ``Lattice``/``CompactLattice`` archives, text and binary.
* :mod:`.fb` — batched, differentiable log-semiring forward-backward, expectations, pruning
  (:mod:`.fbplan`: the per-batch index precomputations it caches).
* :mod:`.numerator` — numerator lattices (single paths) from alignments; :mod:`.store` —
  lattice archives; :mod:`.stats` — density, numerator coverage, oracle WER.
* :mod:`.synthetic`, :mod:`.enumerate` — random lattices and brute-force references.

Making lattices decodes, so it lives in :mod:`nghf.decode` (``denlats``, ``onthefly``,
``nnalign``), above this package.

There is no k2 backend (k2 cannot be installed here); :mod:`.fb` is the one place a backend
would plug in: it takes a :class:`LatticeBatch` and ``(B, T, D)`` scores and returns log Z and
occupancies.
"""

from nghf.lattice.convert import raw_to_lattice
from nghf.lattice.fb import (
    FBResult,
    expected_arc_sum,
    forward_backward,
    log_partition,
    log_partition_hvp,
    prune_by_posterior,
)
from nghf.lattice.raw import RawLattice
from nghf.lattice.types import Lattice, LatticeBatch, LatticeError, SequenceLattices

__all__ = [
    "FBResult",
    "Lattice",
    "LatticeBatch",
    "LatticeError",
    "RawLattice",
    "SequenceLattices",
    "expected_arc_sum",
    "forward_backward",
    "log_partition",
    "log_partition_hvp",
    "prune_by_posterior",
    "raw_to_lattice",
]
