"""CG on explicit SPD systems: solution, preconditioning, stopping rule, stored iterates."""

from __future__ import annotations

import pytest
import torch

from nghf.optim.cg import (
    CGConfig,
    conjugate_gradient,
    fisher_directions_gn_steps,
    progress_stop,
    store_schedule,
)
from nghf.optim.precondition import WoodburyInverse

D64 = torch.float64


def _spd(n: int, cond: float, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=D64))
    eig = torch.logspace(0, torch.log10(torch.tensor(cond)).item(), n, dtype=D64)
    return q @ torch.diag(eig) @ q.T


@pytest.mark.parametrize("stable", [True, False])
def test_cg_solves_spd_system(stable: bool) -> None:
    a = _spd(30, 100.0)
    b = torch.randn(30, dtype=D64, generator=torch.Generator().manual_seed(1))
    res = conjugate_gradient(lambda v: a @ v, b, config=CGConfig(max_iters=200, progress_eps=0.0, stable=stable))
    torch.testing.assert_close(res.x, torch.linalg.solve(a, b), rtol=1e-8, atol=1e-10)
    q_true = float(0.5 * res.x @ a @ res.x - b @ res.x)
    assert res.quadratic[-1] == pytest.approx(q_true, rel=1e-10)
    assert all(q1 <= q0 + 1e-12 for q0, q1 in zip(res.quadratic, res.quadratic[1:], strict=False))


def test_warm_start_from_solution_needs_no_progress() -> None:
    a = _spd(20, 10.0)
    b = torch.randn(20, dtype=D64, generator=torch.Generator().manual_seed(2))
    x = torch.linalg.solve(a, b)
    res = conjugate_gradient(lambda v: a @ v, b, x0=x, config=CGConfig(max_iters=5, progress_eps=0.0))
    assert res.quadratic[0] == pytest.approx(float(-0.5 * b @ x), rel=1e-10)
    torch.testing.assert_close(res.x, x)


def test_preconditioned_cg_converges_in_fewer_iterations() -> None:
    # badly scaled diagonal times a well-conditioned core: Jacobi preconditioning fixes it
    gen = torch.Generator().manual_seed(3)
    scales = torch.logspace(-3, 3, 60, dtype=D64)
    core = _spd(60, 5.0, seed=4)
    a = torch.diag(scales.sqrt()) @ core @ torch.diag(scales.sqrt())
    b = torch.randn(60, dtype=D64, generator=gen)
    cfg = CGConfig(max_iters=500, progress_eps=0.0)
    target = torch.linalg.solve(a, b)

    def iterations_to_converge(precond) -> int:
        errs = []
        conjugate_gradient(lambda v: a @ v, b, precond=precond, config=cfg,
                           on_iteration=lambda i, x, q: errs.append((i, float((x - target).norm() / target.norm()))))
        return next(i for i, e in errs if e < 1e-6)

    diag = torch.diagonal(a)
    plain = iterations_to_converge(None)
    pre = iterations_to_converge(lambda r: r / diag)
    assert pre < plain / 2, (pre, plain)


def test_store_schedule_and_stored_iterates() -> None:
    assert sorted(store_schedule(10, 1.3)) == [1, 2, 3, 4, 5, 7, 9]
    a = _spd(12, 50.0)
    b = torch.ones(12, dtype=D64)
    res = conjugate_gradient(lambda v: a @ v, b, config=CGConfig(max_iters=10, progress_eps=0.0))
    its = [i for i, _ in res.stored]
    assert its == [1, 2, 3, 4, 5, 7, 9, 10]
    assert torch.equal(res.stored[-1][1], res.x)


def test_martens_progress_rule() -> None:
    cfg = CGConfig(progress_eps=5e-4, progress_min_window=10, min_iters=1)
    flat = [0.0] + [-1.0] * 30  # no progress at all: stop as soon as the window fits
    assert not progress_stop(flat, 10, cfg)
    assert progress_stop(flat, 11, cfg)
    falling = [0.0] + [-float(i) for i in range(1, 31)]  # steady progress: never stop
    assert not any(progress_stop(falling, i, cfg) for i in range(1, 31))


def test_nonpositive_curvature_stops() -> None:
    a = -torch.eye(4, dtype=D64)
    res = conjugate_gradient(lambda v: a @ v, torch.ones(4, dtype=D64), config=CGConfig(max_iters=5))
    assert res.stop_reason == "nonpositive_curvature" and res.iterations == 0
    assert torch.equal(res.x, torch.zeros(4, dtype=D64))


def test_formulation_c_equals_cg_when_fisher_equals_gauss_newton() -> None:
    a = _spd(15, 30.0, seed=5)
    g = torch.randn(15, dtype=D64, generator=torch.Generator().manual_seed(6))
    cfg = CGConfig(max_iters=8, progress_eps=0.0)
    ref = conjugate_gradient(lambda v: a @ v, -g, config=cfg)
    got = fisher_directions_gn_steps(lambda v: a @ v, lambda v: a @ v, g, config=cfg)
    torch.testing.assert_close(got.x, ref.x, rtol=1e-8, atol=1e-10)


