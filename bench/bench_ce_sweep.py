"""Sweep cross-entropy training settings of a hybrid model on a finished recipe run (held-out data).

The tuning tool behind the recipe's CE configs (issue 24: the LSTM and RNN recipes' chunk
width, left context, epochs and learning-rate schedule are chosen on held-out data). Every grid
point is a full CE system trained by ``steps/train_ce.sh`` exactly as run.sh's stage 8 trains
it (the tri2 alignments of stage 6, the model's training config), and is judged by its
held-out frame accuracy and loss (the training data's held-out utterances, per epoch); with
``--decode`` it is also decoded on dev as the recipe decodes (LM weight tuned on dev; eval too
with ``--eval``, at that weight).

A grid is ``SECTION:KEY=V1,V2,...`` with SECTION ``train`` (an override of the training config,
e.g. ``train:optimizer.lr=0.003,0.006`` or ``train:data.chunk_width=32,64``) or ``model`` (a key
of the model config, written into a copy: ``model:lstm.hidden_dim=256,384``); several
``--grid`` options form their product. A finished point is not retrained (train_ce.sh resumes).

Run, e.g.: ``python bench/bench_ce_sweep.py --exp exp --data data --model lstm
--grid train:data.chunk_width=32,64`` (prints a table; JSON to ``--json``, default
``bench/results/bench_ce_sweep.json``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from sweeplib import (
    REPO,
    add_recipe_options,
    config_copy,
    decode_sets,
    overrides_of,
    parse_grid,
    point_name,
    run_logged,
    score_point,
    write_sweep_json,
)

from nghf.utils.jsonl import read_jsonl

SECTIONS = ("train", "model")
TOOL = "bench_ce_sweep"
RECURRENT = ("lstm", "rnn")


def default_train_config(model: str) -> Path:
    """The CE training config run.sh uses for ``model`` (steps/lib/recipe_stages.sh ce_train_conf)."""
    conf = REPO / "conf"
    for name in (f"train_ce_{model}.yaml", "train_ce_recurrent.yaml" if model in RECURRENT else "", "train_ce.yaml"):
        if name and (conf / name).is_file():
            return conf / name
    raise SystemExit(f"{TOOL}: no CE training config for {model} in {conf}")


def epoch_records(train_log: Path) -> list[dict[str, Any]]:
    """The per-epoch records (those with held-out scores) of a training log, in order."""
    try:
        records = [r for r in read_jsonl(train_log, ValueError, (), what="training log") if "heldout_acc" in r]
    except ValueError as err:
        raise SystemExit(f"{TOOL}: {err}") from None
    if not records:
        raise SystemExit(f"{TOOL}: {train_log} has no epoch with held-out scores")
    return records


def heldout_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Final and best held-out frame accuracy and loss, the epochs run and the last rate."""
    best = max(records, key=lambda r: r["heldout_acc"])
    last = records[-1]
    return {"epochs": len(records), "heldout_acc": round(last["heldout_acc"], 4),
            "heldout_loss": round(last["heldout_loss"], 4), "best_heldout_acc": round(best["heldout_acc"], 4),
            "best_epoch": best["epoch"] + 1, "train_loss": round(last["loss"], 4), "last_lr": last.get("lr")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_recipe_options(parser)
    parser.add_argument("--model", default="lstm", help="hybrid model, conf/model_<x>.yaml (default: lstm)")
    parser.add_argument("--train-config", default="", help="base training config (default: run.sh's for the model)")
    parser.add_argument("--name", default="", help="system name prefix (default: <model>_ce)")
    parser.add_argument("--out-dir", default="", help="where the systems go (default: <exp>/ce_sweep)")
    parser.add_argument("--ce-overrides", default="", help="training overrides of every point (run.sh's ce_overrides)")
    parser.add_argument("--decode", action="store_true", help="also decode dev (the recipe's graph and options)")
    parser.add_argument("--eval", action="store_true", help="with --decode: also eval, scored at dev's LM weight")
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "bench_ce_sweep.json"),
                        help="results file (default: bench/results/bench_ce_sweep.json)")
    args = parser.parse_args()

    exp, data = Path(args.exp).resolve(), Path(args.data).resolve()
    out_dir = Path(args.out_dir).resolve() if args.out_dir else exp / "ce_sweep"
    train_conf = Path(args.train_config).resolve() if args.train_config else default_train_config(args.model)
    prefix = args.name or f"{args.model}_ce"
    rows = []
    for point in parse_grid(args.grid, SECTIONS, TOOL):
        name = point_name(prefix, point)
        sys_dir = out_dir / name
        log = out_dir / "log" / f"{name}.log"
        model_conf = config_copy(REPO / "conf" / f"model_{args.model}.yaml", point, "model", sys_dir / "model.yaml")
        start = time.time()
        run_logged(["steps/train_ce.sh", "--train-config", str(train_conf), "--model-config", str(model_conf),
                    "--overrides", overrides_of(point, "train", args.ce_overrides),
                    str(data / "train"), str(exp / "tri2_ali"), str(exp / "tri2_ali/num_pdfs"), str(sys_dir)], log, TOOL)
        meta = json.loads((sys_dir / "meta.json").read_text())
        row = {"name": name, "point": [f"{s}:{k}={v}" for s, k, v in point], "updates": meta.get("updates"),
               "parameters": meta.get("parameters"), "train_seconds": meta.get("train_seconds"),
               "train_wall_seconds": round(time.time() - start, 1),
               **heldout_summary(epoch_records(sys_dir / "train_log.jsonl"))}
        if args.decode:
            sets = ["dev", "eval"] if args.eval else ["dev"]
            decode_sets(sys_dir, exp, data, sets, args.decode_opts, args.nj, log, TOOL)
            row.update(score_point(sys_dir, args.eval))
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{'system':44s} {'epochs':>6s} {'updates':>7s} {'train s':>8s} {'held-out acc':>12s} "
          f"{'(best, ep)':>12s} {'held-out loss':>13s} {'dev WER':>8s} {'eval WER':>8s}")
    for r in rows:
        best = f"{r['best_heldout_acc']:.4f}, {r['best_epoch']}"
        print(f"{r['name']:44s} {r['epochs']:6d} {r['updates']!s:>7s} {r['train_seconds'] or 0:8.0f} "
              f"{r['heldout_acc']:12.4f} {best:>12s} "
              f"{r['heldout_loss']:13.4f} {r.get('dev_wer', '–')!s:>8s} {r.get('eval_wer', '–')!s:>8s}")
    write_sweep_json(args.json, {"args": vars(args), "train_config": str(train_conf), "rows": rows})


if __name__ == "__main__":
    main()
