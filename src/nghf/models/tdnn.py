"""Time-delay neural network (TDNN): Kaldi-style spliced layers as dilated 1-D convolutions.

Each hidden layer splices its input at a set of frame offsets (``{-2,-1,0,1,2}``,
``{-1,0,1}``, ``{-3,0,3}``, ...), which must be evenly spaced so that the layer is one
``Conv1d`` with ``kernel = len(offsets)`` and ``dilation = offset step``; then ReLU and a
normalisation (batch-norm as in Kaldi's ``relu-batchnorm-layer``, layer-norm, or none). The
input is padded once with copies of each utterance's first/last frame so that the network
yields one output per input frame (``subsampling = 1``, aligned with the alignment), or
every ``subsampling``-th frame.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import torch
from torch import nn

from nghf.models.base import AcousticModel
from nghf.models.common import replicate_pad

DEFAULT_CONTEXTS: tuple[tuple[int, ...], ...] = (
    (-2, -1, 0, 1, 2), (-1, 0, 1), (-1, 0, 1), (-3, 0, 3), (-3, 0, 3),
)


@dataclasses.dataclass(frozen=True)
class TdnnConfig:
    """TDNN sizes: one hidden layer per entry of ``contexts`` (splicing offsets)."""

    hidden_dim: int = 256
    contexts: tuple[tuple[int, ...], ...] = DEFAULT_CONTEXTS
    norm: Literal["batch", "layer", "none"] = "batch"
    subsampling: int = 1

    def __post_init__(self) -> None:
        if self.hidden_dim < 1:
            raise ValueError(f"hidden_dim must be positive, got {self.hidden_dim}")
        if not self.contexts:
            raise ValueError("contexts must list at least one layer")
        for i, offsets in enumerate(self.contexts):
            splice_geometry(offsets, f"contexts[{i}]")
        if self.subsampling < 1:
            raise ValueError(f"subsampling must be >= 1, got {self.subsampling}")


def splice_geometry(offsets: tuple[int, ...], where: str = "offsets") -> tuple[int, int]:
    """``(kernel, dilation)`` of the convolution that splices ``offsets`` (checked)."""
    if not offsets or list(offsets) != sorted(set(offsets)):
        raise ValueError(f"{where}: offsets must be distinct and increasing, got {list(offsets)}")
    if offsets[0] > 0 or offsets[-1] < 0:
        raise ValueError(f"{where}: offsets must include or surround 0, got {list(offsets)}")
    if len(offsets) == 1:
        return 1, 1
    step = offsets[1] - offsets[0]
    if any(b - a != step for a, b in zip(offsets, offsets[1:], strict=False)):
        raise ValueError(f"{where}: offsets must be evenly spaced (a dilated convolution), got {list(offsets)}")
    return len(offsets), step


def _transforms_active() -> bool:
    """Whether a ``torch.func`` transform (jvp, vmap, grad) is running this code."""
    active = getattr(torch._C, "_are_functorch_transforms_active", None)
    return bool(active()) if active is not None else False


class PureBatchNorm1d(nn.BatchNorm1d):
    """``BatchNorm1d`` that is a pure function under ``torch.func`` transforms.

    In training mode it normalises with batch statistics as usual; inside a transform
    (Gauss-Newton products through ``jvp``/``functional_call``) it skips the in-place
    running-statistics update, which transforms cannot capture. Outside transforms it is
    exactly ``nn.BatchNorm1d`` (same state dict).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and _transforms_active():
            return torch.nn.functional.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        return super().forward(x)


class _FrameNorm(nn.Module):
    """Normalisation of ``(B, C, T)`` activations per channel (batch) or per frame (layer)."""

    def __init__(self, kind: str, dim: int) -> None:
        super().__init__()
        self.kind = kind
        if kind == "batch":
            self.norm: nn.Module = PureBatchNorm1d(dim)
        elif kind == "layer":
            self.norm = nn.LayerNorm(dim)
        else:
            self.norm = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "layer":
            return self.norm(x.transpose(1, 2)).transpose(1, 2)
        return self.norm(x)


class Tdnn(AcousticModel):
    """TDNN acoustic model; ``forward`` maps ``(B, T, F)`` to ``(B, ceil(T/s), num_pdfs)``."""

    def __init__(self, config: TdnnConfig, feat_dim: int, num_pdfs: int) -> None:
        super().__init__()
        self.config = config
        self.feat_dim = feat_dim
        self.num_pdfs = num_pdfs
        self.left_context = sum(-offsets[0] for offsets in config.contexts)
        self.right_context = sum(offsets[-1] for offsets in config.contexts)
        self.subsampling = config.subsampling
        layers: list[nn.Module] = []
        in_dim = feat_dim
        for offsets in config.contexts:
            kernel, dilation = splice_geometry(offsets)
            layers += [
                nn.Conv1d(in_dim, config.hidden_dim, kernel, dilation=dilation),
                nn.ReLU(),
                _FrameNorm(config.norm, config.hidden_dim),
            ]
            in_dim = config.hidden_dim
        self.hidden = nn.Sequential(*layers)
        self.output = nn.Linear(in_dim, num_pdfs)

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = replicate_pad(features, lengths, self.left_context, self.right_context)
        h = self.hidden(x.transpose(1, 2)).transpose(1, 2)
        if self.subsampling > 1:
            h = h[:, :: self.subsampling]
        return self.output(h), self.output_lengths(lengths)
