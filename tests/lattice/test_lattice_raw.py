"""nghf.lattice.raw: the word insertion penalty against best paths found by enumerating every path."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nghf.lattice.raw import RawLattice


def _random_dag(rng: np.random.Generator, num_states: int = 7) -> RawLattice:
    """A layered DAG: arcs only go forward, some carry words (olabel != 0), state 0 starts, the last ends."""
    arcs = []
    for s, d in itertools.combinations(range(num_states), 2):
        if d == s + 1 or rng.random() < 0.35:
            word = int(rng.integers(1, 5)) if rng.random() < 0.6 else 0
            arcs.append((s, d, 1, word, float(rng.uniform(0, 3)), float(rng.uniform(0, 10))))
    return RawLattice.from_arcs(num_states, 0, {num_states - 1: (0.5, 0.0)}, arcs)


def _all_paths(lat: RawLattice) -> list[tuple[list[int], float, float]]:
    """(words, graph cost, acoustic cost) of every start-to-final path."""
    out_arcs: dict[int, list[int]] = {}
    for a, s in enumerate(lat.src.tolist()):
        out_arcs.setdefault(s, []).append(a)
    paths = []

    def walk(state: int, words: list[int], graph: float, ac: float) -> None:
        if state in lat.finals:
            fg, fa = lat.finals[state]
            paths.append((words, graph + fg, ac + fa))
        for a in out_arcs.get(state, []):
            w = int(lat.olabel[a])
            walk(int(lat.dst[a]), words + ([w] if w else []), graph + float(lat.graph_cost[a]),
                 ac + float(lat.ac_cost[a]))

    walk(lat.start, [], 0.0, 0.0)
    return paths


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("penalty", [0.0, 0.5, 2.0, -0.5])
def test_word_penalty_best_path_matches_enumeration(seed, penalty):
    lat = _random_dag(np.random.default_rng(seed))
    for lmwt in (2.0, 7.0, 12.0):
        words, cost = lat.with_word_penalty(penalty).best_path(lmwt)
        costs = [lmwt * (g + penalty * len(w)) + a for w, g, a in _all_paths(lat)]
        assert cost == pytest.approx(min(costs))
        best = [w for (w, _, _), c in zip(_all_paths(lat), costs, strict=True) if c == pytest.approx(min(costs))]
        assert words in best


def test_a_large_penalty_prefers_the_path_with_fewer_words():
    # Two paths: three words (cheaper acoustically) or one word.
    arcs = [(0, 1, 1, 7, 1.0, 1.0), (1, 2, 1, 8, 1.0, 1.0), (2, 4, 1, 9, 1.0, 1.0),
            (0, 3, 1, 0, 1.0, 6.0), (3, 4, 1, 5, 2.0, 3.0)]
    lat = RawLattice.from_arcs(5, 0, {4: (0.0, 0.0)}, arcs)
    assert lat.best_path(1.0)[0] == [7, 8, 9]
    assert lat.with_word_penalty(0.0) is lat
    assert lat.with_word_penalty(5.0).best_path(1.0)[0] == [5]
    assert lat.with_word_penalty(-5.0).best_path(1.0)[0] == [7, 8, 9]
