"""HF/NG/NGHF updates: convergence on a convex problem, damping, backtracking, state, ranks."""

from __future__ import annotations

import copy
import dataclasses
import threading
from pathlib import Path

import pytest
import torch

from nghf.criteria.ce import CrossEntropy
from nghf.optim.base import UpdateProblem
from nghf.optim.config import DampingConfig, SecondOrderConfig
from nghf.optim.curvature import ModelCurvature
from nghf.optim.factory import build_updater, load_optim_config
from nghf.optim.params import ParamSpace
from nghf.optim.second_order import SecondOrderOptimizer, backtrack_iterates
from nghf.optim.toy import frames_of, make_batch, make_model

D64 = torch.float64
REPO = Path(__file__).resolve().parents[2]


def _convex(dtype=D64):
    teacher = make_model("linear", feat_dim=4, num_pdfs=3, seed=9, dtype=dtype)
    batch = make_batch(6, 8, 4, 3, seed=2, teacher=teacher, dtype=dtype)
    return batch


def _problem(model, batch, curv=None, **kw) -> UpdateProblem:
    curv = curv or batch
    return UpdateProblem(model, CrossEntropy(), [batch], [curv], frames_of([batch]), frames_of([curv]), **kw)


def _optimum(batch) -> float:
    model = make_model("linear", feat_dim=4, num_pdfs=3, dtype=D64)
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=500, tolerance_grad=1e-12, tolerance_change=0,
                            line_search_fn="strong_wolfe")
    crit, n = CrossEntropy(), frames_of([batch])

    def closure():
        opt.zero_grad()
        loss = crit.utterance_losses(*model(batch.features, batch.feature_lengths), batch).sum() / n
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    return float(closure().detach())


@pytest.mark.parametrize("kind,formulation,limit", [("hf", "B", 1e-6), ("nghf", "B", 1e-6), ("nghf", "C", 5e-5),
                                                    ("nghf", "A", 1e-5)])
def test_second_order_reaches_convex_optimum_much_faster_than_gradient_descent(kind, formulation, limit) -> None:
    batch = _convex()
    best = _optimum(batch)
    model = make_model("linear", feat_dim=4, num_pdfs=3, dtype=D64)
    cfg = SecondOrderConfig(kind=kind, formulation=formulation, damping=DampingConfig(initial=1e-3, min=1e-6))
    opt = SecondOrderOptimizer(model.parameters(), cfg)
    for _ in range(12):
        stats = opt.step(_problem(model, batch))
    hf_gap = stats.extras["loss_after"] - best
    # gradient descent with a well-tuned step (1/L from the largest curvature eigenvalue)
    gd = make_model("linear", feat_dim=4, num_pdfs=3, dtype=D64)
    oracle = ModelCurvature(gd, CrossEntropy(), ParamSpace(gd), [batch], [batch], frames_of([batch]), frames_of([batch]))
    space = oracle.space
    gmat = torch.stack([oracle.gauss_newton(e) for e in torch.eye(space.numel, dtype=D64)])
    lr = 1.0 / float(torch.linalg.eigvalsh(gmat).max())
    for _ in range(12 * 10):
        _, g = oracle.loss_and_gradient()
        space.add_(g, alpha=-lr)
    gd_gap = oracle.loss() - best
    # A (natural gradient as linear term) and C (Fisher directions) are not Newton's method on
    # the loss, so they converge more slowly than HF and B (whose fixed point is HF's)
    assert hf_gap < limit, hf_gap
    assert hf_gap < (1e-3 if limit <= 1e-6 else 2e-2) * gd_gap, (hf_gap, gd_gap)


class WrongCurvature(ModelCurvature):
    """Gauss-Newton products shrunk by 1e-6: the quadratic model promises absurd steps."""

    def gauss_newton(self, v):
        return super().gauss_newton(v) * 1e-6


