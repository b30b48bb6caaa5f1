"""HF, NG and NGHF A/B/C steps against explicit matrices on a tiny model, the Fisher damping
on the Fisher's own scale, the shared-parameter preconditioner, and the method strategies."""

from __future__ import annotations

import dataclasses
import logging

import pytest
import torch

from nghf.criteria.ce import CrossEntropy
from nghf.optim.base import UpdateProblem
from nghf.optim.cg import CGConfig
from nghf.optim.config import (
    DampingConfig,
    FisherDampingConfig,
    LineSearchConfig,
    SecondOrderConfig,
)
from nghf.optim.curvature import ModelCurvature
from nghf.optim.factory import build_updater, is_first_order, load_optim_config, optimiser_name
from nghf.optim.first_order import FirstOrderConfig, FirstOrderUpdater
from nghf.optim.methods import METHODS, method_for
from nghf.optim.params import ParamSpace
from nghf.optim.precondition import FisherFactor, WoodburyInverse, parameter_groups
from nghf.optim.second_order import SecondOrderOptimizer
from nghf.optim.toy import frames_of, make_batch, make_model

D64 = torch.float64


def _tiny():
    """A TDNN of 59 parameters, a 4-utterance gradient batch and a 3-utterance curvature batch."""
    teacher = make_model("tdnn", 2, 3, 3, seed=5, dtype=D64)
    batch = make_batch(4, 6, 2, 3, seed=1, teacher=teacher, dtype=D64)
    return batch, batch.select([0, 1, 2])


def _exact_config(kind: str, formulation: str = "A", lam: float = 0.5, mu_f: float = 1.0) -> SecondOrderConfig:
    """CG run to convergence, the last iterate taken as it is: the step is the method's solution."""
    return SecondOrderConfig(
        kind=kind, formulation=formulation, warm_start_decay=0.0, backtracking=False,
        cg=CGConfig(max_iters=400, progress_eps=0.0),
        damping=DampingConfig(initial=lam, relative=False, max_retries=0, min=1e-6),
        fisher_damping=FisherDampingConfig(initial=mu_f, adapt=False),
        line_search=LineSearchConfig(enabled=False),
    )


def _explicit(model, batch, curv):
    """``g``, ``G`` and ``F`` as dense matrices, built from products with the unit vectors
    (``F`` through the model's Fisher-vector product, not through the Fisher rows)."""
    oracle = ModelCurvature(model, CrossEntropy(), ParamSpace(model), [batch], [curv], frames_of([batch]),
                            frames_of([curv]))
    _, g = oracle.loss_and_gradient()
    eye = torch.eye(oracle.space.numel, dtype=D64)
    gmat = torch.stack([oracle.gauss_newton(e) for e in eye])
    fmat = torch.stack([oracle.fisher(e) for e in eye])
    return g, 0.5 * (gmat + gmat.T), 0.5 * (fmat + fmat.T)


def _step(cfg: SecondOrderConfig):
    batch, curv = _tiny()
    model = make_model("tdnn", 2, 3, 3, dtype=D64)
    g, gmat, fmat = _explicit(model, batch, curv)
    before = ParamSpace(model).get_flat()
    opt = SecondOrderOptimizer(model.parameters(), cfg)
    stats = opt.step(UpdateProblem(model, CrossEntropy(), [batch], [curv], frames_of([batch]), frames_of([curv])))
    assert stats.extras["accepted"] == 1.0, stats.extras
    return ParamSpace(model).get_flat() - before, g, gmat, fmat, len(curv.utt_ids), stats


def test_hf_step_solves_the_damped_gauss_newton_system() -> None:
    step, g, gmat, _, _, _ = _step(_exact_config("hf", lam=0.5))
    eye = torch.eye(len(g), dtype=D64)
    torch.testing.assert_close(step, torch.linalg.solve(gmat + 0.5 * eye, -g), rtol=1e-7, atol=1e-10)


def test_nghf_a_step_is_the_natural_gradient_through_the_gauss_newton_inverse() -> None:
    """A: Δ = −(G + λI)⁻¹ s_F (F + λ_F I)⁻¹ g with λ_F = μ_F s_F and s_F = tr(F) / n."""
    mu_f = 0.3
    step, g, gmat, fmat, n, stats = _step(_exact_config("nghf", "A", lam=0.5, mu_f=mu_f))
    eye = torch.eye(len(g), dtype=D64)
    s_f = float(torch.trace(fmat)) / n
    lam_f = mu_f * s_f
    natural = s_f * torch.linalg.solve(fmat + lam_f * eye, g)
    torch.testing.assert_close(step, torch.linalg.solve(gmat + 0.5 * eye, -natural), rtol=1e-7, atol=1e-10)
    assert stats.extras["fisher_scale"] == pytest.approx(s_f, rel=1e-10)
    assert stats.extras["fisher_damping_abs"] == pytest.approx(lam_f, rel=1e-10)


