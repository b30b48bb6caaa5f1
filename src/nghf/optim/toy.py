"""Small, seeded acoustic-model problems for the optimiser's tests and benchmarks.

Real torch modules (a Conv1d TDNN-like net, an LSTM with projection, a plain LSTM, an Elman
RNN, a linear softmax) wrapped to the ``(features, lengths) -> (logits, out_lengths)``
signature of ``nghf.models.base.AcousticModel``, and a synthetic frame-classification task
whose targets come from a fixed random "teacher" network, so the loss can be driven well
below its starting value. Nothing here is used by the trainer.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from nghf.data.batch import IGNORE_TARGET, SequenceBatch

ToyKind = Literal["tdnn", "lstmp", "lstm", "rnn", "linear"]


class ToyTdnn(nn.Module):
    """Two Conv1d layers (kernel 3, 'same' padding) and a linear output layer."""

    def __init__(self, feat_dim: int, hidden: int, num_pdfs: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(feat_dim, hidden, 3, padding=1)
        self.conv2 = nn.Conv1d(hidden, hidden, 3, padding=1)
        self.out = nn.Linear(hidden, num_pdfs)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.relu(self.conv1(features.transpose(1, 2)))
        h = torch.relu(self.conv2(h)).transpose(1, 2)
        return self.out(h), lengths


class ToyRecurrent(nn.Module):
    """One recurrent layer (``nn.LSTM`` with or without projection, or ``nn.RNN``) + linear."""

    def __init__(self, kind: str, feat_dim: int, hidden: int, num_pdfs: int) -> None:
        super().__init__()
        if kind == "lstmp":
            self.rnn: nn.RNNBase = nn.LSTM(feat_dim, hidden, batch_first=True, proj_size=max(1, hidden // 2))
            width = max(1, hidden // 2)
        elif kind == "lstm":
            self.rnn = nn.LSTM(feat_dim, hidden, batch_first=True)
            width = hidden
        elif kind == "rnn":
            self.rnn = nn.RNN(feat_dim, hidden, batch_first=True, nonlinearity="tanh")
            width = hidden
        else:
            raise ValueError(f"unknown recurrent kind {kind!r}")
        self.out = nn.Linear(width, num_pdfs)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h, _ = self.rnn(features)
        return self.out(h), lengths


class ToyLinear(nn.Module):
    """A linear softmax model (convex cross-entropy): ``logits = W x + b``."""

    def __init__(self, feat_dim: int, num_pdfs: int) -> None:
        super().__init__()
        self.out = nn.Linear(feat_dim, num_pdfs)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.out(features), lengths


def make_model(kind: ToyKind, feat_dim: int = 5, hidden: int = 8, num_pdfs: int = 4, seed: int = 0,
               dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> nn.Module:
    """A seeded toy model of the given kind."""
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        if kind == "tdnn":
            model: nn.Module = ToyTdnn(feat_dim, hidden, num_pdfs)
        elif kind == "linear":
            model = ToyLinear(feat_dim, num_pdfs)
        else:
            model = ToyRecurrent(kind, feat_dim, hidden, num_pdfs)
    finally:
        torch.random.set_rng_state(gen_state)
    return model.to(device=device, dtype=dtype)


def make_batch(num_utts: int = 4, max_len: int = 6, feat_dim: int = 5, num_pdfs: int = 4, seed: int = 0,
               teacher: nn.Module | None = None, dtype: torch.dtype = torch.float32,
               device: torch.device | str = "cpu", prefix: str = "utt") -> SequenceBatch:
    """A padded batch of random features with lengths in ``[max_len//2, max_len]``; targets are
    the argmax of a ``teacher`` model's logits (or random when no teacher is given), with a
    little label noise so the optimum is not at infinity."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(max(1, max_len // 2), max_len + 1, (num_utts,), generator=gen)
    lengths[0] = max_len
    feats = torch.randn(num_utts, max_len, feat_dim, generator=gen, dtype=torch.float64)
    mask = torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)
    feats = feats * mask.unsqueeze(-1)
    if teacher is not None:
        with torch.no_grad():
            t_dtype = next(teacher.parameters()).dtype
            logits, _ = teacher(feats.to(t_dtype), lengths)
        targets = logits.argmax(dim=-1).cpu()
        noise = torch.rand(num_utts, max_len, generator=gen) < 0.15
        targets = torch.where(noise, torch.randint(0, num_pdfs, (num_utts, max_len), generator=gen), targets)
    else:
        targets = torch.randint(0, num_pdfs, (num_utts, max_len), generator=gen)
    targets = targets.masked_fill(~mask, IGNORE_TARGET)
    ids = tuple(f"{prefix}{seed}-{i}" for i in range(num_utts))
    return SequenceBatch(ids, feats.to(dtype), lengths, targets).to(device)


def frames_of(batches: list[SequenceBatch]) -> int:
    """Number of valid output frames (equal to input frames for the toy models)."""
    return int(sum(int(b.feature_lengths.sum()) for b in batches))
