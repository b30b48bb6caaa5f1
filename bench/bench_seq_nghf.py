"""Second-order updates on a real sequence-training problem: product costs and method ablation.

Needs a finished recipe run (``./run.sh`` up to stage 10: ``exp/tdnn_ce``, ``exp/tdnn_denlats``,
``exp/tri2_ali``, ``data/train``). On the MMI criterion of that CE TDNN it measures

1. the cost of one Gauss-Newton product, one Fisher product and the Fisher rows relative to one
   gradient, all on the same batch (goal: products ≤ 2× a gradient);
2. for each method (``hf``, ``nghf`` A/B/C, and ``hf`` with the diagonal / shared-parameter
   preconditioner), ``--updates`` updates from the CE model with the recipe's update plan
   (gradient batch, curvature fraction, validation utterances), reporting the validation loss
   before/after, CG iterations, the chosen CG iterate, ρ, λ and seconds.

Run: ``python bench/bench_seq_nghf.py --exp exp --data data`` (prints a table, writes
``bench/results/bench_seq_nghf.json``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from nghf.criteria.factory import load_sequence_criterion
from nghf.lattice.numerator import read_frame_alignments
from nghf.lattice.store import LatticeStore
from nghf.models.io import load_model
from nghf.optim.base import UpdateProblem
from nghf.optim.curvature import ModelCurvature
from nghf.optim.factory import load_optim_config
from nghf.optim.params import ParamSpace
from nghf.optim.second_order import SecondOrderOptimizer
from nghf.train.data import DataConfig, split_heldout
from nghf.train.features import read_features
from nghf.train.sequence import SequenceExamples, check_examples
from nghf.train.sequence_run import freeze_norm_layers
from nghf.train.trainer import count_frames

REPO = Path(__file__).resolve().parents[1]
VARIANTS = {
    "hf": ["kind=hf"],
    "nghf-A": ["kind=nghf", "formulation=A"],
    "nghf-B": ["kind=nghf", "formulation=B"],
    "nghf-C": ["kind=nghf", "formulation=C"],
    "hf+diagonal": ["kind=hf", "preconditioner=diagonal"],
    "hf+shared": ["kind=hf", "preconditioner=shared"],
}


def best_time(fn, repeats: int = 2) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exp", default="exp")
    parser.add_argument("--data", default="data")
    parser.add_argument("--utts-per-update", type=int, default=256)
    parser.add_argument("--curvature-fraction", type=float, default=0.05)
    parser.add_argument("--validation-utts", type=int, default=64)
    parser.add_argument("--updates", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    exp, data = Path(args.exp), Path(args.data)
    device = torch.device(args.device)

    loaded = load_model(exp / "tdnn_ce" / "final.mdl", "cpu")
    silence = (data / "lang" / "phones" / "silence.csl").read_text().strip().replace(":", ",")
    criterion = load_sequence_criterion(REPO / "conf" / "criterion_mmi.yaml", loaded.log_priors,
                                        [f"silence_phones=[{silence}]"])
    feats = read_features(data / "train", norm_vars=loaded.features.norm_vars, use_cmvn=loaded.features.apply_cmvn)
    alis = read_frame_alignments(exp / "tri2_ali")
    store = LatticeStore(exp / "tdnn_denlats")
    fitted, _ = check_examples(feats, alis, store, loaded.model.subsampling, 2, 0.05)
    examples = SequenceExamples(feats, fitted, store, loaded.model.subsampling)
    rest, validation = split_heldout(list(fitted), DataConfig(heldout_fraction=0.5,
                                                              max_heldout_utts=args.validation_utts, seed=1))
    gen = torch.Generator().manual_seed(0)
    order = [rest[i] for i in torch.randperm(len(rest), generator=gen).tolist()]
    n_curv = max(1, round(args.curvature_fraction * args.utts_per_update))

    def problem(model, k: int) -> UpdateProblem:
        utts = order[k * args.utts_per_update:(k + 1) * args.utts_per_update]
        grad = [b.to(device) for b in examples.batches(utts, 20000)]
        curv = [b.to(device) for b in examples.batches(utts[:n_curv], 20000)]
        val = [b.to(device) for b in examples.batches(validation, 20000)]
        return UpdateProblem(model, criterion, grad, curv, sum(count_frames(b, model) for b in grad),
                             sum(count_frames(b, model) for b in curv), validation_batches=val,
                             validation_frames=sum(count_frames(b, model) for b in val))

    def fresh():
        model = load_model(exp / "tdnn_ce" / "final.mdl", "cpu").model.to(device)
        model.train()
        freeze_norm_layers(model)
        return model

    # 1. product costs on one batch (the curvature batch as gradient batch too)
    model = fresh()
    p = problem(model, 0)
    oracle = ModelCurvature(model, criterion, ParamSpace(model), p.curvature_batches, p.curvature_batches,
                            p.curvature_frames, p.curvature_frames)
    _, g = oracle.loss_and_gradient()
    v = torch.randn_like(g)
    t_grad = best_time(oracle.loss_and_gradient)
    costs = {"utterances": n_curv, "grad_s": t_grad, "gauss_newton": best_time(lambda: oracle.gauss_newton(v)) / t_grad,
             "fisher": best_time(lambda: oracle.fisher(v)) / t_grad,
             "fisher_rows": best_time(oracle.fisher_factor, 1) / t_grad}
    print(f"products on {n_curv} utterances (× one gradient of {t_grad:.2f} s): G·v {costs['gauss_newton']:.2f}, "
          f"F·v {costs['fisher']:.2f}, Fisher rows {costs['fisher_rows']:.2f}")

    # 2. methods
    rows = []
    for name in args.variants.split(","):
        model = fresh()
        config = load_optim_config(REPO / "conf" / "optim_nghf.yaml", VARIANTS[name])
        opt = SecondOrderOptimizer(model.parameters(), config)
        for k in range(args.updates):
            start = time.perf_counter()
            stats = opt.step(problem(model, k))
            e = stats.extras
            rows.append({"method": name, "update": k + 1, "val_before": e.get("validation_before"),
                         "val_after": e.get("validation_after"), "cg_its": e.get("cg_iterations"),
                         "chosen": e.get("cg_chosen_iteration"), "rho": e.get("rho"), "damping": e.get("damping"),
                         "seconds": time.perf_counter() - start})
            r = rows[-1]
            print(f"{name:12} update {k + 1}: validation {r['val_before']:.4f} -> {r['val_after']:.4f}, "
                  f"CG {r['cg_its']:.0f} (chosen {r['chosen']:.0f}), rho {r['rho']:.2f}, "
                  f"lambda {r['damping']:.3g}, {r['seconds']:.1f} s", flush=True)
    print(f"\n{'method':12} {'val start':>9} {'val end':>8} {'CG its':>7} {'seconds':>8}")
    for name in args.variants.split(","):
        mine = [r for r in rows if r["method"] == name]
        print(f"{name:12} {mine[0]['val_before']:9.4f} {mine[-1]['val_after']:8.4f} "
              f"{sum(r['cg_its'] for r in mine):7.0f} {sum(r['seconds'] for r in mine):8.1f}")
    out = REPO / "bench" / "results" / "bench_seq_nghf.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"costs": costs, "updates": rows, "args": vars(args)}, indent=1))


if __name__ == "__main__":
    main()
