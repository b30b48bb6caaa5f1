"""Frame-level cross-entropy against alignment targets (the CE baseline and a test criterion).

Loss of an utterance: ``-Σ_t log softmax(z_t)[y_t]`` over its frames with a target. Its
Hessian with respect to the logits of a frame is ``diag(p) - p pᵀ`` (PSD), so the
output-curvature product is exact: ``p ⊙ v - p (pᵀ v)`` on frames with a target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
import torch.nn.functional as F

from nghf.criteria.base import OperatorCurvature, frame_mask
from nghf.data.batch import IGNORE_TARGET, SequenceBatch


@dataclasses.dataclass(frozen=True)
class CrossEntropy(OperatorCurvature):
    """Frame cross-entropy; ``label_smoothing`` as in ``torch.nn.functional.cross_entropy``."""

    label_smoothing: float = 0.0
    name: str = "ce"

    def _targets(self, outputs: torch.Tensor, out_lengths: torch.Tensor, batch: SequenceBatch) -> torch.Tensor:
        if batch.targets is None:
            raise ValueError(f"cross-entropy needs frame targets; batch {batch.utt_ids[:3]}... has none")
        b, t, _ = outputs.shape
        targets = batch.targets[:, :t].to(outputs.device)
        if targets.shape[1] < t:
            pad = torch.full((b, t - targets.shape[1]), IGNORE_TARGET, dtype=targets.dtype, device=targets.device)
            targets = torch.cat([targets, pad], dim=1)
        return targets.masked_fill(~frame_mask(out_lengths.to(outputs.device), t), IGNORE_TARGET)

    def utterance_losses(self, outputs: torch.Tensor, out_lengths: torch.Tensor, batch: SequenceBatch) -> torch.Tensor:
        targets = self._targets(outputs, out_lengths, batch)
        per_frame = F.cross_entropy(
            outputs.transpose(1, 2), targets, ignore_index=IGNORE_TARGET,
            reduction="none", label_smoothing=self.label_smoothing,
        )
        return per_frame.sum(dim=1)

    def curvature_operator(
        self, outputs: torch.Tensor, out_lengths: torch.Tensor, batch: SequenceBatch
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """``v ↦ (diag p − p pᵀ) v`` per counted frame (p = softmax of the outputs)."""
        targets = self._targets(outputs, out_lengths, batch)
        probs = torch.softmax(outputs.detach(), dim=-1)
        counted = (targets != IGNORE_TARGET).unsqueeze(-1).to(probs.dtype)

        def product(v: torch.Tensor) -> torch.Tensor:
            return (probs * v - probs * (probs * v).sum(dim=-1, keepdim=True)) * counted

        return product

    def frame_correct(self, outputs: torch.Tensor, out_lengths: torch.Tensor, batch: SequenceBatch) -> tuple[int, int]:
        """(correct, counted) frames for frame accuracy."""
        targets = self._targets(outputs, out_lengths, batch)
        valid = targets != IGNORE_TARGET
        correct = (outputs.argmax(dim=-1) == targets) & valid
        return int(correct.sum()), int(valid.sum())
