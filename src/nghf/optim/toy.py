"""Small, seeded acoustic-model problems for the optimiser's tests and benchmarks.

Real torch modules (a Conv1d TDNN-like net, an LSTM with projection, a plain LSTM, an Elman
RNN, a linear softmax) wrapped to the ``(features, lengths) -> (logits, out_lengths)``
signature of ``nghf.models.base.AcousticModel``, and a synthetic frame-classification task
whose targets come from a fixed random "teacher" network, so the loss can be driven well
below its starting value; :func:`make_sequence_batch` adds random denominator lattices and a
numerator path of each (for the lattice sequence criteria). Nothing here is used by the trainer.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import torch
from torch import nn

from nghf.data.batch import IGNORE_TARGET, SequenceBatch
from nghf.lattice.synthetic import random_alignment_path, random_lattice, random_transition_table
from nghf.lattice.types import SequenceLattices

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
            t_param = next(teacher.parameters())
            logits, _ = teacher(feats.to(t_param.device, t_param.dtype), lengths.to(t_param.device))
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


def make_sequence_batch(num_utts: int = 3, max_len: int = 6, feat_dim: int = 5, num_pdfs: int = 4, seed: int = 0,
                        states_per_frame: int = 2, arcs_per_frame: int = 4, num_phones: int = 3,
                        dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu",
                        prefix: str = "utt") -> SequenceBatch:
    """:func:`make_batch`'s features and lengths with, per utterance, a seeded random
    denominator lattice over ``num_pdfs`` pdfs and ``num_phones`` phones
    (:func:`~nghf.lattice.synthetic.random_lattice`) and one of its paths as the numerator;
    the targets are the numerator's pdfs (F-smoothing, frame counts)."""
    base = make_batch(num_utts, max_len, feat_dim, num_pdfs, seed=seed, dtype=dtype, prefix=prefix)
    rng = np.random.default_rng(seed)
    table = random_transition_table(rng, num_pdfs, num_phones)
    den = [random_lattice(rng, int(t), states_per_frame, arcs_per_frame, table=table, utt_id=u)
           for u, t in zip(base.utt_ids, base.feature_lengths.tolist(), strict=True)]
    num = [random_alignment_path(rng, lat) for lat in den]
    targets = torch.full((num_utts, max_len), IGNORE_TARGET, dtype=torch.int64)
    for row, path in enumerate(num):
        targets[row, : path.num_frames] = path.pdf
    batch = dataclasses.replace(base, targets=targets, lattices=SequenceLattices.from_lattices(num, den))
    return batch.to(device)
