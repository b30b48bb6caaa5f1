"""Forced alignment with Kaldi's aligner, alignment archives, and alignment statistics.

Training graphs come from the binding's ``TrainingGraphCompiler`` with transition and
self-loop scales 0 (the binding requires it); Kaldi's alignment-time scales
(``transition_scale``, ``self_loop_scale``) are then added with ``add_transition_probs``,
exactly what ``gmm-align-compiled`` does. Alignments are Kaldi int-vector archives of
transition-ids, gzipped (``ali.JOB.gz``), readable with ``kaldi_io.read_vec_int_ark``.
"""

from __future__ import annotations

import dataclasses
import gzip
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

import kaldi_io
import numpy as np

from nghf._kaldi import kaldi_hmm_gmm, kaldifst
from nghf.gmm.lang import Lang
from nghf.gmm.model import GmmHmm
from nghf.utils.atomic import atomic_path
from nghf.utils.logging import get_logger

log = get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class AlignConfig:
    """Kaldi's ``gmm-align-compiled`` defaults."""

    beam: float = 10.0
    retry_beam: float = 40.0
    acoustic_scale: float = 0.1
    transition_scale: float = 1.0
    self_loop_scale: float = 0.1
    max_fail_share: float = 0.1  # the stage fails when more utterances than this fail


@dataclasses.dataclass
class AlignResult:
    """What one alignment job produced."""

    alignments: dict[str, np.ndarray]
    failed: list[str]
    tot_like: float
    frames: int


class GraphCompiler:
    """Compiles per-utterance training graphs (HCLG for a transcript) for one model."""

    def __init__(self, model: GmmHmm, lang: Lang, cfg: AlignConfig) -> None:
        self.model = model
        self.cfg = cfg
        opts = kaldi_hmm_gmm.TrainingGraphCompilerOptions(transition_scale=0.0, self_loop_scale=0.0)
        self._compiler = kaldi_hmm_gmm.TrainingGraphCompiler(
            model.trans, model.tree, lang.lexicon_fst(), list(lang.disambig), opts
        )

    def compile(self, word_ids: list[int]) -> kaldifst.StdVectorFst:
        fst = self._compiler.compile_graph_from_text(word_ids)
        kaldi_hmm_gmm.add_transition_probs(
            trans_model=self.model.trans, disambig_syms=[],
            transition_scale=self.cfg.transition_scale,
            self_loop_scale=self.cfg.self_loop_scale, fst=fst,
        )
        return fst


def equal_alignment(graph: kaldifst.StdVectorFst, num_frames: int, seed: int = 0) -> np.ndarray | None:
    """A path of exactly ``num_frames`` transition-ids through the graph (flat start)."""
    ok, path = kaldifst.equal_align(graph, num_frames, seed)
    if not ok:
        return None
    ok, tids, _, _ = kaldifst.get_linear_symbol_sequence(path)
    return np.asarray(tids, dtype=np.int32) if ok and len(tids) == num_frames else None


def align_utterances(
    model: GmmHmm,
    lang: Lang,
    items: Iterable[tuple[str, np.ndarray, list[int]]],
    cfg: AlignConfig,
    equal: bool = False,
) -> AlignResult:
    """Align (utt, feats, word-ids) items; failures are listed by id, not dropped silently."""
    compiler = GraphCompiler(model, lang, cfg)
    am = None if equal else model.to_kaldi_am()
    result = AlignResult({}, [], 0.0, 0)
    kcfg = kaldi_hmm_gmm.AlignConfig(beam=cfg.beam, retry_beam=cfg.retry_beam)
    for utt, feats, words in items:
        graph = compiler.compile(words)
        if equal:
            ali = equal_alignment(graph, feats.shape[0])
            if ali is None:
                log.warning("utterance %s: no path of %d frames (too short for its transcript)",
                            utt, feats.shape[0])
                result.failed.append(utt)
                continue
        else:
            dec = kaldi_hmm_gmm.DecodableAmDiagGmmScaled(am, model.trans, feats, cfg.acoustic_scale)
            done, err, _retried, like, frames, tids, _words = kaldi_hmm_gmm.align_utterance_wrapper(
                kcfg, utt, cfg.acoustic_scale, graph, dec, 0, 0, 0, 0.0, 0
            )
            if not done or err or len(tids) != feats.shape[0]:
                log.warning("utterance %s: alignment failed (no path within beam %g/%g)",
                            utt, cfg.beam, cfg.retry_beam)
                result.failed.append(utt)
                continue
            ali = np.asarray(tids, dtype=np.int32)
            result.tot_like += like  # Kaldi aligner objective: acoustic-scaled + graph
            result.frames += frames
        result.alignments[utt] = ali
    return result


def write_alignments(path: str | Path, alignments: dict[str, np.ndarray]) -> None:
    """Write a gzipped Kaldi binary int-vector archive (``ali.JOB.gz``), atomically."""
    with atomic_path(path) as tmp, gzip.open(tmp, "wb") as f:
        for utt in sorted(alignments):
            f.write(int_vector_record(utt, alignments[utt]))


