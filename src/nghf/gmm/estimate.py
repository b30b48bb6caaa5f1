"""Maximum-likelihood GMM-HMM statistics, re-estimation and mixture splitting.

Statistics are accumulated per pdf from alignments (Viterbi training, as Kaldi's
``gmm-acc-stats-ali``): Gaussian posteriors within the aligned pdf's GMM give occupancies,
first and second moments; transition-id counts give the transition statistics. Jobs write
their statistics as ``.npz`` files which are summed before the update, so parallel
accumulation is exact.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from nghf._kaldi import kaldi_hmm_gmm
from nghf.gmm.model import DiagGaussians, GmmHmm
from nghf.utils.atomic import atomic_path
from nghf.utils.logging import get_logger

log = get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class UpdateConfig:
    """Kaldi's ``gmm-est`` / ``MleDiagGmmOptions`` defaults."""

    min_gaussian_occupancy: float = 10.0
    min_gaussian_weight: float = 1.0e-5
    min_variance: float = 1.0e-3
    transition_floor: float = 0.01
    transition_min_count: float = 5.0
    split_power: float = 0.2
    split_min_count: float = 20.0
    perturb_factor: float = 0.01


@dataclasses.dataclass
class GmmStats:
    """Sufficient statistics of every Gaussian of every pdf, and of the transitions."""

    num_gauss: np.ndarray  # [P] Gaussians per pdf
    occ: np.ndarray  # [sum G]
    x: np.ndarray  # [sum G, D]
    x2: np.ndarray  # [sum G, D]
    trans: np.ndarray  # [num_tids + 1]
    tot_like: float = 0.0
    frames: int = 0

    @classmethod
    def zeros(cls, model: GmmHmm) -> GmmStats:
        ng = np.array([g.num_gauss for g in model.gmms], dtype=np.int64)
        total, d = int(ng.sum()), model.dim
        return cls(ng, np.zeros(total), np.zeros((total, d)), np.zeros((total, d)),
                   np.zeros(model.trans.num_transition_ids + 1))

    @property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.num_gauss)])

    def add(self, other: GmmStats) -> None:
        if not np.array_equal(self.num_gauss, other.num_gauss) or self.x.shape != other.x.shape:
            raise ValueError("statistics of different models cannot be added")
        self.occ += other.occ
        self.x += other.x
        self.x2 += other.x2
        self.trans += other.trans
        self.tot_like += other.tot_like
        self.frames += other.frames

    def pdf_occupancy(self) -> np.ndarray:
        off = self.offsets
        return np.array([self.occ[off[p] : off[p + 1]].sum() for p in range(len(self.num_gauss))])

    def save(self, path: str | Path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, num_gauss=self.num_gauss, occ=self.occ, x=self.x, x2=self.x2,
                     trans=self.trans, tot_like=self.tot_like, frames=self.frames)

    @classmethod
    def load(cls, path: str | Path) -> GmmStats:
        with np.load(path) as z:
            return cls(z["num_gauss"], z["occ"], z["x"], z["x2"], z["trans"],
                       float(z["tot_like"]), int(z["frames"]))


def sum_stats(paths: Iterable[str | Path]) -> GmmStats:
    total = None
    for p in paths:
        s = GmmStats.load(p)
        if total is None:
            total = s
        else:
            total.add(s)
    if total is None:
        raise ValueError("no statistics files to sum")
    return total


def accumulate(model: GmmHmm, stats: GmmStats, feats: np.ndarray, tids: np.ndarray,
               tid2pdf: np.ndarray) -> float:
    """Add one aligned utterance's statistics; returns its log-likelihood."""
    return accumulate_many(model, stats, [("utterance", feats, tids)], tid2pdf)


def accumulate_many(model: GmmHmm, stats: GmmStats, items: Iterable[tuple[str, np.ndarray, np.ndarray]],
                    tid2pdf: np.ndarray) -> float:
    """Add the statistics of aligned utterances ``(utt, feats [T, D], transition-ids [T])``.

    The frames of all utterances are pooled and grouped by pdf, so each pdf's Gaussian
    posteriors and moments are a few large products (one pass over the pdfs per job rather
    than per utterance). Returns the total log-likelihood.
    """
    feats_list: list[np.ndarray] = []
    tids_list: list[np.ndarray] = []
    for utt, feats, tids in items:
        if len(tids) != feats.shape[0]:
            raise ValueError(f"utterance {utt}: alignment has {len(tids)} frames, features {feats.shape[0]}")
        feats_list.append(np.asarray(feats, dtype=np.float64))
        tids_list.append(np.asarray(tids, dtype=np.int64))
    if not tids_list:
        return 0.0
    x = np.concatenate(feats_list)
    tids = np.concatenate(tids_list)
    del feats_list
    pdfs = tid2pdf[tids]
    order = np.argsort(pdfs, kind="stable")
    present, first, counts = np.unique(pdfs[order], return_index=True, return_counts=True)
    off = stats.offsets
    like = 0.0
    for p, f0, n in zip(present.tolist(), first.tolist(), counts.tolist(), strict=True):
        xp = x[order[f0 : f0 + n]]
        c = model.gmms[p].component_loglikes(xp)
        m = c.max(1, keepdims=True)
        e = np.exp(c - m)
        s = e.sum(1, keepdims=True)
        post = e / s
        like += float((m + np.log(s)).sum())
        sl = slice(off[p], off[p + 1])
        stats.occ[sl] += post.sum(0)
        stats.x[sl] += post.T @ xp
        stats.x2[sl] += post.T @ (xp * xp)
    stats.trans += np.bincount(tids, minlength=len(stats.trans))
    stats.tot_like += like
    stats.frames += len(tids)
    return like


