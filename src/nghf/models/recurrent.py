"""Stacked (optionally bidirectional) recurrences shared by the LSTM and RNN models.

A bidirectional layer runs a second recurrence over each utterance reversed within its own
length (a gather, not packed sequences), so padding never leaks into valid frames and
forward-mode AD (``torch.func.jvp``) works. An output delay ``d`` makes the output of frame
``t`` come from the recurrence at ``t + d`` (the input padded with copies of the last frame),
so a uni-directional model sees ``d`` frames of future context (``right_context = d``).

An optional spliced input layer (``input_context``, e.g. ``[-2, -1, 0, 1, 2]``, to
``input_dim`` units: affine, ReLU, batch-norm, as the first layer of a TDNN) gives the
recurrence normalised features with a little local context, as Kaldi's TDNN-LSTM recipes do;
without it the recurrence reads the raw (mean-normalised) features.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from torch import nn

from nghf.models.base import AcousticModel
from nghf.models.common import replicate_pad, reverse_padded
from nghf.models.tdnn import PureBatchNorm1d, splice_geometry


def check_input_layer(input_context: tuple[int, ...], input_dim: int) -> None:
    """Validate a recurrent model's optional spliced input layer (raises ValueError)."""
    if input_context:
        splice_geometry(tuple(input_context), "input_context")
        if input_dim < 1:
            raise ValueError(f"input_dim must be positive with an input_context, got {input_dim}")
    elif input_dim:
        raise ValueError("input_dim needs an input_context (the spliced input layer's offsets)")


class RecurrentModel(AcousticModel):
    """Recurrent stack + linear output; subclasses pass a factory of one-layer modules."""

    def __init__(
        self,
        feat_dim: int,
        num_pdfs: int,
        num_layers: int,
        out_dim: int,
        bidirectional: bool,
        output_delay: int,
        make_layer: Callable[[int], nn.Module],
        input_context: tuple[int, ...] = (),
        input_dim: int = 0,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if output_delay < 0:
            raise ValueError(f"output_delay must be >= 0, got {output_delay}")
        self.feat_dim = feat_dim
        self.num_pdfs = num_pdfs
        self.bidirectional = bidirectional
        self.output_delay = output_delay
        check_input_layer(input_context, input_dim)
        self.input_left = -input_context[0] if input_context else 0
        self.input_right = input_context[-1] if input_context else 0
        self.left_context = self.input_left
        self.right_context = output_delay + self.input_right
        self.unbounded_left = True
        self.unbounded_right = bidirectional
        directions = 2 if bidirectional else 1
        self.forward_layers = nn.ModuleList()
        self.backward_layers = nn.ModuleList()
        in_dim = feat_dim
        self.input_layer: nn.Module | None = None
        if input_context:
            kernel, dilation = splice_geometry(tuple(input_context))
            self.input_layer = nn.Sequential(
                nn.Conv1d(feat_dim, input_dim, kernel, dilation=dilation), nn.ReLU(), PureBatchNorm1d(input_dim)
            )
            in_dim = input_dim
        for _ in range(num_layers):
            self.forward_layers.append(make_layer(in_dim))
            if bidirectional:
                self.backward_layers.append(make_layer(in_dim))
            in_dim = out_dim * directions
        self.output = nn.Linear(in_dim, num_pdfs)

    def _no_mkldnn(self) -> contextlib.AbstractContextManager:
        """Context in which recurrences run; subclasses disable oneDNN where jvp needs it."""
        return contextlib.nullcontext()

    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = features.shape[1]
        x = features
        if self.input_layer is not None:
            x = replicate_pad(x, lengths, self.input_left, self.input_right)
            x = self.input_layer(x.transpose(1, 2)).transpose(1, 2)
        x = replicate_pad(x, lengths, 0, self.output_delay) if self.output_delay else x
        run_lengths = lengths.to(x.device) + self.output_delay
        with self._no_mkldnn():
            for i, layer in enumerate(self.forward_layers):
                out, _ = layer(x)
                if self.bidirectional:
                    back, _ = self.backward_layers[i](reverse_padded(x, run_lengths))
                    out = torch.cat([out, reverse_padded(back, run_lengths)], dim=-1)
                x = out
        if self.output_delay:
            x = x[:, self.output_delay : self.output_delay + t]
        return self.output(x), self.output_lengths(lengths)
