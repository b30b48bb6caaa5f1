"""Update cases run both in one process and as gloo ranks (imported by the spawned workers).

Each case builds a tiny model and one global update's data (a gradient batch of utterances
of different lengths and a curvature subset), takes this rank's rows with the trainer's
``ShardedUpdates`` and performs two updates; the flat parameters afterwards are compared
with the single-process run on the whole data.
"""

from __future__ import annotations

import datetime as dt
import traceback
from pathlib import Path

import torch
import torch.distributed as dist

from nghf.criteria.ce import CrossEntropy
from nghf.data.batch import IGNORE_TARGET, SequenceBatch
from nghf.dist.checksum import DivergenceError, check_identical
from nghf.dist.reduce import Reducer, TorchDistReducer
from nghf.dist.shard import ShardedUpdates
from nghf.models.factory import ModelConfig, build_model
from nghf.models.lstm import LstmConfig
from nghf.models.tdnn import TdnnConfig
from nghf.optim.base import UpdateProblem
from nghf.optim.cg import CGConfig
from nghf.optim.config import SecondOrderConfig
from nghf.optim.first_order import FirstOrderConfig, build_first_order
from nghf.optim.second_order import SecondOrderOptimizer

FEAT, PDFS = 3, 5
CASES = [
    # (name, model kind, norm, optimiser, dtype)
    ("nghf-tdnn", "tdnn", "layer", "nghf", torch.float64),
    ("nghf-tdnn-batchnorm", "tdnn", "batch", "nghf", torch.float64),
    ("nghf-lstm", "lstm", "", "nghf", torch.float64),
    ("adam-tdnn", "tdnn", "layer", "adam", torch.float32),
    ("adam-lstm", "lstm", "", "adam", torch.float32),
]


class OneUpdateSource:
    """An ``UpdateSource`` with one update: the given gradient and curvature batches."""

    def __init__(self, grad: list[SequenceBatch], curv: list[SequenceBatch]) -> None:
        self.grad, self.curv = grad, curv

    def num_updates(self, epoch: int) -> int:
        return 1

    def update_batches(self, epoch: int, index: int) -> tuple[list[SequenceBatch], list[SequenceBatch]]:
        return self.grad, self.curv


def make_batch(dtype: torch.dtype, seed: int = 5) -> SequenceBatch:
    g = torch.Generator().manual_seed(seed)
    lengths = [9, 7, 6, 8, 5, 9]
    t = max(lengths)
    feats = torch.randn(len(lengths), t, FEAT, generator=g, dtype=torch.float64).to(dtype)
    targets = torch.randint(0, PDFS, (len(lengths), t), generator=g)
    for i, n in enumerate(lengths):
        feats[i, n:] = 0
        targets[i, n:] = IGNORE_TARGET
    return SequenceBatch(tuple(f"utt{i}" for i in range(len(lengths))), feats, torch.tensor(lengths), targets)


def make_model(kind: str, norm: str, dtype: torch.dtype) -> torch.nn.Module:
    torch.manual_seed(11)
    config = ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=6, contexts=((-1, 0, 1), (-1, 0, 1)), norm=norm or "none")) \
        if kind == "tdnn" else ModelConfig(kind="lstm", lstm=LstmConfig(hidden_dim=6, num_layers=1, proj_dim=4))
    return build_model(config, FEAT, PDFS).to(dtype=dtype)


def make_updater(optim: str, model: torch.nn.Module):
    if optim == "adam":
        return build_first_order(FirstOrderConfig(kind="adam", lr=0.05), model.parameters())
    return SecondOrderOptimizer(model.parameters(), SecondOrderConfig(kind="nghf", formulation="B",
                                                                      cg=CGConfig(max_iters=8)))


def frames(batches: list[SequenceBatch]) -> int:
    return sum(int((b.targets != IGNORE_TARGET).sum()) for b in batches)


def run_case(case: tuple, reducer: Reducer, reference_split: bool = False, updates: int = 2) -> torch.Tensor:
    """Flat parameters after ``updates`` updates. ``reference_split``: a single process that
    uses every rank's rows as separate batches (equal to the distributed run even with
    batch-norm, whose statistics are per batch)."""
    _, kind, norm, optim, dtype = case
    batch = make_batch(dtype)
    curv = batch.select([0, 2, 3, 5])
    model = make_model(kind, norm, dtype)
    updater = make_updater(optim, model)
    source = OneUpdateSource([batch], [curv])
    if reference_split:
        shards = [ShardedUpdates(source, r, 2).update_batches(0, 0) for r in range(2)]
        grad, curvature = [b for s in shards for b in s[0]], [b for s in shards for b in s[1]]
    else:
        grad, curvature = ShardedUpdates(source, reducer.rank, reducer.world_size).update_batches(0, 0)
    total = torch.tensor([frames(grad), frames(curvature)], dtype=torch.float64)
    reducer.sum_(total)
    for _ in range(updates):
        problem = UpdateProblem(model, CrossEntropy(), grad, curvature, int(total[0]), int(total[1]), reducer)
        updater.step(problem)
    return torch.cat([p.detach().reshape(-1).double() for p in model.parameters()])


def products(kind: str, reducer: Reducer) -> dict[str, torch.Tensor]:
    """Loss, gradient, Gauss-Newton and Fisher products and ``UᵀU`` of this rank's shard
    (all-reduced) at the initial parameters, float64."""
    from nghf.optim.curvature import ModelCurvature
    from nghf.optim.params import ParamSpace

    dtype = torch.float64
    batch = make_batch(dtype)
    curv = batch.select([0, 2, 3, 5])
    model = make_model(kind, "layer", dtype)
    grad, curvature = ShardedUpdates(OneUpdateSource([batch], [curv]), reducer.rank, reducer.world_size).update_batches(0, 0)
    space = ParamSpace(model, list(model.parameters()))
    oracle = ModelCurvature(model, CrossEntropy(), space, grad, curvature, frames([batch]), frames([curv]), reducer)
    loss, g = oracle.loss_and_gradient()
    v = torch.randn(space.numel, generator=torch.Generator().manual_seed(3), dtype=dtype)
    rows = oracle.fisher_factor()
    return {"loss": torch.tensor(loss), "grad": g, "gv": oracle.gauss_newton(v), "fv": oracle.fisher(v),
            "utu": rows.T @ rows}


def worker(rank: int, world: int, init_file: str, out: str) -> None:
    """One gloo rank: every case, then the checksum checks; results to ``out``."""
    result: dict = {}
    try:
        torch.set_num_threads(1)
        dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world,
                                timeout=dt.timedelta(seconds=60))
        reducer = TorchDistReducer()
        for case in CASES:
            result[case[0]] = run_case(case, reducer)
        for kind in ("tdnn", "lstm"):
            result[f"products-{kind}"] = products(kind, reducer)
        model = make_model("tdnn", "layer", torch.float32)
        result["checksum_same"] = check_identical(reducer, model, "in the test")
        if rank == 1:
            with torch.no_grad():
                p = next(model.parameters())
                p.view(-1)[0] = torch.nextafter(p.view(-1)[0], torch.tensor(float("inf")))
        try:
            check_identical(reducer, model, "after the perturbation")
            result["divergence"] = "not detected"
        except DivergenceError as err:
            result["divergence"] = str(err)
        dist.destroy_process_group()
    except Exception:  # noqa: BLE001 - reported to the test
        result["error"] = traceback.format_exc()
    torch.save(result, Path(out))


def case_by_name(name: str) -> tuple:
    return next(c for c in CASES if c[0] == name)