def update(model: GmmHmm, stats: GmmStats, cfg: UpdateConfig) -> dict[str, float]:
    """ML re-estimation of every GMM and the transition model, in place."""
    off = stats.offsets
    removed = unseen = 0
    for p in range(model.num_pdfs):
        occ = stats.occ[off[p] : off[p + 1]]
        total = occ.sum()
        if total <= 0.0:
            unseen += 1
            continue
        keep = occ >= cfg.min_gaussian_occupancy
        if not keep.any():  # too little data: re-estimate a single Gaussian from all of it
            keep = occ >= occ.max()
        x = stats.x[off[p] : off[p + 1]][keep]
        x2 = stats.x2[off[p] : off[p + 1]][keep]
        n = occ[keep][:, None]
        means = x / n
        var = np.maximum(x2 / n - means**2, cfg.min_variance)
        w = np.maximum(occ[keep] / occ[keep].sum(), cfg.min_gaussian_weight)
        removed += int((~keep).sum())
        model.gmms[p] = DiagGaussians(w / w.sum(), means, var)
    tcfg = kaldi_hmm_gmm.MleTransitionUpdateConfig(
        floor=cfg.transition_floor, mincount=cfg.transition_min_count
    )
    model.trans.mle_update(stats.trans.reshape(-1, 1), tcfg)
    if unseen:
        log.warning("%d of %d pdfs had no data and were left unchanged", unseen, model.num_pdfs)
    if removed:
        log.info("removed %d Gaussians with occupancy < %g", removed, cfg.min_gaussian_occupancy)
    return {"like_per_frame": stats.tot_like / max(stats.frames, 1), "frames": float(stats.frames),
            "removed_gauss": float(removed), "unseen_pdfs": float(unseen)}


def split_targets(occ: np.ndarray, current: np.ndarray, target: int, cfg: UpdateConfig) -> np.ndarray:
    """Gaussians per pdf after mixing up to ``target`` in total (Kaldi's GetSplitTargets):
    one at a time to the pdf with the largest occ^power per Gaussian, never more than
    occ / split_min_count Gaussians in a pdf (and never fewer than now)."""
    out = current.astype(np.int64).copy()
    weight = np.power(np.maximum(occ, 0.0), cfg.split_power)
    cap = np.maximum(current, np.floor(occ / cfg.split_min_count).astype(np.int64))
    heap = [(-weight[p] / out[p], p) for p in range(len(out)) if out[p] < cap[p]]
    heapq.heapify(heap)
    total = int(out.sum())
    while total < target and heap:
        _, p = heapq.heappop(heap)
        out[p] += 1
        total += 1
        if out[p] < cap[p]:
            heapq.heappush(heap, (-weight[p] / out[p], p))
    return out


def mix_up(model: GmmHmm, occ: np.ndarray, target: int, cfg: UpdateConfig,
           rng: np.random.Generator) -> int:
    """Split Gaussians towards ``target`` in total (largest weight first); returns the total."""
    current = np.array([g.num_gauss for g in model.gmms])
    targets = split_targets(occ, current, target, cfg)
    for p, (now, want) in enumerate(zip(current, targets, strict=True)):
        if want <= now:
            continue
        g = model.gmms[p]
        w, mu, var = list(g.weights), list(g.means), list(g.variances)
        while len(w) < want:
            i = int(np.argmax(w))
            delta = cfg.perturb_factor * np.sqrt(var[i]) * rng.standard_normal(mu[i].shape)
            w[i] /= 2.0
            w.append(w[i])
            mu.append(mu[i] + delta)
            mu[i] = mu[i] - delta
            var.append(var[i].copy())
        model.gmms[p] = DiagGaussians(np.array(w), np.array(mu), np.array(var))
    return model.num_gauss


def init_gmms(num_pdfs: int, feats: Iterable[np.ndarray], min_variance: float = 1e-3
              ) -> list[DiagGaussians]:
    """One Gaussian per pdf at the global mean and variance of ``feats`` (flat start)."""
    n, s, s2 = 0, None, None
    for f in feats:
        x = np.asarray(f, dtype=np.float64)
        n += x.shape[0]
        s = x.sum(0) if s is None else s + x.sum(0)
        s2 = (x * x).sum(0) if s2 is None else s2 + (x * x).sum(0)
    if n == 0 or s is None or s2 is None:
        raise ValueError("no feature frames to initialise the model from")
    mean = s / n
    var = np.maximum(s2 / n - mean**2, min_variance)
    return [DiagGaussians(np.ones(1), mean[None, :].copy(), var[None, :].copy())
            for _ in range(num_pdfs)]
