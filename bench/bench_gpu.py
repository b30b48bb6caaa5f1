"""GPU readiness: lattice forward-backward, curvature products and a short sequence-training run
on a device, each against the same computation on the CPU.

Three sections, all on seeded synthetic problems (no recipe run needed):

1. ``fb``: the batched lattice forward-backward (:mod:`nghf.lattice.fb`) on random
   frame-synchronous lattices (default B=16 × T≤300 frames, 20 states and 60 arcs per frame,
   2000 pdfs, as ``bench/bench_fb.py``): ``forward_backward`` (log Z and arc posteriors),
   ``log_partition`` + autograd (γ, the MMI gradient) and one product of the cached
   path-covariance statistics (the curvature of the sequence criteria). Throughput is in
   arc-frames/s: every lattice arc spans exactly one frame, so the work of one pass is the
   batch's arc count (Σ over utterances and frames of the arcs of that frame); a CAT-style
   denominator graph of E arcs visited at every frame does E × T × B arc-frames. The anchor is
   about 1.8e8 arc-frames/s for a GPU denominator forward-backward in the CAT toolkit (a
   different algorithm on a different graph: a scale, not a target).
2. ``curv``: gradient, Gauss-Newton product ``G v`` and Fisher product ``F v``
   (:class:`nghf.optim.curvature.ModelCurvature`) of the MMI and MPFE criteria on a small
   TDNN, LSTM and RNN (``nghf.models.factory``) and random lattices
   (:func:`nghf.optim.toy.make_sequence_batch`): seconds per product and agreement.
3. ``train``: a few NGHF and SGD updates (``conf/optim_nghf.yaml``, ``conf/optim_sgd.yaml``
   with ``lr=0.5``) of a tiny TDNN and LSTM on MMI from the same initial weights; the loss
   before each update and after the last, and the parameter change of the run, device
   against CPU.

Agreement is ``max |device − cpu| ≤ atol + rtol · max |cpu|`` per compared tensor (the
tolerances are printed and written to the JSON; float32 on a GPU differs from the CPU in the
order of its sums). The exit status is 0 when every check passes, 1 when one fails, 2 when
the device is not available. ``--device cpu`` compares the CPU with itself (exact; the script
checks itself, e.g. in the test suite with ``--quick``); ``--perturb EPS`` scales every
device result by ``1 + EPS`` before the comparison, to see the checks fail.

    python bench/bench_gpu.py [--device cuda] [--quick] [--dtype float32|float64] [--json out.json]

Prints a table and writes ``bench/results/bench_gpu.json`` (or ``--json``).
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from timinglib import best_time, synchronize

from nghf.criteria.factory import build_sequence_criterion
from nghf.criteria.seqbase import LatticeCriterion, SequenceCriterionConfig
from nghf.data.batch import SequenceBatch
from nghf.lattice.covariance import path_covariance
from nghf.lattice.fb import forward_backward, log_partition
from nghf.lattice.synthetic import random_lattice, random_transition_table
from nghf.lattice.types import LatticeBatch
from nghf.models.factory import ModelConfig, build_model
from nghf.models.lstm import LstmConfig
from nghf.models.rnn import RnnConfig
from nghf.models.tdnn import TdnnConfig
from nghf.optim.base import UpdateProblem
from nghf.optim.curvature import ModelCurvature
from nghf.optim.factory import build_updater, load_optim_config
from nghf.optim.params import ParamSpace
from nghf.optim.toy import frames_of, make_sequence_batch
from nghf.train.sequence_run import freeze_norm_layers

REPO = Path(__file__).resolve().parents[1]
ANCHOR_ARC_FRAMES_PER_S = 1.8e8
"""CAT toolkit, GPU denominator forward-backward (the scale quoted in the brief)."""

# (rtol, atol) of each comparison, per arithmetic. float32: the device sums in another order
# (atomics, other kernels); the differences grow with the frames of a recursion and with
# CG's amplification in a second-order update (``train_step``: the parameter change of the
# whole run, which a wrong gradient changes far more than the loss curve).
TOLERANCES: dict[str, dict[str, tuple[float, float]]] = {
    "float32": {"log_z": (1e-5, 0.0), "arc_post": (0.0, 1e-4), "gamma": (0.0, 1e-4), "cov_hvp": (1e-4, 0.0),
                "loss": (1e-5, 0.0), "grad": (1e-3, 0.0), "gauss_newton": (1e-3, 0.0), "fisher": (1e-3, 0.0),
                "train_loss": (1e-3, 0.0), "train_step": (1e-2, 0.0)},
    "float64": {"log_z": (1e-10, 0.0), "arc_post": (0.0, 1e-10), "gamma": (0.0, 1e-10), "cov_hvp": (1e-9, 0.0),
                "loss": (1e-10, 0.0), "grad": (1e-8, 0.0), "gauss_newton": (1e-8, 0.0), "fisher": (1e-8, 0.0),
                "train_loss": (1e-7, 0.0), "train_step": (1e-6, 0.0)},
}

OPTIMISERS = {"nghf": (), "sgd": ("lr=0.5",)}
"""``conf/optim_<name>.yaml`` and overrides (SGD's own lr moves the loss by 1e-6 per update
here: too little for the loss curve to show a wrong gradient)."""

SIZES = {
    "full": dict(fb_batch=16, fb_frames=300, fb_states=20, fb_arcs=60, fb_pdfs=2000,
                 feat_dim=40, hidden=256, pdfs=2000, utts=8, frames=150, lat_states=10, lat_arcs=30,
                 train_utts=16, train_frames=100, train_hidden=64, train_pdfs=200, updates=3, repeats=3),
    "quick": dict(fb_batch=3, fb_frames=30, fb_states=4, fb_arcs=10, fb_pdfs=50,
                  feat_dim=8, hidden=12, pdfs=20, utts=3, frames=12, lat_states=3, lat_arcs=6,
                  train_utts=4, train_frames=10, train_hidden=8, train_pdfs=12, updates=2, repeats=1),
}


class DeviceUnavailable(RuntimeError):
    """The requested device does not exist on this machine."""


def resolve_device(name: str) -> torch.device:
    """``torch.device(name)``, checked to exist (raises :class:`DeviceUnavailable`)."""
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceUnavailable(
                f"device {name!r} requested but CUDA is not available (torch {torch.__version__}, "
                f"built for CUDA {torch.version.cuda}); use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceUnavailable(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s)")
    elif device.type != "cpu":
        raise DeviceUnavailable(f"device {name!r}: only cpu and cuda are supported")
    return device


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine()


def compare(reference: Any, result: Any, rtol: float, atol: float = 0.0) -> dict[str, Any]:
    """Agreement of ``result`` with ``reference`` (tensors, numbers or lists of them, any
    device): ``ok`` iff the shapes match, ``result`` is finite and
    ``max |result − reference| ≤ atol + rtol · max |reference|``."""
    ref = torch.as_tensor(reference).detach().to("cpu", torch.float64)
    got = torch.as_tensor(result).detach().to("cpu", torch.float64)
    out: dict[str, Any] = {"rtol": rtol, "atol": atol}
    if ref.shape != got.shape:
        return {**out, "max_abs_diff": float("inf"), "scale": float("nan"), "ok": False,
                "why": f"shape {tuple(got.shape)} != {tuple(ref.shape)}"}
    diff = float((got - ref).abs().max()) if ref.numel() else 0.0
    scale = float(ref.abs().max()) if ref.numel() else 0.0
    finite = bool(torch.isfinite(got).all())
    ok = finite and diff <= atol + rtol * scale
    out.update(max_abs_diff=diff, scale=scale, ok=ok)
    if not finite:
        out["why"] = "non-finite values"
    return out


def _perturbed(x: Any, eps: float) -> Any:
    if eps == 0:
        return x
    if isinstance(x, torch.Tensor):
        return x * (1 + eps)
    return [v * (1 + eps) for v in x]


def _row(section: str, name: str, checks: dict[str, dict], device_s: float | None = None,
         cpu_s: float | None = None, **extra: Any) -> dict[str, Any]:
    return {"section": section, "name": name, "device_s": device_s, "cpu_s": cpu_s,
            "speedup": (cpu_s / device_s) if device_s and cpu_s else None,
            "checks": checks, "ok": all(c["ok"] for c in checks.values()), **extra}


def _error_row(section: str, name: str, keys: Sequence[str], err: Exception, **extra: Any) -> dict[str, Any]:
    """A row whose computation raised (e.g. an op without a CUDA kernel or derivative): every
    check fails with the error's one-line text, and the run goes on."""
    why = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
    failed = {"rtol": float("nan"), "atol": float("nan"), "max_abs_diff": float("nan"), "scale": float("nan"),
              "ok": False, "why": why}
    return _row(section, name, {k: dict(failed) for k in keys}, **extra)


