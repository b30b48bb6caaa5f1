"""Decision tree: hand-checked gains and stopping rules, Kaldi-format round trip."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from nghf.gmm.lang import Root
from nghf.gmm.model import read_tree, write_tree
from nghf.gmm.tree import (
    TreeConfig,
    TreeStats,
    build_tree,
    cluster_phones,
    gauss_objf,
    to_kaldi,
)


def toy_stats(n: float = 100.0) -> TreeStats:
    """Centre phone 1, one pdf-class; 1-D data with mean 0 after left phone 2 and 10 after
    left phone 3 (variance 1 each), whatever the right phone."""
    rows, counts, sums, sqs = [], [], [], []
    for left, right in itertools.product((2, 3), (2, 3)):
        mean = 0.0 if left == 2 else 10.0
        m = n / 2
        rows.append((left, 1, right, 0))
        counts.append(m)
        sums.append([m * mean])
        sqs.append([m * (1.0 + mean**2)])
    return TreeStats(np.array(rows), np.array(counts), np.array(sums), np.array(sqs))


def test_objf_matches_formula():
    n, s, ss = 10.0, np.array([5.0, 0.0]), np.array([12.5, 40.0])
    var = np.array([12.5 / 10 - 0.25, 4.0])
    want = -0.5 * n * (2 * math.log(2 * math.pi) + np.log(var).sum() + 2)
    assert gauss_objf(n, s, ss, 0.01)[0] == pytest.approx(want)


def test_split_gain_leaf_count_and_min_count():
    stats = toy_stats()
    roots = [Root(shared=False, split=True, phones=(1,))]
    questions = [(2,), (3,), (2, 3)]
    tree = build_tree(stats, roots, questions, {1: 1}, TreeConfig(num_leaves=10, min_count=50))
    # the only useful split: left phone; gain = 0.5 * 200 * (log 26 - log 1)
    assert tree.num_leaves == 2
    assert "key 0" in tree.log[0]
    gain = float(tree.log[0].rsplit("gain", 1)[1])
    assert gain == pytest.approx(100 * math.log(26.0), abs=0.01)
    assert tree.pdf(2, 1, 3, 0) != tree.pdf(3, 1, 3, 0)
    assert tree.pdf(2, 1, 2, 0) == tree.pdf(2, 1, 3, 0)
    # min-count: each side has 100 frames, so 101 forbids the split
    assert build_tree(stats, roots, questions, {1: 1}, TreeConfig(min_count=101)).num_leaves == 1
    # leaf limit
    assert build_tree(stats, roots, questions, {1: 1}, TreeConfig(num_leaves=1, min_count=1)).num_leaves == 1
    # not-split roots are never split
    fixed = [Root(shared=False, split=False, phones=(1,))]
    assert build_tree(stats, fixed, questions, {1: 1}, TreeConfig(min_count=1)).num_leaves == 1


def test_kaldi_tree_maps_every_context_like_python(tmp_path):
    rng = np.random.default_rng(0)
    phones = (1, 2, 3, 4)
    rows = list(itertools.product((0, *phones), phones, (0, *phones), (0, 1, 2)))
    count = rng.integers(5, 30, len(rows)).astype(float)
    means = rng.normal(0, 3, (len(rows), 2))
    stats = TreeStats(np.array(rows), count, means * count[:, None],
                      (means**2 + 1.0) * count[:, None])
    roots = [Root(True, True, (1,)), Root(False, True, (2,)), Root(True, True, (3, 4))]
    questions = [(1,), (2,), (3,), (4,), (1, 2), (3, 4)]
    tree = build_tree(stats, roots, questions, dict.fromkeys(phones, 3),
                      TreeConfig(num_leaves=25, min_count=20))
    assert 5 < tree.num_leaves <= 25
    write_tree(to_kaldi(tree), tmp_path / "tree")
    ktree = read_tree(tmp_path / "tree")
    assert ktree.num_pdfs == tree.num_leaves
    assert (ktree.context_width, ktree.central_position) == (3, 1)
    for left, center, right, pc in rows:
        ok, pdf = ktree.compute([left, center, right], pc)
        assert ok and pdf == tree.pdf(left, center, right, pc)


def test_cluster_phones_separates_groups():
    # phones 1,2 near 0; phones 3,4 near 20: the first split must separate the groups
    rows, counts, sums, sqs = [], [], [], []
    for p, mu in ((1, 0.0), (2, 0.5), (3, 20.0), (4, 20.5)):
        rows.append((0, p, 0, 1))
        counts.append(50.0)
        sums.append([50 * mu])
        sqs.append([50 * (mu**2 + 1)])
    stats = TreeStats(np.array(rows), np.array(counts), np.array(sums), np.array(sqs))
    questions = cluster_phones(stats, [(1,), (2,), (3,), (4,)], TreeConfig())
    assert (1, 2) in questions and (3, 4) in questions
    assert all(len(q) < 4 for q in questions)
