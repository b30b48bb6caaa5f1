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
import warnings
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


def lattice_from_text(text: str, acoustic_scale: float) -> RawLattice:
    """Build a :class:`RawLattice` from OpenFst text of a Kaldi lattice (``Lattice.to_str()``).

    Lines are ``src dst ilabel olabel [g,a]`` or ``state [g,a]`` (final); a missing weight is
    One (0,0). Acoustic costs are divided by ``acoustic_scale`` (the decoder saw scaled
    log-likelihoods) so the stored costs are unscaled, as in Kaldi's lattice archives.

    Parsed with array operations, not line by line: a decoding lattice has thousands of arcs
    per utterance, and a per-line Python parser took a fifth of a decoding job's time.
    """
    raw = text.encode("ascii")
    chars = np.frombuffer(raw, dtype=np.uint8)
    comma = chars == ord(",")
    is_sep = comma | np.isin(chars, np.frombuffer(b" \t\r\n", dtype=np.uint8))
    token_start = np.flatnonzero(~is_sep & np.concatenate(([True], is_sep[:-1])))
    line_of_char = np.cumsum(chars == ord("\n"))
    num_lines = int(line_of_char[-1]) + 1 if chars.size else 0
    counts = np.bincount(line_of_char[token_start], minlength=num_lines)
    first = np.cumsum(counts) - counts                       # index of each line's first token
    values = _numbers(raw.replace(b",", b" ")) if token_start.size else np.zeros(0)
    if values.size != token_start.size:
        _malformed(text, int(line_of_char[token_start[values.size]]), "a field is not a number")
    # Line shapes: (fields, commas) is (1, 0) or (4, 0) without a weight, (3, 1) or (6, 1) with
    # one written 'g,a' as the last field, or (0, 0) for a blank line.
    comma_at = np.flatnonzero(comma)
    comma_line = line_of_char[comma_at]
    commas = np.bincount(comma_line, minlength=num_lines)
    shape_ok = ((commas == 0) & np.isin(counts, (0, 1, 4))) | ((commas == 1) & np.isin(counts, (3, 6)))
    last_token = token_start[np.maximum(first + counts - 1, 0)] if token_start.size else np.zeros(num_lines, np.int64)
    weight_ok = (last_token[comma_line] == comma_at + 1) & ~is_sep[np.maximum(comma_at - 1, 0)] & (comma_at > 0)
    shape_ok[comma_line[~weight_ok]] = False
    if not shape_ok.all():
        _malformed(text, int(np.flatnonzero(~shape_ok)[0]),
                   "expected 'src dst ilabel olabel [g,a]' or 'state [g,a]'")
    arcs, finals = counts >= 4, (counts == 1) | (counts == 3)
    a0, f0 = first[arcs], first[finals]
    int_fields = np.concatenate([(a0[:, None] + np.arange(4)).ravel(), f0])
    not_id = (values[int_fields] != np.floor(values[int_fields])) | (values[int_fields] < 0)
    if not_id.any():
        bad_token = int(int_fields[np.flatnonzero(not_id)[0]])
        _malformed(text, int(line_of_char[token_start[bad_token]]), "a state or label is not a whole number")

    def weights(start: np.ndarray, has_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        graph = np.where(has_weight, values[np.where(has_weight, start, 0)], 0.0)
        ac = np.where(has_weight, values[np.where(has_weight, start + 1, 0)], 0.0)
        return graph, ac

    arc_g, arc_a = weights(a0 + 4, counts[arcs] == 6)
    fin_g, fin_a = weights(f0 + 1, counts[finals] == 3)
    src = values[a0].astype(np.int32)
    dst = values[a0 + 1].astype(np.int32)
    final_state = values[f0].astype(np.int32)
    used = counts > 0
    start = int(values[first[used][0]]) if used.any() else 0
    num_states = 1 + max(int(src.max(initial=-1)), int(dst.max(initial=-1)), int(final_state.max(initial=-1)))
    inv = 1.0 / acoustic_scale
    return RawLattice(
        num_states=num_states,
        start=start,
        src=src,
        dst=dst,
        ilabel=values[a0 + 2].astype(np.int32),
        olabel=values[a0 + 3].astype(np.int32),
        graph_cost=arc_g.astype(np.float32),
        ac_cost=(arc_a * inv).astype(np.float32),
        final_state=final_state,
        final_graph=fin_g.astype(np.float32),
        final_ac=(fin_a * inv).astype(np.float32),
    )


def _malformed(text: str, line: int, what: str) -> None:
    raise LatticeError(f"lattice text line {line + 1}: {what}, got {text.split(chr(10))[line]!r}")


def _numbers(body: bytes) -> np.ndarray:
    """Whitespace-separated numbers of ``body`` up to the first that is not one (C parser)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # numpy warns where it stops early
        try:
            return np.fromstring(body, sep=" ")
        except ValueError:  # a later numpy raises instead of stopping early: find where
            numbers = []
            for token in body.split():
                try:
                    numbers.append(float(token))
                except ValueError:
                    break
            return np.asarray(numbers, dtype=np.float64)


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
