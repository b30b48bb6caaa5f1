"""Batched lattice forward-backward throughput versus a per-utterance loop.

For the same synthetic lattices (default B=16 utterances × T=300 frames, 20 states and 60 arcs
per frame, 2000 pdfs) it times, on the chosen device:

* ``alpha-beta``: the two recursions alone (arc-score gather, α and β: the frame loops);
* ``fb``: :func:`nghf.lattice.fb.forward_backward` (explicit α/β, log Z, arc posteriors);
* ``fb+gamma``: the same plus the dense ``(B, T, D)`` occupancies γ (a memory-bound scatter
  whose cost -- writing B·T·D numbers -- is the same batched or not);
* ``grad``: :func:`nghf.lattice.fb.log_partition` + autograd backward (the training path);
* ``hvp``: one curvature product (forward-over-reverse) :func:`log_partition_hvp`;
* ``cov-stats``: the cached posterior statistics of :func:`nghf.lattice.covariance.path_covariance`
  (once per second-order update), and ``cov-hvp``: one product from them (every CG iteration);

once on the whole batch and once as a loop over single-utterance batches, and reports frames/s,
the speed-up, and the peak memory of one batched call (``torch.cuda.max_memory_allocated`` on
CUDA; on CPU the peak of torch's allocations from the profiler plus the ``tracemalloc`` peak).
Prints a table and writes ``bench/results/bench_fb.json``.

    python bench/bench_fb.py [--device cuda] [--batch 16] [--frames 300] [--arcs 60]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch
from timinglib import best_time, synchronize

from nghf.lattice.covariance import path_covariance
from nghf.lattice.fb import (
    _backward,
    _forward,
    arc_scores,
    forward_backward,
    log_partition,
    log_partition_hvp,
)
from nghf.lattice.synthetic import random_lattice, random_transition_table
from nghf.lattice.types import LatticeBatch


def _op(mode: str, batch: LatticeBatch, scores: torch.Tensor, v: torch.Tensor) -> None:
    if mode == "alpha-beta":
        s = arc_scores(batch, scores, 1.0)
        _forward(batch, s, 1.0)
        _backward(batch, s, 1.0)
    elif mode == "fb":
        forward_backward(batch, scores, graph_scale=1.0)
    elif mode == "fb+gamma":
        _ = forward_backward(batch, scores, graph_scale=1.0).gamma
    elif mode == "grad":
        s = scores.detach().requires_grad_()
        log_partition(batch, s, 1.0).sum().backward()
    elif mode == "cov-stats":
        path_covariance(batch, scores, 1.0)
    elif mode == "cov-hvp":
        key = ("bench_cov", id(scores))
        if key not in batch.plan.cache:
            batch.plan.cache[key] = path_covariance(batch, scores, 1.0)
        batch.plan.cache[key].product(v)
    else:
        log_partition_hvp(batch, scores, v, 1.0)


def _peak_memory(fn, device: torch.device) -> dict[str, float]:
    """Peak extra memory of one call: the CUDA allocator's peak, or on CPU the peak of the
    running sum of the profiler's allocation events (torch's CPU allocations) plus tracemalloc."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        fn()
        synchronize(device)
        return {"cuda_peak_mib": (torch.cuda.max_memory_allocated(device) - base) / 2**20}
    from torch.profiler import ProfilerActivity, profile

    tracemalloc.start()
    fn()
    _, py_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(prof.events(), key=lambda e: e.time_range.start)
    running = peak = 0
    for event in events:
        running += event.self_cpu_memory_usage
        peak = max(peak, running)
    return {"cpu_alloc_peak_mib": peak / 2**20, "python_peak_mib": py_peak / 2**20}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--states", type=int, default=20, help="states per frame")
    parser.add_argument("--arcs", type=int, default=60, help="arcs per frame")
    parser.add_argument("--pdfs", type=int, default=2000)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", default="alpha-beta,fb,fb+gamma,grad,hvp,cov-stats,cov-hvp")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads on CPU")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "bench_fb.json"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32

    rng = np.random.default_rng(0)
    table = random_transition_table(rng, args.pdfs, 40)
    t0 = time.perf_counter()
    lengths = rng.integers(int(args.frames * 0.8), args.frames + 1, size=args.batch)
    lengths[0] = args.frames
    lats = [
        random_lattice(rng, int(t), args.states, args.arcs, table=table, utt_id=f"utt{i}")
        for i, t in enumerate(lengths)
    ]
    build_s = time.perf_counter() - t0
    batch = LatticeBatch.from_lattices(lats, device)
    singles = [LatticeBatch.from_lattices([lat], device) for lat in lats]
    gen = torch.Generator().manual_seed(0)
    scores = torch.log_softmax(torch.randn(args.batch, args.frames, args.pdfs, generator=gen), -1).to(device, dtype)
    v = torch.randn(scores.shape, generator=gen).to(device, dtype)
    total_frames = int(lengths.sum())

    rows = []
    for mode in args.modes.split(","):
        batched = best_time(lambda m=mode: _op(m, batch, scores, v), device, args.repeats)
        looped = best_time(
            lambda m=mode: [_op(m, s, scores[i : i + 1, : lats[i].num_frames], v[i : i + 1, : lats[i].num_frames])
                            for i, s in enumerate(singles)],
            device, args.repeats,
        )
        mem = _peak_memory(lambda m=mode: _op(m, batch, scores, v), device)
        rows.append({
            "mode": mode, "batched_s": batched, "per_utt_s": looped,
            "batched_frames_per_s": total_frames / batched, "per_utt_frames_per_s": total_frames / looped,
            "speedup": looped / batched, **mem,
        })

    print(f"device={device} dtype={args.dtype} B={args.batch} T<={args.frames} arcs={batch.num_arcs} "
          f"({batch.num_arcs / total_frames:.0f}/frame) pdfs={args.pdfs} threads={args.threads} "
          f"(lattice build {build_s:.1f} s)")
    header = f"{'mode':<11}{'batched s':>11}{'loop s':>10}{'batched fr/s':>14}{'loop fr/s':>12}{'speed-up':>10}  peak memory"
    print(header)
    for r in rows:
        mem = ", ".join(f"{k}={r[k]:.1f}" for k in r if k.endswith("_mib"))
        print(f"{r['mode']:<11}{r['batched_s']:>11.3f}{r['per_utt_s']:>10.3f}{r['batched_frames_per_s']:>14.0f}"
              f"{r['per_utt_frames_per_s']:>12.0f}{r['speedup']:>9.1f}x  {mem}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "device": str(device), "dtype": args.dtype, "batch": args.batch, "frames": args.frames,
        "total_frames": total_frames, "arcs": batch.num_arcs, "pdfs": args.pdfs, "threads": args.threads,
        "torch": torch.__version__, "rows": rows,
    }
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
