"""Test helper (not a test): a tiny hand-built decoding graph and log-likelihoods that favour a chosen word sequence.

The graph is a word loop over three words; each word is a chain of two transition-ids with
self-loops (a one-state-per-pdf HMM), entered with a graph cost (its "LM" cost) and left by
an epsilon arc back to the loop state, which is final. Transition-id ``t`` maps to pdf
``t - 1``, except that the two transition-ids of the last word share the pdfs of the first
word shifted by an offset, so the map is not the identity.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from nghf._kaldi import kaldifst
from nghf.decode.graph import DecodingGraph, write_tid2pdf

WORDS = {1: "alpha", 2: "bravo", 3: "charlie"}
WORD_TIDS = {1: (1, 2), 2: (3, 4), 3: (5, 6)}
TID2PDF = np.array([-1, 0, 1, 2, 3, 4, 5], dtype=np.int64)
NUM_PDFS = 6


def build_fst(word_costs: dict[int, float]) -> kaldifst.StdVectorFst:
    fst = kaldifst.StdVectorFst()
    loop = fst.add_state()
    fst.start = loop
    fst.set_final(loop, 0.0)
    for word, tids in WORD_TIDS.items():
        prev = loop
        for i, tid in enumerate(tids):
            state = fst.add_state()
            fst.add_arc(prev, kaldifst.StdArc(tid, word if i == 0 else 0, word_costs[word] if i == 0 else 0.0, state))
            fst.add_arc(state, kaldifst.StdArc(tid, 0, 0.0, state))
            prev = state
        fst.add_arc(prev, kaldifst.StdArc(0, 0, 0.0, loop))
    return fst


def logliks_for(words: list[int], frames_per_pdf: int = 3, good: float = 0.0, bad: float = -8.0) -> np.ndarray:
    """Frames whose best-scoring pdf spells out ``words`` (each pdf for ``frames_per_pdf`` frames)."""
    rows = []
    for w in words:
        for tid in WORD_TIDS[w]:
            for _ in range(frames_per_pdf):
                row = np.full(NUM_PDFS, bad, dtype=np.float32)
                row[TID2PDF[tid]] = good
                rows.append(row)
    return np.stack(rows)


@dataclasses.dataclass
class TinyGraph:
    graph: DecodingGraph
    fst: kaldifst.StdVectorFst
    dir: Path


@pytest.fixture
def tiny_graph(tmp_path: Path) -> TinyGraph:
    fst = build_fst({1: 1.0, 2: 1.0, 3: 1.0})
    gdir = tmp_path / "graph"
    gdir.mkdir()
    fst.write(str(gdir / "HCLG.fst"))
    (gdir / "words.txt").write_text("<eps> 0\n" + "".join(f"{w} {i}\n" for i, w in WORDS.items()))
    write_tid2pdf(gdir / "tid2pdf", TID2PDF)
    return TinyGraph(DecodingGraph(fst, dict(WORDS), TID2PDF), fst, gdir)
