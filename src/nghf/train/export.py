"""A decodable model from a training checkpoint: the parameters of epoch N, the rest from final.

``checkpoint.epochN.pt`` holds the network's state after epoch N but not what decoding also
needs (model config, feature description, log priors and prior scale); those are the same for
every epoch of a run and are taken from the run's ``final.mdl``. This is what per-epoch dev
WERs are decoded with (``steps/decode_epochs.sh``), so over-training shows in WER, not only in
the held-out criterion.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from nghf.models.io import load_model, save_model
from nghf.train.checkpoint import load_checkpoint


@dataclasses.dataclass(frozen=True)
class ExportedCheckpoint:
    """What ``export_checkpoint`` found: the checkpoint's epoch and number of parameter updates,
    and whether its parameters are exactly the reference model's (then nothing is written)."""

    epoch: int
    update: int
    identical: bool


def export_checkpoint(checkpoint: str | Path, reference_model: str | Path, out: str | Path) -> ExportedCheckpoint:
    """Write ``out``: ``reference_model`` (a ``final.mdl``) with the network state of ``checkpoint``.

    When the two states are equal tensor for tensor (the checkpoint of the selected model),
    ``out`` is not written and ``identical`` is true: the reference model's decodes stand for it.
    """
    state = load_checkpoint(checkpoint)
    try:
        net_state, progress = state["model"], state["progress"]
        epoch, update = int(progress["epoch"]), int(progress["global_update"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{checkpoint}: not a training checkpoint (no model state or progress)") from None
    loaded = load_model(reference_model)
    own = loaded.model.state_dict()
    if set(own) != set(net_state) or any(own[k].shape != net_state[k].shape for k in own):
        raise ValueError(f"{checkpoint}: its network does not fit {reference_model} "
                         "(another model config or number of pdfs?)")
    if all(torch.equal(own[k], net_state[k].to(own[k].dtype)) for k in own):
        return ExportedCheckpoint(epoch, update, True)
    loaded.model.load_state_dict(net_state)
    save_model(out, loaded.model, loaded.model_config, loaded.features, loaded.log_priors, loaded.prior_scale)
    return ExportedCheckpoint(epoch, update, False)
