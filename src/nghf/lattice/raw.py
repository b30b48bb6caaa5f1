"""Raw state-level decoder lattices: one type for the decoder's lattices and Kaldi's.

A :class:`RawLattice` is the state-level lattice of one utterance as Kaldi's
``LatticeSimpleDecoder`` produces it before determinisation (its raw lattice), stored as
parallel arc arrays with the two Kaldi lattice costs kept apart: ``graph_cost`` (LM +
transition + pronunciation) and ``ac_cost`` (acoustic). ``ilabel`` is a transition-id or 0
(input epsilon), ``olabel`` a word (0 = none). The decoder stores unscaled acoustic costs
(negated log-likelihoods), as Kaldi's lattice archives do.

The decoder (:mod:`nghf.decode`) makes them, :mod:`.convert` turns them into frame-synchronous
lattices and :mod:`.kaldi_io` reads and writes them as Kaldi archives; :meth:`RawLattice.from_arcs`
builds one from arc tuples (or an ``(A, 6)`` array) and a ``{state: (graph, acoustic)}`` map.

The best path at LM weight ``w`` minimises ``w * graph + ac`` over complete paths, which orders
paths exactly as Kaldi's ``lattice-scale --inv-acoustic-scale=w | lattice-best-path``
(``graph + ac / w``), without decoding again (:func:`sweep_best_paths`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence

import numpy as np

from nghf.lattice.types import LatticeError

RawArc = tuple[int, int, int, int, float, float]
"""``(src, dst, ilabel (transition-id or 0), olabel (word or 0), graph_cost, acoustic_cost)``."""


@dataclasses.dataclass(frozen=True, eq=False)
class RawLattice:
    """One utterance's raw lattice: arcs, final states and their final costs, start state."""

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

    @classmethod
    def from_arcs(cls, num_states: int, start: int, finals: Mapping[int, tuple[float, float]],
                  arcs: Sequence[RawArc] | np.ndarray) -> RawLattice:
        """A lattice from arc tuples (or an ``(A, 6)`` array with the same columns) and a
        ``{state: (graph_cost, acoustic_cost)}`` map of final states; ids become int64 arrays
        and costs float64."""
        cols = np.asarray(arcs, dtype=np.float64)
        cols = cols.reshape(0, 6) if cols.size == 0 else cols
        ids = cols[:, :4].astype(np.int64)
        fin = np.asarray(list(finals.values()), dtype=np.float64).reshape(-1, 2)
        return cls(num_states=num_states, start=start, src=ids[:, 0], dst=ids[:, 1], ilabel=ids[:, 2],
                   olabel=ids[:, 3], graph_cost=cols[:, 4], ac_cost=cols[:, 5],
                   final_state=np.fromiter(finals, dtype=np.int64, count=len(finals)),
                   final_graph=fin[:, 0], final_ac=fin[:, 1])

    def __eq__(self, other: object) -> bool:
        """Same states, arcs and finals in the same order (values compared, not dtypes)."""
        if not isinstance(other, RawLattice):
            return NotImplemented
        return (self.num_states, self.start) == (other.num_states, other.start) and all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self)[2:])

    @property
    def num_arcs(self) -> int:
        return int(self.src.size)

    @functools.cached_property
    def finals(self) -> dict[int, tuple[float, float]]:
        """``{final state: (graph_cost, acoustic_cost)}`` in the order of ``final_state``."""
        return {int(s): (float(g), float(a)) for s, g, a in
                zip(self.final_state.tolist(), self.final_graph.tolist(), self.final_ac.tolist(), strict=True)}

    def arc_table(self) -> np.ndarray:
        """The arcs as an ``(A, 6)`` float64 array: src, dst, ilabel, olabel, graph, acoustic."""
        cols = (self.src, self.dst, self.ilabel, self.olabel, self.graph_cost, self.ac_cost)
        return np.column_stack(cols).astype(np.float64).reshape(-1, 6)

    def with_word_penalty(self, penalty: float) -> RawLattice:
        """This lattice with ``penalty`` added to the graph cost of every arc that emits a word
        (Kaldi's ``lattice-add-penalty --word-ins-penalty``): at LM weight ``w`` each word of a
        path then costs ``w * penalty`` more, so a positive penalty favours shorter hypotheses."""
        if penalty == 0.0:
            return self
        return dataclasses.replace(self, graph_cost=self.graph_cost + penalty * (self.olabel != 0))

    def topological_order(self) -> list[int]:
        """States in an order where every arc goes forward (Kahn); cyclic lattices are errors."""
        indeg = np.bincount(self.dst, minlength=self.num_states).tolist()
        out_arcs = _arcs_by_source(self)
        order = [s for s in range(self.num_states) if indeg[s] == 0]
        head = 0
        dst = self.dst.tolist()
        while head < len(order):
            s = order[head]
            head += 1
            for a in out_arcs[s]:
                d = dst[a]
                indeg[d] -= 1
                if indeg[d] == 0:
                    order.append(d)
        if len(order) != self.num_states:
            raise LatticeError("lattice has a cycle; cannot take a best path")
        return order

    def best_path(self, lm_weight: float) -> tuple[list[int], float]:
        """Word ids of the best path at ``lm_weight`` and its cost ``w * graph + ac``."""
        return self.best_paths([lm_weight])[0]

    def best_paths(self, lm_weights: Sequence[float]) -> list[tuple[list[int], float]]:
        """:meth:`best_path` at every weight of ``lm_weights`` in one pass over the lattice
        (:func:`sweep_best_paths` of this lattice alone)."""
        return sweep_best_paths([self], lm_weights)[0]


