"""Raw epsilon lattices → frame-synchronous lattices, checked by path enumeration."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nghf.lattice.convert import RawLattice, raw_to_lattice
from nghf.lattice.enumerate import enumerate_paths, path_scores
from nghf.lattice.fb import forward_backward
from nghf.lattice.synthetic import random_raw_lattice, random_transition_table
from nghf.lattice.types import LatticeBatch, LatticeError


def _raw_sequences(raw: RawLattice, num_frames: int) -> dict[tuple[int, ...], float]:
    """(tid sequence → log Σ exp(-graph cost)) over all raw paths, by explicit enumeration."""
    out: dict[int, list] = {}
    for arc in raw.arcs:
        out.setdefault(arc[0], []).append(arc)
    result: dict[tuple[int, ...], float] = {}

    def walk(state, tids, cost):
        if state in raw.finals and len(tids) == num_frames:
            key = tuple(tids)
            result[key] = float(np.logaddexp(result.get(key, -np.inf), -(cost + raw.finals[state][0])))
        for _, d, tid, _, c, _ in out.get(state, ()):
            walk(d, tids + ([tid] if tid else []), cost + c)

    walk(raw.start, [], 0.0)
    return result


def _lattice_sequences(lat) -> dict[tuple[int, ...], float]:
    result: dict[tuple[int, ...], float] = {}
    for arcs, final_cost in enumerate_paths(lat):
        key = tuple(int(lat.tid[a]) for a in arcs)
        cost = float(lat.graph_cost[arcs].sum()) + final_cost
        result[key] = float(np.logaddexp(result.get(key, -np.inf), -cost))
    return result


@pytest.mark.parametrize("seed", range(6))
def test_conversion_preserves_weighted_paths(seed):
    rng = np.random.default_rng(seed)
    table = random_transition_table(rng, num_pdfs=4, num_phones=3)
    raw = random_raw_lattice(seed, 3, table, emitting_per_frame=2, eps_per_frame=4)
    assert sum(a[2] == 0 for a in raw.arcs) >= len(raw.arcs) // 3  # epsilon-heavy
    lat = raw_to_lattice(raw, table.tid_to_pdf, table.tid_to_phone, f"raw{seed}", expected_frames=3)
    ref, got = _raw_sequences(raw, 3), _lattice_sequences(lat)
    assert set(ref) == set(got) and ref
    for key, value in ref.items():
        assert got[key] == pytest.approx(value, abs=1e-10)
    assert torch.all(lat.pdf == torch.as_tensor(table.tid_to_pdf)[lat.tid])
    # Forward-backward over the converted lattice equals enumeration.
    scores = torch.randn(1, 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    _, totals = path_scores(lat, scores[0])
    log_z = forward_backward(LatticeBatch.from_lattices([lat]), scores).log_z
    assert log_z.item() == pytest.approx(torch.logsumexp(totals, 0).item(), abs=1e-10)


def test_words_move_from_epsilon_paths_and_trailing_paths():
    tid_to_pdf, tid_to_phone = [0, 0, 1], [0, 1, 2]
    raw = RawLattice(
        num_states=5, start=0, finals={4: (0.25, 0.0)},
        arcs=[(0, 1, 0, 7, 0.5, 0.0), (1, 2, 1, 0, 1.0, 3.0), (2, 3, 2, 0, 0.0, 1.0), (3, 4, 0, 9, 0.1, 0.0)],
    )
    lat = raw_to_lattice(raw, tid_to_pdf, tid_to_phone, "w1")
    assert lat.num_frames == 2 and lat.word.tolist() == [7, 9]
    assert lat.graph_cost.tolist() == pytest.approx([1.5, 0.0])
    assert lat.final_costs.tolist() == pytest.approx([0.35])  # trailing epsilon cost + final cost


def test_conversion_errors_name_the_utterance():
    cyc = RawLattice(3, 0, {2: (0.0, 0.0)}, [(0, 1, 0, 0, 0.0, 0.0), (1, 0, 0, 0, 0.0, 0.0), (1, 2, 1, 0, 0.0, 0.0)])
    with pytest.raises(LatticeError, match="utt-c: raw lattice has an epsilon cycle"):
        raw_to_lattice(cyc, [0, 0], [0, 1], "utt-c")
    two_words = RawLattice(3, 0, {2: (0.0, 0.0)}, [(0, 1, 0, 4, 0.0, 0.0), (1, 2, 1, 5, 0.0, 0.0)])
    with pytest.raises(LatticeError, match="utt-w: .*several words"):
        raw_to_lattice(two_words, [0, 0], [0, 1], "utt-w")
    no_final = RawLattice(2, 0, {}, [(0, 1, 1, 0, 0.0, 0.0)])
    with pytest.raises(LatticeError, match="utt-f: .*no path"):
        raw_to_lattice(no_final, [0, 0], [0, 1], "utt-f")
    nan = RawLattice(2, 0, {1: (0.0, 0.0)}, [(0, 1, 1, 0, math.nan, 0.0)])
    with pytest.raises(LatticeError, match="utt-n: .*NaN"):
        raw_to_lattice(nan, [0, 0], [0, 1], "utt-n")
    with pytest.raises(LatticeError, match="utt-l: .*features have 4"):
        raw_to_lattice(RawLattice(2, 0, {1: (0.0, 0.0)}, [(0, 1, 1, 0, 0.0, 0.0)]), [0, 0], [0, 1], "utt-l", 4)
