"""Lattice statistics: oracle word errors against brute-force enumeration, job summaries."""

from __future__ import annotations

import numpy as np
import pytest

from nghf.lattice.enumerate import enumerate_paths
from nghf.lattice.stats import oracle_errors, summarise_jobs
from nghf.lattice.synthetic import random_lattice


def _edit_distance(a: list[int], b: list[int]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


@pytest.mark.parametrize("seed", range(8))
def test_oracle_errors_equal_enumeration(seed):
    rng = np.random.default_rng(seed)
    lat = random_lattice(seed, int(rng.integers(2, 6)), states_per_frame=3, arcs_per_frame=6, num_words=4)
    sequences = {tuple(int(lat.word[a]) for a in path if lat.word[a]) for path, _ in enumerate_paths(lat)}
    assert len(sequences) > 1
    for k in range(4):
        ref = [int(w) for w in rng.integers(1, 5, size=int(rng.integers(0, 5)))]
        if k == 0:  # a reference that is one of the lattice's sequences: zero errors
            ref = list(sorted(sequences)[0])
        if k == 1:
            ref = ref + [-1]  # an OOV reference word matches nothing
        brute = min(_edit_distance(list(seq), ref) for seq in sequences)
        assert oracle_errors(lat, ref) == brute
    assert oracle_errors(lat, list(sorted(sequences)[-1])) == 0


def test_summary_reports_oracle_wer_and_depth():
    jobs = [
        {"utterances": 3, "lattices": 2, "failed": {"u3": "no final state"}, "frames": 100, "arcs": 1000,
         "arcs_before_pruning": 1500, "seconds": 2.0, "oracle_errors": 1, "oracle_ref_words": 10},
        {"utterances": 1, "lattices": 1, "failed": {}, "frames": 50, "arcs": 200, "arcs_before_pruning": 300,
         "seconds": 1.0, "oracle_errors": 3, "oracle_ref_words": 10},
    ]
    summary = summarise_jobs(jobs)
    assert summary["oracle_wer"] == pytest.approx(0.2)
    assert summary["arcs_per_frame"] == pytest.approx(8.0)
    assert summary["frames_per_second_per_job"] == pytest.approx(50.0)
    assert summary["failed"] == 1
