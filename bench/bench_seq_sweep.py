"""Sweep sequence-training settings on a finished recipe run and report dev (and eval) WER.

The tuning tool behind the recipe's sequence-training defaults (issue 21): the learning rates
of the SGD and Adam baselines are chosen by this sweep on dev, and the hypotheses of the
default-run work (F-smoothing weight, epochs, ...) are measured with it. Every grid point is a
full system trained by ``steps/train_seq.sh`` from the recipe's CE model, denominator lattices
and alignments (stage 10 done), then decoded by ``steps/decode.sh`` exactly as the recipe
decodes (``--decode-opts``, LM weight tuned on dev; eval, with ``--eval``, at that weight).

A grid is ``SECTION:KEY=V1,V2,...`` with SECTION one of ``optim`` (a key of the optimiser
config, written into a copy of ``--optim-config``), ``criterion`` (``--criterion-overrides``)
or ``train`` (``--overrides``); several ``--grid`` options form their product.

Run, e.g.: ``python bench/bench_seq_sweep.py --exp exp --data data --criterion mmi --optimiser sgd
--grid optim:lr=0.001,0.003,0.01`` (prints a table; JSON to ``--json``, default
``bench/results/bench_seq_sweep.json``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

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
    silence_override,
    write_sweep_json,
)

SECTIONS = ("optim", "criterion", "train")
TOOL = "bench_seq_sweep"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_recipe_options(parser)
    parser.add_argument("--model", default="tdnn", help="hybrid model (default: tdnn)")
    parser.add_argument("--criterion", default="mmi", help="criterion, conf/criterion_<x>.yaml (default: mmi)")
    parser.add_argument("--optimiser", default="sgd", help="optimiser, conf/optim_<x>.yaml (default: sgd)")
    parser.add_argument("--name", default="", help="system name prefix (default: <model>_<criterion>_<optimiser>)")
    parser.add_argument("--ali-dir", default="", help="numerator alignments (default: <exp>/tri2_ali, the recipe's)")
    parser.add_argument("--denlat-dir", default="", help="denominator lattices (default: <exp>/<model>_denlats)")
    parser.add_argument("--out-dir", default="", help="where the systems go (default: <exp>/sweep)")
    parser.add_argument("--seq-overrides", default="", help="training overrides of every point (run.sh's seq_overrides)")
    parser.add_argument("--eval", action="store_true", help="also decode eval (scored at dev's LM weight)")
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "bench_seq_sweep.json"),
                        help="results file (default: bench/results/bench_seq_sweep.json)")
    args = parser.parse_args()

    exp, data = Path(args.exp).resolve(), Path(args.data).resolve()
    out_dir = Path(args.out_dir).resolve() if args.out_dir else exp / "sweep"
    prefix = args.name or f"{args.model}_{args.criterion}_{args.optimiser}"
    silence = silence_override(data)
    ali = Path(args.ali_dir).resolve() if args.ali_dir else exp / "tri2_ali"
    denlats = Path(args.denlat_dir).resolve() if args.denlat_dir else exp / f"{args.model}_denlats"
    rows = []
    for point in parse_grid(args.grid, SECTIONS, TOOL):
        name = point_name(prefix, point)
        sys_dir = out_dir / name
        log = out_dir / "log" / f"{name}.log"
        optim_conf = config_copy(REPO / "conf" / f"optim_{args.optimiser}.yaml", point, "optim", sys_dir / "optim.yaml")
        crit = overrides_of(point, "criterion", silence)
        train = overrides_of(point, "train", args.seq_overrides)
        start = time.time()
        run_logged(["steps/train_seq.sh", "--optim-config", str(optim_conf),
             "--criterion-config", f"conf/criterion_{args.criterion}.yaml", "--criterion-overrides", crit,
             "--train-config", "conf/train_seq.yaml", "--overrides", train,
             "--den-graph", str(exp / "tri2/graph_bg"),
             str(data / "train"), str(ali), str(denlats), str(exp / f"{args.model}_ce"),
             str(sys_dir)], log, TOOL)
        train_wall = time.time() - start
        sets = ["dev", "eval"] if args.eval else ["dev"]
        decode_sets(sys_dir, exp, data, sets, args.decode_opts, args.nj, log, TOOL)
        meta = json.loads((sys_dir / "meta.json").read_text())
        row = {"name": name, "point": [f"{s}:{k}={v}" for s, k, v in point], "updates": meta.get("updates"),
               "updates_run": meta.get("updates_run"), "train_seconds": meta.get("train_seconds"),
               "train_wall_seconds": round(train_wall, 1),
               "selected_heldout_loss": meta.get("selected_heldout_loss")}
        row.update(score_point(sys_dir, args.eval))
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{'system':40s} {'updates':>7s} {'train s':>8s} {'held-out':>9s} {'LMWT':>5s} {'dev WER':>8s} {'eval WER':>8s}")
    for r in rows:
        held = r["selected_heldout_loss"]
        print(f"{r['name']:40s} {r['updates']!s:>7s} {r['train_seconds'] or 0:8.0f} "
              f"{held if held is None else round(held, 4)!s:>9s} {r['lmwt']!s:>5s} {r['dev_wer']!s:>8s} "
              f"{r.get('eval_wer', '–')!s:>8s}")
    write_sweep_json(args.json, {"args": vars(args), "rows": rows})


if __name__ == "__main__":
    main()