def test_damping_reacts_to_a_wrong_quadratic_model() -> None:
    batch = _convex()
    model = make_model("linear", feat_dim=4, num_pdfs=3, dtype=D64)
    before = copy.deepcopy(model.state_dict())
    cfg = SecondOrderConfig(kind="hf", damping=DampingConfig(initial=1e-4, relative=False, max_retries=0, min=1e-6))
    opt = SecondOrderOptimizer(model.parameters(), cfg)
    space = ParamSpace(model)
    n = frames_of([batch])
    stats = opt.step(lambda: WrongCurvature(model, CrossEntropy(), space, [batch], [batch], n, n))
    assert stats.extras["accepted"] == 0.0
    assert stats.extras["rho"] < 0.25
    assert opt.damping > 1e-4
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    # with retries, raising the damping eventually gives an accepted step
    cfg2 = dataclasses.replace(cfg, damping=DampingConfig(initial=1e-4, relative=False, max_retries=12, min=1e-6,
                                                          reject_factor=10.0))
    opt2 = SecondOrderOptimizer(model.parameters(), cfg2)
    stats2 = opt2.step(lambda: WrongCurvature(model, CrossEntropy(), space, [batch], [batch], n, n))
    assert stats2.extras["accepted"] == 1.0 and stats2.extras["retries"] >= 1
    assert stats2.extras["loss_after"] < stats2.loss


def test_nonfinite_loss_is_rejected_without_change() -> None:
    batch = _convex()
    bad = dataclasses.replace(batch, features=batch.features.clone().fill_(float("nan")))
    model = make_model("linear", feat_dim=4, num_pdfs=3, dtype=D64)
    before = copy.deepcopy(model.state_dict())
    opt = SecondOrderOptimizer(model.parameters(), SecondOrderConfig(kind="hf"))
    stats = opt.step(_problem(model, bad))
    assert stats.extras["accepted"] == 0.0 and opt.rejections == 1
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_backtracking_picks_the_best_iterate() -> None:
    target = torch.tensor([3.0])
    stored = [(i, torch.tensor([float(i)])) for i in (1, 2, 3, 4, 5, 7, 9)]
    calls = []

    def loss_at(x):
        calls.append(float(x))
        return float((x - target).abs())

    x, loss, it = backtrack_iterates(loss_at, stored)
    assert it == 3 and loss == 0.0 and float(x) == 3.0
    assert calls == [9.0, 7.0, 5.0, 4.0, 3.0, 2.0]  # stops once the loss rises again
    x, _, it = backtrack_iterates(loss_at, stored, enabled=False)
    assert it == 9


def _run(model, opt, batches, start, stop):
    for u in range(start, stop):
        b = batches[u % len(batches)]
        opt.step(_problem(model, b, curv=b.select([0, 1])))
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


@pytest.mark.parametrize("cfg", [
    SecondOrderConfig(kind="nghf", formulation="B", preconditioner="none"),
    SecondOrderConfig(kind="hf", preconditioner="shared"),
])
def test_state_dict_round_trip_continues_bit_identically(cfg) -> None:
    teacher = make_model("rnn", 3, 4, 3, seed=5)
    batches = [make_batch(4, 6, 3, 3, seed=s, teacher=teacher) for s in range(3)]
    model = make_model("rnn", 3, 4, 3)
    opt = SecondOrderOptimizer(model.parameters(), cfg)
    _run(model, opt, batches, 0, 2)
    model_state = copy.deepcopy(model.state_dict())
    opt_state = copy.deepcopy(opt.state_dict())
    ref = _run(model, opt, batches, 2, 5)
    model2 = make_model("rnn", 3, 4, 3)
    model2.load_state_dict(model_state)
    opt2 = SecondOrderOptimizer(model2.parameters(), cfg)
    opt2.load_state_dict(opt_state)
    got = _run(model2, opt2, batches, 2, 5)
    assert torch.equal(ref, got)
    assert opt2.state_dict()["damping"] == opt.state_dict()["damping"]


class ThreadReducer:
    """A real all-reduce between ranks that run in threads of this process (sum in rank order)."""

    def __init__(self, rank: int, shared: dict) -> None:
        self.rank, self.world_size, self.shared = rank, 2, shared

    def sum_(self, tensor):
        slots, barrier = self.shared["slots"], self.shared["barrier"]
        slots[self.rank] = tensor.clone()
        barrier.wait()
        total = slots[0] + slots[1]
        barrier.wait()
        return tensor.copy_(total)


@pytest.mark.parametrize("kind,formulation,precond", [("hf", "B", "shared"), ("ng", "B", "none"), ("nghf", "A", "none"),
                                                      ("nghf", "B", "shared"), ("nghf", "C", "shared")])
