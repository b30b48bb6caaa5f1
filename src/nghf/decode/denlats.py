"""Denominator lattice generation: decode with a weak-LM HCLG, convert, prune, store.

Per utterance (:class:`DenominatorGenerator`):

1. decode the ``(T, num_pdfs)`` log-likelihoods of the cross-entropy model with Kaldi's
   ``LatticeSimpleDecoder`` (:class:`nghf.decode.decoder.Decoder`; the search options
   ``beam``, ``lattice_beam``, ``acoustic_scale``, ``prune_interval`` of
   :class:`nghf.decode.decoder.SearchConfig`, which :class:`DenlatConfig` extends), keeping the raw state-level lattice; an utterance
   whose search reaches no final state fails (no partial lattices for training);
2. convert it to the frame-synchronous form (:func:`nghf.lattice.convert.raw_to_lattice`):
   epsilons removed, graph costs kept, acoustic costs dropped (training recomputes them from
   the model), phones from the transition model; the frame count must equal ``T``;
   (before conversion, raw arcs below ``min_posterior`` are dropped, :func:`prune_raw`:
   epsilon removal multiplies arcs, so this bounds its cost);
3. prune (:func:`prune_lattice`): forward-backward at the decoding acoustic scale gives arc
   posteriors; arcs below ``min_posterior`` go, and with ``max_arcs_per_frame = K`` only
   the ``K`` most probable arcs of each frame stay; the Viterbi best path is always kept, so
   the pruned lattice contains the decoder's best path.

:func:`make_denlats_job` runs one job's utterances and writes ``lat.JOB.npz``
(:mod:`nghf.lattice.store`), the same lattices as a Kaldi archive ``lat.JOB.gz`` (binary
``Lattice``, one arc per frame: transition-id, word, graph cost and the unscaled acoustic
cost ``-loglik`` of the model that made them, as Kaldi's ``make_denlats.sh`` stores them;
:mod:`nghf.lattice.kaldi_io`), ``stats.JOB.json`` (arcs per frame before/after pruning,
frames per second, failures by utterance id with the reason, given reference
alignments the numerator coverage of :func:`nghf.lattice.stats.numerator_coverage`, and given
reference transcripts the oracle WER of :func:`nghf.lattice.stats.oracle_errors`) and
``failed.JOB`` (``utt reason`` lines). Failed utterances are counted and reported; the job
fails if their share exceeds ``max_fail_share``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nghf.decode.decoder import DecodeInputError, Decoder, DecoderConfig, SearchConfig
from nghf.decode.graph import DecodingGraph
from nghf.lattice.convert import raw_to_lattice
from nghf.lattice.fb import arc_posteriors
from nghf.lattice.kaldi_io import lattice_to_raw, write_lattice_archive
from nghf.lattice.numerator import TransitionMaps
from nghf.lattice.raw import RawLattice
from nghf.lattice.stats import numerator_coverage, oracle_errors
from nghf.lattice.store import save_lattice_archive
from nghf.lattice.types import Lattice, LatticeBatch, LatticeError
from nghf.utils.atomic import atomic_write_text, is_done, mark_done
from nghf.utils.logging import get_logger, progress

log = get_logger(__name__)


class DenlatError(ValueError):
    """A denominator-lattice job that cannot run or produced too many failures."""


@dataclasses.dataclass(frozen=True)
class DenlatConfig(SearchConfig):
    """Denominator-lattice options (``conf/denlats.yaml``): the search options shared with
    decoding (:class:`nghf.decode.decoder.SearchConfig`: ``beam``, ``lattice_beam``,
    ``acoustic_scale``, ``prune_interval``), with a narrower default beam, and the pruning
    and failure options of the lattices."""

    beam: float = 10.0              # decoding beam (~5x faster search than 13, ~2% less numerator coverage)
    lattice_beam: float = 7.0       # the decoder's lattice pruning beam
    min_posterior: float = 1e-5     # drop arcs with a smaller posterior (0: keep all)
    max_arcs_per_frame: int = 0     # keep at most this many arcs per frame, by posterior (0: no cap)
    max_fail_share: float = 0.05    # a job fails if more of its utterances get no lattice

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.min_posterior < 1 or self.max_arcs_per_frame < 0:
            raise ValueError("min_posterior must be in [0, 1) and max_arcs_per_frame >= 0")
        if not 0 <= self.max_fail_share <= 1:
            raise ValueError(f"max_fail_share must be in [0, 1], got {self.max_fail_share}")


def arc_scores(lat: Lattice, scores: np.ndarray, graph_scale: float = 1.0) -> np.ndarray:
    """``(A,)`` ``scores[frame, pdf] - graph_scale * graph_cost`` of every arc (scores already scaled)."""
    return scores[lat.frame.numpy(), lat.pdf.numpy()].astype(np.float64) - graph_scale * lat.graph_cost.numpy()


def best_path_arcs(lat: Lattice, scores: np.ndarray, graph_scale: float = 1.0) -> np.ndarray:
    """Arc indices (in frame order) of the highest-scoring complete path (Viterbi, max-plus)."""
    s = arc_scores(lat, scores, graph_scale).tolist()
    src, dst = lat.src.tolist(), lat.dst.tolist()
    neg = -np.inf
    best_l = [neg] * lat.num_states
    best_l[lat.start] = 0.0
    back_l = [-1] * lat.num_states
    # Arcs are sorted by frame and enter states of the next time: one pass in arc order is
    # the Viterbi recursion (plain Python: ~15 arcs per frame are too few for numpy calls).
    for a, (u, v, w) in enumerate(zip(src, dst, s, strict=True)):
        cand = best_l[u] + w
        if cand > best_l[v]:
            best_l[v] = cand
            back_l[v] = a
    finals = lat.final_states.numpy()
    total = np.array(best_l)[finals] - graph_scale * lat.final_costs.numpy()
    state = int(finals[int(np.argmax(total))])
    path = []
    while state != lat.start:
        arc = back_l[state]
        path.append(arc)
        state = src[arc]
    return np.array(path[::-1], dtype=np.int64)


def prune_raw(lat: RawLattice, acoustic_scale: float, min_posterior: float) -> RawLattice:
    """The raw decoder lattice without arcs whose posterior is below ``min_posterior``.

    Epsilon removal multiplies arcs (every state whose epsilon closure reaches a hub state
    gets a copy of the hub's emitting arcs), so dropping improbable raw arcs first bounds the
    conversion's cost. A converted arc's posterior is at most that of each raw arc it is made
    of, so no converted arc above the threshold is lost (posteriors are renormalised over what
    is left). The Viterbi best path is always kept. Costs: ``graph + acoustic_scale * ac``.
    """
    if min_posterior <= 0 or lat.num_arcs == 0:
        return lat
    n = lat.num_states
    w = (-(lat.graph_cost.astype(np.float64) + acoustic_scale * lat.ac_cost.astype(np.float64))).tolist()
    src, dst = lat.src.tolist(), lat.dst.tolist()
    order = lat.topological_order()
    out: list[list[int]] = [[] for _ in range(n)]
    for a, s in enumerate(src):
        out[s].append(a)
    neg = -np.inf
    alpha, best, back = [neg] * n, [neg] * n, [-1] * n
    alpha[lat.start] = best[lat.start] = 0.0
    for s in order:
        al, bs = alpha[s], best[s]
        if al == neg:
            continue
        for a in out[s]:
            d, v = dst[a], al + w[a]
            cur = alpha[d]
            alpha[d] = v if cur == neg else max(cur, v) + np.log1p(np.exp(-abs(cur - v)))
            if bs + w[a] > best[d]:
                best[d], back[d] = bs + w[a], a
    final_w = -(lat.final_graph.astype(np.float64) + acoustic_scale * lat.final_ac.astype(np.float64))
    beta = [neg] * n
    for s, fw in zip(lat.final_state.tolist(), final_w.tolist(), strict=True):
        beta[s] = fw
    for s in reversed(order):
        acc = beta[s]
        for a in out[s]:
            v = w[a] + beta[dst[a]]
            if v != neg:
                acc = v if acc == neg else max(acc, v) + np.log1p(np.exp(-abs(acc - v)))
        beta[s] = acc
    log_z = beta[lat.start]
    if log_z == neg:
        return lat
    post = np.exp(np.array(alpha)[lat.src] + np.array(w) + np.array(beta)[lat.dst] - log_z)
    keep = post >= min_posterior
    totals = np.array([best[s] for s in lat.final_state.tolist()]) + final_w
    state = int(lat.final_state[int(np.argmax(totals))])
    while state != lat.start and back[state] >= 0:
        keep[back[state]] = True
        state = src[back[state]]
    if keep.all():
        return lat
    return dataclasses.replace(lat, src=lat.src[keep], dst=lat.dst[keep], ilabel=lat.ilabel[keep],
                               olabel=lat.olabel[keep], graph_cost=lat.graph_cost[keep], ac_cost=lat.ac_cost[keep])


def prune_lattice(lat: Lattice, scores: np.ndarray, min_posterior: float = 0.0,
                  max_arcs_per_frame: int = 0) -> tuple[Lattice, np.ndarray]:
    """Posterior / per-frame-count pruning that keeps the best path; returns the pruned
    lattice and the arc posteriors of the input lattice (``scores``: scaled ``(T, D)``)."""
    return prune_lattices([lat], [scores], min_posterior, max_arcs_per_frame)[0]


def prune_lattices(lats: Sequence[Lattice], scores: Sequence[np.ndarray], min_posterior: float = 0.0,
                   max_arcs_per_frame: int = 0) -> list[tuple[Lattice, np.ndarray]]:
    """:func:`prune_lattice` of several lattices, with one batched forward-backward (float64)
    for all their arc posteriors (the per-utterance recursion is dispatch-bound)."""
    if not lats:
        return []
    batch = LatticeBatch.from_lattices(lats)
    arc_s = [arc_scores(lat, sc) for lat, sc in zip(lats, scores, strict=True)]
    frames = np.concatenate([lat.frame.numpy() for lat in lats])
    rows = np.repeat(np.arange(len(lats)), [lat.num_arcs for lat in lats])
    order = np.lexsort((rows, frames))  # the batch's (frame, row) arc order, as in from_lattices
    _, post_batch = arc_posteriors(batch, torch.from_numpy(np.concatenate(arc_s)[order]), 1.0)
    post_cat = np.empty(len(order))
    post_cat[order] = post_batch.numpy()
    posts = np.split(post_cat, np.cumsum([lat.num_arcs for lat in lats])[:-1])
    return [_prune_one(lat, sc, post, min_posterior, max_arcs_per_frame)
            for lat, sc, post in zip(lats, scores, posts, strict=True)]


def _prune_one(lat: Lattice, scores: np.ndarray, post: np.ndarray, min_posterior: float,
               max_arcs_per_frame: int) -> tuple[Lattice, np.ndarray]:
    keep = post >= min_posterior
    if max_arcs_per_frame:
        frame = lat.frame.numpy()
        order = np.lexsort((-post, frame))  # by frame, most probable first
        first = np.searchsorted(frame[order], frame[order], side="left")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order)) - first
        keep &= rank < max_arcs_per_frame
    keep[best_path_arcs(lat, scores)] = True
    if keep.all():
        return lat, post
    return lat.subset_arcs(torch.from_numpy(keep)), post


@dataclasses.dataclass(frozen=True)
class Generated:
    """One utterance's pruned lattice and how many arcs the converted lattice had."""

    lattice: Lattice
    arcs_before_pruning: int


class DenominatorGenerator:
    """Makes pruned frame-synchronous denominator lattices from log-likelihood matrices."""

    def __init__(self, graph: DecodingGraph, maps: TransitionMaps, config: DenlatConfig,
                 num_pdfs: int | None = None) -> None:
        g = graph.tid2pdf[1:]
        if len(g) != maps.num_tids or not np.array_equal(g, maps.tid2pdf[1:]):
            raise DenlatError(
                f"{graph.source}: the graph's transition-id map ({len(g)} ids) does not match the "
                f"transition model's ({maps.num_tids} ids): graph and model are from different systems"
            )
        self.graph = graph
        self.maps = maps
        self.config = config
        self.decoder = Decoder(graph, DecoderConfig(**config.search_options(), lattices=True, allow_partial=False),
                               num_pdfs)

    def generate(self, utt: str, loglik: np.ndarray) -> Generated:
        """The pruned lattice of one utterance; :class:`LatticeError` (naming it) if there is none."""
        made = self.generate_many([(utt, loglik)])[0]
        if isinstance(made, LatticeError):
            raise made
        return made

    def convert(self, utt: str, loglik: np.ndarray) -> Lattice:
        """Decode and convert one utterance (the lattice before posterior pruning)."""
        cfg = self.config
        try:
            result = self.decoder.decode(utt, loglik)
        except DecodeInputError as err:
            raise LatticeError(str(err)) from None
        if not result.reached_final or result.lattice is None:
            raise LatticeError(f"utterance {utt}: decoding reached no final state (beam {cfg.beam})")
        raw = prune_raw(result.lattice, cfg.acoustic_scale, cfg.min_posterior)
        return raw_to_lattice(raw, self.maps.tid2pdf, self.maps.tid2phone, utt,
                              expected_frames=int(loglik.shape[0]))

    def generate_many(self, items: Sequence[tuple[str, np.ndarray]]) -> list[Generated | LatticeError]:
        """:meth:`generate` of several utterances, in order; an utterance without a lattice gives
        its :class:`LatticeError` in its place. The pruning posteriors of all of them come from
        one batched forward-backward."""
        cfg = self.config
        out: list[Generated | LatticeError | None] = []
        done: list[int] = []
        lats: list[Lattice] = []
        scores: list[np.ndarray] = []
        for utt, loglik in items:
            try:
                lat = self.convert(utt, loglik)
            except LatticeError as err:
                out.append(err)
                continue
            done.append(len(out))
            out.append(None)
            lats.append(lat)
            scores.append(cfg.acoustic_scale * np.asarray(loglik, dtype=np.float64))
        pruned = prune_lattices(lats, scores, cfg.min_posterior, cfg.max_arcs_per_frame)
        for i, lat, (small, _) in zip(done, lats, pruned, strict=True):
            out[i] = Generated(small, lat.num_arcs)
        return [x for x in out if x is not None]


def chunked(items: Iterable[tuple[str, np.ndarray]], size: int) -> Iterable[list[tuple[str, np.ndarray]]]:
    """Lists of at most ``size`` consecutive items (the last one shorter)."""
    chunk: list[tuple[str, np.ndarray]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _fit_reference(ref: np.ndarray | None, num_frames: int, tolerance: int) -> np.ndarray | None:
    if ref is None or abs(len(ref) - num_frames) > tolerance or len(ref) == 0:
        return None
    if len(ref) >= num_frames:
        return ref[:num_frames]
    return np.concatenate([ref, np.repeat(ref[-1:], num_frames - len(ref))])


def make_denlats_job(
    generator: DenominatorGenerator,
    logliks: Iterable[tuple[str, np.ndarray]],
    out_dir: str | Path,
    job: int,
    references: Mapping[str, np.ndarray] | None = None,
    force: bool = False,
    ref_tolerance: int = 2,
    ref_words: Mapping[str, np.ndarray] | None = None,
    chunk_utts: int = 16,
) -> dict[str, Any]:
    """Generate, store and describe one job's lattices (see the module docstring).

    ``references`` (utterance -> reference pdf-ids at the lattice frame rate) adds numerator
    coverage statistics; a reference up to ``ref_tolerance`` frames longer or shorter than the
    lattice is cut or padded with its last label (GMM and NN features may differ slightly).
    ``ref_words`` (utterance -> reference word ids, -1 for words not in the graph) adds the
    oracle word errors of the lattices (:func:`nghf.lattice.stats.oracle_errors`).
    Utterances are generated ``chunk_utts`` at a time (one batched pruning forward-backward).
    """
    out_dir = Path(out_dir)
    lat_path = out_dir / f"lat.{job}.npz"
    stats_path = out_dir / f"stats.{job}.json"
    if is_done(lat_path) and stats_path.is_file() and not force:
        log.info("job %d: %s is done already; skipping", job, lat_path)
        return json.loads(stats_path.read_text(encoding="utf-8"))
    lattices: list[Lattice] = []
    kaldi_lattices: list[tuple[str, RawLattice]] = []
    failed: dict[str, str] = {}
    frames = arcs = raw_arcs = 0
    cov_frames = cov_covered = cov_utts = cov_paths = 0
    oracle_errs = oracle_refs = oracle_utts = 0
    no_reference: list[str] = []
    lattice_seconds = 0.0
    start = time.monotonic()
    utterances = 0
    for chunk in chunked(progress(logliks, desc=f"denlats job {job}", logger=log), chunk_utts):
        utterances += len(chunk)
        t0 = time.monotonic()
        made_all = generator.generate_many(chunk)
        lattice_seconds += time.monotonic() - t0
        for (utt, loglik), made in zip(chunk, made_all, strict=True):
            if isinstance(made, LatticeError):
                failed[utt] = str(made)
                log.warning("%s", made)
                continue
            lat = made.lattice
            lattices.append(lat)
            ac = -np.asarray(loglik, dtype=np.float64)[lat.frame.numpy(), lat.pdf.numpy()]
            kaldi_lattices.append((utt, lattice_to_raw(lat, ac)))
            frames += lat.num_frames
            arcs += lat.num_arcs
            raw_arcs += made.arcs_before_pruning
            if ref_words is not None and utt in ref_words:
                oracle_errs += oracle_errors(lat, ref_words[utt])
                oracle_refs += len(ref_words[utt])
                oracle_utts += 1
            if references is not None:
                ref = _fit_reference(references.get(utt), lat.num_frames, ref_tolerance)
                if ref is None:
                    no_reference.append(utt)
                    continue
                share, in_lat = numerator_coverage(lat, ref)
                cov_frames += lat.num_frames
                cov_covered += int(round(share * lat.num_frames))
                cov_utts += 1
                cov_paths += int(in_lat)
    seconds = time.monotonic() - start
    size = save_lattice_archive(lat_path, lattices)
    write_lattice_archive(out_dir / f"lat.{job}.gz", kaldi_lattices)
    atomic_write_text(out_dir / f"failed.{job}", "".join(f"{u} {r}\n" for u, r in sorted(failed.items())))
    stats: dict[str, Any] = {
        "job": job, "utterances": utterances, "lattices": len(lattices), "failed": failed,
        "frames": frames, "arcs": arcs, "arcs_before_pruning": raw_arcs,
        "arcs_per_frame": round(arcs / max(frames, 1), 3),
        "arcs_per_frame_before_pruning": round(raw_arcs / max(frames, 1), 3),
        "seconds": round(seconds, 3), "lattice_seconds": round(lattice_seconds, 3),
        "frames_per_second": round(frames / seconds, 1) if seconds > 0 else None,
        "bytes": size, "config": dataclasses.asdict(generator.config),
    }
    if ref_words is not None:
        stats.update(oracle_errors=oracle_errs, oracle_ref_words=oracle_refs, oracle_utts=oracle_utts,
                     oracle_wer=round(oracle_errs / oracle_refs, 4) if oracle_refs else None)
    if references is not None:
        stats.update(num_frames_checked=cov_frames, num_pdf_frames_covered=cov_covered,
                     num_utts_checked=cov_utts, num_paths_in_lattice=cov_paths,
                     no_reference=no_reference[:50], no_reference_count=len(no_reference))
    atomic_write_text(stats_path, json.dumps(stats, indent=1) + "\n")
    share = len(failed) / max(utterances, 1)
    log.info("job %d: %d lattices, %d failed, %d frames, %.2f arcs/frame (%.2f before pruning), %.1f s",
             job, len(lattices), len(failed), frames, arcs / max(frames, 1), raw_arcs / max(frames, 1), seconds)
    if share > generator.config.max_fail_share:
        raise DenlatError(
            f"job {job}: {len(failed)} of {utterances} utterances got no lattice ({100 * share:.1f}% > "
            f"{100 * generator.config.max_fail_share:.1f}%), e.g. {next(iter(sorted(failed)))}: "
            f"{failed[next(iter(sorted(failed)))]}; see {out_dir / f'failed.{job}'}"
        )
    mark_done(lat_path)
    return stats
