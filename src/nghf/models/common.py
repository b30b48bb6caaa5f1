"""Small building blocks shared by the acoustic models.

All of them are pure functions of parameters and inputs (gathers instead of in-place writes)
so that ``torch.func.jvp``/``functional_call`` work through every model.
"""

from __future__ import annotations

import torch


def edge_index(lengths: torch.Tensor, total: int, left: int) -> torch.Tensor:
    """``(B, total)`` input frame for each position of a sequence padded by ``left`` frames.

    Position ``i`` of row ``b`` reads frame ``clamp(i - left, 0, lengths[b] - 1)``: frames
    before the utterance repeat its first frame, frames after it its last (Kaldi's edge
    handling), and padding beyond an utterance's length never reads another utterance.
    """
    steps = torch.arange(total, device=lengths.device).unsqueeze(0) - left
    last = (lengths.clamp(min=1) - 1).unsqueeze(1)
    return torch.minimum(steps.clamp(min=0), last)


def replicate_pad(features: torch.Tensor, lengths: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """``(B, left + T + right, F)``: each utterance padded with copies of its edge frames."""
    b, t, f = features.shape
    index = edge_index(lengths.to(features.device), left + t + right, left)
    return torch.gather(features, 1, index.unsqueeze(-1).expand(b, left + t + right, f))


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row's first ``lengths[b]`` frames (``(B, T, D)``); padding goes last.

    Applying it twice gives back the valid frames; used for the backward direction of
    bidirectional recurrences without packed sequences.
    """
    b, t, d = x.shape
    steps = torch.arange(t, device=x.device).unsqueeze(0)
    last = (lengths.to(x.device).clamp(min=1) - 1).unsqueeze(1)
    index = torch.where(steps <= last, last - steps, steps)
    return torch.gather(x, 1, index.unsqueeze(-1).expand(b, t, d))
