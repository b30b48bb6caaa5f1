"""Batched forward-backward against brute-force path enumeration."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nghf.lattice.enumerate import path_count_covariance, path_scores
from nghf.lattice.fb import (
    expected_arc_sum,
    forward_backward,
    log_partition,
    log_partition_hvp,
    prune_by_posterior,
)
from nghf.lattice.synthetic import random_lattice, random_scores
from nghf.lattice.types import LatticeBatch, LatticeError

D = 5


def _batch(seed: int = 0, lengths=(4, 2, 5, 3)):
    lats = [random_lattice(seed * 100 + i, t, utt_id=f"u{i}", num_pdfs=D) for i, t in enumerate(lengths)]
    return lats, LatticeBatch.from_lattices(lats)


def _brute(lat, scores, graph_scale, arc_extra=None):
    """log Z, γ (T, D) and arc posteriors of one lattice by enumeration."""
    paths, totals = path_scores(lat, scores, graph_scale, arc_extra)
    probs = torch.softmax(totals, 0)
    gamma = torch.zeros_like(scores)
    post = torch.zeros(lat.num_arcs, dtype=scores.dtype)
    for p, path in zip(probs, paths, strict=True):
        for a in path:
            gamma[lat.frame[a], lat.pdf[a]] += p
            post[a] += p
    return torch.logsumexp(totals, 0), gamma, post


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fb_matches_enumeration(seed):
    lats, batch = _batch(seed)
    scores = random_scores(seed, batch.size, 6, D)
    extra = torch.randn(batch.num_arcs, dtype=torch.float64)
    res = forward_backward(batch, scores, graph_scale=0.6, arc_extra=extra)
    rows = batch.arc_row
    for r, lat in enumerate(lats):
        log_z, gamma, post = _brute(lat, scores[r], 0.6, extra[rows == r])
        assert res.log_z[r].item() == pytest.approx(log_z.item(), abs=1e-10)
        torch.testing.assert_close(res.gamma[r], gamma, atol=1e-10, rtol=0)
        torch.testing.assert_close(res.arc_post[rows == r], post, atol=1e-10, rtol=0)
    # Padding frames carry no occupancy; every valid frame sums to one.
    sums = res.gamma.sum(-1)
    for r, lat in enumerate(lats):
        torch.testing.assert_close(sums[r, : lat.num_frames], torch.ones(lat.num_frames, dtype=torch.float64))
        assert torch.all(sums[r, lat.num_frames :] == 0)


def test_batched_equals_per_utterance_and_chunked():
    lats, batch = _batch(3)
    scores = random_scores(3, batch.size, 5, D)
    full = forward_backward(batch, scores, 1.0)
    for r, lat in enumerate(lats):
        single = forward_backward(LatticeBatch.from_lattices([lat]), scores[r : r + 1], 1.0)
        torch.testing.assert_close(single.log_z[0], full.log_z[r])
        torch.testing.assert_close(single.gamma[0], full.gamma[r])
    chunked = forward_backward(batch, scores, 1.0, max_arcs=25)
    torch.testing.assert_close(chunked.arc_post, full.arc_post)
    torch.testing.assert_close(chunked.gamma, full.gamma)
    torch.testing.assert_close(log_partition(batch, scores, max_arcs=25), full.log_z)


def test_select_and_to():
    lats, batch = _batch(4)
    scores = random_scores(4, batch.size, 5, D)
    full = forward_backward(batch, scores).log_z
    sub = batch.select([2, 0]).to("cpu")
    assert sub.utt_ids == ("u2", "u0")
    torch.testing.assert_close(forward_backward(sub, scores[[2, 0]]).log_z, full[[2, 0]])


def test_gradient_is_gamma_and_gradcheck():
    _, batch = _batch(5, lengths=(3, 2))
    scores = random_scores(5, batch.size, 3, D).requires_grad_()
    log_partition(batch, scores, 0.5).sum().backward()
    gamma = forward_backward(batch, scores.detach(), 0.5).gamma
    torch.testing.assert_close(scores.grad, gamma)
    assert torch.autograd.gradcheck(lambda s: log_partition(batch, s, 0.5), (scores.detach().clone().requires_grad_(),))
    assert torch.autograd.gradgradcheck(lambda s: log_partition(batch, s, 0.5), (scores.detach().clone().requires_grad_(),))


def test_hvp_equals_path_count_covariance():
    lats, batch = _batch(6, lengths=(3, 2))
    scores = random_scores(6, batch.size, 3, D)
    v = torch.randn_like(scores)
    hv = log_partition_hvp(batch, scores, v, graph_scale=0.8)
    for r, lat in enumerate(lats):
        cov = path_count_covariance(lat, scores[r], 0.8)
        torch.testing.assert_close(hv[r].reshape(-1), cov @ v[r].reshape(-1))
        assert torch.linalg.eigvalsh(cov).min() > -1e-10


def test_float32_matches_float64():
    _, batch = _batch(7)
    scores = random_scores(7, batch.size, 5, D) * 5
    r64 = forward_backward(batch, scores)
    r32 = forward_backward(batch, scores.float())
    assert r32.gamma.dtype == torch.float32
    torch.testing.assert_close(r32.log_z.double(), r64.log_z, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(r32.gamma.double(), r64.gamma, atol=1e-5, rtol=1e-4)
    r32in64 = forward_backward(batch, scores.float(), dtype=torch.float64)
    assert r32in64.gamma.dtype == torch.float64


def test_expected_arc_sum_matches_enumeration():
    lats, batch = _batch(8)
    scores = random_scores(8, batch.size, 5, D)
    values = torch.rand(batch.num_arcs, dtype=torch.float64)
    log_z, expected = expected_arc_sum(batch, scores, values, 0.9)
    chunked = expected_arc_sum(batch, scores, values, 0.9, max_arcs=20)[1]
    torch.testing.assert_close(chunked, expected)
    rows = batch.arc_row
    for r, lat in enumerate(lats):
        paths, totals = path_scores(lat, scores[r], 0.9)
        vals = values[rows == r]
        per_path = torch.stack([vals[p].sum() for p in paths])
        ref = (torch.softmax(totals, 0) * per_path).sum()
        assert expected[r].item() == pytest.approx(ref.item(), abs=1e-10)
        assert log_z[r].item() == pytest.approx(torch.logsumexp(totals, 0).item(), abs=1e-10)


def test_prune_keeps_connectivity_and_high_posterior_arcs():
    lats, batch = _batch(9, lengths=(6, 4))
    scores = random_scores(9, batch.size, 6, D) * 3
    res = forward_backward(batch, scores)
    pruned = prune_by_posterior(batch, res.arc_post, threshold=0.2)
    assert sum(p.num_arcs for p in pruned) < batch.num_arcs
    for lat, p in zip(lats, pruned, strict=True):
        assert p.num_frames == lat.num_frames
    # Pruned lattices still run and lose probability mass only from removed paths.
    again = forward_backward(LatticeBatch.from_lattices(pruned), scores)
    assert torch.all(again.log_z <= res.log_z + 1e-12)
    # Even an impossible threshold keeps one complete path per utterance.
    best = prune_by_posterior(batch, res.arc_post, threshold=2.0)
    assert all(p.is_single_path() for p in best)


def test_bad_scores_shape_names_utterance():
    _, batch = _batch(10)
    with pytest.raises(LatticeError, match="u0"):
        forward_backward(batch, torch.zeros(batch.size, 2, D))
    with pytest.raises(LatticeError, match="pdf-id"):
        forward_backward(batch, torch.zeros(batch.size, 6, 2))
    np.testing.assert_equal(batch.size, 4)


def test_float32_stays_stable_with_large_scores_of_different_scale_per_row():
    """The normalised recursions: scores of hundreds of nats, a different offset per row and
    per frame, in float32, agree with float64 (log Z relative to its size, posteriors)."""
    lats, batch = _batch(7, lengths=(6, 3, 5, 4))
    gen = torch.Generator().manual_seed(7)
    scores = 20.0 * torch.randn(batch.size, 6, D, generator=gen, dtype=torch.float64)
    scores += torch.tensor([-900.0, 5.0, -300.0, 60.0], dtype=torch.float64)[:, None, None]
    scores += 40.0 * torch.randn(batch.size, 6, 1, generator=gen, dtype=torch.float64)
    ref = forward_backward(batch, scores, 1.0)
    got = forward_backward(batch, scores.float(), 1.0)
    assert torch.all(torch.isfinite(got.log_z)) and torch.all(torch.isfinite(got.arc_post))
    torch.testing.assert_close(got.log_z.double(), ref.log_z, rtol=1e-5, atol=1e-3)
    # float32 carries ~1e-7 relative error on totals of thousands of nats: ~1e-3 on posteriors
    torch.testing.assert_close(got.arc_post.double(), ref.arc_post, rtol=0, atol=2e-3)
    for r, lat in enumerate(lats):  # and float64 still equals enumeration
        log_z, _, _ = _brute(lat, scores[r], 1.0)
        assert ref.log_z[r].item() == pytest.approx(log_z.item(), rel=1e-12)
