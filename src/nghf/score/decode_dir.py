"""Scoring a decode directory over a range of LM weights (Kaldi's ``local/score.sh``).

For each LM weight ``w`` in ``[min_lmwt, max_lmwt]`` the best path of every stored raw
lattice (``lat.*.npz``) is recomputed at that weight, written as ``scoring/w.tra`` (word
form) and scored against the data directory's ``text``: ``wer_w`` holds Kaldi's ``%WER``
line, ``best_wer`` the best of them, ``scoring/summary.json`` all counts (per LM weight,
and per speaker) for the results helpers, and ``scoring/w.utt.jsonl`` the per-utterance
scores (speaker, errors, normalised words; :mod:`nghf.score.significance`) from which the
results table computes confidence intervals and significance tests. Decode dirs without lattices (best-path decoding)
are scored once, at LM weight ``1 / acoustic_scale``. Optionally the best LM weight is
cross-checked with sclite, which must give identical counts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from nghf.data.text import format_text, read_text, read_utt2spk
from nghf.decode.graph import read_words
from nghf.decode.lattice_arrays import load_lattices
from nghf.lattice.raw import RawLattice, sweep_best_paths
from nghf.score.normalize import TextNormalizer
from nghf.score.sclite import run_sclite
from nghf.score.significance import UTT_SCORES_SUFFIX, utt_scores_from_report, write_utt_scores
from nghf.score.wer import AlignMode, WerReport, score
from nghf.utils.atomic import atomic_write_text
from nghf.utils.logging import get_logger

log = get_logger(__name__)
T = TypeVar("T")


class DecodeDirError(ValueError):
    """A decode directory without the files scoring needs."""


def _job_files(decode_dir: Path, pattern: str) -> list[Path]:
    rx = re.compile(pattern)
    files = [p for p in decode_dir.iterdir() if rx.fullmatch(p.name)]
    return sorted(files, key=lambda p: int(re.findall(r"\d+", p.name)[0]))


def _merge_jobs(decode_dir: Path, pattern: str, read: Callable[[Path], Mapping[str, T]]) -> dict[str, T]:
    """The per-utterance items of all job files ``pattern`` of a decode dir, in job order (an
    utterance in two jobs is an error)."""
    out: dict[str, T] = {}
    for path in _job_files(decode_dir, pattern):
        for utt, item in read(path).items():
            if utt in out:
                raise DecodeDirError(f"{path}: utterance {utt} was also decoded by another job")
            out[utt] = item
    return out


def load_decode_lattices(decode_dir: Path) -> dict[str, RawLattice]:
    """All jobs' lattices of a decode dir (an utterance in two jobs is an error)."""
    return _merge_jobs(decode_dir, r"lat\.\d+\.npz", load_lattices)


def load_decode_tra(decode_dir: Path) -> dict[str, list[str]]:
    """All jobs' best paths (``tra.N``) of a decode dir."""
    return _merge_jobs(decode_dir, r"tra\.\d+", read_text)


def decoding_acoustic_scale(decode_dir: Path) -> float:
    stats = _job_files(decode_dir, r"stats\.\d+\.json")
    if not stats:
        raise DecodeDirError(f"{decode_dir}: no stats.N.json (was it decoded with nghf-decode?)")
    return float(json.loads(stats[0].read_text())["acoustic_scale"])


def sweep_best_words(lattices: Mapping[str, RawLattice], id2word: Mapping[int, str],
                     lm_weights: Sequence[float], word_ins_penalty: float = 0.0) -> list[dict[str, list[str]]]:
    """Word sequences (``words.txt`` symbols) of the best paths at each of ``lm_weights``: the
    word ids and costs of :func:`nghf.lattice.raw.sweep_best_paths` (all lattices swept
    together) mapped to words. ``word_ins_penalty`` is added to the graph cost of every word
    (Kaldi scoring's ``word_ins_penalty``; :meth:`RawLattice.with_word_penalty`)."""
    out: list[dict[str, list[str]]] = [{} for _ in lm_weights]
    utts = list(lattices)
    swept = sweep_best_paths([lattices[u].with_word_penalty(word_ins_penalty) for u in utts], lm_weights,
                             names=[f"utterance {u}" for u in utts])
    for utt, paths in zip(utts, swept, strict=True):
        for hyps, (ids, _) in zip(out, paths, strict=True):
            missing = [i for i in ids if i not in id2word]
            if missing:
                raise DecodeDirError(f"utterance {utt}: word id {missing[0]} is not in words.txt")
            hyps[utt] = [id2word[i] for i in ids]
    return out


def _format_lmwt(w: float) -> str:
    return f"{w:g}"


def utt_scores_path(decode_dir: str | Path, lmwt: float) -> Path:
    """The per-utterance scores a scored decode dir holds for LM weight ``lmwt``."""
    return Path(decode_dir) / "scoring" / f"{_format_lmwt(lmwt)}{UTT_SCORES_SUFFIX}"


