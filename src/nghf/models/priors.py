"""Pdf priors for hybrid decoding: scaled log-likelihoods ``log p(s|x) - k log p(s)``.

Priors come from pdf counts of the training alignment and may be re-estimated as the average
model posterior over data (Kaldi's ``--prior-scale``-style "adjust priors"). Small priors are
floored. A pdf the alignment never visits (e.g. the spoken-noise model of ``<unk>`` when every
training word is in the lexicon) gets the largest prior of the seen pdfs, not the floor:
its output was never trained, and dividing its small posterior by a floored prior would give
it a likelihood bonus of ``-log floor`` over every trained pdf (a hybrid system decoded with
such priors lets ``<unk>`` swallow whole phrases).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from nghf.data.batch import SequenceBatch
from nghf.models.base import AcousticModel


def pdf_counts(alignments: Iterable[np.ndarray], num_pdfs: int) -> np.ndarray:
    """Occurrences of each pdf-id over all frames of ``alignments`` (checked range)."""
    counts = np.zeros(num_pdfs, dtype=np.float64)
    for ali in alignments:
        ali = np.asarray(ali)
        if ali.size and (ali.min() < 0 or ali.max() >= num_pdfs):
            raise ValueError(f"pdf-id {int(ali.max())} or {int(ali.min())} outside [0, {num_pdfs})")
        counts += np.bincount(ali, minlength=num_pdfs)
    return counts


def log_priors_from_counts(counts: np.ndarray | torch.Tensor, floor: float = 1e-8) -> torch.Tensor:
    """Normalised log priors; each prior is at least ``floor``, and a pdf with no count gets
    the largest prior of the counted ones (module doc); then renormalised."""
    c = torch.as_tensor(np.asarray(counts), dtype=torch.float64)
    if c.dim() != 1 or c.numel() == 0 or bool((c < 0).any()):
        raise ValueError("counts must be a non-empty vector of non-negative numbers")
    total = float(c.sum())
    if total <= 0:
        raise ValueError("counts sum to zero: no frames to estimate priors from")
    p = torch.clamp(c / total, min=floor)
    p[c == 0] = p[c > 0].max()
    return torch.log(p / p.sum()).to(torch.float32)


@torch.no_grad()
def posterior_priors(
    model: AcousticModel, batches: Iterable[SequenceBatch], device: torch.device | str = "cpu",
    floor: float = 1e-8,
) -> torch.Tensor:
    """Log priors re-estimated as the mean model posterior over the valid frames of ``batches``."""
    was_training = model.training
    model.eval()
    total = torch.zeros(model.num_pdfs, dtype=torch.float64, device=device)
    for batch in batches:
        batch = batch.to(device)
        logits, out_lengths = model(batch.features, batch.feature_lengths)
        mask = torch.arange(logits.shape[1], device=device).unsqueeze(0) < out_lengths.unsqueeze(1)
        total += (torch.softmax(logits.double(), dim=-1) * mask.unsqueeze(-1)).sum(dim=(0, 1))
    model.train(was_training)
    return log_priors_from_counts(total.cpu(), floor)


def log_likelihoods(logits: torch.Tensor, log_priors: torch.Tensor, prior_scale: float = 1.0) -> torch.Tensor:
    """Pseudo log-likelihoods for decoding: ``log_softmax(logits) - prior_scale * log_priors``."""
    if logits.shape[-1] != log_priors.shape[-1]:
        raise ValueError(f"logits have {logits.shape[-1]} pdfs, priors {log_priors.shape[-1]}")
    return torch.log_softmax(logits, dim=-1) - prior_scale * log_priors.to(logits.device, logits.dtype)