def sweep_best_paths(lattices: Sequence[RawLattice], lm_weights: Sequence[float],
                     names: Sequence[str] | None = None, max_states: int = 200_000) -> list[list[tuple[list[int], float]]]:
    """Best path (word ids, cost ``w * graph + ac``) of every lattice at every LM weight.

    The lattices are processed together, in groups of about ``max_states`` states: the Viterbi
    recursion runs over topological layers (longest arc count from a state without incoming
    arcs), and one layer of every lattice of a group is relaxed at once with a column of path
    costs per LM weight; the trace-back follows all (lattice, weight) pairs in step. The work
    in Python is proportional to the longest lattice's depth, not to the sum over lattices.
    Ties: an arc from an earlier layer is kept (strict ``<``); within a layer the lowest arc
    index of the lattice wins. ``names`` (e.g. utterance ids) label errors.
    """
    w = np.asarray(lm_weights, dtype=np.float64)
    names = list(names) if names is not None else [f"lattice {i}" for i in range(len(lattices))]
    for name, lat in zip(names, lattices, strict=True):
        if lat.num_states == 0 or lat.final_state.size == 0:
            raise LatticeError(f"{name}: empty lattice (no final state reached)")
    out: list[list[tuple[list[int], float]]] = []
    group: list[int] = []
    size = 0
    for i, lat in enumerate(lattices):
        group.append(i)
        size += lat.num_states
        if size >= max_states or i == len(lattices) - 1:
            out.extend(_sweep_group([lattices[j] for j in group], [names[j] for j in group], w))
            group, size = [], 0
    return out


def _concatenated(lats: Sequence[RawLattice]) -> dict[str, np.ndarray]:
    """The lattices as one graph: state ids offset, arcs and finals concatenated in order."""
    state_off = np.cumsum([0] + [lat.num_states for lat in lats])
    arc_lat = np.repeat(np.arange(len(lats)), [lat.num_arcs for lat in lats])
    fin_lat = np.repeat(np.arange(len(lats)), [lat.final_state.size for lat in lats])
    cat = {name: np.concatenate([getattr(lat, name) for lat in lats])
           for name in ("src", "dst", "olabel", "graph_cost", "ac_cost", "final_state", "final_graph", "final_ac")}
    cat["src"] = cat["src"].astype(np.int64) + state_off[arc_lat]
    cat["dst"] = cat["dst"].astype(np.int64) + state_off[arc_lat]
    cat["final_state"] = cat["final_state"].astype(np.int64) + state_off[fin_lat]
    cat["fin_lat"] = fin_lat
    cat["start"] = state_off[:-1] + np.asarray([lat.start for lat in lats], dtype=np.int64)
    cat["num_states"] = np.asarray(state_off[-1])
    cat["state_off"] = state_off
    return cat


