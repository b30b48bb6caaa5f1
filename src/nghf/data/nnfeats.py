"""Reading a Kaldi data directory's features with per-speaker CMVN applied.

``feats.scp`` (matrices) and, if present, ``cmvn.scp`` (Kaldi CMVN statistics per speaker:
a ``2 x (D+1)`` matrix of sums, sums of squares and the frame count) with ``utt2spk``.
Means are always subtracted when statistics exist; variances normalised on request (the
Kaldi ``apply-cmvn`` default is means only).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nghf._kaldi import kaldi_native_io
from nghf.data.ark import ArchiveError, iter_kaldi_table
from nghf.data.cmvn import apply_cmvn
from nghf.data.text import TextFormatError, read_utt2spk
from nghf.utils.logging import get_logger

log = get_logger(__name__)


class DataError(ValueError):
    """Bad training data (message names the file and utterance)."""


def check_finite(mat: np.ndarray, where: str) -> None:
    """Raise ``DataError`` naming ``where``, the frame and the dimension of the first NaN/Inf:
    a non-finite feature would turn every loss and gradient it touches into NaN."""
    bad = ~np.isfinite(mat)
    if bad.any():
        frame, dim = (int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{where}: {int(bad.sum())} non-finite feature value(s), first {mat[frame, dim]} "
                        f"at frame {frame}, dimension {dim}")


def apply_speaker_cmvn(feats: np.ndarray, stats: np.ndarray, norm_vars: bool, where: str) -> np.ndarray:
    """``nghf.data.cmvn.apply_cmvn`` with the statistics' shape checked (error names ``where``)."""
    d = feats.shape[1]
    if stats.shape != (2, d + 1):
        raise DataError(f"{where}: CMVN stats of shape {stats.shape} do not fit {d}-dim features")
    try:
        return np.asarray(apply_cmvn(feats, stats, norm_vars), dtype=np.float32)
    except ValueError as err:
        raise DataError(f"{where}: {err}") from None


def read_features(data_dir: str | Path, norm_vars: bool = False, use_cmvn: bool = True) -> dict[str, np.ndarray]:
    """All utterances of ``data_dir/feats.scp`` as float32 ``(T, D)`` arrays, CMVN applied.

    CMVN is applied when ``data_dir/cmvn.scp`` exists and ``use_cmvn``; a speaker without
    statistics is an error naming the utterance.
    """
    data_dir = Path(data_dir)
    feats_scp = data_dir / "feats.scp"
    if not feats_scp.is_file():
        raise DataError(f"{feats_scp}: no such file (compute features first)")
    cmvn_scp = data_dir / "cmvn.scp"
    cmvn: dict[str, np.ndarray] = {}
    utt2spk: dict[str, str] = {}
    if use_cmvn and cmvn_scp.is_file():
        try:
            for spk, stats in iter_kaldi_table(kaldi_native_io.SequentialDoubleMatrixReader, "scp", cmvn_scp):
                cmvn[spk] = np.array(stats, dtype=np.float64)
        except ArchiveError as err:
            raise DataError(f"cannot read CMVN statistics: {err}") from None
        except Exception as err:
            raise DataError(f"{cmvn_scp}: cannot read CMVN statistics: {err}") from None
        if (data_dir / "utt2spk").is_file():
            try:
                utt2spk = read_utt2spk(data_dir / "utt2spk")
            except TextFormatError as err:
                raise DataError(str(err)) from None
    feats: dict[str, np.ndarray] = {}
    dim = None
    try:
        reader = iter_kaldi_table(kaldi_native_io.SequentialFloatMatrixReader, "scp", feats_scp)
        for utt, mat in reader:
            arr = np.array(mat, dtype=np.float32)  # copy: the reader reuses its buffer
            check_finite(arr, f"{feats_scp}: utterance {utt}")
            if dim is None:
                dim = arr.shape[1]
            elif arr.shape[1] != dim:
                raise DataError(f"{feats_scp}: utterance {utt} has {arr.shape[1]}-dim features, others {dim}")
            if cmvn:
                spk = utt2spk.get(utt, utt)
                if spk not in cmvn:
                    raise DataError(f"{cmvn_scp}: no CMVN statistics for speaker {spk} (utterance {utt})")
                arr = apply_speaker_cmvn(arr, cmvn[spk], norm_vars, f"{cmvn_scp} speaker {spk}")
            feats[utt] = arr
    except DataError:
        raise
    except ArchiveError as err:
        raise DataError(f"cannot read features: {err}") from None
    except Exception as err:
        raise DataError(f"{feats_scp}: cannot read features: {err}") from None
    if not feats:
        raise DataError(f"{feats_scp}: no utterances")
    if use_cmvn and not cmvn:
        log.info("%s: no cmvn.scp, features used without CMVN", data_dir)
    return feats


def has_cmvn(data_dir: str | Path) -> bool:
    """Whether ``read_features`` applies CMVN for this data directory."""
    return (Path(data_dir) / "cmvn.scp").is_file()
