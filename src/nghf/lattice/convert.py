"""Raw state-level decoder lattices → frame-synchronous :class:`~nghf.lattice.types.Lattice`.

A raw lattice (what Kaldi's ``LatticeSimpleDecoder`` produces before determinisation) has arcs
``(src, dst, ilabel, olabel, graph_cost, acoustic_cost)`` where ``ilabel`` is a transition-id
or 0 (input epsilon) and ``olabel`` a word (0 = none). Every complete path has exactly ``T``
non-epsilon arcs.

Conversion removes the input epsilons: each output arc is "an epsilon path, then one emitting
arc". Output states are the start state and the destinations of emitting arcs; for each
output state ``q`` the epsilon closure (all states reachable through epsilon arcs, with the
log-semiring sum of the graph costs of all epsilon paths, kept apart by the words those paths
carry) is combined with the emitting arcs leaving each closure state. Epsilon paths to final
states become final costs; if such a trailing path carries a word, the destination state is
split per word sequence and the word moves onto the arcs that enter it. Identical output arcs
(same states, transition-id and word) are merged by log-adding their costs. The weighted set
of (transition-id sequence, graph cost) pairs — summed in the log semiring over paths with the
same sequence — is unchanged; the tests check exactly that against path enumeration.

Words: an output arc holds one word. When an epsilon path plus its emitting arc carries
several words (the determinised graph can emit a word's label late, right before the next
word's), the arc takes the first and the others wait in the destination state, which is
split per pending word sequence (output states are pairs ``(raw state, pending words)``);
the next arcs take them in order. Word sequences of all paths are therefore unchanged
(checked against enumeration); only the frame a word label sits on moves. Still rejected
(an error naming the utterance): more pending words than frames left at the very end, and
epsilon cycles (their log-semiring closure would be an infinite series).

Acoustic costs of the raw lattice are not kept: the sequence criteria recompute acoustic scores
from the network.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nghf.lattice.raw import RawLattice
from nghf.lattice.types import Lattice, LatticeError, _build


def _log_add_cost(a: float, b: float) -> float:
    """Costs are ``-log`` weights: ``-log(e^-a + e^-b)``."""
    lo = min(a, b)
    return lo - math.log1p(math.exp(-abs(a - b)))


Closure = dict[tuple[int, tuple[int, ...]], float]


def _epsilon_closures(raw: RawLattice, eps_arcs: list[list[float]], utt_id: str) -> list[Closure]:
    """For every state: {(reachable state, words on the way): log-semiring cost}."""
    eps_out: dict[int, list[tuple[int, int, int, int, float]]] = {}
    indeg = [0] * raw.num_states
    for s_, d_, _, w_, c_, _ in eps_arcs:
        arc = (int(s_), int(d_), 0, int(w_), c_)
        eps_out.setdefault(arc[0], []).append(arc)
        indeg[arc[1]] += 1
    # Topological order of the epsilon subgraph (Kahn); leftover states lie on an epsilon cycle.
    order = [s for s in range(raw.num_states) if indeg[s] == 0]
    head = 0
    while head < len(order):
        s = order[head]
        head += 1
        for arc in eps_out.get(s, ()):
            indeg[arc[1]] -= 1
            if indeg[arc[1]] == 0:
                order.append(arc[1])
    if len(order) != raw.num_states:
        cyc = next(s for s in range(raw.num_states) if indeg[s] > 0)
        raise LatticeError(f"utterance {utt_id}: raw lattice has an epsilon cycle (through state {cyc})")
    closures: list[Closure] = [{} for _ in range(raw.num_states)]
    for s in reversed(order):
        clo: Closure = {(s, ()): 0.0}
        for _, d, _, word, cost in eps_out.get(s, ()):
            for (r, words), c in closures[d].items():
                key = (r, ((word,) + words) if word else words)
                total = cost + c
                clo[key] = _log_add_cost(clo[key], total) if key in clo else total
        closures[s] = clo
    return closures


def _one_word(words: tuple[int, ...], utt_id: str, where: str) -> int:
    if len(words) > 1:
        raise LatticeError(
            f"utterance {utt_id}: {where} carries several words {words}; a frame-synchronous arc holds one"
        )
    return words[0] if words else 0


def raw_to_lattice(
    raw: RawLattice,
    tid_to_pdf: np.ndarray | Sequence[int],
    tid_to_phone: np.ndarray | Sequence[int],
    utt_id: str,
    expected_frames: int | None = None,
) -> Lattice:
    """Convert a raw epsilon lattice to the frame-synchronous form (see the module docstring)."""
    tid_to_pdf = np.asarray(tid_to_pdf)
    tid_to_phone = np.asarray(tid_to_phone)
    cols = raw.arc_table()
    n = raw.num_states
    bad = np.flatnonzero((cols[:, 0] < 0) | (cols[:, 0] >= n) | (cols[:, 1] < 0) | (cols[:, 1] >= n))
    if bad.size:
        raise LatticeError(f"utterance {utt_id}: arc {_arc(cols[bad[0]])} refers to a state outside 0..{n - 1}")
    bad = np.flatnonzero((cols[:, 2] < 0) | (cols[:, 2] >= len(tid_to_pdf)))
    if bad.size:
        raise LatticeError(f"utterance {utt_id}: transition-id {int(cols[bad[0], 2])} is outside the transition model")
    bad = np.flatnonzero(~np.isfinite(cols[:, 4:6]).all(axis=1))
    if bad.size:
        raise LatticeError(f"utterance {utt_id}: arc {_arc(cols[bad[0]])} has a NaN/Inf cost")
    emitting = cols[:, 2] != 0
    closures = _epsilon_closures(raw, cols[~emitting].tolist(), utt_id)
    emit_out: dict[int, list[tuple[int, int, int, float]]] = {}
    for s_, d_, i_, w_, c_, _ in cols[emitting].tolist():
        emit_out.setdefault(int(s_), []).append((int(d_), int(i_), int(w_), c_))

    # Output states are (raw state, pending words); words that do not fit on their arc wait
    # in the state and go onto the next arcs (see the module docstring).
    ids: dict[tuple[int, tuple[int, ...]], int] = {(raw.start, ()): raw.start}
    next_state = raw.num_states

    def state_id(d: int, pend: tuple[int, ...]) -> int:
        nonlocal next_state
        key = (d, pend)
        if key not in ids:
            if pend:
                ids[key] = next_state
                next_state += 1
            else:
                ids[key] = d
            stack.append(key)
        return ids[key]

    merged: dict[tuple[int, int, int, int], float] = {}  # (q, dst, tid, word) -> cost
    final_words: dict[int, dict[tuple[int, ...], float]] = {}
    stack: list[tuple[int, tuple[int, ...]]] = [(raw.start, ())]
    while stack:
        q_raw, pend = stack.pop()
        q = ids[(q_raw, pend)]
        for (r, words), c in closures[q_raw].items():
            if r in raw.finals:
                fw = final_words.setdefault(q, {})
                total = c + raw.finals[r][0]
                key_w = pend + words
                fw[key_w] = _log_add_cost(fw[key_w], total) if key_w in fw else total
            before = pend + words
            for d, tid, word, cost in emit_out.get(r, ()):
                if before:
                    seq = before + (word,) if word else before
                    d_out, w_out = state_id(d, seq[1:]), seq[0]
                else:  # the common case: no words waiting
                    d_out, w_out = (ids[(d, ())] if (d, ()) in ids else state_id(d, ())), word
                key = (q, d_out, tid, w_out)
                total = c + cost
                old = merged.get(key)
                merged[key] = total if old is None else _log_add_cost(old, total)
    if not final_words:
        raise LatticeError(f"utterance {utt_id}: raw lattice has no path from the start to a final state")

    # Split final states whose trailing epsilon paths (or pending words) carry words.
    keys = np.array(list(merged), dtype=np.int64).reshape(-1, 4)  # (q, dst, tid, word)
    costs = np.fromiter(merged.values(), dtype=np.float64, count=len(merged))
    extra_keys: list[np.ndarray] = []
    extra_costs: list[np.ndarray] = []
    finals: dict[int, float] = {}
    for q, by_words in final_words.items():
        if () in by_words:
            finals[q] = by_words[()]
        for ws, c in by_words.items():
            if not ws:
                continue
            copy = next_state
            next_state += 1
            finals[copy] = c
            into = np.flatnonzero(keys[:, 1] == q)
            rows = keys[into].copy()
            for k, w in enumerate(rows[:, 3].tolist()):
                rows[k, 3] = _one_word(((w,) if w else ()) + ws, utt_id, f"the last arc into final state {q}")
            rows[:, 1] = copy
            extra_keys.append(rows)
            extra_costs.append(costs[into])
    if extra_keys:
        keys = np.concatenate([keys, *extra_keys])
        costs = np.concatenate([costs, *extra_costs])
    q_a, d_a, tid_a, w_a = keys.T
    num_frames = _path_length(raw.start, q_a.tolist(), d_a.tolist(), utt_id)
    return _build(
        utt_id, num_frames, raw.start, np.array(list(finals), dtype=np.int64),
        np.array(list(finals.values()), dtype=np.float64),
        src=np.ascontiguousarray(q_a), dst=np.ascontiguousarray(d_a), pdf=tid_to_pdf[tid_a].astype(np.int64),
        tid=np.ascontiguousarray(tid_a), phone=tid_to_phone[tid_a].astype(np.int64), graph_cost=costs,
        word=np.ascontiguousarray(w_a), expected_frames=expected_frames,
    )


def _arc(row: np.ndarray) -> tuple:
    """An arc row as the ``RawArc`` tuple an error message shows."""
    s_, d_, i_, w_, g_, a_ = row.tolist()
    return int(s_), int(d_), int(i_), int(w_), g_, a_


def _path_length(start: int, srcs: list[int], dsts: list[int], utt_id: str) -> int:
    """Number of emitting arcs on the paths of the converted lattice (from the first state times)."""
    times = {start: 0}
    frontier = [start]
    out: dict[int, list[int]] = {}
    for q, d in zip(srcs, dsts, strict=True):
        out.setdefault(q, []).append(d)
    longest = 0
    while frontier:
        nxt = []
        for s in frontier:
            for d in out.get(s, ()):
                if d not in times:
                    times[d] = times[s] + 1
                    longest = max(longest, times[d])
                    nxt.append(d)
        frontier = nxt
    if longest == 0:
        raise LatticeError(f"utterance {utt_id}: raw lattice has no emitting arc on any path")
    return longest
