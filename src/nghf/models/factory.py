"""One model config for all architectures (``conf/model_*.yaml``) and the model builder."""

from __future__ import annotations

import dataclasses
from typing import Literal

from nghf.models.base import AcousticModel
from nghf.models.lstm import Lstm, LstmConfig
from nghf.models.rnn import Rnn, RnnConfig
from nghf.models.tdnn import Tdnn, TdnnConfig


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """``kind`` selects the architecture; only its section is used.

    YAML example::

        kind: lstm
        lstm: {hidden_dim: 256, num_layers: 2, proj_dim: 128}
    """

    kind: Literal["tdnn", "lstm", "rnn"] = "tdnn"
    tdnn: TdnnConfig = dataclasses.field(default_factory=TdnnConfig)
    lstm: LstmConfig = dataclasses.field(default_factory=LstmConfig)
    rnn: RnnConfig = dataclasses.field(default_factory=RnnConfig)


def build_model(config: ModelConfig, feat_dim: int, num_pdfs: int) -> AcousticModel:
    """A freshly initialised model of ``config.kind`` (seed torch first for reproducibility)."""
    if feat_dim < 1 or num_pdfs < 1:
        raise ValueError(f"feat_dim and num_pdfs must be positive, got {feat_dim}, {num_pdfs}")
    if config.kind == "tdnn":
        return Tdnn(config.tdnn, feat_dim, num_pdfs)
    if config.kind == "lstm":
        return Lstm(config.lstm, feat_dim, num_pdfs)
    return Rnn(config.rnn, feat_dim, num_pdfs)


def num_parameters(model: AcousticModel) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
