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

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from nghf.lattice.types import Lattice, LatticeError

RawArc = tuple[int, int, int, int, float, float]
"""``(src, dst, ilabel (transition-id or 0), olabel (word or 0), graph_cost, acoustic_cost)``."""


@dataclasses.dataclass(frozen=True)
class RawLattice:
    """A raw state-level lattice; ``finals`` maps a state to its ``(graph_cost, acoustic_cost)``."""

    num_states: int
    start: int
    finals: dict[int, tuple[float, float]]
    arcs: Sequence[RawArc]


def _log_add_cost(a: float, b: float) -> float:
    """Costs are ``-log`` weights: ``-log(e^-a + e^-b)``."""
    lo = min(a, b)
    return lo - math.log1p(math.exp(-abs(a - b)))


Closure = dict[tuple[int, tuple[int, ...]], float]


def _epsilon_closures(raw: RawLattice, utt_id: str) -> list[Closure]:
    """For every state: {(reachable state, words on the way): log-semiring cost}."""
    eps_out: dict[int, list[RawArc]] = {}
    indeg = [0] * raw.num_states
    for arc in raw.arcs:
        if arc[2] == 0:
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
        for _, d, _, word, cost, _ in eps_out.get(s, ()):
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
    for arc in raw.arcs:
        if not (0 <= arc[0] < raw.num_states and 0 <= arc[1] < raw.num_states):
            raise LatticeError(f"utterance {utt_id}: arc {arc} refers to a state outside 0..{raw.num_states - 1}")
        if arc[2] < 0 or arc[2] >= len(tid_to_pdf):
            raise LatticeError(f"utterance {utt_id}: transition-id {arc[2]} is outside the transition model")
        if not (math.isfinite(arc[4]) and math.isfinite(arc[5])):
            raise LatticeError(f"utterance {utt_id}: arc {arc} has a NaN/Inf cost")
    closures = _epsilon_closures(raw, utt_id)
    emit_out: dict[int, list[RawArc]] = {}
    for arc in raw.arcs:
        if arc[2] != 0:
            emit_out.setdefault(arc[0], []).append(arc)

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
            for _, d, tid, word, cost, _ in emit_out.get(r, ()):
                seq = pend + words + ((word,) if word else ())
                d_out = state_id(d, seq[1:])
                key = (q, d_out, tid, seq[0] if seq else 0)
                total = c + cost
                merged[key] = _log_add_cost(merged[key], total) if key in merged else total
    if not final_words:
        raise LatticeError(f"utterance {utt_id}: raw lattice has no path from the start to a final state")

    # Split final states whose trailing epsilon paths (or pending words) carry words.
    arcs_list = [(q, d, tid, w, c) for (q, d, tid, w), c in merged.items()]
    finals: dict[int, float] = {}
    for q, by_words in final_words.items():
        plain = {ws: c for ws, c in by_words.items() if not ws}
        worded = {ws: c for ws, c in by_words.items() if ws}
        if plain:
            finals[q] = plain[()]
        for ws, c in worded.items():
            copy = next_state
            next_state += 1
            finals[copy] = c
            for q0, d, tid, w, ac in list(arcs_list):
                if d == q:
                    nw = _one_word(((w,) if w else ()) + ws, utt_id, f"the last arc into final state {q}")
                    arcs_list.append((q0, copy, tid, nw, ac))
    rows = [
        (q, d, int(tid_to_pdf[tid]), tid, int(tid_to_phone[tid]), c, w) for q, d, tid, w, c in arcs_list
    ]
    num_frames = _path_length(raw, rows, utt_id)
    return Lattice.from_arcs(utt_id, num_frames, raw.start, finals, rows, expected_frames=expected_frames)


def _path_length(raw: RawLattice, rows: list[tuple[int, int, int, int, int, float, int]], utt_id: str) -> int:
    """Number of emitting arcs on the paths of the converted lattice (from the first state times)."""
    times = {raw.start: 0}
    frontier = [raw.start]
    out: dict[int, list[int]] = {}
    for q, d, *_ in rows:
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