def score_decode_dir(
    decode_dir: str | Path,
    data_dir: str | Path,
    words_txt: str | Path,
    lm_weights: Sequence[float],
    normalizer: TextNormalizer | None = None,
    mode: AlignMode = "sclite",
    sclite_check: bool = True,
) -> dict:
    """Score a decode dir at each LM weight; write Kaldi-style files; return the summary."""
    decode_dir, data_dir = Path(decode_dir), Path(data_dir)
    norm = normalizer or TextNormalizer()
    refs = read_text(data_dir / "text")
    utt2spk = read_utt2spk(data_dir / "utt2spk")
    id2word = read_words(words_txt)
    lattices = load_decode_lattices(decode_dir)
    if lattices:
        swept = sweep_best_words(lattices, id2word, lm_weights)
        hyp_sets = {_format_lmwt(w): hyps for w, hyps in zip(lm_weights, swept, strict=True)}
    else:
        acwt = decoding_acoustic_scale(decode_dir)
        log.info("%s: no lattices; scoring the best paths at LM weight %g", decode_dir, 1 / acwt)
        hyp_sets = {_format_lmwt(1.0 / acwt): load_decode_tra(decode_dir)}
    if not any(hyp_sets.values()):
        raise DecodeDirError(f"{decode_dir}: nothing decoded (no lat.N.npz or tra.N with utterances)")
    reports: dict[str, WerReport] = {}
    norm_refs = {u: norm(w) for u, w in refs.items()}
    for key, hyps in hyp_sets.items():
        atomic_write_text(decode_dir / "scoring" / f"{key}.tra", format_text(hyps))
        report = score(refs, hyps, utt2spk, norm, mode)
        reports[key] = report
        write_utt_scores(utt_scores_path(decode_dir, float(key)),
                         utt_scores_from_report(report, norm_refs, {u: norm(w) for u, w in hyps.items()}, utt2spk))
        atomic_write_text(decode_dir / f"wer_{key}", report.summary())
    best_key = min(reports, key=lambda k: (reports[k].total.wer, float(k)))
    best = reports[best_key]
    atomic_write_text(decode_dir / "best_wer", f"{best.summary().splitlines()[0]} {decode_dir}/wer_{best_key}\n")
    summary = {
        "decode_dir": str(decode_dir), "data_dir": str(data_dir), "align_mode": mode,
        "best_lmwt": float(best_key),
        "lmwt": {k: r.total.as_dict() for k, r in reports.items()},
        "per_spk": {k: {s: c.as_dict() for s, c in r.per_spk.items()} for k, r in reports.items()},
        "missing_hyps": list(best.missing_hyps),
    }
    if sclite_check:
        hyps = {u: norm(w) for u, w in hyp_sets[best_key].items()}
        result = run_sclite(norm_refs, hyps, utt2spk,
                            workdir=decode_dir / "scoring" / "sclite")
        ours = best.total
        agree = result.total == ours
        summary["sclite"] = {"lmwt": float(best_key), "agree": agree, "total": result.total.as_dict()}
        if not agree and mode == "sclite":
            raise DecodeDirError(f"{decode_dir}: sclite disagrees at LM weight {best_key}: "
                                 f"ours {ours}, sclite {result.total}")
        log.info("%s: sclite cross-check at LM weight %s: %s", decode_dir, best_key,
                 "identical counts" if agree else f"differs (align mode {mode})")
    atomic_write_text(decode_dir / "scoring" / "summary.json", json.dumps(summary, indent=1) + "\n")
    log.info("%s: best WER %.2f at LM weight %s", decode_dir, best.total.wer, best_key)
    return summary


def read_summary(decode_dir: str | Path) -> dict:
    path = Path(decode_dir) / "scoring" / "summary.json"
    if not path.is_file():
        raise DecodeDirError(f"{path}: not found; score the decode dir first (steps/score.sh)")
    return json.loads(path.read_text())


def best_scored(summary: Mapping[str, Any]) -> tuple[float, dict]:
    """``(LM weight, counts)`` of the best LM weight of a decode dir's scoring summary."""
    key = _format_lmwt(float(summary["best_lmwt"]))
    return float(key), summary["lmwt"][key]


def tune_and_apply(dev_dir: str | Path, eval_dir: str | Path) -> tuple[float, dict, dict]:
    """Choose the LM weight with the lowest dev WER and look up eval at that weight.

    Returns ``(lmwt, dev counts, eval counts)``. Eval is never used for the choice.
    """
    lmwt, dev_counts = best_scored(read_summary(dev_dir))
    evl = read_summary(eval_dir)
    key = _format_lmwt(lmwt)
    if key not in evl["lmwt"]:
        raise DecodeDirError(f"{eval_dir}: not scored at LM weight {key} (chosen on {dev_dir}); "
                             f"scored at {', '.join(evl['lmwt'])}")
    return lmwt, dev_counts, evl["lmwt"][key]
