"""The one job splitter: a data dir's utterances shared out among ``N`` parallel jobs or parts.

Every caller that divides utterances among jobs uses :func:`split_utterances` (all parts) or
:func:`job_utterances` (one job's part), naming how with ``by``:

* ``"speaker"``: whole speakers, contiguous in sorted (``LC_ALL=C``) order and balanced by
  utterance count, the way Kaldi's ``split_data.sh`` does it, so per-speaker statistics (CMVN)
  stay within a job. ``nghf-split-data`` and the GMM jobs (``nghf-gmm``) split this way.
* ``"utterance"``: contiguous runs of utterances balanced by count (``split_data.sh --per-utt``).
* ``"round_robin"``: utterance ``i`` of the sorted list goes to part ``i mod N``. Decoding and
  denominator-lattice jobs split this way: sorted ids group shows and genres whose decoding
  costs differ several-fold, and dealing them out keeps one job from holding all the slow ones.
  Parts may be empty when there are fewer utterances than jobs.

``split_data_dir`` writes the parts of a data dir to ``<data>/split<N>/<1..N>`` (by speaker) or
``<data>/split<N>utt/<1..N>`` (by utterance), every file of the data dir filtered into each part.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from nghf.data.datadir import load_data_dir, save_data_dir
from nghf.data.kaldi_files import DataDirError, sort_key

SplitBy = Literal["speaker", "utterance", "round_robin"]


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


def split_utterances(utt2spk: Mapping[str, str], n: int, by: SplitBy = "speaker",
                     where: str = "data") -> list[list[str]]:
    """The utterance lists of the ``n`` parts of the utterances of ``utt2spk`` (see the module
    docstring for ``by``), each part in sorted (``LC_ALL=C``) order.

    ``"speaker"`` and ``"utterance"`` raise :class:`DataDirError` when there are fewer
    speakers (utterances) than parts, since a job would get nothing."""
    if n < 1:
        raise DataDirError(f"{where}: number of parts must be >= 1, got {n}")
    utts = sorted(utt2spk, key=sort_key)
    if by == "round_robin":
        return [utts[k::n] for k in range(n)]
    if by == "utterance":
        groups = [[u] for u in utts]
        unit = "utterances"
    elif by == "speaker":
        spk2utt: dict[str, list[str]] = {}
        for utt in utts:
            spk2utt.setdefault(utt2spk[utt], []).append(utt)
        groups = [spk2utt[s] for s in sorted(spk2utt, key=sort_key)]
        unit = "speakers"
    else:
        raise ValueError(f"split by {by!r}: expected 'speaker', 'utterance' or 'round_robin'")
    if n > len(groups):
        raise DataDirError(f"{where}: cannot split {len(groups)} {unit} into {n} parts; use fewer jobs"
                           + (" or split per utterance" if by == "speaker" else ""))
    ranges = _contiguous([len(g) for g in groups], n)
    return [sorted((u for g in groups[a:b] for u in g), key=sort_key) for a, b in ranges]


def job_utterances(utt2spk: Mapping[str, str], nj: int, job: int, by: SplitBy,
                   where: str = "data") -> list[str]:
    """The utterances (sorted) of job ``job`` (1-based) of ``nj``: part ``job`` of
    :func:`split_utterances` (a job number outside ``1..nj`` is a :class:`DataDirError`)."""
    if not 1 <= job <= nj:
        raise DataDirError(f"{where}: job {job} is not in 1..{nj}")
    return split_utterances(utt2spk, nj, by, where)[job - 1]


def split_data_dir(path: str | Path, n: int, per_utt: bool = False) -> Path:
    """Write the ``n`` parts under ``path/split<n>[utt]``; returns that directory."""
    path = Path(path)
    data = load_data_dir(path)
    parts = split_utterances(data.utt2spk, n, "utterance" if per_utt else "speaker", str(path))
    out = path / (f"split{n}utt" if per_utt else f"split{n}")
    for k, utts in enumerate(parts, start=1):
        save_data_dir(data.subset(utts), out / str(k))
    return out
