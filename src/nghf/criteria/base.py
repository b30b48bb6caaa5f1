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
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from nghf.train.batch import SequenceBatch


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


def frame_mask(out_lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """``(B, T)`` boolean mask of valid output frames."""
    steps = torch.arange(max_len, device=out_lengths.device)
    return steps.unsqueeze(0) < out_lengths.unsqueeze(1)
