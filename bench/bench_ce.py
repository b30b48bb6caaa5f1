"""CE training throughput per model (default sizes from conf/model_*.yaml) on CPU.

Measures frames/s of full updates (forward, backward, Adam step) on random chunks shaped
like the default training config (64 chunks x 64 frames, plus each model's context), 40-dim
features and 2000 pdfs, and reports parameter counts. Prints a table and writes
``bench/results/bench_ce.json``.

    python bench/bench_ce.py [--threads 1] [--updates 5] [--num-pdfs 2000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from nghf.criteria.ce import CrossEntropy
from nghf.data.batch import IGNORE_TARGET, SequenceBatch
from nghf.models.factory import ModelConfig, build_model, num_parameters
from nghf.optim.base import UpdateProblem
from nghf.optim.first_order import FirstOrderConfig, build_first_order
from nghf.train.data import DataConfig
from nghf.utils.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def make_batch(model, data: DataConfig, feat_dim: int, num_pdfs: int, gen: torch.Generator) -> SequenceBatch:
    left = model.left_context + (data.extra_left_context if model.unbounded_left else 0)
    right = model.right_context + (data.extra_right_context if model.unbounded_right else 0)
    width = left + data.chunk_width + right
    b = data.batch_size
    targets = torch.full((b, width), IGNORE_TARGET, dtype=torch.long)
    targets[:, left : left + data.chunk_width] = torch.randint(0, num_pdfs, (b, data.chunk_width), generator=gen)
    return SequenceBatch(
        tuple(f"u{i}" for i in range(b)), torch.randn(b, width, feat_dim, generator=gen),
        torch.full((b,), width, dtype=torch.long), targets,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--updates", type=int, default=5)
    parser.add_argument("--feat-dim", type=int, default=40)
    parser.add_argument("--num-pdfs", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_config(DataConfig, None)
    rows = []
    for kind in ("tdnn", "lstm", "rnn"):
        config = load_config(ModelConfig, ROOT / f"conf/model_{kind}.yaml")
        torch.manual_seed(0)
        model = build_model(config, args.feat_dim, args.num_pdfs)
        updater = build_first_order(FirstOrderConfig(kind="adam", lr=1e-3), model.parameters())
        gen = torch.Generator().manual_seed(0)
        batch = make_batch(model, data, args.feat_dim, args.num_pdfs, gen)
        frames = int((batch.targets != IGNORE_TARGET).sum())
        problem = UpdateProblem(model, CrossEntropy(), [batch], [], frames, 0)
        updater.step(problem)  # warm-up
        start = time.perf_counter()
        for _ in range(args.updates):
            updater.step(problem)
        elapsed = time.perf_counter() - start
        rows.append({
            "model": kind, "params": num_parameters(model), "frames_per_update": frames,
            "input_frames_per_update": int(batch.feature_lengths.sum()),
            "sec_per_update": elapsed / args.updates, "frames_per_s": frames * args.updates / elapsed,
            "threads": args.threads,
        })
    print(f"{'model':<6} {'params':>10} {'frames/upd':>10} {'s/update':>9} {'frames/s':>9}")
    for r in rows:
        print(f"{r['model']:<6} {r['params']:>10,} {r['frames_per_update']:>10} {r['sec_per_update']:>9.3f} {r['frames_per_s']:>9.0f}")
    out = ROOT / "bench/results/bench_ce.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"device": "cpu", "feat_dim": args.feat_dim, "num_pdfs": args.num_pdfs, "results": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
