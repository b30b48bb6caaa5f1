"""Seeded random lattices for tests and benchmarks.

* :func:`random_lattice` — a frame-synchronous lattice with a given number of states per frame
  and arcs per frame; every state is on some complete path.
* :func:`random_alignment_path` — a random complete path of a lattice, as an alignment (so a
  numerator whose pdfs are in the denominator lattice).
* :func:`random_raw_lattice` — a raw, epsilon-heavy state-level lattice as a Kaldi decoder would
  produce (input labels transition-ids or 0, output labels words, (graph, acoustic) costs).

A transition-id ``i ≥ 1`` maps to pdf ``tid_to_pdf[i]`` and phone ``tid_to_phone[i]`` of a
:class:`TransitionTable` (index 0 is unused, as in Kaldi).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from nghf.lattice.raw import RawLattice
from nghf.lattice.types import Lattice


@dataclasses.dataclass(frozen=True)
class TransitionTable:
    """Maps transition-ids to pdf-ids and phone-ids (index 0 = epsilon, unused)."""

    tid_to_pdf: np.ndarray
    tid_to_phone: np.ndarray

    @property
    def num_tids(self) -> int:
        return len(self.tid_to_pdf) - 1


def random_transition_table(rng: np.random.Generator, num_pdfs: int, num_phones: int, tids_per_pdf: int = 2) -> TransitionTable:
    """Every pdf gets ``tids_per_pdf`` transition-ids; every pdf belongs to one phone (1-based)."""
    pdf_phone = rng.integers(1, num_phones + 1, size=num_pdfs)
    pdf_phone[: min(num_pdfs, num_phones)] = np.arange(1, min(num_pdfs, num_phones) + 1)
    pdfs = np.repeat(np.arange(num_pdfs), tids_per_pdf)
    return TransitionTable(
        tid_to_pdf=np.concatenate([[0], pdfs]).astype(np.int64),
        tid_to_phone=np.concatenate([[0], pdf_phone[pdfs]]).astype(np.int64),
    )


def random_lattice(
    seed: int | np.random.Generator,
    num_frames: int,
    states_per_frame: int = 3,
    arcs_per_frame: int = 6,
    num_pdfs: int = 5,
    num_phones: int = 3,
    table: TransitionTable | None = None,
    utt_id: str = "utt",
    num_words: int = 4,
) -> Lattice:
    """A random connected frame-synchronous lattice.

    Time 0 has the start state, times ``1..T`` have ``states_per_frame`` states each (all states
    of time T are final, with small random final costs). Each frame gets at least enough arcs
    to give every state an incoming and an outgoing arc, then random extra arcs up to
    ``arcs_per_frame``.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    table = table or random_transition_table(rng, num_pdfs, num_phones)
    layers = [[0]] + [list(range(1 + (t - 1) * states_per_frame, 1 + t * states_per_frame)) for t in range(1, num_frames + 1)]
    arcs = []
    for t in range(num_frames):
        here, nxt = layers[t], layers[t + 1]
        pairs = set()
        for i, d in enumerate(nxt):  # every next state gets an incoming arc
            pairs.add((here[i % len(here)] if i < len(here) else int(rng.choice(here)), d))
        for s in here:  # every state gets an outgoing arc
            if not any(p[0] == s for p in pairs):
                pairs.add((s, int(rng.choice(nxt))))
        plist = list(pairs)
        while len(plist) < arcs_per_frame:
            plist.append((int(rng.choice(here)), int(rng.choice(nxt))))
        for s, d in plist:
            tid = int(rng.integers(1, table.num_tids + 1))
            word = int(rng.integers(1, num_words + 1)) if rng.random() < 0.2 else 0
            arcs.append((s, d, int(table.tid_to_pdf[tid]), tid, int(table.tid_to_phone[tid]),
                         float(rng.uniform(0.0, 2.0)), word))
    finals = {s: float(rng.uniform(0.0, 0.5)) for s in layers[-1]}
    return Lattice.from_arcs(utt_id, num_frames, 0, finals, arcs)


