"""The lexicon transducer L (phones -> words), built as Kaldi's ``make_lexicon_fst.py`` does.

With optional silence (``sil_prob`` in (0, 1)) there are three fixed states: the start
state 0, the loop state 1 (final; words start and end here) and the silence state 2.
From the start, an epsilon arc goes to the loop state with cost -log(1 - sil_prob) and
one to the silence state with cost -log(sil_prob); the silence state emits the optional
silence phone (followed in ``L_disambig`` by the silence disambiguation symbol) and
returns to the loop state. Each pronunciation is a chain from the loop state whose first
arc outputs the word (cost -log(pron_prob)) and whose last phone goes either back to the
loop state (no silence follows, cost -log(1 - sil_prob)) or to the silence state (cost
-log(sil_prob)). With ``sil_prob == 0`` the loop state is the start state and there is
no silence. The result is an OpenFst ``StdVectorFst`` (tropical weights = costs).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from nghf._kaldi import kaldifst


@dataclass(frozen=True)
class IntPron:
    """A pronunciation in integer form: word id, probability, phone ids (may end in #k)."""

    word: int
    prob: float
    phones: tuple[int, ...]


def make_lexicon_fst(
    prons: Sequence[IntPron],
    sil_prob: float,
    sil_phone: int,
    sil_disambig: int | None = None,
) -> kaldifst.StdVectorFst:
    """Build L (or L_disambig when the prons carry #k and ``sil_disambig`` is given)."""
    if not 0.0 <= sil_prob < 1.0:
        raise ValueError(f"sil_prob must be in [0, 1), got {sil_prob}")
    fst = kaldifst.StdVectorFst()
    arc = kaldifst.StdArc
    if sil_prob == 0.0:
        loop = fst.add_state()
        fst.start = loop
        for p in prons:
            _add_chain(fst, loop, p, [(loop, 0.0)])
        fst.set_final(loop, 0.0)
        return fst
    sil_cost = -math.log(sil_prob)
    no_sil_cost = -math.log(1.0 - sil_prob)
    start, loop, sil = fst.add_state(), fst.add_state(), fst.add_state()
    fst.start = start
    fst.add_arc(start, arc(0, 0, no_sil_cost, loop))
    fst.add_arc(start, arc(0, 0, sil_cost, sil))
    if sil_disambig is None:
        fst.add_arc(sil, arc(sil_phone, 0, 0.0, loop))
    else:
        mid = fst.add_state()
        fst.add_arc(sil, arc(sil_phone, 0, 0.0, mid))
        fst.add_arc(mid, arc(sil_disambig, 0, 0.0, loop))
    for p in prons:
        _add_chain(fst, loop, p, [(loop, no_sil_cost), (sil, sil_cost)])
    fst.set_final(loop, 0.0)
    return fst


def _add_chain(
    fst: kaldifst.StdVectorFst, loop: int, pron: IntPron, exits: Sequence[tuple[int, float]]
) -> None:
    arc = kaldifst.StdArc
    pron_cost = -math.log(pron.prob)
    phones = pron.phones
    cur = loop
    for i in range(len(phones) - 1):
        nxt = fst.add_state()
        fst.add_arc(cur, arc(phones[i], pron.word if i == 0 else 0, pron_cost if i == 0 else 0.0, nxt))
        cur = nxt
    last = len(phones) - 1
    for dest, cost in exits:
        fst.add_arc(
            cur,
            arc(
                phones[last] if last >= 0 else 0,
                pron.word if last <= 0 else 0,
                cost + (pron_cost if last <= 0 else 0.0),
                dest,
            ),
        )


@dataclass(frozen=True)
class Path:
    """One complete path: non-epsilon input and output labels and its total cost."""

    ilabels: tuple[int, ...]
    olabels: tuple[int, ...]
    cost: float


def enumerate_paths(fst: kaldifst.StdVectorFst, max_arcs: int) -> Iterator[Path]:
    """Every path from the start to a final state with at most ``max_arcs`` arcs.

    Brute-force enumeration for tests and checks on small FSTs (exponential in general).
    """
    start = fst.start
    if start < 0:
        return
    inf = math.inf
    stack: list[tuple[int, tuple[int, ...], tuple[int, ...], float, int]] = [(start, (), (), 0.0, 0)]
    while stack:
        state, ins, outs, cost, depth = stack.pop()
        final = fst.final(state).value
        if final != inf:
            yield Path(ins, outs, cost + final)
        if depth == max_arcs:
            continue
        for a in kaldifst.ArcIterator(fst, state):
            stack.append(
                (
                    a.nextstate,
                    ins + ((a.ilabel,) if a.ilabel else ()),
                    outs + ((a.olabel,) if a.olabel else ()),
                    cost + a.weight.value,
                    depth + 1,
                )
            )


def fst_labels(fst: kaldifst.StdVectorFst) -> tuple[set[int], set[int]]:
    """The sets of input and output labels used on the arcs of ``fst``."""
    ins: set[int] = set()
    outs: set[int] = set()
    for state in range(fst.num_states):
        for a in kaldifst.ArcIterator(fst, state):
            ins.add(a.ilabel)
            outs.add(a.olabel)
    return ins, outs
