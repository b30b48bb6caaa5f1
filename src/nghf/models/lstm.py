"""LSTM acoustic model: stacked LSTMs with recurrent projection (LSTMP, ``proj_dim``),
optionally bidirectional, with an optional output delay (see ``recurrent``)."""

from __future__ import annotations

import contextlib
import dataclasses

import torch
from torch import nn

from nghf.models.recurrent import RecurrentModel, check_input_layer


@dataclasses.dataclass(frozen=True)
class LstmConfig:
    """LSTM sizes; ``proj_dim = 0`` means no projection."""

    hidden_dim: int = 256
    num_layers: int = 2
    proj_dim: int = 128
    bidirectional: bool = False
    output_delay: int = 0
    input_context: tuple[int, ...] = ()  # spliced input layer offsets (empty: none)
    input_dim: int = 0                   # its width

    def __post_init__(self) -> None:
        if self.hidden_dim < 1 or self.num_layers < 1 or self.proj_dim < 0 or self.output_delay < 0:
            raise ValueError(f"invalid LSTM sizes: {self}")
        check_input_layer(self.input_context, self.input_dim)
        if self.proj_dim >= self.hidden_dim:
            raise ValueError(f"proj_dim ({self.proj_dim}) must be smaller than hidden_dim ({self.hidden_dim})")


class Lstm(RecurrentModel):
    """(B)LSTM(P) acoustic model."""

    def __init__(self, config: LstmConfig, feat_dim: int, num_pdfs: int) -> None:
        self.config = config
        out_dim = config.proj_dim or config.hidden_dim

        def make_layer(in_dim: int) -> nn.Module:
            return nn.LSTM(in_dim, config.hidden_dim, batch_first=True, proj_size=config.proj_dim)

        super().__init__(
            feat_dim, num_pdfs, config.num_layers, out_dim, config.bidirectional,
            config.output_delay, make_layer, config.input_context, config.input_dim,
        )

    def _no_mkldnn(self) -> contextlib.AbstractContextManager:
        # Forward-mode AD through oneDNN's LSTM (used on CPU without projection) is not
        # implemented in torch; the native kernel supports it. With a projection
        # torch falls back to the native kernel anyway (and warns), so always use it.
        # Only the enabled flag is touched (the others would warn about TF32 on restore).
        return torch.backends.mkldnn.flags(enabled=False, deterministic=None, allow_tf32=None, fp32_precision=None)
