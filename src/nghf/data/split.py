"""Split a data dir into ``N`` parts for parallel jobs, the way Kaldi's ``split_data.sh`` does.

Parts are written to ``<data>/split<N>/<1..N>`` (by speaker, each speaker's utterances in one
part, so per-speaker statistics stay within a job) or ``<data>/split<N>utt/<1..N>`` (by
utterance). Parts are contiguous in sorted order and balanced by utterance count. Every
file of the data dir is filtered into each part.
"""

from __future__ import annotations

from pathlib import Path

from nghf.data.datadir import DataDir, load_data_dir, save_data_dir
from nghf.data.kaldi_files import DataDirError


def _contiguous(weights: list[int], n: int) -> list[tuple[int, int]]:
    """Split items with ``weights`` into ``n`` non-empty contiguous ranges of similar total."""
    total = sum(weights)
    bounds = [0]
    acc = 0
    for i, w in enumerate(weights):
        acc += w
        part = len(bounds)  # the part we are filling (1-based)
        remaining_items = len(weights) - (i + 1)
        remaining_parts = n - part
        if part < n and (acc >= total * part / n or remaining_items == remaining_parts):
            bounds.append(i + 1)
    bounds.append(len(weights))
    return [(bounds[k], bounds[k + 1]) for k in range(n)]


def split_parts(data: DataDir, n: int, per_utt: bool = False, where: str = "data") -> list[list[str]]:
    """The utterance lists of the ``n`` parts."""
    if n < 1:
        raise DataDirError(f"{where}: number of parts must be >= 1, got {n}")
    if per_utt:
        groups = [[u] for u in data.utts]
        unit = "utterances"
    else:
        groups = list(data.spk2utt().values())
        unit = "speakers"
    if n > len(groups):
        raise DataDirError(f"{where}: cannot split {len(groups)} {unit} into {n} parts; use fewer jobs"
                           + ("" if per_utt else " or split per utterance"))
    ranges = _contiguous([len(g) for g in groups], n)
    return [[u for g in groups[a:b] for u in g] for a, b in ranges]


def split_data_dir(path: str | Path, n: int, per_utt: bool = False) -> Path:
    """Write the ``n`` parts under ``path/split<n>[utt]``; returns that directory."""
    path = Path(path)
    data = load_data_dir(path)
    parts = split_parts(data, n, per_utt, str(path))
    out = path / (f"split{n}utt" if per_utt else f"split{n}")
    for k, utts in enumerate(parts, start=1):
        save_data_dir(data.subset(utts), out / str(k))
    return out