def random_alignment_path(seed: int | np.random.Generator, lat: Lattice, utt_id: str | None = None) -> Lattice:
    """A uniformly chosen arc sequence (frame by frame) of ``lat`` as a single-path lattice."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    final = int(lat.final_states[rng.integers(len(lat.final_states))])
    # Walk backwards from a final state so the path is complete.
    state, chosen = final, []
    for _ in range(lat.num_frames):
        into = (lat.dst == state).nonzero().flatten()
        a = int(into[rng.integers(len(into))])
        chosen.append(a)
        state = int(lat.src[a])
    chosen = chosen[::-1]
    idx = torch.tensor(chosen)
    return Lattice.from_alignment(
        utt_id or lat.utt_id, lat.pdf[idx], lat.tid[idx], lat.phone[idx], lat.graph_cost[idx]
    )


def random_scores(seed: int, batch: int, frames: int, pdfs: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``(B, T, D)`` random log-likelihood-like scores."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, frames, pdfs, generator=gen, dtype=dtype)


def random_raw_lattice(
    seed: int | np.random.Generator,
    num_frames: int,
    table: TransitionTable,
    emitting_per_frame: int = 3,
    eps_per_frame: int = 4,
    num_words: int = 5,
) -> RawLattice:
    """A random epsilon-heavy raw lattice whose every complete path has ``num_frames`` emitting arcs.

    Per frame ``t`` there are "pre" states (before the frame's emitting arc) and "post" states;
    emitting arcs go pre(t) → post(t); epsilon arcs (some with words, some through an extra
    intermediate state, some parallel) go post(t) → pre(t+1). The start state is post(-1) and
    epsilon paths also lead from post(T-1) to final states.
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    next_id = [0]

    def new_states(n: int) -> list[int]:
        ids = list(range(next_id[0], next_id[0] + n))
        next_id[0] += n
        return ids

    start = new_states(1)
    arcs: list[tuple[int, int, int, int, float, float]] = []

    def eps_layer(srcs: list[int], dsts: list[int], words: int) -> None:
        for d in dsts:  # every destination reachable
            s = int(rng.choice(srcs))
            arcs.append((s, d, 0, _word(rng, words), float(rng.uniform(0, 1)), 0.0))
        for s in srcs:
            if not any(a[0] == s for a in arcs):
                arcs.append((s, int(rng.choice(dsts)), 0, _word(rng, words), float(rng.uniform(0, 1)), 0.0))
        for _ in range(eps_per_frame):
            s, d = int(rng.choice(srcs)), int(rng.choice(dsts))
            if rng.random() < 0.4:  # an epsilon chain through an intermediate state
                (m,) = new_states(1)
                arcs.append((s, m, 0, _word(rng, words), float(rng.uniform(0, 1)), 0.0))
                arcs.append((m, d, 0, 0, float(rng.uniform(0, 1)), 0.0))
            else:  # a parallel epsilon arc
                arcs.append((s, d, 0, _word(rng, words), float(rng.uniform(0, 1)), 0.0))

    post = start
    for _ in range(num_frames):
        pre = new_states(int(rng.integers(1, 3)))
        eps_layer(post, pre, num_words)
        post = new_states(int(rng.integers(1, 3)))
        for d in post:
            s = int(rng.choice(pre))
            arcs.append((s, d, int(rng.integers(1, table.num_tids + 1)), 0, float(rng.uniform(0, 1)), float(rng.uniform(0, 5))))
        for _ in range(emitting_per_frame):
            arcs.append((int(rng.choice(pre)), int(rng.choice(post)), int(rng.integers(1, table.num_tids + 1)), 0,
                         float(rng.uniform(0, 1)), float(rng.uniform(0, 5))))
    finals_states = new_states(2)
    eps_layer(post, finals_states, 0)  # no words after the last frame
    finals = {f: (float(rng.uniform(0, 0.5)), 0.0) for f in finals_states}
    if rng.random() < 0.5:  # sometimes a post state is final directly
        finals[post[0]] = (float(rng.uniform(0, 0.5)), 0.0)
    return RawLattice.from_arcs(next_id[0], start[0], finals, arcs)


def _word(rng: np.random.Generator, num_words: int) -> int:
    return int(rng.integers(1, num_words + 1)) if num_words and rng.random() < 0.3 else 0
