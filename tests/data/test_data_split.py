"""The one job splitter (``nghf.data.split``) gives every former caller exactly its old split.

Three splitters were merged: ``nghf.gmm.feats.split_utterances`` (whole speakers from
``spk2utt``, each job's list sorted), ``nghf.data.split.split_parts`` (``nghf-split-data``:
speakers or utterances, contiguous) and ``nghf.decode.job.job_share`` (decoding: round robin).
The reference functions below are verbatim copies of their algorithms; random data dirs
are split both ways and must agree for every job.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from nghf.data.datadir import DataDir
from nghf.data.kaldi_files import DataDirError
from nghf.data.split import job_utterances, split_utterances
from nghf.gmm.feats import split_utterances as gmm_split_utterances


def _old_gmm_split(spk2utt: dict[str, list[str]], nj: int, job: int) -> list[str]:
    speakers = sorted(spk2utt)
    total = sum(len(v) for v in spk2utt.values())
    chunks: list[list[str]] = [[] for _ in range(nj)]
    done, j = 0, 0
    for i, spk in enumerate(speakers):
        left = len(speakers) - i
        if chunks[j] and (done >= total * (j + 1) / nj or left <= nj - 1 - j):
            j += 1
        chunks[j].extend(spk2utt[spk])
        done += len(spk2utt[spk])
    return sorted(chunks[job - 1])


def _old_contiguous(weights: list[int], n: int) -> list[tuple[int, int]]:
    total = sum(weights)
    bounds = [0]
    acc = 0
    for i, w in enumerate(weights):
        acc += w
        part = len(bounds)
        if part < n and (acc >= total * part / n or len(weights) - (i + 1) == n - part):
            bounds.append(i + 1)
    bounds.append(len(weights))
    return [(bounds[k], bounds[k + 1]) for k in range(n)]


def _old_split_parts(data: DataDir, n: int, per_utt: bool) -> list[list[str]]:
    groups = [[u] for u in data.utts] if per_utt else list(data.spk2utt().values())
    return [[u for g in groups[a:b] for u in g] for a, b in _old_contiguous([len(g) for g in groups], n)]


def _old_job_share(utts: list[str], nj: int, job: int) -> list[str]:
    return list(utts[job - 1 :: nj])


def _random_utt2spk(rng: random.Random) -> dict[str, str]:
    utt2spk = {}
    for _ in range(rng.randint(1, 8)):
        spk = f"spk{rng.randint(0, 999):03d}"
        for _k in range(rng.randint(1, 6)):
            # ids need not start with the speaker id: a part is then not a sorted run
            utt2spk[f"{rng.choice('abcxyz')}{rng.randint(0, 99999):05d}"] = spk
    return utt2spk


def _write_dir(path: Path, utt2spk: dict[str, str]) -> None:
    spk2utt: dict[str, list[str]] = {}
    for u in sorted(utt2spk):
        spk2utt.setdefault(utt2spk[u], []).append(u)
    path.mkdir(parents=True, exist_ok=True)
    (path / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in sorted(utt2spk.items())))
    (path / "spk2utt").write_text("".join(f"{s} {' '.join(v)}\n" for s, v in sorted(spk2utt.items())))


def test_every_caller_gets_its_old_split(tmp_path: Path) -> None:
    rng = random.Random(0)
    for trial in range(300):
        utt2spk = _random_utt2spk(rng)
        data = DataDir({"utt2spk": utt2spk})
        spk2utt = {s: [u for u in sorted(utt2spk) if utt2spk[u] == s] for s in set(utt2spk.values())}
        d = tmp_path / str(trial)
        _write_dir(d, utt2spk)
        utts = sorted(utt2spk)
        for nj in range(1, len(spk2utt) + 1):  # the GMM jobs (nghf-gmm --nj --job)
            for job in range(1, nj + 1):
                assert gmm_split_utterances(d, nj, job) == _old_gmm_split(spk2utt, nj, job)
        for per_utt, by, n_max in ((False, "speaker", len(spk2utt)), (True, "utterance", len(utts))):
            for n in range(1, n_max + 1):  # nghf-split-data (parts are written as data dirs: sets)
                new = split_utterances(utt2spk, n, by)
                assert [set(p) for p in new] == [set(p) for p in _old_split_parts(data, n, per_utt)]
                assert all(p == sorted(p) for p in new)
        for nj in range(1, len(utts) + 3):  # decoding and denominator-lattice jobs
            for job in range(1, nj + 1):
                assert job_utterances(utt2spk, nj, job, "round_robin") == _old_job_share(utts, nj, job)


def test_errors_name_the_problem() -> None:
    utt2spk = {"a1": "a", "a2": "a", "b1": "b"}
    with pytest.raises(DataDirError, match="d: cannot split 2 speakers into 3 parts; use fewer jobs or split per"):
        split_utterances(utt2spk, 3, "speaker", "d")
    with pytest.raises(DataDirError, match="cannot split 3 utterances into 4 parts; use fewer jobs$"):
        split_utterances(utt2spk, 4, "utterance")
    with pytest.raises(DataDirError, match="job 3 is not in 1..2"):
        job_utterances(utt2spk, 2, 3, "round_robin")
    assert split_utterances(utt2spk, 5, "round_robin")[4] == []  # more jobs than utterances: empty shares
