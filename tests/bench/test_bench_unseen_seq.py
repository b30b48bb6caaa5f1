"""bench/bench_unseen_seq.py: the seeded split into a CE part and an equally large unseen part."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def unseen(load_bench):
    return load_bench("bench_unseen_seq")


def test_split_is_disjoint_equal_sized_and_seeded(unseen):
    utts = [f"spk{i % 7}-utt{i:04d}" for i in range(100)]
    ce, rest = unseen.split_utterances(utts, 0.4, seed=0)
    assert len(ce) == 40 and len(rest) == 40 and not set(ce) & set(rest)
    assert set(ce) | set(rest) <= set(utts)
    assert unseen.split_utterances(list(reversed(utts)), 0.4, seed=0) == (ce, rest)  # input order does not matter
    assert unseen.split_utterances(utts, 0.4, seed=1) != (ce, rest)


def test_a_large_ce_share_leaves_all_the_rest_unseen(unseen):
    ce, rest = unseen.split_utterances([f"u{i}" for i in range(10)], 0.7, seed=0)
    assert (len(ce), len(rest)) == (7, 3)


@pytest.mark.parametrize("share", [0.0, 1.0, 0.01])
def test_a_share_that_leaves_a_part_empty_is_an_error(unseen, share):
    with pytest.raises(SystemExit, match="ce-share"):
        unseen.split_utterances([f"u{i}" for i in range(10)], share, seed=0)