def test_formulation_c_steps_minimise_the_gauss_newton_quadratic() -> None:
    gn, fi = _spd(10, 20.0, seed=7), _spd(10, 20.0, seed=8)
    g = torch.randn(10, dtype=D64, generator=torch.Generator().manual_seed(9))
    res = fisher_directions_gn_steps(lambda v: fi @ v, lambda v: gn @ v, g, config=CGConfig(max_iters=10, progress_eps=0.0))
    qs = res.quadratic
    assert all(q1 <= q0 + 1e-12 for q0, q1 in zip(qs, qs[1:], strict=False))
    assert qs[-1] == pytest.approx(float(g @ res.x + 0.5 * res.x @ gn @ res.x), rel=1e-9)


def test_woodbury_inverse_matches_dense_solve() -> None:
    rows = torch.randn(4, 25, dtype=D64, generator=torch.Generator().manual_seed(10))
    v = torch.randn(25, dtype=D64, generator=torch.Generator().manual_seed(11))
    dense = rows.T @ rows + 0.3 * torch.eye(25, dtype=D64)
    torch.testing.assert_close(WoodburyInverse(rows, 0.3)(v), torch.linalg.solve(dense, v))


def test_progress_rule_can_stop_cg_within_a_short_cap() -> None:
    """With the default window (k = max(2, 0.1 i)) the rule fires inside a cap of 6 once q
    stalls; Martens' window of 10 could not fire before iteration 11."""
    stalls = [0.0, -1.0, -1.5, -1.6, -1.6001, -1.6001, -1.6001]
    assert any(progress_stop(stalls, i, CGConfig(max_iters=6)) for i in range(1, 7))
    assert not any(progress_stop(stalls, i, CGConfig(max_iters=6, progress_min_window=10)) for i in range(1, 7))
    a = _spd(40, 1e3, seed=12)
    b = torch.randn(40, dtype=D64, generator=torch.Generator().manual_seed(13))
    # a diagonal-dominated system converges in a few iterations: CG stops on progress, not the cap
    easy = torch.diag(torch.ones(40, dtype=D64)) + 1e-4 * a
    res = conjugate_gradient(lambda v: easy @ v, b, config=CGConfig(max_iters=8, progress_eps=5e-4))
    assert res.stop_reason in ("progress", "zero_residual") and res.iterations < 8


def test_formulation_c_drops_a_stale_warm_start() -> None:
    """A warm start whose Gauss-Newton q is positive is replaced by x = 0, so C starts where a
    cold run starts (before the fix it kept the stale iterate and q stayed positive)."""
    gn, fi = _spd(12, 20.0, seed=14), _spd(12, 20.0, seed=15)
    g = torch.randn(12, dtype=D64, generator=torch.Generator().manual_seed(16))
    cfg = CGConfig(max_iters=3, progress_eps=0.0)
    stale = 10.0 * torch.linalg.solve(gn, g)  # points uphill: q(x0) = gᵀx0 + ½x0ᵀGx0 > 0
    assert float(g @ stale + 0.5 * stale @ gn @ stale) > 0
    cold = fisher_directions_gn_steps(lambda v: fi @ v, lambda v: gn @ v, g, None, cfg)
    warm = fisher_directions_gn_steps(lambda v: fi @ v, lambda v: gn @ v, g, stale, cfg)
    assert warm.quadratic[0] == 0.0
    torch.testing.assert_close(warm.x, cold.x)
    assert warm.quadratic[-1] < 0
    good = 0.9 * torch.linalg.solve(gn, -g)  # a useful warm start is kept
    kept = fisher_directions_gn_steps(lambda v: fi @ v, lambda v: gn @ v, g, good, cfg)
    assert kept.quadratic[0] < 0 and kept.quadratic[-1] <= kept.quadratic[0]


def test_stable_cg_reports_the_true_quadratic_in_float32() -> None:
    """Round-off hygiene (``cg.stable``): with float32 vectors, the float64 scalars and the
    residual form of q keep CG's reported q equal to the true quadratic (relative error
    < 1e-7); the textbook running recurrence drifts by > 1e-6 on this system."""
    n = 200_000
    gen = torch.Generator().manual_seed(0)
    eig = torch.logspace(0, 4, n, dtype=D64)[torch.randperm(n, generator=gen)]
    b = torch.randn(n, generator=gen, dtype=D64)
    errors = {}
    for stable in (True, False):
        res = conjugate_gradient(lambda v: eig.float() * v, b.float(),
                                 config=CGConfig(max_iters=100, progress_eps=0.0, stable=stable))
        x = res.x.double()
        true_q = float(0.5 * x @ (eig * x) - b @ x)
        errors[stable] = abs(res.quadratic[-1] - true_q) / abs(true_q)
    assert errors[True] < 1e-7, errors
    assert errors[False] > 1e-6, errors