# ----------------------------------------------------------------------------- 1. forward-backward
def bench_fb(device: torch.device, dtype: torch.dtype, tol: dict, size: dict, perturb: float) -> dict[str, Any]:
    """Forward-backward, γ by autograd and one path-covariance product: device against CPU."""
    cpu = torch.device("cpu")
    rng = np.random.default_rng(0)
    table = random_transition_table(rng, size["fb_pdfs"], 40)
    t_max = size["fb_frames"]
    lengths = rng.integers(int(t_max * 0.8), t_max + 1, size=size["fb_batch"])
    lengths[0] = t_max
    lats = [random_lattice(rng, int(t), size["fb_states"], size["fb_arcs"], table=table, utt_id=f"utt{i}")
            for i, t in enumerate(lengths)]
    batches = {"cpu": LatticeBatch.from_lattices(lats, cpu)}
    batches["device"] = batches["cpu"].to(device)
    gen = torch.Generator().manual_seed(0)
    scores_cpu = torch.log_softmax(torch.randn(len(lats), t_max, size["fb_pdfs"], generator=gen), -1).to(dtype)
    v_cpu = torch.randn(scores_cpu.shape, generator=gen).to(dtype)
    scores = {"cpu": scores_cpu, "device": scores_cpu.to(device)}
    vs = {"cpu": v_cpu, "device": v_cpu.to(device)}
    devs = {"cpu": cpu, "device": device}
    arc_frames = batches["cpu"].num_arcs

    def fb(side: str):
        res = forward_backward(batches[side], scores[side], graph_scale=1.0)
        return res.log_z, res.arc_post

    def grad(side: str):
        s = scores[side].detach().requires_grad_()
        (g,) = torch.autograd.grad(log_partition(batches[side], s, 1.0).sum(), s)
        return g

    def cov_hvp(side: str):
        return path_covariance(batches[side], scores[side], 1.0).product(vs[side])

    rows = []
    for name, fn, keys in (("forward-backward", fb, ("log_z", "arc_post")), ("log Z grad (γ)", grad, ("gamma",)),
                           ("covariance stats+hvp", cov_hvp, ("cov_hvp",))):
        try:
            out = {side: fn(side) for side in ("cpu", "device")}
            ref = out["cpu"] if isinstance(out["cpu"], tuple) else (out["cpu"],)
            got = out["device"] if isinstance(out["device"], tuple) else (out["device"],)
            checks = {k: compare(r, _perturbed(g, perturb), *tol[k]) for k, r, g in zip(keys, ref, got, strict=True)}
            t_dev = best_time(lambda f=fn: f("device"), devs["device"], size["repeats"])
            t_cpu = best_time(lambda f=fn: f("cpu"), cpu, size["repeats"])
        except Exception as err:  # reported as a failed row; the other rows still run
            rows.append(_error_row("fb", name, keys, err))
            continue
        rows.append(_row("fb", name, checks, t_dev, t_cpu, device_arc_frames_per_s=arc_frames / t_dev,
                         cpu_arc_frames_per_s=arc_frames / t_cpu))
    return {"batch": len(lats), "frames": int(lengths.sum()), "max_frames": t_max, "arcs": arc_frames,
            "arc_frames": arc_frames, "arcs_per_frame": arc_frames / int(lengths.sum()),
            "pdfs": size["fb_pdfs"], "anchor_arc_frames_per_s": ANCHOR_ARC_FRAMES_PER_S, "rows": rows}


