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
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from nghf.data.ark import read_ark, read_scp
from nghf.utils.logging import get_logger

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


def model_logliks(model_path: str | Path, feats_spec: str, utts: Sequence[str], device: str = "cpu",
                  batch_size: int = 16) -> Iterator[tuple[str, np.ndarray]]:
    """Yield scaled log-likelihoods of a hybrid NN model for ``utts``.

    Needs ``nghf.models.io.load_model(path, device)`` and
    ``nghf.models.priors.log_likelihoods(model, features, lengths)`` (returning a
    ``(B, T_out, num_pdfs)`` tensor and the output lengths), provided by the models package.
    """
    try:
        import torch

        from nghf.models.io import load_model  # type: ignore[import-not-found]
        from nghf.models.priors import log_likelihoods  # type: ignore[import-not-found]
    except ImportError as err:
        raise LoglikSourceError(f"{model_path}: decoding from a model needs nghf.models.io and "
                                f"nghf.models.priors ({err}); give a log-likelihood archive instead") from None
    model = load_model(model_path, device)
    model.eval()
    batch: list[tuple[str, np.ndarray]] = []

    def flush() -> Iterator[tuple[str, np.ndarray]]:
        lengths = torch.tensor([m.shape[0] for _, m in batch], dtype=torch.long)
        feats = torch.zeros(len(batch), int(lengths.max()), batch[0][1].shape[1])
        for i, (_, m) in enumerate(batch):
            feats[i, : m.shape[0]] = torch.from_numpy(m)
        with torch.no_grad():
            out, out_lengths = log_likelihoods(model, feats.to(device), lengths.to(device))
        out = out.float().cpu().numpy()
        for i, (utt, _) in enumerate(batch):
            yield utt, np.array(out[i, : int(out_lengths[i])], copy=True)

    for utt, mat in ark_logliks(feats_spec, utts):
        batch.append((utt, mat))
        if len(batch) == batch_size:
            yield from flush()
            batch = []
    if batch:
        yield from flush()
