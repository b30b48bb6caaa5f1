"""Per-speaker cepstral mean/variance normalisation in Kaldi's stats format.

Kaldi stores CMVN statistics of ``D``-dim features as a ``2 x (D+1)`` double matrix:
row 0 holds the feature sums and, in the last column, the frame count; row 1 holds the sums
of squares (last column 0). ``accumulate_cmvn`` builds it with numpy (the network features),
``kaldi_cmvn_stats`` the way Kaldi's ``compute-cmvn-stats`` does, frame by frame in double
(the GMM's MFCCs; the two differ in the last bits). ``compute_speaker_cmvn``, the one CMVN
writer, writes one per speaker (``cmvn.scp``, ``mfcc_cmvn.scp``) with either, and
``apply_cmvn`` normalises a feature matrix (numpy or torch, on the tensor's own device) by
the mean and optionally the variance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from nghf.data.ark import ArkWriter, read_mat, write_scp
from nghf.data.datadir import DataDir
from nghf.data.kaldi_files import DataDirError

VAR_FLOOR = 1.0e-20


def accumulate_cmvn(feats: Iterable[np.ndarray], dim: int | None = None) -> np.ndarray:
    """The ``2 x (D+1)`` float64 stats of a sequence of ``(frames, D)`` matrices."""
    stats: np.ndarray | None = None if dim is None else np.zeros((2, dim + 1))
    for m in feats:
        m = np.asarray(m, dtype=np.float64)
        if stats is None:
            stats = np.zeros((2, m.shape[1] + 1))
        if m.shape[1] != stats.shape[1] - 1:
            raise ValueError(f"feature dim {m.shape[1]} differs from {stats.shape[1] - 1}")
        stats[0, :-1] += m.sum(axis=0)
        stats[1, :-1] += (m * m).sum(axis=0)
        stats[0, -1] += m.shape[0]
    if stats is None:
        raise ValueError("no features to accumulate CMVN stats from")
    return stats


def kaldi_cmvn_stats(feats: Iterable[np.ndarray]) -> np.ndarray:
    """The ``2 x (D+1)`` float64 stats of a sequence of matrices as Kaldi accumulates them:
    ``kaldi_native_fbank.compute_cmvn_stats`` of each (as float32), summed in order."""
    import kaldi_native_fbank as knf

    stats: np.ndarray | None = None
    for m in feats:
        s = knf.compute_cmvn_stats(np.ascontiguousarray(m, dtype=np.float32))
        stats = s if stats is None else stats + s
    if stats is None:
        raise ValueError("no features to accumulate CMVN stats from")
    return stats


def compute_speaker_cmvn(data: DataDir, ark: str | Path, scp: str | Path, where: str = "data",
                         feats: str = "feats.scp",
                         accumulate: Callable[[Iterable[np.ndarray]], np.ndarray] = accumulate_cmvn) -> int:
    """Write per-speaker stats of ``data``'s ``feats`` table (``feats.scp``; ``mfcc.scp`` for
    the GMM) to ``ark`` and its index ``scp``; ``accumulate`` sums one speaker's matrices
    (:func:`accumulate_cmvn` or :func:`kaldi_cmvn_stats`). Speakers in sorted order, each
    speaker's utterances in sorted order. Returns the number of speakers."""
    table = data.get(feats)
    if not table:
        raise DataDirError(f"{where}/{feats}: missing or empty; compute features first")
    n = 0
    with ArkWriter(ark) as writer:
        for spk, utts in data.spk2utt().items():
            missing = [u for u in utts if u not in table]
            if missing:
                raise DataDirError(f"{where}/{feats}: utterance '{missing[0]}' of speaker '{spk}' has no features")
            writer.write(spk, accumulate(read_mat(table[u], key=u, where=f"{where}/{feats}") for u in utts))
            n += 1
        lines = writer.scp_lines()
    write_scp(scp, lines)
    return n


def cmvn_mean_var(stats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (floored) variance per dimension from a stats matrix."""
    count = stats[0, -1]
    if count <= 0:
        raise ValueError("CMVN stats have a zero frame count")
    mean = stats[0, :-1] / count
    var = np.maximum(stats[1, :-1] / count - mean * mean, VAR_FLOOR)
    return mean, var


def apply_cmvn(feats: Any, stats: np.ndarray, norm_vars: bool = False) -> Any:
    """``(feats - mean) [/ std]``; ``feats`` is a numpy array or a torch tensor (kept on its device)."""
    mean, var = cmvn_mean_var(np.asarray(stats, dtype=np.float64))
    if isinstance(feats, np.ndarray):
        out = feats - mean.astype(feats.dtype)
        if norm_vars:
            out = out / np.sqrt(var).astype(feats.dtype)
        return out
    import torch

    if not isinstance(feats, torch.Tensor):
        raise TypeError(f"apply_cmvn: expected a numpy array or torch tensor, got {type(feats).__name__}")
    m = torch.as_tensor(mean, dtype=feats.dtype, device=feats.device)
    out = feats - m
    if norm_vars:
        out = out / torch.as_tensor(np.sqrt(var), dtype=feats.dtype, device=feats.device)
    return out


def warn_if_no_cmvn(data_dir: str | Path, logger: logging.Logger) -> bool:
    """Log a WARNING (not an info line) when ``data_dir`` has no ``cmvn.scp``; returns whether
    it has one.

    Training then uses the features without per-speaker normalisation, which is almost never
    what a recipe wants (a forgotten ``steps/compute_cmvn_stats.sh``) and makes the model
    differ from one trained with CMVN; the message says how to compute the statistics.
    """
    if (Path(data_dir) / "cmvn.scp").is_file():
        return True
    logger.warning("%s: no cmvn.scp: the features are used without per-speaker CMVN "
                   "(compute it with steps/compute_cmvn_stats.sh %s)", data_dir, data_dir)
    return False
