"""Curvature products against explicit matrices built by brute force (float64)."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from nghf.criteria.ce import CrossEntropy
from nghf.optim.curvature import ModelCurvature, forward_ad_context
from nghf.optim.params import ParamSpace
from nghf.optim.toy import frames_of, make_batch, make_model

D64 = torch.float64


def _problem(kind: str, method: str = "jvp"):
    model = make_model(kind, feat_dim=3, hidden=4, num_pdfs=3, dtype=D64)
    batch = make_batch(3, 5, 3, 3, seed=1, dtype=D64)
    space = ParamSpace(model)
    frames = frames_of([batch])
    oracle = ModelCurvature(model, CrossEntropy(), space, [batch], [batch], frames, frames, jvp_method=method)
    return model, batch, space, oracle


def _explicit_gn(model, batch, space, n_frames: int) -> torch.Tensor:
    theta = space.get_flat()

    def logits_of(flat: torch.Tensor) -> torch.Tensor:
        return functional_call(model, space.as_dict(flat), (batch.features, batch.feature_lengths))[0].reshape(-1)

    with forward_ad_context(model, theta.device):
        jac = torch.autograd.functional.jacobian(logits_of, theta)  # (B*T*D, P)
    logits = logits_of(theta).detach().view(batch.features.shape[0], batch.features.shape[1], -1)
    probs = torch.softmax(logits, dim=-1)
    d = probs.shape[-1]
    blocks = []
    for b in range(probs.shape[0]):
        for t in range(probs.shape[1]):
            p = probs[b, t]
            valid = t < int(batch.feature_lengths[b])
            blocks.append((torch.diag(p) - torch.outer(p, p)) if valid else torch.zeros(d, d, dtype=D64))
    h = torch.block_diag(*blocks)
    return jac.T @ h @ jac / n_frames


@pytest.mark.parametrize("kind", ["tdnn", "lstm", "lstmp", "rnn"])
def test_gauss_newton_equals_explicit_jt_h_j(kind: str) -> None:
    model, batch, space, oracle = _problem(kind)
    g_explicit = _explicit_gn(model, batch, space, frames_of([batch]))
    v = torch.randn(space.numel, dtype=D64, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(oracle.gauss_newton(v), g_explicit @ v, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["tdnn", "lstm"])
def test_fisher_equals_explicit_mean_of_outer_products(kind: str) -> None:
    model, batch, space, oracle = _problem(kind)
    crit = CrossEntropy()
    theta = space.get_flat()

    def losses_of(flat: torch.Tensor) -> torch.Tensor:
        logits, lens = functional_call(model, space.as_dict(flat), (batch.features, batch.feature_lengths))
        return crit.utterance_losses(logits, lens, batch)

    with forward_ad_context(model, theta.device):
        per_utt = torch.autograd.functional.jacobian(losses_of, theta)  # (B, P) rows g_u
    n_c = frames_of([batch])
    lengths = batch.feature_lengths.to(D64)
    fisher = sum(torch.outer(per_utt[u], per_utt[u]) / (lengths[u] * n_c) for u in range(per_utt.shape[0]))
    # with equal lengths this is the plain mean over utterances of the per-frame gradients
    v = torch.randn(space.numel, dtype=D64, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(oracle.fisher(v), fisher @ v, rtol=1e-9, atol=1e-12)
    rows = oracle.fisher_factor()
    torch.testing.assert_close(rows.T @ rows, fisher, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", ["tdnn", "lstm", "lstmp", "rnn"])
def test_jvp_path_equals_double_vjp_path(kind: str) -> None:
    _, _, space, fwd = _problem(kind, "jvp")
    _, _, _, dbl = _problem(kind, "double_vjp")
    v = torch.randn(space.numel, dtype=D64, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(fwd.gauss_newton(v), dbl.gauss_newton(v), rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(fwd.fisher(v), dbl.fisher(v), rtol=1e-10, atol=1e-13)


def test_gradient_matches_finite_differences() -> None:
    _, _, space, oracle = _problem("rnn")
    loss, grad = oracle.loss_and_gradient()
    d = torch.randn(space.numel, dtype=D64, generator=torch.Generator().manual_seed(6))
    h = 1e-6
    fd = (oracle.loss_at(h * d) - oracle.loss_at(-h * d)) / (2 * h)
    assert abs(fd - float(grad @ d)) < 1e-7 * max(1.0, abs(fd))
    assert oracle.loss() == pytest.approx(loss, rel=1e-12)


def test_products_are_normalised_and_reduced_by_frames() -> None:
    """Doubling the batch (two identical copies) leaves G·v unchanged: sums and frames double."""
    model, batch, space, oracle = _problem("tdnn")
    frames = frames_of([batch])
    twice = ModelCurvature(model, CrossEntropy(), space, [batch, batch], [batch, batch], 2 * frames, 2 * frames)
    v = torch.randn(space.numel, dtype=D64, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(twice.gauss_newton(v), oracle.gauss_newton(v))
    torch.testing.assert_close(twice.fisher(v), oracle.fisher(v))


def test_bad_jvp_method_is_rejected() -> None:
    _, _, space, oracle = _problem("tdnn", "nonsense")
    with pytest.raises(ValueError, match="jvp_method"):
        oracle.gauss_newton(space.zeros())


def test_cached_output_operators_follow_parameter_changes() -> None:
    """The per-batch H_out operators are reused at fixed parameters and rebuilt after a move."""
    model, batch, space, oracle = _problem("tdnn")
    frames = frames_of([batch])
    v = torch.randn(space.numel, dtype=D64, generator=torch.Generator().manual_seed(4))
    first = oracle.gauss_newton(v)
    torch.testing.assert_close(oracle.gauss_newton(v), first, rtol=0, atol=0)
    space.add_(torch.randn(space.numel, dtype=D64, generator=torch.Generator().manual_seed(5)))
    moved = oracle.gauss_newton(v)
    torch.testing.assert_close(moved, _explicit_gn(model, batch, space, frames) @ v, rtol=1e-9, atol=1e-12)
    assert not torch.allclose(moved, first)
    oracle.loss_at(torch.ones(space.numel, dtype=D64))  # moves the parameters and restores them
    torch.testing.assert_close(oracle.gauss_newton(v), moved, rtol=1e-12, atol=1e-14)
