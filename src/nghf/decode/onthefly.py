"""On-the-fly denominator lattices: regenerate lattices with the current model, in process.

Sequence training can refresh its denominator lattices every N updates (the lattices then
follow the model instead of the cross-entropy model they were made with). This runs the code
path of ``nghf-make-denlats`` on lattices kept in memory: the model's log-likelihoods
(``log_softmax(logits) - prior_scale * log_priors``, :func:`nghf.models.priors.log_likelihoods`)
for the given utterances' features, then :meth:`DenominatorGenerator.generate` (decode with
the weak-LM graph, raw pruning, conversion, posterior pruning), and finally a
:class:`~nghf.lattice.types.LatticeBatch`.

* :func:`load_generator` -- a :class:`DenominatorGenerator` from a graph dir and a transition
  model (what ``nghf-make-denlats`` builds too);
* :func:`nghf.decode.loglik.network_logliks` -- batched, no-grad log-likelihoods of the
  in-memory model (the loop ``nghf-decode`` and ``nghf-make-denlats`` run too);
* :func:`regenerate_denlats` -- both together for a list of utterances; failures are listed
  by utterance id with the reason (the caller decides, e.g. to keep the old lattice).

The model is put in eval mode for the forward passes and its previous mode is restored.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from nghf.decode.denlats import DenlatConfig, DenominatorGenerator, chunked
from nghf.decode.loglik import network_logliks
from nghf.lattice.numerator import TransitionMaps, load_transition_maps
from nghf.lattice.types import Lattice, LatticeBatch, LatticeError
from nghf.utils.logging import get_logger

log = get_logger(__name__)


def load_generator(graph_dir: str | Path, trans_model: str | Path | TransitionMaps, config: DenlatConfig,
                   num_pdfs: int | None = None) -> DenominatorGenerator:
    """The generator of ``nghf-make-denlats`` for a weak-LM graph dir and a GMM ``final.mdl``."""
    from nghf.decode.graph import load_graph

    maps = trans_model if isinstance(trans_model, TransitionMaps) else load_transition_maps(trans_model)
    return DenominatorGenerator(load_graph(graph_dir), maps, config, num_pdfs)


@dataclasses.dataclass(frozen=True)
class Regenerated:
    """New lattices by utterance id, failures (id -> reason), frames and wall time."""

    lattices: dict[str, Lattice]
    failed: dict[str, str]
    frames: int
    seconds: float

    def batch(self, utt_ids: Sequence[str], fallback: Mapping[str, Lattice] | None = None,
              device: torch.device | str = "cpu") -> LatticeBatch:
        """The lattices of ``utt_ids`` in that order; a failed utterance takes its ``fallback``
        lattice (e.g. the stored one), else it is an error naming it."""
        lats = []
        for u in utt_ids:
            if u in self.lattices:
                lats.append(self.lattices[u])
            elif fallback is not None and u in fallback:
                lats.append(fallback[u])
            else:
                reason = self.failed.get(u, "not regenerated")
                raise LatticeError(f"utterance {u}: no regenerated denominator lattice ({reason})")
        return LatticeBatch.from_lattices(lats, device)


def regenerate_denlats(
    generator: DenominatorGenerator,
    model: torch.nn.Module,
    log_priors: torch.Tensor,
    feats: Mapping[str, np.ndarray],
    utts: Sequence[str],
    prior_scale: float = 1.0,
    device: torch.device | str = "cpu",
    batch_size: int = 16,
) -> Regenerated:
    """Denominator lattices of ``utts`` from the current ``model`` (see the module docstring)."""
    missing = [u for u in utts if u not in feats]
    if missing:
        raise LatticeError(f"utterance {missing[0]}: no features ({len(missing)} of {len(utts)} missing)")
    start = time.monotonic()
    lattices: dict[str, Lattice] = {}
    failed: dict[str, str] = {}
    frames = 0
    for chunk in chunked(network_logliks(model, log_priors, feats, utts, prior_scale, device, batch_size), batch_size):
        for (utt, _), made in zip(chunk, generator.generate_many(chunk), strict=True):
            if isinstance(made, LatticeError):
                failed[utt] = str(made)
                log.warning("%s", made)
                continue
            lattices[utt] = made.lattice
            frames += made.lattice.num_frames
    seconds = time.monotonic() - start
    log.info("regenerated %d denominator lattices (%d failed), %d frames in %.1f s", len(lattices),
             len(failed), frames, seconds)
    return Regenerated(lattices, failed, frames, seconds)
