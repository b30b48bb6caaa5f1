"""Cached-statistics lattice Hessian-vector products against enumeration and autograd."""

from __future__ import annotations

import pytest
import torch

from nghf.lattice.covariance import path_covariance
from nghf.lattice.enumerate import path_count_covariance
from nghf.lattice.fb import forward_backward, log_partition_hvp
from nghf.lattice.synthetic import random_lattice, random_scores
from nghf.lattice.types import LatticeBatch

D = 5


def _batch(seed: int, lengths: tuple[int, ...]):
    lats = [random_lattice(seed * 100 + i, t, utt_id=f"u{i}", num_pdfs=D) for i, t in enumerate(lengths)]
    return lats, LatticeBatch.from_lattices(lats)


def test_product_equals_path_count_covariance_by_enumeration():
    lats, batch = _batch(3, (3, 2, 4))
    scores = random_scores(3, batch.size, 4, D)
    v = torch.randn_like(scores)
    hv = path_covariance(batch, scores, graph_scale=0.8).product(v)
    for r, lat in enumerate(lats):
        cov = path_count_covariance(lat, scores[r], 0.8)
        torch.testing.assert_close(hv[r].reshape(-1), cov @ v[r].reshape(-1))


@pytest.mark.parametrize("with_extra", [False, True])
def test_product_matches_forward_over_reverse_autograd(with_extra: bool):
    _, batch = _batch(8, (6, 3, 7, 5, 2))
    scores = random_scores(8, batch.size, 7, D) * 3
    extra = torch.randn(batch.num_arcs, dtype=scores.dtype) if with_extra else None
    cov = path_covariance(batch, scores, 1.3, extra)
    for seed in range(3):
        v = torch.randn(scores.shape, dtype=scores.dtype, generator=torch.Generator().manual_seed(seed))
        torch.testing.assert_close(cov.product(v), log_partition_hvp(batch, scores, v, 1.3, extra))


def test_arc_posteriors_match_forward_backward():
    _, batch = _batch(4, (5, 2, 6))
    scores = random_scores(4, batch.size, 6, D) * 4
    cov = path_covariance(batch, scores, 0.7)
    torch.testing.assert_close(cov.arc_post, forward_backward(batch, scores, 0.7).arc_post)


def test_float32_statistics_agree_with_float64():
    _, batch = _batch(5, (9, 4, 8))
    scores = random_scores(5, batch.size, 9, D) * 20  # peaked posteriors: large score ranges
    v = torch.randn_like(scores)
    h64 = path_covariance(batch, scores).product(v)
    h32 = path_covariance(batch, scores.float()).product(v.float())
    assert h32.dtype == torch.float32
    torch.testing.assert_close(h32.double(), h64, atol=1e-4, rtol=1e-4)


def test_wrong_direction_shape_is_an_error():
    _, batch = _batch(2, (3,))
    scores = random_scores(2, 1, 3, D)
    with pytest.raises(ValueError, match="shape"):
        path_covariance(batch, scores).product(torch.zeros(1, 4, D, dtype=scores.dtype))
