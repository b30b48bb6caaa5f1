"""The contract between criteria and optimisers.

A criterion turns model outputs (logits, ``(B, T, D)``) and a batch into per-utterance losses
(sums over the utterance's frames, to be *minimised*) and supplies the product of its
output-layer curvature with a vector. Normalisation (dividing by the number of frames of the
whole gradient batch, across all ranks) is the optimiser's job, so that sums can be
all-reduced exactly.

``output_curvature_product`` returns H_out v where H_out is a positive semi-definite
curvature of ``sum(utterance_losses)`` with respect to the outputs (the exact Hessian where
that is PSD, e.g. softmax cross-entropy; a documented PSD approximation otherwise). The
Gauss-Newton product of the whole network is then Jᵀ H_out J v.

A criterion may also offer ``curvature_operator(outputs, out_lengths, batch)``: ``H_out`` as a
function of ``v`` at fixed outputs, with everything that does not depend on ``v`` (softmax
probabilities, lattice posterior statistics) computed once. Second-order optimisers apply the
same ``H_out`` in every CG iteration of an update, so they use it through
:func:`curvature_operator`, which falls back to ``output_curvature_product`` otherwise.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import torch

from nghf.data.batch import SequenceBatch


@runtime_checkable
class Criterion(Protocol):
    """A training criterion over a padded batch of model outputs."""

    name: str

    def utterance_losses(self, outputs: torch.Tensor, out_lengths: torch.Tensor, batch: SequenceBatch) -> torch.Tensor:
        """``(B,)`` loss of each utterance (summed over its frames), differentiable in ``outputs``."""
        ...

    def output_curvature_product(
        self, outputs: torch.Tensor, out_lengths: torch.Tensor, batch: SequenceBatch, v: torch.Tensor
    ) -> torch.Tensor:
        """``H_out v`` for ``sum(utterance_losses)``; same shape as ``outputs``, zero on padding."""
        ...


class OperatorCurvature:
    """Base of a criterion that builds ``curvature_operator``: ``output_curvature_product`` is
    one application of it."""

    def curvature_operator(
        self, outputs: torch.Tensor, out_lengths: torch.Tensor, batch: SequenceBatch
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        raise NotImplementedError

    def output_curvature_product(
        self, outputs: torch.Tensor, out_lengths: torch.Tensor, batch: SequenceBatch, v: torch.Tensor
    ) -> torch.Tensor:
        return self.curvature_operator(outputs, out_lengths, batch)(v)


def frame_mask(out_lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """``(B, T)`` boolean mask of valid output frames."""
    steps = torch.arange(max_len, device=out_lengths.device)
    return steps.unsqueeze(0) < out_lengths.unsqueeze(1)


CurvatureOperator = Callable[[torch.Tensor], torch.Tensor]
"""``v ↦ H_out v`` at fixed outputs (``v`` shaped like the outputs)."""


def curvature_operator(
    criterion: Criterion, outputs: torch.Tensor, out_lengths: torch.Tensor, batch: SequenceBatch
) -> CurvatureOperator:
    """The criterion's ``curvature_operator`` when it has one, else ``output_curvature_product``
    with the outputs bound (same products, nothing precomputed)."""
    make = getattr(criterion, "curvature_operator", None)
    if make is not None:
        return make(outputs, out_lengths, batch)
    return functools.partial(criterion.output_curvature_product, outputs.detach(), out_lengths, batch)
