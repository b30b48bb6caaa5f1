"""Cost of one Gauss-Newton and one Fisher product relative to one gradient, same batch.

TDNN (Conv1d), LSTM with projection and Elman RNN; hidden 256, 500 outputs, batch 8 × 100
frames, float32 on CPU (or CUDA if available). Goal: each product ≤ 2× a gradient.
Run: ``python bench/bench_curvature.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from timinglib import best_time

from nghf.criteria.ce import CrossEntropy
from nghf.optim.curvature import ModelCurvature
from nghf.optim.params import ParamSpace
from nghf.optim.toy import frames_of, make_batch, make_model

FEAT, HIDDEN, PDFS, UTTS, FRAMES, REPEATS = 40, 256, 500, 8, 100, 3


def main() -> None:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    rows = []
    for kind in ("tdnn", "lstmp", "rnn"):
        model = make_model(kind, FEAT, HIDDEN, PDFS, device=device)
        batch = make_batch(UTTS, FRAMES, FEAT, PDFS, seed=0, device=device)
        space = ParamSpace(model)
        n = frames_of([batch])
        v = torch.randn(space.numel, device=device)
        jvp = ModelCurvature(model, CrossEntropy(), space, [batch], [batch], n, n, jvp_method="jvp")
        dbl = ModelCurvature(model, CrossEntropy(), space, [batch], [batch], n, n, jvp_method="double_vjp")
        t_grad = best_time(jvp.loss_and_gradient, device, REPEATS)
        row = {"model": kind, "params": space.numel, "grad_s": t_grad,
               "gn_jvp": best_time(lambda v=v, o=jvp: o.gauss_newton(v), device, REPEATS) / t_grad,
               "gn_double_vjp": best_time(lambda v=v, o=dbl: o.gauss_newton(v), device, REPEATS) / t_grad,
               "fisher_jvp": best_time(lambda v=v, o=jvp: o.fisher(v), device, REPEATS) / t_grad}
        rows.append(row)
    print(f"device: {device}")
    print(f"{'model':6} {'params':>8} {'grad s':>8} {'G·v jvp':>8} {'G·v 2vjp':>9} {'F·v':>6}  (× gradient)")
    for r in rows:
        print(f"{r['model']:6} {r['params']:8d} {r['grad_s']:8.4f} {r['gn_jvp']:8.2f} {r['gn_double_vjp']:9.2f} {r['fisher_jvp']:6.2f}")
    out = Path(__file__).resolve().parent / "results" / "bench_curvature.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"device": str(device), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
