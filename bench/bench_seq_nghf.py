"""Cost of the second-order products on a real sequence-training problem, relative to a gradient.

Needs a finished recipe run up to stage 10 (``exp/tdnn_ce``, ``exp/tdnn_denlats``,
``exp/tri2_ali``, ``data/train``). On the MMI criterion of that CE TDNN, for each curvature
batch size in ``--curvature-utts`` (the same utterances as gradient batch), it times one
gradient, one Gauss-Newton product (output-layer operators cached, as inside CG), one
network Fisher-vector product, the Fisher rows, and one Fisher product from the rows
(``F v = Uᵀ(U v)``, what the optimiser uses), best of ``--repeats``, on one thread.
Goal (issue 20, ours): G·v ≤ 1.5× a gradient.

The comparison of the methods themselves is ``bench/bench_nghf_ablation.py``.

Run: ``python bench/bench_seq_nghf.py --exp exp --data data`` (prints a table, writes
``bench/results/bench_seq_nghf.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from sweeplib import silence_override
from timinglib import best_time

from nghf.criteria.factory import load_sequence_criterion
from nghf.data.nnfeats import read_features
from nghf.lattice.numerator import read_frame_alignments
from nghf.lattice.store import LatticeStore
from nghf.models.io import load_model
from nghf.optim.curvature import ModelCurvature
from nghf.optim.params import ParamSpace
from nghf.optim.precondition import FisherFactor
from nghf.train.sequence import SequenceExamples, check_examples
from nghf.train.sequence_run import freeze_norm_layers
from nghf.train.trainer import count_frames

REPO = Path(__file__).resolve().parents[1]


def measure(model, criterion, batches, device, repeats: int) -> dict:
    """Seconds of one gradient and each product's cost in gradients, on ``batches``."""
    batches = [b.to(device) for b in batches]
    frames = sum(count_frames(b, model) for b in batches)
    oracle = ModelCurvature(model, criterion, ParamSpace(model), batches, batches, frames, frames)
    _, g = oracle.loss_and_gradient()
    v = torch.randn_like(g)
    oracle.gauss_newton(v)  # builds the cached output operators, as CG's first product does
    t_grad = best_time(oracle.loss_and_gradient, device, repeats)
    factor = FisherFactor(oracle.fisher_factor())
    return {"utterances": sum(len(b.utt_ids) for b in batches), "frames": frames, "grad_s": t_grad,
            "gauss_newton": best_time(lambda: oracle.gauss_newton(v), device, repeats) / t_grad,
            "fisher_network": best_time(lambda: oracle.fisher(v), device, repeats) / t_grad,
            "fisher_rows": best_time(oracle.fisher_factor, device, 1) / t_grad,
            "fisher_from_rows": best_time(lambda: factor.matvec(v), device, repeats) / t_grad}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exp", default="exp")
    parser.add_argument("--data", default="data")
    parser.add_argument("--curvature-utts", default="16,32")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(1)
    exp, data = Path(args.exp), Path(args.data)
    device = torch.device(args.device)
    loaded = load_model(exp / "tdnn_ce" / "final.mdl", "cpu")
    criterion = load_sequence_criterion(REPO / "conf" / "criterion_mmi.yaml", loaded.log_priors,
                                        [silence_override(data)])
    feats = read_features(data / "train", norm_vars=loaded.features.norm_vars, use_cmvn=loaded.features.apply_cmvn)
    store = LatticeStore(exp / "tdnn_denlats")
    fitted, _ = check_examples(feats, read_frame_alignments(exp / "tri2_ali"), store, loaded.model.subsampling, 2, 0.05)
    examples = SequenceExamples(feats, fitted, store, loaded.model.subsampling)
    model = loaded.model.to(device)
    model.train()
    freeze_norm_layers(model)
    order = sorted(fitted)
    rows = [measure(model, criterion, examples.batches(order[:n], 20000), device, args.repeats)
            for n in (int(x) for x in args.curvature_utts.split(","))]
    print("| curvature utts | frames | gradient s | G·v | F·v (network) | Fisher rows | F·v (rows) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['utterances']} | {r['frames']} | {r['grad_s']:.2f} | {r['gauss_newton']:.2f}× | "
              f"{r['fisher_network']:.2f}× | {r['fisher_rows']:.2f}× | {r['fisher_from_rows']:.3f}× |")
    out = REPO / "bench" / "results" / "bench_seq_nghf.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"costs": rows, "args": vars(args)}, indent=1) + "\n")


if __name__ == "__main__":
    main()
