"""On-the-fly denominator lattices during sequence training ("lattice regeneration").

Denominator lattices made once with the cross-entropy model go stale as sequence training moves
the model away from it: competing paths the new model likes are missing, and the lattice
posteriors describe a model that no longer exists. With ``regenerate.every = N``, before update
``k`` with ``k % N == 0`` the trainer regenerates the lattices of every utterance of updates
``k .. k+N-1`` of the current epoch with the current model, through the same generator as
``nghf-make-denlats`` (:mod:`nghf.decode.onthefly`: model log-likelihoods -> weak-LM graph
search -> conversion -> posterior pruning). The new lattices overlay the stored ones
(:class:`OverlayLattices`); an utterance whose regeneration fails keeps its previous lattice
(counted and logged by id). The overlay is part of the trainer's checkpoint, so a resumed run
uses exactly the lattices the uninterrupted run used.

In a distributed run every rank regenerates the lattices of the whole window (the updates are
shared out afterwards), so all ranks hold identical lattices; the work is duplicated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from nghf.decode.denlats import DenlatConfig
from nghf.decode.onthefly import load_generator, regenerate_denlats
from nghf.lattice.numerator import TransitionMaps
from nghf.lattice.types import Lattice
from nghf.utils.logging import get_logger

log = get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class RegenerateConfig:
    """When and how denominator lattices are regenerated during sequence training.

    Attributes:
        every: regenerate the lattices of the next ``every`` updates' utterances before every
            ``every``-th update (0: never; the stored lattices are used throughout).
        lattice: search and pruning options (as ``nghf-make-denlats``).
        batch_size: utterances per forward pass of the model.
    """

    every: int = 0
    lattice: DenlatConfig = dataclasses.field(default_factory=lambda: DenlatConfig(max_arcs_per_frame=50))
    batch_size: int = 16

    def __post_init__(self) -> None:
        if self.every < 0 or self.batch_size < 1:
            raise ValueError(f"regenerate.every must be >= 0 and batch_size >= 1, got {self.every}, {self.batch_size}")


class OverlayLattices(Mapping[str, Lattice]):
    """The stored denominator lattices with regenerated ones laid over them."""

    def __init__(self, base: Mapping[str, Lattice]) -> None:
        self.base = base
        self.fresh: dict[str, Lattice] = {}

    def __getitem__(self, utt: str) -> Lattice:
        lat = self.fresh.get(utt)
        return lat if lat is not None else self.base[utt]

    def __contains__(self, utt: object) -> bool:
        return utt in self.fresh or utt in self.base

    def __iter__(self) -> Iterator[str]:
        return iter(self.base)

    def __len__(self) -> int:
        return len(self.base)


class LatticeRefresher:
    """Regenerates windows of denominator lattices with the trainer's current model."""

    def __init__(self, config: RegenerateConfig, graph_dir: str | Path, trans_model: str | Path | TransitionMaps,
                 overlay: OverlayLattices, feats: Mapping[str, np.ndarray], log_priors: torch.Tensor,
                 prior_scale: float, num_pdfs: int, device: torch.device | str = "cpu") -> None:
        if config.every < 1:
            raise ValueError("a LatticeRefresher needs regenerate.every >= 1")
        self.config = config
        self.generator = load_generator(graph_dir, trans_model, config.lattice, num_pdfs=num_pdfs)
        self.overlay = overlay
        self.feats = feats
        self.log_priors = log_priors
        self.prior_scale = prior_scale
        self.device = device
        self.failures = 0

    def due(self, global_update: int) -> bool:
        """Whether the lattices are regenerated before update ``global_update`` (0-based)."""
        return global_update % self.config.every == 0

    def refresh(self, model: torch.nn.Module, utts: Sequence[str]) -> None:
        """Regenerate the lattices of ``utts`` with ``model``; failures keep their old lattice."""
        result = regenerate_denlats(self.generator, model, self.log_priors.to(self.device), self.feats, list(utts),
                                    self.prior_scale, self.device, self.config.batch_size)
        self.overlay.fresh.update(result.lattices)
        if result.failed:
            self.failures += len(result.failed)
            log.warning("%d of %d utterances keep their previous denominator lattice (e.g. %s: %s)",
                        len(result.failed), len(utts), *next(iter(result.failed.items())))

    def state_dict(self) -> dict[str, object]:
        return {"fresh": dict(self.overlay.fresh), "failures": self.failures}

    def load_state_dict(self, state: Mapping[str, object]) -> None:
        fresh = state.get("fresh") or {}
        assert isinstance(fresh, dict)
        self.overlay.fresh = dict(fresh)
        self.failures = int(state.get("failures", 0))  # type: ignore[arg-type]
