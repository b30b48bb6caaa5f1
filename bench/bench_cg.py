"""Plain vs fixed CG in float32 on the damped Gauss-Newton system of a toy CE problem.

*plain*: textbook float32 CG recurrences (running ``q`` by per-step decrements, recursive
residual) with an absolute damping ``λ = 1e-4``; *fixed*: float64 scalars, residual refresh,
residual-form ``q`` and damping relative to the mean Gauss-Newton diagonal (``λ = 1 × s``).
The gradient comes from 32 utterances, the curvature from 4 of them (as in HF training).
Per CG iteration it logs the quadratic ``q`` as CG computes it, ``q`` recomputed exactly in
float64, and the actual loss at ``θ + x_i``; then it runs 6 full HF updates with each.
Run: ``python bench/bench_cg.py``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import torch

from nghf.criteria.ce import CrossEntropy
from nghf.optim.base import UpdateProblem
from nghf.optim.cg import CGConfig, conjugate_gradient
from nghf.optim.config import DampingConfig, SecondOrderConfig
from nghf.optim.curvature import ModelCurvature
from nghf.optim.params import ParamSpace
from nghf.optim.precondition import rademacher
from nghf.optim.second_order import SecondOrderOptimizer
from nghf.optim.toy import frames_of, make_batch, make_model

FEAT, HIDDEN, PDFS, MAX_ITERS = 20, 32, 40, 300
VARIANTS = {
    "plain": (CGConfig(max_iters=MAX_ITERS, stable=False), DampingConfig(initial=1e-4, relative=False, min=1e-6)),
    "fixed": (CGConfig(max_iters=MAX_ITERS, stable=True), DampingConfig(initial=1.0, relative=True)),
}


def problem(kind: str):
    teacher = make_model(kind, FEAT, HIDDEN, PDFS, seed=7)
    grad = [make_batch(16, 40, FEAT, PDFS, seed=s, teacher=teacher) for s in range(2)]
    return grad, [grad[0].select([0, 1, 2, 3])]


def one_solve(kind: str, name: str) -> dict:
    cg_cfg, damp = VARIANTS[name]
    grad_b, curv_b = problem(kind)
    model = make_model(kind, FEAT, HIDDEN, PDFS)
    space = ParamSpace(model)
    oracle = ModelCurvature(model, CrossEntropy(), space, grad_b, curv_b, frames_of(grad_b), frames_of(curv_b))
    m64 = copy.deepcopy(model).double()
    to64 = [dataclasses.replace(b, features=b.features.double()) for b in grad_b + curv_b]
    exact = ModelCurvature(m64, CrossEntropy(), ParamSpace(m64), to64[:2], to64[2:], frames_of(grad_b), frames_of(curv_b))
    loss0, g = oracle.loss_and_gradient()
    _, g64 = exact.loss_and_gradient()
    lam = damp.initial
    if damp.relative:
        z = rademacher(space.numel, torch.Generator().manual_seed(0), space.dtype, space.device)
        lam *= float(z @ oracle.gauss_newton(z)) / space.numel
    log = []

    def record(i: int, x: torch.Tensor, q: float) -> None:
        x64 = x.double()
        q_exact = float(g64 @ x64 + 0.5 * x64 @ (exact.gauss_newton(x64) + lam * x64))
        loss = oracle.loss_at(x) if i <= 10 or i % 10 == 0 else float("nan")
        log.append({"iteration": i, "q": q, "q_exact": q_exact, "loss": loss})

    res = conjugate_gradient(lambda v: oracle.gauss_newton(v) + lam * v, -g, config=cg_cfg, on_iteration=record)
    final_q = log[-1]["q_exact"]
    to90 = next(e["iteration"] for e in log if e["q_exact"] <= 0.9 * final_q)
    drift = max(abs(e["q"] - e["q_exact"]) / max(abs(e["q_exact"]), 1e-30) for e in log)
    best = min((e for e in log if e["loss"] == e["loss"]), key=lambda e: e["loss"])
    return {"model": kind, "variant": name, "loss0": loss0, "damping_abs": lam, "iterations": res.iterations,
            "stop": res.stop_reason, "iters_to_90pct_q": to90, "max_rel_q_error": drift,
            "best_loss_iteration": best["iteration"], "best_loss": best["loss"],
            "loss_at_5": log[4]["loss"] if len(log) > 4 else float("nan"),
            "loss_at_8": log[7]["loss"] if len(log) > 7 else float("nan"), "log": log}


def training(kind: str, name: str) -> dict:
    cg_cfg, damp = VARIANTS[name]
    grad_b, curv_b = problem(kind)
    model = make_model(kind, FEAT, HIDDEN, PDFS)
    opt = SecondOrderOptimizer(model.parameters(), SecondOrderConfig(kind="hf", cg=cg_cfg, damping=damp))
    its, losses = [], []
    for _ in range(6):
        st = opt.step(UpdateProblem(model, CrossEntropy(), grad_b, curv_b, frames_of(grad_b), frames_of(curv_b)))
        its.append(int(st.extras["cg_iterations_total"]))
        losses.append(st.extras["loss_after"])
    return {"model": kind, "variant": name, "cg_iterations": its, "losses": losses}


def main() -> None:
    torch.set_num_threads(1)
    solves = [one_solve(k, n) for k in ("tdnn", "lstmp") for n in VARIANTS]
    print("First CG solve (float32): q per iteration is in the JSON log")
    print(f"{'model':6} {'variant':7} {'λ':>9} {'iters':>5} {'stop':>12} {'to90%q':>6} {'q err':>8} "
          f"{'loss0':>6} {'L@5':>8} {'L@8':>8} {'best L (it)':>14}")
    for r in solves:
        print(f"{r['model']:6} {r['variant']:7} {r['damping_abs']:9.2e} {r['iterations']:5d} {r['stop']:>12} "
              f"{r['iters_to_90pct_q']:6d} {r['max_rel_q_error']:8.1e} {r['loss0']:6.3f} {r['loss_at_5']:8.3g} "
              f"{r['loss_at_8']:8.3g} {r['best_loss']:8.3f} ({r['best_loss_iteration']})")
    runs = [training(k, n) for k in ("tdnn", "lstmp") for n in VARIANTS]
    print("\nSix HF updates (backtracking, LM damping, line search):")
    for r in runs:
        print(f"{r['model']:6} {r['variant']:7} CG its {r['cg_iterations']}  loss {[round(x, 3) for x in r['losses']]}")
    out = Path(__file__).resolve().parent / "results" / "bench_cg.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"solves": solves, "training": runs}, indent=1))


if __name__ == "__main__":
    main()
