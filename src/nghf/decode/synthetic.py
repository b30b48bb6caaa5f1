"""Synthetic word-loop decoding graphs and log-likelihoods, for benchmarks.

:func:`word_loop_graph` builds a one-state word loop: each word is a chain of random
transition-ids with self-loops (cost 0.69), entered with a unigram cost; every pdf is used.
:func:`word_loop_logliks` makes log-likelihoods (Gaussian noise) that favour the pdfs of a
random word sequence by 8 nats. :func:`write_pdf_loop_graph` writes a graph dir whose HCLG is a
free loop over the pdfs (for tests that make lattices without a lexicon or GMM).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nghf._kaldi import kaldifst
from nghf.decode.graph import DecodingGraph, write_tid2pdf


def word_loop_graph(num_words: int, num_tids: int, num_pdfs: int, rng: np.random.Generator,
                    min_len: int, max_len: int, source: str = "") -> tuple[DecodingGraph, list[np.ndarray]]:
    """A word-loop graph (words of ``min_len`` to ``max_len`` tids) and each word's tids."""
    fst = kaldifst.StdVectorFst()
    loop = fst.add_state()
    fst.start = loop
    fst.set_final(loop, 0.0)
    costs = -np.log(rng.dirichlet(np.ones(num_words)))
    word_tids = []
    for w in range(1, num_words + 1):
        tids = rng.integers(1, num_tids + 1, size=int(rng.integers(min_len, max_len + 1)))
        word_tids.append(tids)
        prev = loop
        for i, t in enumerate(tids):
            s = fst.add_state()
            fst.add_arc(prev, kaldifst.StdArc(int(t), w if i == 0 else 0, float(costs[w - 1]) if i == 0 else 0.0, s))
            fst.add_arc(s, kaldifst.StdArc(int(t), 0, 0.69, s))
            prev = s
        fst.add_arc(prev, kaldifst.StdArc(0, 0, 0.0, loop))
    tid2pdf = np.concatenate([[-1], rng.integers(0, num_pdfs, size=num_tids)])
    tid2pdf[1:num_pdfs + 1] = np.arange(num_pdfs)  # every pdf used
    graph = DecodingGraph(fst, {w: f"w{w}" for w in range(1, num_words + 1)}, tid2pdf.astype(np.int64), source)
    return graph, word_tids


def word_loop_logliks(graph: DecodingGraph, word_tids: Sequence[np.ndarray], frames: int,
                      rng: np.random.Generator, noise: float) -> np.ndarray:
    """``(frames, num_pdfs)`` log-likelihoods, N(-12, noise²), +8 on a random word sequence's pdfs."""
    pdfs: list[int] = []
    while len(pdfs) < frames:
        for t in word_tids[int(rng.integers(len(word_tids)))]:
            pdfs.extend([int(graph.tid2pdf[t])] * int(rng.integers(2, 5)))
    ll = rng.normal(-12.0, noise, size=(frames, graph.num_pdfs_min)).astype(np.float32)
    ll[np.arange(frames), pdfs[:frames]] += 8.0
    return ll


def write_pdf_loop_graph(graph_dir: str | Path, num_pdfs: int) -> None:
    """A graph dir (``HCLG.fst``, ``words.txt``, ``tid2pdf``, ``tid2phone``) of a free loop over
    the pdfs: transition-id ``p+1`` emits pdf ``p`` (entry cost 1.0, self-loop 0.3, exit 0.2)
    with word ``p+1`` and phone ``p+1``."""
    graph_dir = Path(graph_dir)
    fst = kaldifst.StdVectorFst()
    loop = fst.add_state()
    fst.start = loop
    fst.set_final(loop, 0.0)
    for p in range(num_pdfs):
        s = fst.add_state()
        fst.add_arc(loop, kaldifst.StdArc(p + 1, p + 1, 1.0, s))
        fst.add_arc(s, kaldifst.StdArc(p + 1, 0, 0.3, s))
        fst.add_arc(s, kaldifst.StdArc(0, 0, 0.2, loop))
    graph_dir.mkdir(parents=True)
    fst.write(str(graph_dir / "HCLG.fst"))
    (graph_dir / "words.txt").write_text("<eps> 0\n" + "".join(f"w{p} {p + 1}\n" for p in range(num_pdfs)))
    write_tid2pdf(graph_dir / "tid2pdf", np.arange(-1, num_pdfs))
    (graph_dir / "tid2phone").write_text("".join(f"{p + 1} {p + 1}\n" for p in range(num_pdfs)))