def _layers(src: np.ndarray, dst: np.ndarray, num_states: int) -> np.ndarray:
    """Kahn's algorithm one layer at a time: a state's layer is the round its last incoming
    arc is removed in, i.e. its longest arc count from a state without incoming arcs. States
    left with incoming arcs are on a cycle: layer -1."""
    indeg = np.bincount(dst, minlength=num_states)
    by_src = np.argsort(src, kind="stable")
    first = np.searchsorted(src[by_src], np.arange(num_states + 1))
    layer = np.full(num_states, -1, dtype=np.int64)
    frontier = np.flatnonzero(indeg == 0)
    depth = 0
    while frontier.size:
        layer[frontier] = depth
        counts = first[frontier + 1] - first[frontier]
        starts = np.repeat(first[frontier] - np.cumsum(counts) + counts, counts)
        arcs = by_src[starts + np.arange(counts.sum())]
        reached = dst[arcs]
        indeg -= np.bincount(reached, minlength=num_states)
        cand = np.unique(reached)
        frontier = cand[indeg[cand] == 0]
        depth += 1
    return layer


def _sweep_group(lats: Sequence[RawLattice], names: Sequence[str], w: np.ndarray) -> list[list[tuple[list[int], float]]]:
    g = _concatenated(lats)
    src, dst, n = g["src"], g["dst"], int(g["num_states"])
    layer = _layers(src, dst, n)
    if (layer < 0).any():
        bad = int(np.searchsorted(g["state_off"], int(np.flatnonzero(layer < 0)[0]), side="right")) - 1
        raise LatticeError(f"{names[bad]}: lattice has a cycle; cannot take a best path")
    cost = w[None, :] * g["graph_cost"].astype(np.float64)[:, None] + g["ac_cost"].astype(np.float64)[:, None]
    src_layer = layer[src]
    by_layer = np.argsort(src_layer, kind="stable")
    bounds = np.flatnonzero(np.diff(src_layer[by_layer])) + 1
    best = np.full((n, w.size), np.inf)
    best[g["start"]] = 0.0
    back = np.full((n, w.size), -1, dtype=np.int64)
    for arcs in np.split(by_layer, bounds):
        d = dst[arcs]
        cand = best[src[arcs]] + cost[arcs]
        before = best[d]
        np.minimum.at(best, d, cand)
        rows, cols = np.nonzero((cand == best[d]) & (cand < before))
        rows, cols = rows[::-1], cols[::-1]
        back[d[rows], cols] = arcs[rows]
    totals = best[g["final_state"]] + (
        w[None, :] * g["final_graph"].astype(np.float64)[:, None] + g["final_ac"].astype(np.float64)[:, None])
    # The best final state of each lattice and weight (the first one on ties).
    fin_lat = g["fin_lat"]
    fin_first = np.searchsorted(fin_lat, np.arange(len(lats)))
    seg_min = np.minimum.reduceat(totals, fin_first, axis=0)
    is_min = totals == seg_min[fin_lat]
    pos = np.where(is_min, np.arange(totals.shape[0])[:, None], totals.shape[0])
    chosen = np.minimum.reduceat(pos, fin_first, axis=0)  # (lattices, weights)
    best_cost = seg_min
    unreachable = ~np.isfinite(best_cost)
    if unreachable.any():
        raise LatticeError(f"{names[int(np.argwhere(unreachable)[0, 0])]}: no final state is reachable from the start state")
    # Trace back every (lattice, weight) pair in step.
    cur = g["final_state"][chosen]  # (lattices, weights) current states
    start = g["start"][:, None]
    cols = np.broadcast_to(np.arange(w.size), cur.shape)
    steps: list[np.ndarray] = []
    active = cur != start
    while active.any():
        arc = np.where(active, back[cur, cols], -1)
        steps.append(arc)
        cur = np.where(active, src[np.maximum(arc, 0)], cur)
        active = cur != start
    labels = np.stack([np.where(a >= 0, g["olabel"][np.maximum(a, 0)], 0) for a in steps]) if steps else \
        np.zeros((0,) + cur.shape, dtype=np.int64)
    out = []
    for i in range(len(lats)):
        row = []
        for j in range(w.size):
            seq = labels[:, i, j]
            row.append(([int(x) for x in seq[seq != 0][::-1]], float(best_cost[i, j])))
        out.append(row)
    return out


def _arcs_by_source(lat: RawLattice) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(lat.num_states)]
    for a, s in enumerate(lat.src.tolist()):
        out[s].append(a)
    return out