# ----------------------------------------------------------------------------- 2. curvature products
def small_model(kind: str, feat_dim: int, hidden: int, pdfs: int, seed: int = 0) -> torch.nn.Module:
    """A seeded small TDNN, LSTM (with projection and a spliced input layer) or RNN."""
    if kind == "tdnn":
        config = ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=hidden, contexts=((-1, 0, 1), (-1, 0, 1), (0,))))
    elif kind == "lstm":
        config = ModelConfig(kind="lstm", lstm=LstmConfig(hidden_dim=hidden, num_layers=1, proj_dim=max(1, hidden // 2),
                                                          input_context=(-1, 0, 1), input_dim=hidden))
    else:
        config = ModelConfig(kind="rnn", rnn=RnnConfig(hidden_dim=hidden, num_layers=2))
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = build_model(config, feat_dim, pdfs)
    finally:
        torch.random.set_rng_state(state)
    model.train()
    freeze_norm_layers(model)  # as sequence training does (exact Fisher rows)
    return model


def sequence_criterion(name: str, pdfs: int, dtype: torch.dtype) -> LatticeCriterion:
    priors = torch.log_softmax(torch.randn(pdfs, generator=torch.Generator().manual_seed(1), dtype=torch.float64), 0)
    precision = "float64" if dtype == torch.float64 else "float32"
    config = SequenceCriterionConfig(name=name, acoustic_scale=0.1, precision=precision,  # type: ignore[arg-type]
                                     silence_phones=(1,) if name != "mmi" else ())
    return build_sequence_criterion(config, priors.to(dtype))


def bench_curvature(device: torch.device, dtype: torch.dtype, tol: dict, size: dict, perturb: float) -> list[dict]:
    """Gradient, G·v and F·v of MMI/MPFE on a TDNN, LSTM and RNN: device against CPU."""
    batch = make_sequence_batch(size["utts"], size["frames"], size["feat_dim"], size["pdfs"], seed=3,
                                states_per_frame=size["lat_states"], arcs_per_frame=size["lat_arcs"], dtype=dtype)
    frames = frames_of([batch])
    rows = []
    for kind in ("tdnn", "lstm", "rnn"):
        base = small_model(kind, size["feat_dim"], size["hidden"], size["pdfs"]).to(dtype=dtype)
        for crit_name in ("mmi", "mpfe"):
            rows += _curvature_rows(kind, crit_name, base, batch, frames, device, dtype, tol, size, perturb)
    return rows


def _curvature_rows(kind: str, crit_name: str, base: torch.nn.Module, batch: SequenceBatch, frames: int,
                    device: torch.device, dtype: torch.dtype, tol: dict, size: dict, perturb: float) -> list[dict]:
    """One row per product (gradient, G·v, F·v) of one model and criterion; a product that
    raises on either side gives a failed row and the next product still runs."""
    crit = sequence_criterion(crit_name, size["pdfs"], dtype)
    oracles = {}
    for side, dev in (("cpu", torch.device("cpu")), ("device", device)):
        model = copy.deepcopy(base).to(dev)
        oracle = ModelCurvature(model, crit, ParamSpace(model), [batch.to(dev)], [batch.to(dev)], frames, frames)
        v = torch.randn(oracle.space.numel, generator=torch.Generator().manual_seed(2), dtype=dtype).to(dev)
        oracles[side] = (oracle, v, dev)
    products: dict[str, Callable[[ModelCurvature, torch.Tensor], dict[str, Any]]] = {
        "grad": lambda o, v: dict(zip(("loss", "grad"), o.loss_and_gradient(), strict=True)),
        "gauss_newton": lambda o, v: {"gauss_newton": o.gauss_newton(v)},
        "fisher": lambda o, v: {"fisher": o.fisher(v)},
    }
    rows = []
    for product, fn in products.items():
        name = f"{kind} {crit_name} {product}"
        keys = ("loss", "grad") if product == "grad" else (product,)
        extra = dict(model=kind, criterion=crit_name, product=product, params=oracles["cpu"][0].space.numel,
                     frames=frames, jvp_method=oracles["device"][0].jvp_method)
        try:
            out = {side: fn(o, v) for side, (o, v, _) in oracles.items()}
            checks = {k: compare(out["cpu"][k], _perturbed(torch.as_tensor(out["device"][k]), perturb), *tol[k])
                      for k in keys}
            times = {side: best_time(lambda o=o, v=v, fn=fn: fn(o, v), dev, size["repeats"])
                     for side, (o, v, dev) in oracles.items()}
        except Exception as err:  # reported as a failed row; the other products still run
            rows.append(_error_row("curv", name, keys, err, **extra))
            continue
        rows.append(_row("curv", name, checks, times["device"], times["cpu"], **extra))
    return rows


# ----------------------------------------------------------------------------- 3. training
def train_losses(model: torch.nn.Module, optimiser: str, crit: LatticeCriterion, grad_batches: Sequence[SequenceBatch],
                 curv_batches: Sequence[SequenceBatch], updates: int) -> tuple[list[float], torch.Tensor]:
    """The loss before each of ``updates`` updates and after the last (gradient batches), and
    the parameter change of the run (flat)."""
    config = load_optim_config(REPO / "conf" / f"optim_{optimiser}.yaml", OPTIMISERS[optimiser])
    updater = build_updater(config, model.parameters())
    n, n_c = frames_of(list(grad_batches)), frames_of(list(curv_batches))
    start = ParamSpace(model).get_flat().clone()
    losses = []
    for _ in range(updates):
        losses.append(updater.step(UpdateProblem(model, crit, grad_batches, curv_batches, n, n_c)).loss)
    oracle = ModelCurvature(model, crit, ParamSpace(model), grad_batches, curv_batches, n, n_c)
    losses.append(oracle.loss())
    return losses, oracle.space.get_flat() - start


def bench_training(device: torch.device, dtype: torch.dtype, tol: dict, size: dict, perturb: float) -> list[dict]:
    """A few NGHF and SGD updates of a tiny TDNN and LSTM on MMI: the loss curve, device
    against CPU."""
    cpu = torch.device("cpu")
    pdfs = size["train_pdfs"]
    grad = make_sequence_batch(size["train_utts"], size["train_frames"], size["feat_dim"], pdfs, seed=11,
                               states_per_frame=size["lat_states"], arcs_per_frame=size["lat_arcs"], dtype=dtype)
    curv = grad.select(list(range(max(1, size["train_utts"] // 2))))
    crit = sequence_criterion("mmi", pdfs, dtype)
    rows = []
    for kind in ("tdnn", "lstm"):
        base = small_model(kind, size["feat_dim"], size["train_hidden"], pdfs, seed=5).to(dtype=dtype)
        for name in OPTIMISERS:
            label = f"{kind} mmi {name} x{size['updates']}"
            extra = dict(model=kind, optimiser=name, overrides=list(OPTIMISERS[name]), updates=size["updates"])
            curves, steps, times = {}, {}, {}
            try:
                for side, dev in (("cpu", cpu), ("device", device)):
                    start = time.perf_counter()
                    curves[side], steps[side] = train_losses(copy.deepcopy(base).to(dev), name, crit, [grad.to(dev)],
                                                             [curv.to(dev)], size["updates"])
                    synchronize(dev)
                    times[side] = time.perf_counter() - start
            except Exception as err:  # reported as a failed row; the other runs still go
                rows.append(_error_row("train", label, ("train_loss", "train_step"), err, **extra))
                continue
            checks = {"train_loss": compare(curves["cpu"], _perturbed(curves["device"], perturb), *tol["train_loss"]),
                      "train_step": compare(steps["cpu"], _perturbed(steps["device"], perturb), *tol["train_step"])}
            rows.append(_row("train", label, checks, times["device"], times["cpu"], **extra,
                             cpu_losses=curves["cpu"], device_losses=curves["device"]))
    return rows


# ----------------------------------------------------------------------------- report
def print_table(result: dict[str, Any]) -> None:
    same = result["device"] == "cpu"
    print(f"bench_gpu: device={result['device']} ({result['device_name']}) reference=cpu dtype={result['dtype']} "
          f"torch={result['torch']} sizes={result['sizes']} threads={result['threads']}"
          + ("  [device is the reference: agreement is exact by construction]" if same else ""))
    print(f"{'section':<6} {'check':<30} {'device s':>9} {'cpu s':>9} {'speed-up':>8}  "
          f"{'compared':<13} {'max|diff|':>9} {'max|ref|':>9} {'rtol':>7} {'atol':>7}  ok")
    for row in result["rows"]:
        first = True
        for key, c in row["checks"].items():
            if not first:
                times = " " * 28
            elif row["device_s"] is None:
                times = f"{'-':>9} {'-':>9} {'-':>8}"
            else:
                times = f"{row['device_s']:>9.4f} {row['cpu_s']:>9.4f} {(row['speedup'] or 0):>7.2f}x"
            print(f"{row['section']:<6} {row['name'] if first else '':<30} {times}  {key:<13} "
                  f"{c['max_abs_diff']:>9.2e} {c['scale']:>9.2e} {c['rtol']:>7.0e} {c['atol']:>7.0e}  "
                  f"{'ok' if c['ok'] else 'FAIL'}" + (f"  ({c['why']})" if "why" in c else ""))
            first = False
    fb = result["fb"]
    row = next(r for r in result["rows"] if r["name"] == "forward-backward")
    if row["device_s"] is not None:
        print(f"fb throughput: {fb['arc_frames']} arc-frames ({fb['batch']} utts, {fb['frames']} frames, "
              f"{fb['arcs_per_frame']:.0f} arcs/frame, {fb['pdfs']} pdfs): device "
              f"{row['device_arc_frames_per_s']:.3g}, cpu {row['cpu_arc_frames_per_s']:.3g} arc-frames/s "
              f"(anchor: {ANCHOR_ARC_FRAMES_PER_S:.1e}, CAT GPU den fb)")
    for r in result["rows"]:
        if r["section"] == "train" and "cpu_losses" in r:
            print(f"train {r['model']} {r['optimiser']}: losses cpu {', '.join(f'{x:.6f}' for x in r['cpu_losses'])}; "
                  f"device {', '.join(f'{x:.6f}' for x in r['device_losses'])}")
    print("all checks passed" if result["ok"] else f"FAILED: {', '.join(result['failures'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                        help="device to check against the CPU (default: cuda when available)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat (seconds on a CPU)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--repeats", type=int, default=0, help="timed repeats (0: 3, or 1 with --quick)")
    parser.add_argument("--fb-batch", type=int, default=0, help="utterances of the forward-backward batch (0: 16, 3 quick)")
    parser.add_argument("--fb-frames", type=int, default=0, help="their longest length (0: 300, 30 quick)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads on the CPU")
    parser.add_argument("--perturb", type=float, default=0.0,
                        help="scale every device result by 1 + PERTURB before comparing (to see the checks fail; above 1e-2, the largest rtol)")
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "bench_gpu.json"))
    args = parser.parse_args(argv)
    try:
        device = resolve_device(args.device)
    except DeviceUnavailable as err:
        print(f"bench_gpu: error: {err}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    tol = TOLERANCES[args.dtype]
    size = dict(SIZES["quick" if args.quick else "full"])
    for key, value in (("repeats", args.repeats), ("fb_batch", args.fb_batch), ("fb_frames", args.fb_frames)):
        if value:
            size[key] = value
    start = time.perf_counter()
    fb = bench_fb(device, dtype, tol, size, args.perturb)
    rows = fb.pop("rows") + bench_curvature(device, dtype, tol, size, args.perturb)
    rows += bench_training(device, dtype, tol, size, args.perturb)
    failures = [f"{r['section']}:{r['name']}:{k}" for r in rows for k, c in r["checks"].items() if not c["ok"]]
    result = {
        "device": str(device), "device_name": device_description(device), "reference": "cpu",
        "dtype": args.dtype, "sizes": "quick" if args.quick else "full", "size": size, "threads": args.threads,
        "torch": torch.__version__, "cuda": torch.version.cuda, "perturb": args.perturb,
        "tolerances": {k: {"rtol": r, "atol": a} for k, (r, a) in tol.items()},
        "agreement": "max|device - cpu| <= atol + rtol * max|cpu| per compared tensor",
        "fb": fb, "rows": rows,
        "ok": not failures, "failures": failures, "seconds": time.perf_counter() - start,
    }
    print_table(result)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
