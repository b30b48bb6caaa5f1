"""Elman RNN acoustic model (``nn.RNN`` with tanh or ReLU), optionally bidirectional."""

from __future__ import annotations

import dataclasses
from typing import Literal

from torch import nn

from nghf.models.recurrent import RecurrentModel, check_input_layer


@dataclasses.dataclass(frozen=True)
class RnnConfig:
    """RNN sizes and non-linearity."""

    hidden_dim: int = 256
    num_layers: int = 2
    nonlinearity: Literal["tanh", "relu"] = "tanh"
    bidirectional: bool = False
    output_delay: int = 0
    input_context: tuple[int, ...] = ()  # spliced input layer offsets (empty: none)
    input_dim: int = 0                   # its width

    def __post_init__(self) -> None:
        if self.hidden_dim < 1 or self.num_layers < 1 or self.output_delay < 0:
            raise ValueError(f"invalid RNN sizes: {self}")
        check_input_layer(self.input_context, self.input_dim)


class Rnn(RecurrentModel):
    """Elman RNN acoustic model."""

    def __init__(self, config: RnnConfig, feat_dim: int, num_pdfs: int) -> None:
        self.config = config

        def make_layer(in_dim: int) -> nn.Module:
            return nn.RNN(in_dim, config.hidden_dim, nonlinearity=config.nonlinearity, batch_first=True)

        super().__init__(
            feat_dim, num_pdfs, config.num_layers, config.hidden_dim, config.bidirectional,
            config.output_delay, make_layer, config.input_context, config.input_dim,
        )
