"""Loading what decoding needs: the HCLG graph, the word table and the transition-id map.

Kaldi's graph-directory layout is used: ``HCLG.fst`` (input labels transition-ids, output
labels word ids; vector or const FST type) and ``words.txt`` (``word id`` lines). The
transition-id -> pdf-id map ``tid2pdf`` comes from the HMM's TransitionModel; it is read
from ``tid2pdf`` in the graph directory (or a path given explicitly) in one of two forms:

* text, one ``<transition-id> <pdf-id>`` pair per line, transition-ids 1..N each exactly once;
* ``.npy``, an integer array indexed by transition-id (entry 0, the epsilon, is ignored).

It is returned as an int64 array ``a`` of length N+1 with ``a[0] = -1``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from nghf.lang.fst import FstError, read_fst


class GraphError(ValueError):
    """A missing or malformed graph input (message names the file and line)."""


def read_words(path: str | Path) -> dict[int, str]:
    """``words.txt`` as id -> word (ids unique, words unique)."""
    path = Path(path)
    if not path.is_file():
        raise GraphError(f"{path}: word table not found")
    id2word: dict[int, str] = {}
    seen: dict[str, int] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or not fields[1].lstrip("-").isdigit():
            raise GraphError(f"{path}:{lineno}: expected '<word> <integer-id>', got {line!r}")
        word, wid = fields[0], int(fields[1])
        if wid in id2word:
            raise GraphError(f"{path}:{lineno}: id {wid} used twice ({id2word[wid]} and {word})")
        if word in seen:
            raise GraphError(f"{path}:{lineno}: word {word} listed twice")
        id2word[wid] = word
        seen[word] = wid
    return id2word


def read_tid2pdf(path: str | Path) -> np.ndarray:
    """The transition-id -> pdf-id map as an array indexed by transition-id (``[0] = -1``)."""
    path = Path(path)
    if not path.is_file():
        raise GraphError(f"{path}: transition-id to pdf-id map not found")
    if path.suffix == ".npy":
        arr = np.load(path).astype(np.int64)
        if arr.ndim != 1 or arr.size < 2:
            raise GraphError(f"{path}: expected a 1-D array indexed by transition-id, got shape {arr.shape}")
        arr = arr.copy()
        arr[0] = -1
        if (arr[1:] < 0).any():
            raise GraphError(f"{path}: negative pdf-id for transition-id {int(np.argmax(arr[1:] < 0)) + 1}")
        return arr
    pairs: dict[int, int] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            tid, pdf = (int(f) for f in fields)
        except ValueError:
            raise GraphError(f"{path}:{lineno}: expected '<transition-id> <pdf-id>', got {line!r}") from None
        if tid < 1 or pdf < 0:
            raise GraphError(f"{path}:{lineno}: transition-id must be >= 1 and pdf-id >= 0, got {line!r}")
        if tid in pairs:
            raise GraphError(f"{path}:{lineno}: transition-id {tid} listed twice")
        pairs[tid] = pdf
    if not pairs:
        raise GraphError(f"{path}: empty transition-id map")
    num = max(pairs)
    missing = sorted(set(range(1, num + 1)) - set(pairs))
    if missing:
        raise GraphError(f"{path}: transition-id {missing[0]} has no pdf-id (ids must be 1..{num})")
    arr = np.full(num + 1, -1, dtype=np.int64)
    for tid, pdf in pairs.items():
        arr[tid] = pdf
    return arr


def write_tid2pdf(path: str | Path, tid2pdf: np.ndarray) -> None:
    """Write the text form read by :func:`read_tid2pdf`."""
    lines = "".join(f"{t} {int(p)}\n" for t, p in enumerate(tid2pdf) if t > 0)
    Path(path).write_text(lines, encoding="utf-8")


@dataclasses.dataclass(frozen=True)
class DecodingGraph:
    """An HCLG with its word table and transition-id map."""

    fst: object
    id2word: dict[int, str]
    tid2pdf: np.ndarray
    source: str = ""

    @property
    def num_pdfs_min(self) -> int:
        """The smallest pdf count consistent with the map (max pdf-id + 1)."""
        return int(self.tid2pdf[1:].max()) + 1

    def words(self, ids: list[int], utt: str = "?") -> list[str]:
        """Word ids -> words; an id missing from ``words.txt`` is an error naming the utterance."""
        out = []
        for wid in ids:
            if wid not in self.id2word:
                raise GraphError(f"utterance {utt}: word id {wid} output by {self.source or 'the graph'} "
                                 "is not in words.txt (graph and word table do not match)")
            out.append(self.id2word[wid])
        return out


def load_graph(graph_dir: str | Path, tid2pdf: str | Path | None = None) -> DecodingGraph:
    """Load ``HCLG.fst``, ``words.txt`` and ``tid2pdf`` (``.npy`` or text) from a graph dir."""
    graph_dir = Path(graph_dir)
    if tid2pdf is None:
        cands = [graph_dir / "tid2pdf", graph_dir / "tid2pdf.npy"]
        tid2pdf = next((c for c in cands if c.exists()), cands[0])
    try:
        fst = read_fst(graph_dir / "HCLG.fst", what="decoding graph")
    except FstError as err:
        raise GraphError(str(err)) from None
    return DecodingGraph(fst, read_words(graph_dir / "words.txt"), read_tid2pdf(tid2pdf), str(graph_dir / "HCLG.fst"))
