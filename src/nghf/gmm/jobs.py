"""The units of work that stage scripts run as parallel jobs and single steps.

``acc_job`` aligns (equal, Viterbi, or reads given alignments) one job's share of a data dir
and accumulates its statistics; ``estimate_step`` sums the jobs' statistics, updates the
model and mixes up. ``align_job`` only aligns. ``train_in_process`` runs the same pieces in
one process (used by the tests and the benchmark; the scripts dispatch them as jobs).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nghf.data.text import read_text
from nghf.gmm.align import (
    AlignConfig,
    AlignResult,
    align_utterances,
    iter_alignment_archives,
    write_alignments,
)
from nghf.gmm.estimate import GmmStats, UpdateConfig, accumulate_many, mix_up, sum_stats, update
from nghf.gmm.feats import FeatureConfig, load_features, split_utterances
from nghf.gmm.lang import Lang
from nghf.gmm.model import GmmHmm, load_model, save_model
from nghf.utils.atomic import atomic_write_text
from nghf.utils.logging import get_logger

log = get_logger(__name__)


class AlignmentFailure(RuntimeError):
    """More utterances failed to align than the configured share allows."""


def job_items(data: Path, lang: Lang, feat_cfg: FeatureConfig, utts: list[str]
              ) -> Iterator[tuple[str, np.ndarray, list[int]]]:
    """(utt, feats, word-ids) for the utterances of a job; missing transcripts are errors."""
    text = read_text(data / "text")
    for utt, feats in load_features(data, feat_cfg, utts):
        if utt not in text:
            raise ValueError(f"{data / 'text'}: utterance {utt} has no transcript")
        yield utt, feats, lang.word_ids(text[utt], utt, str(data / "text"))


def check_failures(result: AlignResult, total: int, cfg: AlignConfig, where: str) -> None:
    """Report failed utterances by id; raise when more than ``max_fail_share`` failed."""
    if result.failed:
        log.warning("%s: %d of %d utterances failed to align: %s", where, len(result.failed),
                    total, " ".join(result.failed))
    if total and len(result.failed) > cfg.max_fail_share * total:
        raise AlignmentFailure(
            f"{where}: {len(result.failed)} of {total} utterances failed to align "
            f"(more than {cfg.max_fail_share:.0%}): {' '.join(result.failed[:20])}"
        )


def align_job(model: GmmHmm, lang: Lang, data: Path, feat_cfg: FeatureConfig, utts: list[str],
              cfg: AlignConfig, equal: bool = False) -> AlignResult:
    result = align_utterances(model, lang, job_items(data, lang, feat_cfg, utts), cfg, equal=equal)
    check_failures(result, len(utts), cfg, str(data))
    if result.frames:
        log.info("alignment objective (acoustic-scaled + graph) per frame %.4f over %d frames",
                 result.tot_like / result.frames, result.frames)
    return result


def acc_job(model: GmmHmm, lang: Lang, data: Path, feat_cfg: FeatureConfig, utts: list[str],
            cfg: AlignConfig, mode: str, ali_in: list[Path] | None = None) -> tuple[GmmStats, AlignResult]:
    """Statistics of one job. mode: 'equal' (flat start), 'align' (Viterbi) or 'read'."""
    tid2pdf = model.tid2pdf()
    stats = GmmStats.zeros(model)
    if mode == "read":
        if not ali_in:
            raise ValueError("mode 'read' needs alignment files")
        wanted = set(utts)
        result = AlignResult({u: a for u, a in iter_alignment_archives(ali_in) if u in wanted}, [], 0.0, 0)
        missing = sorted(wanted - set(result.alignments))
        if missing:
            log.warning("%d utterances have no alignment and are skipped: %s", len(missing),
                        " ".join(missing[:20]))
    else:
        result = align_job(model, lang, data, feat_cfg, utts, cfg, equal=(mode == "equal"))
    aligned = [u for u in utts if u in result.alignments]
    accumulate_many(model, stats, ((utt, x, result.alignments[utt])
                                   for utt, x in load_features(data, feat_cfg, aligned)), tid2pdf)
    return stats, result


def estimate_step(model_in: Path, acc_files: list[Path], model_out: Path, target_gauss: int,
                  cfg: UpdateConfig, seed: int, record: Path | None = None) -> dict[str, float]:
    """Sum job statistics, update, mix up to ``target_gauss``; optionally append a JSON record."""
    model = load_model(model_in)
    stats = sum_stats(acc_files)
    info = update(model, stats, cfg)
    if target_gauss > model.num_gauss:
        mix_up(model, stats.pdf_occupancy(), target_gauss, cfg, np.random.default_rng(seed))
    info.update(num_pdfs=float(model.num_pdfs), num_gauss=float(model.num_gauss))
    save_model(model, model_out)
    log.info("like/frame %.4f over %d frames; %d pdfs, %d Gaussians", info["like_per_frame"],
             int(info["frames"]), model.num_pdfs, model.num_gauss)
    if record is not None:
        with open(record, "a", encoding="utf-8") as f:
            f.write(json.dumps({"model": str(model_out), **info}) + "\n")
    return info


@dataclasses.dataclass(frozen=True)
class InProcessSchedule:
    num_iters: int
    tot_gauss: int
    max_iter_inc: int
    realign_iters: tuple[int, ...]


def train_in_process(model: GmmHmm, lang: Lang, data: Path, feat_cfg: FeatureConfig,
                     schedule: InProcessSchedule, align_cfg: AlignConfig, upd: UpdateConfig,
                     workdir: Path, first_mode: str = "equal", ali_in: list[Path] | None = None,
                     seed: int = 0) -> tuple[GmmHmm, list[float], dict[str, np.ndarray]]:
    """Run the EM schedule in one process with one job; returns model, like/frame per
    iteration and the final alignments."""
    utts = split_utterances(data, 1, 1)
    workdir.mkdir(parents=True, exist_ok=True)
    save_model(model, workdir / "0.mdl")
    likes: list[float] = []
    inc = max(0, (schedule.tot_gauss - model.num_gauss) // max(schedule.max_iter_inc, 1))
    result = None
    for it in range(schedule.num_iters):
        model = load_model(workdir / f"{it}.mdl")
        if it == 0:
            mode = first_mode
        elif it in schedule.realign_iters:
            mode = "align"
        else:
            mode = "read"
        stats, res = acc_job(model, lang, data, feat_cfg, utts, align_cfg, mode,
                             ali_in if mode == "read" or it == 0 else None)
        if mode != "read":
            write_alignments(workdir / "ali.1.gz", res.alignments)
            ali_in = [workdir / "ali.1.gz"]
            result = res
        stats.save(workdir / f"{it}.acc")
        target = model.num_gauss + inc if it < schedule.max_iter_inc else model.num_gauss
        info = estimate_step(workdir / f"{it}.mdl", [workdir / f"{it}.acc"],
                             workdir / f"{it + 1}.mdl", min(target, schedule.tot_gauss), upd,
                             seed + it)
        likes.append(info["like_per_frame"])
    final = load_model(workdir / f"{schedule.num_iters}.mdl")
    res = align_job(final, lang, data, feat_cfg, utts, align_cfg)
    atomic_write_text(workdir / "likes.json", json.dumps(likes))
    return final, likes, res.alignments if res else (result.alignments if result else {})
