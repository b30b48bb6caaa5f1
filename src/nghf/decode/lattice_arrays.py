"""Raw decoder lattices kept as arrays, so the best path can be recomputed for any LM weight.

A :class:`RawLattice` is the state-level lattice of one utterance (``LatticeSimpleDecoder``'s
raw lattice) stored as parallel arc arrays with the two Kaldi lattice costs kept apart:
``graph_cost`` (LM + transition + pronunciation) and ``ac_cost`` (negated, *unscaled* acoustic
log-likelihood). The best path at LM weight ``w`` minimises ``w * graph + ac`` over complete
paths, which orders paths exactly as Kaldi's ``lattice-scale --inv-acoustic-scale=w |
lattice-best-path`` (``graph + ac / w``), without decoding again. Lattices of many
utterances are saved together in one ``.npz`` (concatenated arrays plus offsets).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from nghf.utils.atomic import atomic_path


class LatticeError(ValueError):
    """A lattice that is cyclic, has no final state, or a malformed lattice file."""


_ARC_FIELDS = ("src", "dst", "ilabel", "olabel", "graph_cost", "ac_cost")
_FINAL_FIELDS = ("final_state", "final_graph", "final_ac")


@dataclasses.dataclass(frozen=True)
class RawLattice:
    """One utterance's lattice: arcs, final states and their final costs, start state."""

    num_states: int
    start: int
    src: np.ndarray
    dst: np.ndarray
    ilabel: np.ndarray
    olabel: np.ndarray
    graph_cost: np.ndarray
    ac_cost: np.ndarray
    final_state: np.ndarray
    final_graph: np.ndarray
    final_ac: np.ndarray

    @property
    def num_arcs(self) -> int:
        return int(self.src.size)

    def topological_order(self) -> list[int]:
        """States in an order where every arc goes forward (Kahn); cyclic lattices are errors."""
        return self._kahn()[0]

    def topological_levels(self) -> np.ndarray:
        """Layer of every state (longest arc count from a state without incoming arcs): every
        arc goes from a lower to a higher layer, so one layer's arcs can be relaxed together."""
        return np.asarray(self._kahn()[1], dtype=np.int64)

    def _kahn(self) -> tuple[list[int], list[int]]:
        indeg = np.bincount(self.dst, minlength=self.num_states).tolist()
        out_arcs = _arcs_by_source(self)
        order = [s for s in range(self.num_states) if indeg[s] == 0]
        level = [0] * self.num_states
        head = 0
        dst = self.dst.tolist()
        while head < len(order):
            s = order[head]
            head += 1
            nxt = level[s] + 1
            for a in out_arcs[s]:
                d = dst[a]
                if nxt > level[d]:
                    level[d] = nxt
                indeg[d] -= 1
                if indeg[d] == 0:
                    order.append(d)
        if len(order) != self.num_states:
            raise LatticeError("lattice has a cycle; cannot take a best path")
        return order, level

    def best_path(self, lm_weight: float) -> tuple[list[int], float]:
        """Word ids of the best path at ``lm_weight`` and its cost ``w * graph + ac``."""
        return self.best_paths([lm_weight])[0]

    def best_paths(self, lm_weights: Sequence[float]) -> list[tuple[list[int], float]]:
        """:meth:`best_path` at every weight of ``lm_weights`` in one pass over the lattice.

        The Viterbi recursion runs over topological layers (all arcs leaving one layer are
        relaxed with a few array operations) with a column of path costs per LM weight, so an
        LM-weight sweep costs little more than one weight."""
        if self.num_states == 0 or self.final_state.size == 0:
            raise LatticeError("empty lattice (no final state reached)")
        w = np.asarray(lm_weights, dtype=np.float64)
        cost = w[None, :] * self.graph_cost.astype(np.float64)[:, None] + self.ac_cost.astype(np.float64)[:, None]
        src_level = self.topological_levels()[self.src]
        by_level = np.argsort(src_level, kind="stable")
        bounds = np.flatnonzero(np.diff(src_level[by_level])) + 1
        best = np.full((self.num_states, w.size), np.inf)
        best[self.start] = 0.0
        back = np.full((self.num_states, w.size), -1, dtype=np.int64)
        for arcs in np.split(by_level, bounds):
            d = self.dst[arcs]
            cand = best[self.src[arcs]] + cost[arcs]
            before = best[d]
            np.minimum.at(best, d, cand)
            # Ties: an earlier layer keeps its arc (strict <); within a layer the lowest arc
            # index wins (assigned last).
            rows, cols = np.nonzero((cand == best[d]) & (cand < before))
            rows, cols = rows[::-1], cols[::-1]
            back[d[rows], cols] = arcs[rows]
        totals = best[self.final_state] + (
            w[None, :] * self.final_graph.astype(np.float64)[:, None] + self.final_ac.astype(np.float64)[:, None]
        )
        src, olabel = self.src.tolist(), self.olabel.tolist()
        results = []
        for j in range(w.size):
            k = int(np.argmin(totals[:, j]))
            if not np.isfinite(totals[k, j]):
                raise LatticeError("no final state is reachable from the start state")
            words: list[int] = []
            s = int(self.final_state[k])
            back_j = back[:, j]
            while s != self.start:
                a = int(back_j[s])
                if olabel[a] != 0:
                    words.append(olabel[a])
                s = src[a]
            words.reverse()
            results.append((words, float(totals[k, j])))
        return results


