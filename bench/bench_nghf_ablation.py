"""Ablation of the second-order methods on the recipe's real sequence-training problems.

Needs a finished recipe run up to stage 10 (``exp/tdnn_ce``, ``exp/tdnn_denlats``,
``exp/tri2_ali``, ``exp/tri2/graph``, ``data/{train,dev}``). For every criterion (MMI, MPFE),
method (``hf``, ``ng``, ``nghf-A``, ``nghf-B``, ``nghf-C``, each without and with the
shared-parameter preconditioner) and seed (utterance order and the optimiser's probe
generator), it runs ``--updates`` updates from the CE TDNN with the recipe's second-order plan
(``conf/train_seq.yaml``: curvature fraction, validation utterances, held-out split; the
gradient batch size is ``--utts-per-update``) and records the full trajectory: the held-out
criterion after every update (the recipe's held-out utterances, as used for model selection),
the validation loss, CG iterations, the chosen CG iterate, ρ, λ and wall time. With
``--decode`` every final model is decoded on dev (``steps/decode.sh``, the recipe's hybrid
decoding options) and its WER (LM weight tuned on dev) is added.

Runs are spread over ``--workers`` processes (one thread each). Prints one table (mean ± sample
standard deviation over seeds) and writes ``bench/results/bench_nghf_ablation.json``.

    python bench/bench_nghf_ablation.py --exp exp --data data --seeds 0,1,2 --updates 3 --workers 2 --decode
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import os
import re
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VARIANTS: dict[str, list[str]] = {
    "hf": ["kind=hf", "preconditioner=none"],
    "ng": ["kind=ng", "preconditioner=none"],
    "nghf-A": ["kind=nghf", "formulation=A", "preconditioner=none"],
    "nghf-B": ["kind=nghf", "formulation=B", "preconditioner=none"],
    "nghf-C": ["kind=nghf", "formulation=C", "preconditioner=none"],
}
VARIANTS.update({f"{k}+shared": [*v[:-1], "preconditioner=shared"] for k, v in list(VARIANTS.items())})
NN_DECODE_OPTS = ["--acwt", "0.2", "--beam", "11", "--lattice-beam", "7", "--min-lmwt", "2", "--max-lmwt", "26"]


@dataclasses.dataclass(frozen=True)
class Job:
    criterion: str
    variant: str
    seed: int


def run_job(job: Job, args: argparse.Namespace) -> dict[str, Any]:
    """Train one (criterion, method, seed) for ``args.updates`` updates; save its model."""
    import torch

    torch.set_num_threads(1)
    from sweeplib import silence_override

    from nghf.criteria.factory import load_sequence_criterion
    from nghf.data.nnfeats import read_features
    from nghf.lattice.numerator import read_frame_alignments
    from nghf.lattice.store import LatticeStore
    from nghf.models.io import load_model, save_model
    from nghf.optim.base import UpdateProblem
    from nghf.optim.factory import build_updater, load_optim_config
    from nghf.train.data import read_heldout_list
    from nghf.train.sequence import SequenceExamples, check_examples
    from nghf.train.sequence_run import TrainSeqConfig, freeze_norm_layers, split_utterances
    from nghf.train.trainer import count_frames
    from nghf.utils.config import load_config

    exp, data = Path(args.exp), Path(args.data)
    seq = load_config(TrainSeqConfig, REPO / "conf" / "train_seq.yaml")
    plan = seq.second_order
    init_model = exp / "tdnn_ce" / "final.mdl"
    loaded = load_model(init_model, "cpu")
    criterion = load_sequence_criterion(REPO / "conf" / f"criterion_{job.criterion}.yaml", loaded.log_priors,
                                        [silence_override(data)])
    feats = read_features(data / "train", norm_vars=loaded.features.norm_vars, use_cmvn=loaded.features.apply_cmvn)
    store = LatticeStore(exp / "tdnn_denlats")
    fitted, _ = check_examples(feats, read_frame_alignments(exp / "tri2_ali"), store, loaded.model.subsampling,
                               seq.data.ali_tolerance, seq.data.max_bad_share)
    examples = SequenceExamples(feats, fitted, store, loaded.model.subsampling)
    # the recipe's splits: held-out (model selection) and validation (judges the steps)
    split = split_utterances(seq, plan, list(fitted), read_heldout_list(init_model))
    train, heldout, validation = split.train, split.heldout, split.validation
    gen = torch.Generator().manual_seed(job.seed)
    order = [train[i] for i in torch.randperm(len(train), generator=gen).tolist()]
    n_curv = args.curvature_utts or max(1, round(plan.curvature_fraction * args.utts_per_update))
    model = loaded.model
    model.train()
    freeze_norm_layers(model)
    bf = seq.data.batch_frames
    val = examples.batches(validation, bf)
    held = examples.batches(heldout, seq.data.heldout_batch_frames)
    held_frames = sum(count_frames(b, model) for b in held)

    @torch.no_grad()
    def heldout_loss() -> float:
        total = 0.0
        for b in held:
            logits, lengths = model(b.features, b.feature_lengths)
            total += float(criterion.utterance_losses(logits, lengths, b).sum())
        return total / held_frames

    overrides = [*VARIANTS[job.variant], f"seed={job.seed}"]
    optim_config = load_optim_config(REPO / "conf" / "optim_nghf.yaml", overrides)
    opt = build_updater(optim_config, model.parameters())
    record: dict[str, Any] = {**dataclasses.asdict(job), "heldout": [heldout_loss()], "updates": []}
    start = time.perf_counter()
    per_update = len(order) // args.updates if args.utts_per_update * args.updates > len(order) else args.utts_per_update
    for k in range(args.updates):
        utts = order[k * per_update:(k + 1) * per_update]
        grad = examples.batches(utts, bf)
        curv = examples.batches(utts[:n_curv], bf)
        problem = UpdateProblem(model, criterion, grad, curv, sum(count_frames(b, model) for b in grad),
                                sum(count_frames(b, model) for b in curv), validation_batches=val,
                                validation_frames=sum(count_frames(b, model) for b in val))
        t0 = time.perf_counter()
        e = opt.step(problem).extras
        seconds = time.perf_counter() - t0
        record["heldout"].append(heldout_loss())
        record["updates"].append({key: e.get(key) for key in (
            "validation_before", "validation_after", "cg_iterations", "cg_chosen_iteration", "rho", "damping",
            "fisher_damping", "accepted", "retries", "time_grad", "time_cg")} | {"seconds": seconds})
    record["seconds"] = time.perf_counter() - start
    record["utts_per_update"], record["curvature_utts"] = per_update, n_curv
    if args.decode:
        out = Path(args.work) / f"{job.criterion}_{job.variant}_s{job.seed}"
        out.mkdir(parents=True, exist_ok=True)
        save_model(out / "final.mdl", model, loaded.model_config, loaded.features, loaded.log_priors,
                   loaded.prior_scale)
        record["model"] = str(out / "final.mdl")
    print(f"{job.criterion} {job.variant:14} seed {job.seed}: held-out {record['heldout'][0]:.4f} -> "
          f"{' -> '.join(f'{h:.4f}' for h in record['heldout'][1:])}, chosen iterates "
          f"{[u['cg_chosen_iteration'] for u in record['updates']]}, {record['seconds']:.0f} s", flush=True)
    return record


def decode_dev(record: dict[str, Any], args: argparse.Namespace) -> float:
    """Dev WER of the record's model (LM weight tuned on dev), by the recipe's decoding."""
    model = Path(record["model"])
    out = model.parent / "decode_dev"
    cmd = ["steps/decode.sh", "--nj", "1", *NN_DECODE_OPTS, "--sclite", "false",
           f"{args.exp}/tri2/graph", f"{args.data}/dev", str(model), str(out)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run(cmd, cwd=REPO, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    match = re.search(r"%WER ([0-9.]+)", (out / "best_wer").read_text())
    assert match, out / "best_wer"
    return float(match.group(1))


def _run(packed: tuple[Job, argparse.Namespace]) -> dict[str, Any]:
    job, args = packed
    record = run_job(job, args)
    if args.decode:
        record["dev_wer"] = decode_dev(record, args)
        print(f"{job.criterion} {job.variant:14} seed {job.seed}: dev WER {record['dev_wer']:.2f}", flush=True)
    return record


def _mean_sd(values: list[float]) -> str:
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}" if max(values) < 5 else f"{statistics.mean(values):.2f} ± {sd:.2f}"


def table(records: list[dict[str, Any]]) -> str:
    lines = ["| criterion | method | held-out start | held-out after each update (mean over seeds) | final held-out "
             "(mean ± sd) | dev WER (mean ± sd) | CG its / update | chosen iterates | s / update |",
             "|---|---|---:|---|---:|---:|---:|---|---:|"]
    for crit in sorted({r["criterion"] for r in records}):
        for variant in VARIANTS:
            mine = [r for r in records if r["criterion"] == crit and r["variant"] == variant]
            if not mine:
                continue
            n_up = len(mine[0]["heldout"]) - 1
            traj = " → ".join(f"{statistics.mean(r['heldout'][k] for r in mine):.4f}" for k in range(1, n_up + 1))
            ups = [u for r in mine for u in r["updates"]]
            chosen = sorted(int(u["cg_chosen_iteration"] or 0) for u in ups)
            wers = [r["dev_wer"] for r in mine if "dev_wer" in r]
            lines.append(
                f"| {crit} | {variant} | {mine[0]['heldout'][0]:.4f} | {traj} | "
                f"{_mean_sd([r['heldout'][-1] for r in mine])} | {_mean_sd(wers)} | "
                f"{statistics.mean(u['cg_iterations'] for u in ups):.1f} | {chosen} | "
                f"{statistics.mean(u['seconds'] for u in ups):.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exp", default="exp")
    parser.add_argument("--data", default="data")
    parser.add_argument("--criteria", default="mmi,mpfe")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--updates", type=int, default=3)
    parser.add_argument("--utts-per-update", type=int, default=192)
    parser.add_argument("--curvature-utts", type=int, default=0,
                        help="curvature batch size (0: the recipe's curvature fraction of the gradient batch)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--decode", action="store_true", help="decode every final model on dev")
    parser.add_argument("--work", default="exp/ablation", help="where models and decodes go")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "bench_nghf_ablation.json"))
    args = parser.parse_args()
    jobs = [Job(c, v, int(s)) for c in args.criteria.split(",") for v in args.variants.split(",")
            for s in args.seeds.split(",")]
    unknown = {j.variant for j in jobs} - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    start = time.perf_counter()
    with mp.get_context("spawn").Pool(args.workers) as pool:
        records = pool.map(_run, [(j, args) for j in jobs], chunksize=1)
    text = table(records)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "wall_seconds": time.perf_counter() - start, "records": records,
                               "table": text}, indent=1) + "\n")


if __name__ == "__main__":
    main()
