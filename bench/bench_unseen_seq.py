"""Sequence training on utterances the CE model has seen against utterances it has not.

Issue 21's diagnosis of why sequence training does not beat CE on the embedded corpus: the CE
model fits its training utterances (training MMI loss 0.24 against 0.38 held out), so their
denominator lattices are nearly single-path and the criterion fitted on them has little to
teach. This command tests that directly on a finished recipe run with enough training speech
(e.g. ``./run.sh --train-hours 1.5``): it splits the training utterances at random (``--seed``)
into a CE part (``--ce-share``) and the rest, trains a CE TDNN on the CE part alone (the
recipe's configs), and then sequence-trains that one CE model twice per criterion, from the
same start and on the same number of utterances:

- **seen**: on the CE part itself, as the recipe does (its own CE held-out list held out);
- **unseen**: on as many utterances drawn from the rest, which the CE model never saw (a
  seeded 5 % of them held out, since none of the CE model's held-out utterances is there).

With ``--xent-control W`` a control is trained on the unseen utterances as well: the same
optimiser, data and number of updates, but the criterion is F-smoothed MMI with weight ``W``
(e.g. 0.99: 99 % frame cross-entropy), so that a gain of the unseen sequence systems can be
told apart from what any further training on new utterances gives.

Denominator lattices of each arm come from that CE model (``steps/make_denlats.sh`` with the
recipe's options, ``--nj`` jobs as for decoding); numerators from the recipe's tri2 alignments. Every system is decoded on
dev and eval as the recipe decodes (LM weight tuned on dev), and each sequence system is
tested against the CE model and the two arms against each other (``compare_systems.py``:
MAPSSWE and the paired speaker bootstrap). Finished steps are kept (rerun to resume).

Run, e.g.: ``python bench/bench_unseen_seq.py --exp exp --data data --criteria mmi,mpfe
--out-dir exp/unseen_seq`` (prints tables; JSON to ``--json``, default
``bench/results/bench_unseen_seq.json``).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import compare_systems
from sweeplib import (
    REPO,
    add_recipe_options,
    decode_sets,
    run_logged,
    score_point,
    silence_override,
    write_sweep_json,
)

from nghf.data.datadir import load_data_dir, save_data_dir

TOOL = "bench_unseen_seq"
DENLAT_OPTS = ["--lattice-beam", "6", "--max-arcs-per-frame", "50"]
"""run.sh's ``denlat_opts`` of the default recipe."""