def test_two_ranks_match_one_rank_with_all_the_data(kind, formulation, precond) -> None:
    """Two ranks, each with half of the gradient and curvature utterances, make the same
    updates as one rank with all of them (Fisher rows gathered over ranks included)."""
    teacher = make_model("tdnn", 3, 4, 3, seed=5)
    halves = [make_batch(4, 6, 3, 3, seed=s, teacher=teacher, dtype=D64) for s in (1, 2)]
    curvs = [b.select([0, 1]) for b in halves]
    # forward-mode AD keeps global state, so ranks in threads use the (thread-safe) double-vjp products
    cfg = SecondOrderConfig(kind=kind, formulation=formulation, preconditioner=precond, jvp_method="double_vjp")
    n, nc = frames_of(halves), frames_of(curvs)

    # models are made here, not in the threads: initialisation uses the global RNG
    models = {key: make_model("tdnn", 3, 4, 3, dtype=D64) for key in ("single", 0, 1)}

    def run(problem_of, out, key):
        try:
            model = models[key]
            opt = SecondOrderOptimizer(model.parameters(), cfg)
            for _ in range(2):
                stats = opt.step(problem_of(model))
            out[key] = (torch.cat([p.detach().reshape(-1) for p in model.parameters()]), stats.extras)
        except BaseException as err:  # reported by the main thread
            out[key] = err
            shared["barrier"].abort()

    outs: dict = {}
    shared = {"slots": [None, None], "barrier": threading.Barrier(2, timeout=60)}
    run(lambda m: UpdateProblem(m, CrossEntropy(), halves, curvs, n, nc), outs, "single")
    threads = [threading.Thread(target=run, args=(
        lambda m, r=r: UpdateProblem(m, CrossEntropy(), [halves[r]], [curvs[r]], n, nc, ThreadReducer(r, shared)),
        outs, r)) for r in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in (0, 1):
        if isinstance(outs[r], BaseException):
            raise outs[r]
        torch.testing.assert_close(outs[r][0], outs["single"][0], rtol=1e-9, atol=1e-11)
        assert outs[r][1]["cg_iterations"] == outs["single"][1]["cg_iterations"]
    assert outs["single"][1]["accepted"] == 1.0


def test_configs_load_and_build() -> None:
    for name, kind in [("optim_hf", "hf"), ("optim_ng", "ng"), ("optim_nghf", "nghf")]:
        cfg = load_optim_config(REPO / "conf" / f"{name}.yaml")
        assert isinstance(cfg, SecondOrderConfig) and cfg.kind == kind
        model = make_model("linear")
        assert isinstance(build_updater(cfg, model.parameters()), SecondOrderOptimizer)
    cfg = load_optim_config(REPO / "conf" / "optim_nghf.yaml", ["formulation=C", "cg.max_iters=7"])
    assert cfg.formulation == "C" and cfg.cg.max_iters == 7


def test_bad_config_names_file_and_key(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("kind: nghf\nformulation: D\n")
    with pytest.raises(ValueError, match="formulation"):
        load_optim_config(path)
    path.write_text("kind: lbfgs\n")
    with pytest.raises(ValueError, match="bad.yaml"):
        load_optim_config(path)


def test_update_logs_where_its_time_goes() -> None:
    """Each update splits its second-order time into phases that add up to no more than the
    curvature time (the rest is bookkeeping), so a slow update says what made it slow."""
    batch = _convex()
    model = make_model("linear", feat_dim=4, num_pdfs=3, dtype=D64)
    cfg = SecondOrderConfig(kind="nghf", formulation="B", damping=DampingConfig(initial=1e-3, min=1e-6))
    stats = SecondOrderOptimizer(model.parameters(), cfg).step(_problem(model, batch))
    phases = ["time_scale", "time_fisher_rows", "time_cg", "time_backtrack", "time_line_search"]
    values = [stats.extras[p] for p in phases]
    assert all(v >= 0.0 for v in values) and stats.extras["time_validation"] >= 0.0
    assert stats.extras["time_cg"] > 0.0 and stats.extras["time_backtrack"] > 0.0
    assert sum(values) <= stats.extras["time_curvature"] + 1e-6
    assert stats.extras["time_grad"] + stats.extras["time_curvature"] <= stats.extras["time_total"] + 1e-6