def test_ng_step_solves_the_fisher_system_damped_on_the_fishers_scale() -> None:
    mu_f = 0.2
    step, g, _, fmat, n, _ = _step(_exact_config("ng", lam=7.0, mu_f=mu_f))
    eye = torch.eye(len(g), dtype=D64)
    lam_f = mu_f * float(torch.trace(fmat)) / n  # the Gauss-Newton λ = 7 plays no part
    torch.testing.assert_close(step, torch.linalg.solve(fmat + lam_f * eye, -g), rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("precond", ["none", "shared"])
def test_nghf_b_converges_to_the_hf_solution(precond: str) -> None:
    """B only preconditions HF's system: run to convergence it gives HF's step."""
    cfg = dataclasses.replace(_exact_config("nghf", "B", lam=0.5), preconditioner=precond)
    step, g, gmat, _, _, _ = _step(cfg)
    eye = torch.eye(len(g), dtype=D64)
    torch.testing.assert_close(step, torch.linalg.solve(gmat + 0.5 * eye, -g), rtol=1e-7, atol=1e-10)


def test_nghf_c_first_step_is_the_gauss_newton_line_minimum_along_the_gradient() -> None:
    cfg = dataclasses.replace(_exact_config("nghf", "C", lam=0.5), cg=CGConfig(max_iters=1, progress_eps=0.0))
    step, g, gmat, _, _, _ = _step(cfg)
    gl = gmat + 0.5 * torch.eye(len(g), dtype=D64)
    torch.testing.assert_close(step, -(g @ g) / (g @ gl @ g) * g, rtol=1e-9, atol=1e-12)


def test_fisher_factor_and_woodbury_with_a_diagonal_damping() -> None:
    gen = torch.Generator().manual_seed(0)
    rows = torch.randn(3, 9, generator=gen, dtype=D64)
    fmat = rows.T @ rows
    v = torch.randn(9, generator=gen, dtype=D64)
    factor = FisherFactor(rows)
    torch.testing.assert_close(factor.matvec(v), fmat @ v)
    assert factor.scale() == pytest.approx(float(torch.trace(fmat)) / 3)
    torch.testing.assert_close(factor.diagonal(), torch.diagonal(fmat))
    lam = torch.rand(9, generator=gen, dtype=D64) + 0.1
    torch.testing.assert_close(WoodburyInverse(rows, lam)(v), torch.linalg.solve(fmat + torch.diag(lam), v))
    torch.testing.assert_close(WoodburyInverse(rows, 0.3)(v), torch.linalg.solve(fmat + 0.3 * torch.eye(9, dtype=D64), v))


@pytest.mark.parametrize("formulation", ["A", "C"])
def test_fisher_damping_makes_the_step_invariant_to_the_loss_scale(formulation: str) -> None:
    """The Fisher scales with the loss squared, G with the loss: damping each on its own scale
    gives the same step for a loss ×1000 (with one λ on the Gauss-Newton scale for both, as
    before, the Fisher's damping and so the step would change with the loss scale)."""

    batch, curv = _tiny()
    steps = []
    for crit in (CrossEntropy(), _scaled_ce(1000.0)):
        model = make_model("tdnn", 2, 3, 3, dtype=D64)
        cfg = SecondOrderConfig(kind="nghf", formulation=formulation, backtracking=False,
                                line_search=LineSearchConfig(enabled=False), damping=DampingConfig(initial=1.0),
                                cg=CGConfig(max_iters=4, progress_eps=0.0))
        before = ParamSpace(model).get_flat()
        SecondOrderOptimizer(model.parameters(), cfg).step(
            UpdateProblem(model, crit, [batch], [curv], frames_of([batch]), frames_of([curv])))
        steps.append(ParamSpace(model).get_flat() - before)
    assert float(steps[0].norm()) > 0
    torch.testing.assert_close(steps[0], steps[1], rtol=1e-6, atol=1e-9)


def test_parameter_groups_share_one_value_per_output_unit() -> None:
    model = make_model("tdnn", 2, 3, 3)
    space = ParamSpace(model)
    groups = parameter_groups(space)
    # conv1 (3, 2, 3): 3 units of 6; bias 1 group; conv2 (3, 3, 3): 3 units of 9; bias; out (3, 3): 3; bias
    assert int(groups.max()) + 1 == 3 + 1 + 3 + 1 + 3 + 1
    first = groups[space.slices()[0][1]]
    assert first.tolist() == [0] * 6 + [1] * 6 + [2] * 6


def test_every_method_has_a_strategy_and_the_factory_names_it() -> None:
    assert {m.name for m in METHODS.values()} == {"hf", "ng", "nghf-A", "nghf-B", "nghf-C"}
    for (kind, formulation), method in METHODS.items():
        cfg = SecondOrderConfig(kind=kind, formulation=formulation or "A")
        assert method_for(cfg) is method and optimiser_name(cfg) == method.name
        assert isinstance(build_updater(cfg, make_model("linear").parameters()), SecondOrderOptimizer)
        assert not is_first_order(cfg)
    sgd = FirstOrderConfig(kind="sgd", lr=0.1)
    assert is_first_order(sgd) and optimiser_name(sgd) == "sgd"
    assert isinstance(build_updater(sgd, make_model("linear").parameters()), FirstOrderUpdater)


def test_a_progress_window_that_cannot_fire_is_warned_about(tmp_path) -> None:
    path = tmp_path / "o.yaml"
    path.write_text("kind: nghf\ncg:\n  max_iters: 6\n  progress_min_window: 10\n")
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("nghf.optim.config")
    logger.addHandler(handler)
    try:
        load_optim_config(path)
    finally:
        logger.removeHandler(handler)
    assert any("can never stop CG" in m for m in seen), seen


def _scaled_ce(scale: float) -> CrossEntropy:
    """Cross-entropy times ``scale``, with the Gauss-Newton output operator scaled alike."""

    class Scaled(CrossEntropy):
        def utterance_losses(self, logits, lengths, batch):
            return super().utterance_losses(logits, lengths, batch) * scale

        def curvature_operator(self, outputs, lengths, batch):
            inner = super().curvature_operator(outputs, lengths, batch)
            return lambda v: inner(v) * scale

    return Scaled()


def _iterations_to_90_percent(relative: bool, scale: float) -> int:
    teacher = make_model("tdnn", 4, 8, 4, seed=5, dtype=D64)
    batch = make_batch(6, 30, 4, 4, seed=1, teacher=teacher, dtype=D64)
    model = make_model("tdnn", 4, 8, 4, dtype=D64)
    cfg = SecondOrderConfig(kind="hf", backtracking=False, line_search=LineSearchConfig(enabled=False),
                            cg=CGConfig(max_iters=60, progress_eps=0.0),
                            damping=DampingConfig(initial=1.0 if relative else 1e-4, relative=relative, max_retries=0,
                                                  min=1e-6))
    opt = SecondOrderOptimizer(model.parameters(), cfg)
    opt.step(UpdateProblem(model, _scaled_ce(scale), [batch], [batch.select([0, 1, 2])], frames_of([batch]),
                           frames_of([batch.select([0, 1, 2])])))
    q = opt.last_quadratic
    return next(i for i, value in enumerate(q) if value <= 0.9 * q[-1])


def test_the_numerical_fix_damping_on_the_curvatures_scale_keeps_cg_short_at_any_loss_scale() -> None:
    """The CG fix (docs/nghf.md): λ in units of the curvature's own scale (mean Gauss-Newton
    diagonal, re-estimated every update). CG then reaches 90 % of its reduction in a few
    iterations whatever the loss scale; with the usual absolute λ = 1e-4 the damped system's
    conditioning depends on the loss scale and CG needs several times more iterations."""
    scales = (1e-2, 1.0, 1e2)
    fixed = [_iterations_to_90_percent(True, s) for s in scales]
    plain = [_iterations_to_90_percent(False, s) for s in scales]
    assert len(set(fixed)) == 1 and fixed[0] <= 8, fixed
    assert max(plain) >= 2 * fixed[0], (plain, fixed)


def test_shared_preconditioner_cuts_cg_iterations_on_a_model_with_shared_parameters() -> None:
    """An RNN (every matrix applied at all 40 frames) on un-normalised inputs: the per-unit shared
    diagonal preconditioner reaches 90 % of the unpreconditioned CG's 300-iteration reduction in
    fewer iterations, through the optimiser's own update (one Hutchinson probe)."""
    teacher = make_model("rnn", 6, 16, 5, seed=5, dtype=D64)
    batch = make_batch(6, 40, 6, 5, seed=1, teacher=teacher, dtype=D64)
    batch = dataclasses.replace(batch, features=batch.features * 10.0)
    quadratics = {}
    for precond in ("none", "shared"):
        model = make_model("rnn", 6, 16, 5, dtype=D64)
        cfg = SecondOrderConfig(kind="hf", preconditioner=precond, backtracking=False,
                                line_search=LineSearchConfig(enabled=False), cg=CGConfig(max_iters=300, progress_eps=0.0),
                                damping=DampingConfig(initial=1e-2, max_retries=0, min=1e-6))
        opt = SecondOrderOptimizer(model.parameters(), cfg)
        opt.step(UpdateProblem(model, CrossEntropy(), [batch], [batch], frames_of([batch]), frames_of([batch])))
        quadratics[precond] = opt.last_quadratic
    target = 0.9 * quadratics["none"][-1]
    its = {k: next(i for i, q in enumerate(v) if q <= target) for k, v in quadratics.items()}
    assert its["shared"] <= 0.6 * its["none"], its
