"""Scaling of the update time with 1 vs 2 torch.distributed workers (gloo, CPU).

The same global update (a gradient batch of utterances and a curvature subset) is run by
one process with 1 and with 2 intra-op threads, and by 2 gloo ranks with 1 thread each,
each rank holding half the utterances (``ShardedUpdates``). For NGHF and Adam we report the
median wall time per update, the time spent in all-reduces (a timing wrapper around the
reducer) and the speed-up over one process with one thread.

    python bench/bench_dist.py [--updates 3] [--hidden 128] [--utts 16] [--frames 100]

Prints a table and writes ``bench/results/bench_dist.json``. On a 2-core machine shared with
other jobs the numbers are noisy; the JSON records the core count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist

from nghf.criteria.ce import CrossEntropy
from nghf.data.batch import IGNORE_TARGET, SequenceBatch
from nghf.dist.reduce import LocalReducer, Reducer, TorchDistReducer
from nghf.dist.shard import ShardedUpdates
from nghf.models.factory import ModelConfig, build_model
from nghf.models.tdnn import TdnnConfig
from nghf.optim.base import UpdateProblem
from nghf.optim.cg import CGConfig
from nghf.optim.config import SecondOrderConfig
from nghf.optim.first_order import FirstOrderConfig, build_first_order
from nghf.optim.second_order import SecondOrderOptimizer

FEAT, PDFS = 40, 300


class TimedReducer:
    """A reducer that accumulates the wall time of its all-reduces."""

    def __init__(self, inner: Reducer) -> None:
        self.inner = inner
        self.world_size, self.rank = inner.world_size, inner.rank
        self.seconds = 0.0
        self.calls = 0

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        start = time.perf_counter()
        out = self.inner.sum_(tensor)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return out


class _OneUpdate:
    def __init__(self, grad: list[SequenceBatch], curv: list[SequenceBatch]) -> None:
        self.grad, self.curv = grad, curv

    def num_updates(self, epoch: int) -> int:
        return 1

    def update_batches(self, epoch: int, index: int) -> tuple[list[SequenceBatch], list[SequenceBatch]]:
        return self.grad, self.curv


def _data(utts: int, frames: int) -> tuple[SequenceBatch, SequenceBatch]:
    g = torch.Generator().manual_seed(0)
    lengths = [frames - (i * 7) % (frames // 3) for i in range(utts)]
    feats = torch.randn(utts, frames, FEAT, generator=g)
    targets = torch.randint(0, PDFS, (utts, frames), generator=g)
    for i, n in enumerate(lengths):
        feats[i, n:] = 0
        targets[i, n:] = IGNORE_TARGET
    batch = SequenceBatch(tuple(f"u{i}" for i in range(utts)), feats, torch.tensor(lengths), targets)
    return batch, batch.select(list(range(0, utts, 2)))


def _measure(method: str, args: argparse.Namespace, reducer: Reducer) -> dict:
    torch.manual_seed(1)
    cfg = ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=args.hidden, norm="layer",
                                                   contexts=((-2, -1, 0, 1, 2), (-1, 0, 1), (-3, 0, 3), (-3, 0, 3))))
    model = build_model(cfg, FEAT, PDFS)
    if method == "adam":
        updater = build_first_order(FirstOrderConfig(kind="adam", lr=1e-3), model.parameters())
    else:
        updater = SecondOrderOptimizer(model.parameters(), SecondOrderConfig(
            kind="nghf", formulation="B", cg=CGConfig(max_iters=args.cg_iters, progress_eps=0.0)))
    batch, curv = _data(args.utts, args.frames)
    grad, curvature = ShardedUpdates(_OneUpdate([batch], [curv]), reducer.rank, reducer.world_size).update_batches(0, 0)
    timed = TimedReducer(reducer)
    counts = torch.tensor([float((b.targets != IGNORE_TARGET).sum()) for b in (batch, curv)], dtype=torch.float64)
    times, comm = [], []
    for i in range(args.updates + 1):
        timed.seconds = 0.0
        problem = UpdateProblem(model, CrossEntropy(), grad, curvature, int(counts[0]), int(counts[1]), timed)
        start = time.perf_counter()
        updater.step(problem)
        if i:  # the first update warms up allocators and thread pools
            times.append(time.perf_counter() - start)
            comm.append(timed.seconds)
    params = sum(p.numel() for p in model.parameters())
    return {"update_s": statistics.median(times), "allreduce_s": statistics.median(comm), "params": params}


def _worker(rank: int, world: int, init: str, method: str, args: argparse.Namespace, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init}", rank=rank, world_size=world,
                            timeout=dt.timedelta(seconds=600))
    result = _measure(method, args, TorchDistReducer())
    dist.destroy_process_group()
    if rank == 0:
        Path(out).write_text(json.dumps(result))


def _two_ranks(method: str, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        ctx = mp.get_context("spawn")
        procs = [ctx.Process(target=_worker, args=(r, 2, os.path.join(tmp, "init"), method, args, out))
                 for r in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(1200)
            if p.is_alive():
                p.kill()
                raise RuntimeError("a benchmark rank did not finish in 20 minutes")
        if any(p.exitcode for p in procs):
            raise RuntimeError(f"benchmark ranks failed: exit codes {[p.exitcode for p in procs]}")
        return json.loads(Path(out).read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=3, help="timed updates (after one warm-up)")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--utts", type=int, default=16, help="utterances in the gradient batch")
    parser.add_argument("--frames", type=int, default=100, help="longest utterance (frames)")
    parser.add_argument("--cg-iters", type=int, default=8)
    parser.add_argument("--methods", default="nghf,adam")
    args = parser.parse_args()
    rows = []
    for method in args.methods.split(","):
        runs = {}
        for threads in (1, 2):
            torch.set_num_threads(threads)
            runs[f"1 proc x {threads} thr"] = _measure(method, args, LocalReducer())
        runs["2 ranks x 1 thr"] = _two_ranks(method, args)
        base = runs["1 proc x 1 thr"]["update_s"]
        for setup, r in runs.items():
            rows.append({"method": method, "setup": setup, **r, "speedup": base / r["update_s"]})
    print(f"{'method':6} {'setup':16} {'update s':>9} {'all-reduce s':>12} {'speed-up':>8}")
    for r in rows:
        print(f"{r['method']:6} {r['setup']:16} {r['update_s']:9.3f} {r['allreduce_s']:12.4f} {r['speedup']:8.2f}")
    out = Path(__file__).parent / "results" / "bench_dist.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cpus": os.cpu_count(), "torch": torch.__version__, "args": vars(args), "rows": rows},
                              indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
