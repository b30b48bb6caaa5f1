"""Kaldi's word insertion penalty sweep on decoded systems: LM weight and penalty tuned on dev.

Kaldi's ``local/score.sh`` scores every lattice at each LM weight *and* each word insertion
penalty (``word_ins_penalty=0.0,0.5,1.0``, added to each word's graph cost by
``lattice-add-penalty``); the recipe here sweeps the LM weight only (penalty 0). Sequence
training shifts a model's insertion/deletion balance, so issue 21 asks whether tuning the
penalty too changes any system's WER or the comparison with CE. This command rescores the
stored raw lattices of existing decode dirs (no decoding): for each system it chooses the
(LM weight, penalty) pair with the lowest dev WER and scores eval at that pair (eval never
chooses), beside the recipe's choice (penalty 0).

A system is ``--system NAME=SYSTEM_DIR`` (``SYSTEM_DIR/decode_dev`` and ``decode_eval`` with
``lat.N.npz``). Scoring is ``steps/score.sh``'s (sclite alignment costs, default text
normaliser), so at penalty 0 the WERs are the recipe's to the last digit.

Run, e.g.: ``python bench/bench_wip_sweep.py --exp exp --data data --system ce=exp/tdnn_ce
--system mmi_nghf=exp/tdnn_mmi_nghf`` (prints a table; JSON to ``--json``, default
``bench/results/bench_wip_sweep.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from nghf.data.text import read_text, read_utt2spk
from nghf.decode.graph import read_words
from nghf.score.decode_dir import load_decode_lattices, sweep_best_words
from nghf.score.normalize import TextNormalizer
from nghf.score.wer import score

REPO = Path(__file__).resolve().parents[1]
SETS = ("dev", "eval")
Grid = Mapping[tuple[float, float], dict]
"""Counts (``wer``, ``ins``, ...) of one decode dir per (LM weight, penalty)."""


def score_grid(decode_dir: Path, data_dir: Path, id2word: Mapping[int, str], lm_weights: Sequence[float],
               penalties: Sequence[float]) -> dict[tuple[float, float], dict]:
    """The decode dir's corpus-level counts at every (LM weight, penalty)."""
    lattices = load_decode_lattices(decode_dir)
    if not lattices:
        raise SystemExit(f"bench_wip_sweep: {decode_dir}: no lat.N.npz to rescore")
    refs, utt2spk = read_text(data_dir / "text"), read_utt2spk(data_dir / "utt2spk")
    norm = TextNormalizer()
    grid = {}
    for penalty in penalties:
        swept = sweep_best_words(lattices, id2word, lm_weights, word_ins_penalty=penalty)
        for lmwt, hyps in zip(lm_weights, swept, strict=True):
            grid[(lmwt, penalty)] = score(refs, hyps, utt2spk, norm, "sclite").total.as_dict()
    return grid


def tune_on_dev(dev: Grid, evl: Grid, penalties: Sequence[float]) -> dict:
    """The (LM weight, penalty) with the lowest dev WER among ``penalties`` (ties: the smaller
    penalty, then the smaller weight), and both sets' counts there."""
    lmwt, penalty = min((k for k in dev if k[1] in penalties), key=lambda k: (dev[k]["wer"], k[1], k[0]))
    return {"lmwt": lmwt, "penalty": penalty, "dev": dev[(lmwt, penalty)], "eval": evl[(lmwt, penalty)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exp", default="exp", help="the recipe's exp dir, for the graph's words.txt (default: exp)")
    parser.add_argument("--data", default="data", help="the recipe's data dir (default: data)")
    parser.add_argument("--system", action="append", required=True, help="NAME=SYSTEM_DIR (repeatable)")
    parser.add_argument("--min-lmwt", type=int, default=2, help="smallest LM weight (default: 2, the recipe's)")
    parser.add_argument("--max-lmwt", type=int, default=26, help="largest LM weight (default: 26, the recipe's)")
    parser.add_argument("--penalties", default="0.0,0.5,1.0", help="penalties (default: Kaldi's 0.0,0.5,1.0)")
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "bench_wip_sweep.json"),
                        help="results file (default: bench/results/bench_wip_sweep.json)")
    args = parser.parse_args()

    exp, data = Path(args.exp), Path(args.data)
    penalties = [float(p) for p in args.penalties.split(",")]
    if 0.0 not in penalties:
        penalties.insert(0, 0.0)  # the recipe's choice is always reported beside the tuned one
    lm_weights = [float(w) for w in range(args.min_lmwt, args.max_lmwt + 1)]
    id2word = read_words(exp / "tri2/graph/words.txt")
    rows = []
    for item in args.system:
        name, sep, sys_dir = item.partition("=")
        if not sep or not name or not sys_dir:
            raise SystemExit(f"bench_wip_sweep: bad --system {item!r}; want NAME=SYSTEM_DIR")
        grids = {x: score_grid(Path(sys_dir) / f"decode_{x}", data / x, id2word, lm_weights, penalties) for x in SETS}
        row = {"name": name, "dir": sys_dir,
               "recipe": tune_on_dev(grids["dev"], grids["eval"], [0.0]),
               "tuned": tune_on_dev(grids["dev"], grids["eval"], penalties),
               "grid": {x: {f"{w:g}_{p:g}": c for (w, p), c in g.items()} for x, g in grids.items()}}
        rows.append(row)
        print(f"{name}: scored", file=sys.stderr, flush=True)
    print(f"\n{'system':20s} {'recipe: LMWT':>12s} {'dev':>6s} {'eval':>6s} {'ins':>5s}   "
          f"{'tuned: LMWT':>11s} {'WIP':>4s} {'dev':>6s} {'eval':>6s} {'ins':>5s}")
    for r in rows:
        a, b = r["recipe"], r["tuned"]
        print(f"{r['name']:20s} {a['lmwt']:12g} {a['dev']['wer']:6.2f} {a['eval']['wer']:6.2f} {a['dev']['ins']:5d}   "
              f"{b['lmwt']:11g} {b['penalty']:4g} {b['dev']['wer']:6.2f} {b['eval']['wer']:6.2f} {b['dev']['ins']:5d}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