def split_utterances(utts: Sequence[str], ce_share: float, seed: int) -> tuple[list[str], list[str]]:
    """A seeded random split: ``(CE part, unseen part)``, the unseen part as large as the CE
    part (or all the rest, if that is smaller)."""
    if not 0.0 < ce_share < 1.0:
        raise SystemExit(f"{TOOL}: --ce-share must be in (0, 1), got {ce_share}")
    order = sorted(utts)
    random.Random(seed).shuffle(order)
    n_ce = round(ce_share * len(order))
    ce, rest = order[:n_ce], order[n_ce:]
    if not ce or not rest:
        raise SystemExit(f"{TOOL}: {len(order)} utterances cannot be split at --ce-share {ce_share}")
    return sorted(ce), sorted(rest[:len(ce)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_recipe_options(parser, grid=False)
    parser.add_argument("--ce-share", type=float, default=0.4, help="share of the training utterances for CE (default: 0.4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (default: 0)")
    parser.add_argument("--criteria", default="mmi", help="comma-separated criteria, conf/criterion_<x>.yaml (default: mmi)")
    parser.add_argument("--optimiser", default="nghf", help="optimiser, conf/optim_<x>.yaml (default: nghf)")
    parser.add_argument("--arms", default="seen,unseen", help="which sequence-training data: seen, unseen or both")
    parser.add_argument("--xent-control", type=float, default=0.0,
                        help="F-smoothing weight of a control on the unseen arm (0: none; e.g. 0.99)")
    parser.add_argument("--out-dir", default="", help="where data, models and logs go (default: <exp>/unseen_seq)")
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "bench_unseen_seq.json"),
                        help="results file (default: bench/results/bench_unseen_seq.json)")
    args = parser.parse_args()

    exp, data = Path(args.exp).resolve(), Path(args.data).resolve()
    out = Path(args.out_dir).resolve() if args.out_dir else exp / "unseen_seq"
    arms = [a for a in args.arms.split(",") if a]
    criteria = [c for c in args.criteria.split(",") if c]
    if not arms or set(arms) - {"seen", "unseen"}:
        raise SystemExit(f"{TOOL}: --arms must list seen and/or unseen, got {args.arms!r}")
    log = out / "log" / f"{TOOL}.log"
    train = load_data_dir(data / "train")
    ce_utts, unseen_utts = split_utterances(train.utts, args.ce_share, args.seed)
    arm_data = {"seen": out / "data" / "train_ce", "unseen": out / "data" / "train_unseen"}
    for arm, utts in (("seen", ce_utts), ("unseen", unseen_utts)):
        if not (arm_data[arm] / "utt2spk").is_file():
            save_data_dir(train.subset(utts), arm_data[arm])
    print(f"{TOOL}: {len(train.utts)} training utterances: CE on {len(ce_utts)}, unseen arm {len(unseen_utts)}",
          file=sys.stderr)

    ce_dir = out / "tdnn_ce"
    if not (ce_dir / "final.mdl").is_file():
        run_logged(["steps/train_ce.sh", "--train-config", "conf/train_ce.yaml", "--model-config",
                    "conf/model_tdnn.yaml", str(arm_data["seen"]), str(exp / "tri2_ali"),
                    str(exp / "tri2_ali/num_pdfs"), str(ce_dir)], log, TOOL)
    decode_sets(ce_dir, exp, data, ["dev", "eval"], args.decode_opts, args.nj, log, TOOL)
    rows = [{"name": "tdnn_ce", "arm": "ce", "utterances": len(ce_utts), **score_point(ce_dir, True)}]
    systems = {"ce": ce_dir}
    silence = silence_override(data)
    for arm in arms:
        denlats = out / f"tdnn_denlats_{arm}"
        run_logged(["steps/make_denlats.sh", "--nj", str(args.nj), *DENLAT_OPTS, "--ali-dir", str(exp / "tri2_ali"),
                    str(exp / "tri2/graph_bg"), str(arm_data[arm]), str(ce_dir / "final.mdl"), str(denlats)], log, TOOL)
        # The seen arm holds out the CE model's own held-out list, as the recipe does; the
        # unseen arm has none of those utterances and draws its own.
        overrides = "" if arm == "seen" else "data.heldout_from_init=false"
        systems_of_arm = [(f"tdnn_{c}_{args.optimiser}_{arm}", c, silence) for c in criteria]
        if arm == "unseen" and args.xent_control:
            systems_of_arm.append((f"tdnn_xent{args.xent_control:g}_{args.optimiser}_{arm}", "mmi",
                                   f"{silence} xent_weight={args.xent_control:g}"))
        for name, crit, crit_overrides in systems_of_arm:
            sys_dir = out / name
            run_logged(["steps/train_seq.sh", "--optim-config", f"conf/optim_{args.optimiser}.yaml",
                        "--criterion-config", f"conf/criterion_{crit}.yaml", "--criterion-overrides", crit_overrides,
                        "--train-config", "conf/train_seq.yaml", "--overrides", overrides,
                        "--den-graph", str(exp / "tri2/graph_bg"), str(arm_data[arm]), str(exp / "tri2_ali"),
                        str(denlats), str(ce_dir), str(sys_dir)], log, TOOL)
            decode_sets(sys_dir, exp, data, ["dev", "eval"], args.decode_opts, args.nj, log, TOOL)
            rows.append({"name": name, "arm": arm, "criterion": crit, "criterion_overrides": crit_overrides,
                         "utterances": len(ce_utts if arm == "seen" else unseen_utts), **score_point(sys_dir, True)})
            systems[name] = sys_dir
            print(rows[-1], file=sys.stderr, flush=True)

    pairs = [f"{n}:ce" for n in systems if n != "ce"]
    for crit in criteria:
        if {"seen", "unseen"} <= set(arms):
            pairs.append(f"tdnn_{crit}_{args.optimiser}_unseen:tdnn_{crit}_{args.optimiser}_seen")
        if "unseen" in arms and args.xent_control:
            pairs.append(f"tdnn_{crit}_{args.optimiser}_unseen:tdnn_xent{args.xent_control:g}_{args.optimiser}_unseen")
    pair_json = out / "pairs.json"
    cmp_args = [a for n, d in systems.items() for a in ("--system", f"{n}={d}")]
    cmp_args += [a for p in pairs for a in ("--pair", p)] + ["--json", str(pair_json)]
    tests = compare_systems.main(cmp_args)
    print(f"\n{'system':28s} {'arm':7s} {'utts':>5s} {'LMWT':>5s} {'dev WER':>8s} {'eval WER':>8s}")
    for r in rows:
        print(f"{r['name']:28s} {r['arm']:7s} {r['utterances']:5d} {r['lmwt']:5g} {r['dev_wer']:8.2f} {r['eval_wer']:8.2f}")
    write_sweep_json(args.json, {"args": vars(args), "ce_utterances": len(ce_utts),
                                 "unseen_utterances": len(unseen_utts), "rows": rows, "tests": tests})


if __name__ == "__main__":
    main()
