"""Self-describing model files: everything needed to rebuild and use a trained model.

A file holds the model config, state dict, ``num_pdfs``, the feature description (dimension,
kind, CMVN use) and the log priors with their scale, so ``load_model(path, device)`` needs no
other input. Loading checks the feature dimension and pdf count against what the caller
expects and names the file on any problem.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch

from nghf.models.base import AcousticModel
from nghf.models.factory import ModelConfig, build_model
from nghf.utils.atomic import atomic_path
from nghf.utils.config import ConfigError, from_dict, to_dict

FORMAT = "nghf-model-1"


class ModelFileError(ValueError):
    """A model file that cannot be read or does not fit (message names the file)."""


@dataclasses.dataclass(frozen=True)
class FeatureInfo:
    """The features a model was trained on."""

    dim: int
    kind: str = "fbank"
    apply_cmvn: bool = True
    norm_vars: bool = False


@dataclasses.dataclass(frozen=True)
class LoadedModel:
    """A loaded model with its description."""

    model: AcousticModel
    model_config: ModelConfig
    features: FeatureInfo
    log_priors: torch.Tensor | None
    prior_scale: float


def save_model(
    path: str | Path,
    model: AcousticModel,
    model_config: ModelConfig,
    features: FeatureInfo,
    log_priors: torch.Tensor | None = None,
    prior_scale: float = 1.0,
) -> None:
    """Write a self-describing model file atomically."""
    if log_priors is not None and log_priors.shape != (model.num_pdfs,):
        raise ValueError(f"log_priors has shape {tuple(log_priors.shape)}, model has {model.num_pdfs} pdfs")
    payload: dict[str, Any] = {
        "format": FORMAT,
        "model_config": to_dict(model_config),
        "num_pdfs": model.num_pdfs,
        "features": dataclasses.asdict(features),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "log_priors": None if log_priors is None else log_priors.detach().cpu(),
        "prior_scale": float(prior_scale),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _load_failure(err: BaseException) -> str:
    """One line saying why ``torch.load(weights_only=True)`` failed. torch's own message for
    content it will not load safely advises loading with ``weights_only=False``, which runs
    code from the file: that advice is never passed on (nghf model files hold only tensors
    and plain data, so such a file is damaged or not an nghf model)."""
    text = str(err)
    if "Unsupported global" in text:
        return "it holds Python objects other than tensors and plain values (not an nghf model file)"
    if "weights_only" in text or "WeightsUnpickler" in text:
        return "its content is not a serialised model"
    if isinstance(err, EOFError):
        return "the file ends early"
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(err).__name__)
    first = first.split(". ")[0].rstrip(".")  # torch appends advice sentences to the reason
    return first if len(first) <= 200 else first[:200] + "..."


def load_model(
    path: str | Path,
    device: torch.device | str = "cpu",
    feat_dim: int | None = None,
    num_pdfs: int | None = None,
) -> LoadedModel:
    """Rebuild the model in ``path`` on ``device`` (eval mode), checking optional expectations."""
    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ModelFileError(f"{path}: model file does not exist") from None
    except Exception as err:  # torch raises many types for a damaged file
        raise ModelFileError(f"{path}: not a readable model file (corrupt or truncated?): {_load_failure(err)}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not an nghf model file (format {FORMAT} expected)")
    try:
        config = from_dict(ModelConfig, payload["model_config"], str(path))
        features = FeatureInfo(**payload["features"])
        file_pdfs = int(payload["num_pdfs"])
    except (ConfigError, TypeError, KeyError) as err:
        raise ModelFileError(f"{path}: bad model description: {err}") from None
    if feat_dim is not None and feat_dim != features.dim:
        raise ModelFileError(f"{path}: model expects {features.dim}-dim features, the data has {feat_dim}")
    if num_pdfs is not None and num_pdfs != file_pdfs:
        raise ModelFileError(f"{path}: model has {file_pdfs} pdfs, the tree/alignment has {num_pdfs}")
    model = build_model(config, features.dim, file_pdfs)
    floats = [v for v in payload["state_dict"].values() if torch.is_floating_point(v)]
    if floats:
        model = model.to(dtype=floats[0].dtype)  # float64 models stay float64
    try:
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, KeyError) as err:
        raise ModelFileError(f"{path}: parameters do not fit the described model: {err}") from None
    model.to(device).eval()
    priors = payload.get("log_priors")
    return LoadedModel(
        model=model, model_config=config, features=features,
        log_priors=None if priors is None else priors.to(device),
        prior_scale=float(payload.get("prior_scale", 1.0)),
    )