def int_vector_record(key: str, values: np.ndarray) -> bytes:
    """One Kaldi binary archive record of an int32 vector: ``key \0B`` then the size and
    each element as (4, little-endian int32) -- the layout ``kaldi_io.read_vec_int`` reads."""
    v = np.asarray(values, dtype="<i4")
    body = np.empty(len(v), dtype=[("size", "i1"), ("value", "<i4")])
    body["size"] = 4
    body["value"] = v
    return key.encode() + b" \0B\x04" + struct.pack("<i", len(v)) + body.tobytes()


def iter_alignment_archives(paths: Iterable[str | Path]) -> Iterator[tuple[str, np.ndarray]]:
    """Iterate ``(utt, int32 ids)`` over gzipped or plain Kaldi int-vector archives in order
    (transition-id ``ali.JOB.gz`` or pdf-id ``pdf.JOB.gz``), unchecked; for a checked
    ``utt -> pdf-ids`` map of an alignment file or directory see
    :func:`nghf.data.alignments.read_alignments`."""
    for p in paths:
        p = Path(p)
        opener = gzip.open if p.suffix == ".gz" else open
        with opener(p, "rb") as f:
            for utt, vec in kaldi_io.read_vec_int_ark(f):
                yield utt, np.asarray(vec, dtype=np.int32)


def ali_files(ali_dir: str | Path) -> list[Path]:
    """``ali.*.gz`` of a directory in job order."""
    files = sorted(Path(ali_dir).glob("ali.*.gz"), key=lambda p: int(p.name.split(".")[1]))
    if not files:
        raise FileNotFoundError(f"{ali_dir}: no ali.*.gz alignment files")
    return files


@dataclasses.dataclass(frozen=True)
class TidInfo:
    """Per-transition-id lookup arrays (index 0 unused)."""

    pdf: np.ndarray
    phone: np.ndarray
    hmm_state: np.ndarray
    is_final: np.ndarray
    is_self_loop: np.ndarray
    trans_index: np.ndarray  # which transition of its HMM state (0-based)
    trans_state: np.ndarray  # Kaldi transition-state (1-based)


def tid_info(model: GmmHmm) -> TidInfo:
    tm = model.trans
    n = tm.num_transition_ids
    pdf = model.tid2pdf()
    phone = np.zeros(n + 1, np.int64)
    state = np.zeros(n + 1, np.int64)
    final = np.zeros(n + 1, bool)
    loop = np.zeros(n + 1, bool)
    index = np.zeros(n + 1, np.int64)
    tstate = np.zeros(n + 1, np.int64)
    tuples = [t.__getstate__() for t in tm.tuples]
    id2state, state2id = tm.id2state, tm.state2id
    for tid in range(1, n + 1):
        ts = id2state[tid]
        phone[tid], state[tid] = tuples[ts - 1][0], tuples[ts - 1][1]
        final[tid] = tm.is_final(tid)
        loop[tid] = tm.is_self_loop(tid)
        index[tid] = tid - state2id[ts]
        tstate[tid] = ts
    return TidInfo(pdf, phone, state, final, loop, index, tstate)


def split_phones(tids: np.ndarray, info: TidInfo) -> list[tuple[int, np.ndarray]]:
    """Split a transition-id sequence into (phone, its tids).

    A phone ends with its final transition; in graphs built with ``reorder`` (Kaldi's
    default) the self-loops of the last state follow that transition and still belong to
    the phone. Any other transition-id after the final one starts the next phone.
    """
    out, start, final_state = [], 0, -1
    for t, tid in enumerate(tids):
        if final_state >= 0 and not (info.is_self_loop[tid] and info.trans_state[tid] == final_state):
            out.append((int(info.phone[tids[start]]), tids[start:t]))
            start, final_state = t, -1
        if info.is_final[tid]:
            final_state = int(info.trans_state[tid])
    if final_state < 0:
        raise ValueError("alignment does not end at the end of a phone")
    out.append((int(info.phone[tids[start]]), tids[start:]))
    return out


def alignment_stats(alignments: Iterable[np.ndarray], info: TidInfo, silence: Iterable[int],
                    phone_names: dict[int, str]) -> dict[str, float]:
    """Silence share of frames and mean duration (frames) of each phone."""
    sil = set(silence)
    frames = sil_frames = 0
    dur: dict[int, list[int]] = {}
    for tids in alignments:
        for phone, seg in split_phones(tids, info):
            dur.setdefault(phone, []).append(len(seg))
            frames += len(seg)
            sil_frames += len(seg) if phone in sil else 0
    stats = {"frames": float(frames), "silence_share": sil_frames / max(frames, 1)}
    for p, d in sorted(dur.items()):
        stats[f"mean_dur.{phone_names.get(p, str(p))}"] = float(np.mean(d))
    return stats
