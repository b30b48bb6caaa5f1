"""NGHF formulations A/B/C (plus HF and NG) and the preconditioner ablation on small CE problems.

For each method: 8 updates on a toy TDNN and LSTM frame-classification task (gradient batch of
32 utterances, curvature batch of 8), reporting the final loss, the mean loss reduction per
update and per CG iteration, total CG iterations and time. Run: ``python bench/bench_nghf.py``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from nghf.criteria.ce import CrossEntropy
from nghf.optim.base import UpdateProblem
from nghf.optim.config import SecondOrderConfig
from nghf.optim.curvature import ModelCurvature
from nghf.optim.params import ParamSpace
from nghf.optim.second_order import SecondOrderOptimizer
from nghf.optim.toy import frames_of, make_batch, make_model

FEAT, HIDDEN, PDFS, UPDATES = 20, 32, 40, 8

VARIANTS = {
    "hf": dict(kind="hf"),
    "ng": dict(kind="ng"),
    "nghf-A": dict(kind="nghf", formulation="A"),
    "nghf-B": dict(kind="nghf", formulation="B"),
    "nghf-C": dict(kind="nghf", formulation="C"),
    "hf+diagonal": dict(kind="hf", preconditioner="diagonal"),
    "hf+shared": dict(kind="hf", preconditioner="shared"),
}


def run(model_kind: str, variant: dict, seed: int) -> dict:
    teacher = make_model(model_kind, FEAT, HIDDEN, PDFS, seed=100 + seed)
    grad = [make_batch(16, 40, FEAT, PDFS, seed=10 * seed + s, teacher=teacher) for s in range(2)]
    model = make_model(model_kind, FEAT, HIDDEN, PDFS, seed=seed)
    opt = SecondOrderOptimizer(model.parameters(), SecondOrderConfig(**variant))
    losses, iters, start = [], 0, time.perf_counter()
    for u in range(UPDATES):
        curv = [grad[u % 2].select(list(range(8)))]
        st = opt.step(UpdateProblem(model, CrossEntropy(), grad, curv, frames_of(grad), frames_of(curv)))
        losses.append(st.loss)
        iters += int(st.extras["cg_iterations_total"])
    final = ModelCurvature(model, CrossEntropy(), ParamSpace(model), grad, grad, frames_of(grad), frames_of(grad)).loss()
    return {"initial": losses[0], "final": final, "cg_iterations": iters, "seconds": time.perf_counter() - start}


def main() -> None:
    torch.set_num_threads(1)
    rows = []
    for model_kind in ("tdnn", "lstmp"):
        for name, variant in VARIANTS.items():
            runs = [run(model_kind, variant, seed) for seed in range(2)]
            mean = {k: sum(r[k] for r in runs) / len(runs) for k in runs[0]}
            red = mean["initial"] - mean["final"]
            rows.append({"model": model_kind, "method": name, **mean,
                         "reduction_per_update": red / UPDATES, "reduction_per_cg_iter": red / max(mean["cg_iterations"], 1)})
    print(f"{'model':6} {'method':14} {'loss0':>7} {'final':>7} {'red/upd':>8} {'red/CGit':>9} {'CG its':>7} {'sec':>6}")
    for r in rows:
        print(f"{r['model']:6} {r['method']:14} {r['initial']:7.3f} {r['final']:7.3f} {r['reduction_per_update']:8.4f} "
              f"{r['reduction_per_cg_iter']:9.5f} {r['cg_iterations']:7.1f} {r['seconds']:6.1f}")
    out = Path(__file__).resolve().parent / "results" / "bench_nghf.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"updates": UPDATES, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
