"""Where per-utterance pdf log-likelihoods come from: an archive, or a hybrid NN model.

Both sources yield ``(utt, (T, num_pdfs) float32 matrix)`` for a given list of utterances,
in that order, and raise an error naming the utterance if one is missing:

* :func:`ark_logliks` reads a Kaldi matrix archive or script (``ark:file``, ``scp:file``,
  or a path ending in ``.ark``/``.scp``) through ``kaldi-io``. GMM systems provide their
  log-likelihoods this way (the GMM code writes the archive).
* :func:`model_logliks` runs a self-describing hybrid model file (``final.mdl``) over the
  features of a data directory in batches on ``device`` and converts log-posteriors to
  scaled log-likelihoods with the priors stored in the model
  (``nghf.models.io.load_model`` and ``nghf.models.priors.log_likelihoods``).
* :func:`network_logliks` is the batching loop itself, over an in-memory network and
  feature matrices: :func:`model_logliks` (``nghf-decode``, ``nghf-make-denlats``) and the
  on-the-fly lattice regeneration of sequence training
  (:func:`nghf.decode.onthefly.regenerate_denlats`) both run it, so the two give the same
  log-likelihoods for the same model and features, bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nghf.data.ark import read_ark, read_scp
from nghf.utils.logging import get_logger

if TYPE_CHECKING:
    import torch

log = get_logger(__name__)


class LoglikSourceError(ValueError):
    """A log-likelihood source that is missing, unreadable, or lacks an utterance."""


def parse_rspecifier(spec: str) -> tuple[str, str]:
    """``("ark"|"scp", path)`` from ``ark:x``/``scp:x`` or a bare ``.ark``/``.scp`` path."""
    if spec.startswith(("ark:", "scp:")):
        kind, path = spec.split(":", 1)
        return kind, path
    if spec.endswith(".scp"):
        return "scp", spec
    return "ark", spec


def _read_matrices(spec: str) -> Iterator[tuple[str, np.ndarray]]:
    kind, path = parse_rspecifier(spec)
    if not Path(path).is_file():
        raise LoglikSourceError(f"{path}: log-likelihood {kind} not found")
    reader = read_scp if kind == "scp" else read_ark
    try:
        for key, mat in reader(path):
            yield key, np.array(mat, dtype=np.float32, copy=True)
    except Exception as err:  # kaldi_io raises several unrelated types on bad input
        raise LoglikSourceError(f"{path}: cannot read Kaldi matrices: {type(err).__name__}: {err}") from None


def ark_logliks(spec: str, utts: Sequence[str]) -> Iterator[tuple[str, np.ndarray]]:
    """Yield the matrices of ``utts`` (in the given order) from an archive/script.

    Matrices of other utterances are skipped (they belong to other jobs); an utterance of
    ``utts`` that is not in the archive is an error.
    """
    wanted = set(utts)
    found: dict[str, np.ndarray] = {}
    order = list(utts)
    next_i = 0
    for key, mat in _read_matrices(spec):
        if key not in wanted:
            continue
        if key in found:
            raise LoglikSourceError(f"{spec}: utterance {key} appears twice")
        found[key] = mat
        while next_i < len(order) and order[next_i] in found:
            utt = order[next_i]
            yield utt, found.pop(utt)
            wanted.discard(utt)
            next_i += 1
    if next_i < len(order):
        raise LoglikSourceError(f"{spec}: no log-likelihoods for utterance {order[next_i]} "
                                f"({len(order) - next_i} utterances of this job missing)")


def network_logliks(
    model: torch.nn.Module,
    log_priors: torch.Tensor,
    feats: Mapping[str, np.ndarray],
    utts: Sequence[str],
    prior_scale: float = 1.0,
    device: torch.device | str = "cpu",
    batch_size: int = 16,
) -> Iterator[tuple[str, np.ndarray]]:
    """``(utt, (T_out, num_pdfs) float32 log-likelihoods)`` of an in-memory acoustic model, in
    the order of ``utts``, ``batch_size`` utterances (zero-padded) per no-grad forward pass.

    ``model(features (B, T, F), lengths (B,))`` returns ``(logits, out_lengths)``
    (:class:`nghf.models.base.AcousticModel`); ``feats`` holds each utterance's (normalised)
    feature matrix as the model was trained on; ``log_softmax(logits) - prior_scale *
    log_priors`` is :func:`nghf.models.priors.log_likelihoods`. The model runs in eval mode
    and gets its previous mode back. A missing utterance is a :class:`LoglikSourceError`.
    """
    import torch

    from nghf.models.priors import log_likelihoods

    missing = [u for u in utts if u not in feats]
    if missing:
        raise LoglikSourceError(f"utterance {missing[0]}: no features ({len(missing)} of {len(utts)} missing)")
    dtype = next(model.parameters()).dtype
    was_training = model.training
    model.eval()
    try:
        for first in range(0, len(utts), batch_size):
            names = list(utts[first:first + batch_size])
            mats = [np.asarray(feats[u]) for u in names]
            lengths = torch.tensor([m.shape[0] for m in mats], dtype=torch.long)
            batch = torch.zeros(len(mats), int(lengths.max()), mats[0].shape[1], dtype=dtype)
            for i, m in enumerate(mats):
                batch[i, : m.shape[0]] = torch.from_numpy(m).to(dtype)
            with torch.no_grad():
                logits, out_lengths = model(batch.to(device), lengths.to(device))
                ll = log_likelihoods(logits, log_priors, prior_scale).float().cpu().numpy()
            for i, utt in enumerate(names):
                yield utt, np.array(ll[i, : int(out_lengths[i])], copy=True)
    finally:
        model.train(was_training)


def model_logliks(model_path: str | Path, data_dir: str | Path, utts: Sequence[str], device: str = "cpu",
                  batch_size: int = 16) -> Iterator[tuple[str, np.ndarray]]:
    """Yield scaled log-likelihoods of a hybrid NN model file for ``utts`` of ``data_dir``.

    The model, its priors and its feature description come from the file
    (``nghf.models.io.load_model``); features are read as in training
    (``nghf.data.nnfeats.read_features``: ``feats.scp`` with per-speaker CMVN when the
    model was trained with it); the batches are :func:`network_logliks` on ``device``.
    """
    from nghf.data.nnfeats import read_features
    from nghf.models.io import load_model

    loaded = load_model(model_path, device)
    if loaded.log_priors is None:
        raise LoglikSourceError(f"{model_path}: model file has no log priors; cannot make log-likelihoods")
    feats = read_features(data_dir, norm_vars=loaded.features.norm_vars, use_cmvn=loaded.features.apply_cmvn)
    missing = [u for u in utts if u not in feats]
    if missing:
        raise LoglikSourceError(f"{data_dir}/feats.scp: no features for utterance {missing[0]} "
                                f"({len(missing)} utterances of this job missing)")
    yield from network_logliks(loaded.model, loaded.log_priors, feats, utts, loaded.prior_scale, device,
                               batch_size)