def _arcs_by_source(lat: RawLattice) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(lat.num_states)]
    for a, s in enumerate(lat.src.tolist()):
        out[s].append(a)
    return out


def lattice_from_text(text: str, acoustic_scale: float) -> RawLattice:
    """Build a :class:`RawLattice` from OpenFst text of a Kaldi lattice (``Lattice.to_str()``).

    Lines are ``src dst ilabel olabel [g,a]`` or ``state [g,a]`` (final); a missing weight is
    One (0,0). Acoustic costs are divided by ``acoustic_scale`` (the decoder saw scaled
    log-likelihoods) so the stored costs are unscaled, as in Kaldi's lattice archives.
    """
    src, dst, il, ol, g, a = [], [], [], [], [], []
    fs, fg, fa = [], [], []
    start = None
    max_state = -1
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if len(fields) >= 4:
            s, d = int(fields[0]), int(fields[1])
            if start is None:
                start = s
            src.append(s)
            dst.append(d)
            il.append(int(fields[2]))
            ol.append(int(fields[3]))
            gw, aw = _weight(fields[4] if len(fields) > 4 else None)
            g.append(gw)
            a.append(aw)
            max_state = max(max_state, s, d)
        else:
            s = int(fields[0])
            if start is None:
                start = s
            gw, aw = _weight(fields[1] if len(fields) > 1 else None)
            fs.append(s)
            fg.append(gw)
            fa.append(aw)
            max_state = max(max_state, s)
    inv = 1.0 / acoustic_scale
    return RawLattice(
        num_states=max_state + 1,
        start=0 if start is None else start,
        src=np.asarray(src, dtype=np.int32),
        dst=np.asarray(dst, dtype=np.int32),
        ilabel=np.asarray(il, dtype=np.int32),
        olabel=np.asarray(ol, dtype=np.int32),
        graph_cost=np.asarray(g, dtype=np.float32),
        ac_cost=(np.asarray(a, dtype=np.float64) * inv).astype(np.float32),
        final_state=np.asarray(fs, dtype=np.int32),
        final_graph=np.asarray(fg, dtype=np.float32),
        final_ac=(np.asarray(fa, dtype=np.float64) * inv).astype(np.float32),
    )


def _weight(field: str | None) -> tuple[float, float]:
    if field is None:
        return 0.0, 0.0
    gw, _, aw = field.partition(",")
    return float(gw), float(aw)


def save_lattices(path: str | Path, lattices: Mapping[str, RawLattice]) -> None:
    """Save many utterances' lattices in one ``.npz`` (atomically)."""
    utts = sorted(lattices)
    arrays: dict[str, np.ndarray] = {"utts": np.asarray(utts, dtype=str)}
    arrays["num_states"] = np.asarray([lattices[u].num_states for u in utts], dtype=np.int64)
    arrays["start"] = np.asarray([lattices[u].start for u in utts], dtype=np.int64)
    arrays["arc_offsets"] = np.cumsum([0] + [lattices[u].num_arcs for u in utts]).astype(np.int64)
    arrays["final_offsets"] = np.cumsum([0] + [lattices[u].final_state.size for u in utts]).astype(np.int64)
    for name in _ARC_FIELDS + _FINAL_FIELDS:
        parts = [getattr(lattices[u], name) for u in utts]
        arrays[name] = np.concatenate(parts) if parts else np.zeros(0)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def load_lattices(path: str | Path) -> dict[str, RawLattice]:
    """Load what :func:`save_lattices` wrote."""
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise LatticeError(f"{path}: cannot read lattice file: {err}") from None
    with data:
        try:
            utts = [str(u) for u in data["utts"]]
            ao, fo = data["arc_offsets"], data["final_offsets"]
            arrays = {name: data[name] for name in _ARC_FIELDS + _FINAL_FIELDS}
            out = {}
            for i, u in enumerate(utts):
                arc = {n: arrays[n][ao[i]:ao[i + 1]] for n in _ARC_FIELDS}
                fin = {n: arrays[n][fo[i]:fo[i + 1]] for n in _FINAL_FIELDS}
                out[u] = RawLattice(int(data["num_states"][i]), int(data["start"][i]), **arc, **fin)
        except KeyError as err:
            raise LatticeError(f"{path}: not an nghf lattice file (missing {err})") from None
    return out
