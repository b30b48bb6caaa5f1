"""What the recipe sweeps (bench_seq_sweep.py, bench_ce_sweep.py) share: grids, names, logged runs, scoring.

A grid is ``SECTION:KEY=V1,V2,...``; several grid options form their product, and each point
is a list of ``(section, key, value)``. Each sweep names its own sections (which config a key
goes into). Bench scripts are scripts, not a package: they import this module from their own
directory (``python bench/<script>.py`` puts ``bench/`` on ``sys.path``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from nghf.score.decode_dir import best_scored, read_summary, tune_and_apply

REPO = Path(__file__).resolve().parents[1]
RECIPE_DECODE_OPTS = "--acwt 0.2 --beam 11 --lattice-beam 7 --min-lmwt 2 --max-lmwt 26"
"""run.sh's ``nn_decode_opts`` of the default (non-quick) recipe."""

Point = list[tuple[str, str, str]]


def parse_grid(items: Sequence[str], sections: Sequence[str], tool: str) -> list[Point]:
    """``SECTION:KEY=V1,V2`` options -> one list of (section, key, value) per grid point."""
    axes = []
    for item in items:
        section, _, rest = item.partition(":")
        key, _, values = rest.partition("=")
        if section not in sections or not key or not values:
            raise SystemExit(f"{tool}: bad --grid {item!r}; want SECTION:KEY=V1,V2 with SECTION in {tuple(sections)}")
        axes.append([(section, key, v) for v in values.split(",")])
    return [list(point) for point in itertools.product(*axes)] if axes else [[]]


def point_name(prefix: str, point: Point) -> str:
    """A system name for a grid point: the prefix and each key=value (dots as dashes)."""
    tail = "_".join(f"{key.replace('.', '-')}{value}" for _, key, value in point)
    return f"{prefix}_{tail}" if tail else prefix


def overrides_of(point: Point, section: str, base: str = "") -> str:
    """The point's ``section`` keys as space-separated ``key=value`` overrides after ``base``."""
    return " ".join([base] + [f"{k}={v}" for s, k, v in point if s == section]).strip()


def config_copy(base: Path, point: Point, section: str, dest: Path) -> Path:
    """The YAML config ``base`` with this point's ``section`` keys set (dotted keys go into
    sub-sections), written to ``dest``."""
    config = yaml.safe_load(base.read_text())
    for s, key, value in point:
        if s != section:
            continue
        node = config
        *parents, leaf = key.split(".")
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = yaml.safe_load(value)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(config, sort_keys=False))
    return dest


def run_logged(cmd: list[str], log: Path, tool: str) -> None:
    """Run ``cmd`` in the repository root, appending its output to ``log``; exit on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write("# " + shlex.join(cmd) + "\n")
        out.flush()
        proc = subprocess.run(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise SystemExit(f"{tool}: failed ({proc.returncode}): {shlex.join(cmd)}; see {log}")


def decode_sets(sys_dir: Path, exp: Path, data: Path, sets: Sequence[str], decode_opts: str, nj: int,
                log: Path, tool: str) -> None:
    """Decode ``sys_dir/final.mdl`` on each set with the recipe's graph and options."""
    for x in sets:
        run_logged(["steps/decode.sh", "--nj", str(nj), "--decode-config", "conf/decode.yaml",
                    *shlex.split(decode_opts), str(exp / "tri2/graph"), str(data / x), str(sys_dir / "final.mdl"),
                    str(sys_dir / f"decode_{x}")], log, tool)


def silence_override(data: Path) -> str:
    """The criterion override ``silence_phones=[...]`` of a recipe's lang dir (MPFE/bMMI count
    silence frames by phone class), as run.sh's sequence-training stage passes it."""
    csl = (data / "lang" / "phones" / "silence.csl").read_text().strip()
    return f"silence_phones=[{csl.replace(':', ',')}]"


def add_recipe_options(parser: argparse.ArgumentParser, grid: bool = True) -> None:
    """The options every sweep over a finished recipe run has: where the run is, the grid
    (unless ``grid`` is false), and how its points are decoded (as the recipe decodes)."""
    parser.add_argument("--exp", default="exp", help="the recipe's exp dir (default: exp)")
    parser.add_argument("--data", default="data", help="the recipe's data dir (default: data)")
    if grid:
        parser.add_argument("--grid", action="append", default=[], help="SECTION:KEY=V1,V2 (repeatable; product)")
    parser.add_argument("--decode-opts", default=RECIPE_DECODE_OPTS,
                        help=f"decoding options (default: {RECIPE_DECODE_OPTS!r}, the recipe's)")
    parser.add_argument("--nj", type=int, default=2, help="decoding jobs (default: 2)")


def score_point(sys_dir: Path, with_eval: bool) -> dict:
    """A decoded point's LM weight and WERs: the weight with the lowest dev WER, and with
    ``with_eval`` eval at that same weight (eval never chooses)."""
    if with_eval:
        lmwt, dev_counts, eval_counts = tune_and_apply(sys_dir / "decode_dev", sys_dir / "decode_eval")
        return {"lmwt": lmwt, "dev_wer": dev_counts["wer"], "eval_wer": eval_counts["wer"]}
    lmwt, dev_counts = best_scored(read_summary(sys_dir / "decode_dev"))
    return {"lmwt": lmwt, "dev_wer": dev_counts["wer"]}


def write_sweep_json(path: str | Path, payload: dict) -> None:
    """Write a sweep's results file (the options and one row per point), creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {path}", file=sys.stderr)
