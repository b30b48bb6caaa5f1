"""Matched-pair significance tests between decoded systems, on dev and on eval.

Every comparison of two systems that the results docs quote (NGHF against the tuned SGD and
Adam systems, a second seed against the first, any system against CE) is a matched-pair test
on the same utterances; this command computes them from the systems' decode dirs, so that
the archived numbers (``docs/results/default/optimiser_pairs.json``,
``docs/results/default/seed2/seed2_pairs.json``) come from one named command rather than
from ad-hoc scripts.

A system is ``--system NAME=SYSTEM_DIR``, where ``SYSTEM_DIR`` holds the scored decode dirs
``decode_dev`` and ``decode_eval`` (``steps/decode.sh``: ``scoring/summary.json`` and the
per-utterance scores ``scoring/<LMWT>.utt.jsonl`` of every LM weight). As in the recipe, each
system's LM weight is the one with the lowest WER on dev
(:func:`nghf.score.decode_dir.tune_and_apply`), and both sets are compared at that weight:
eval is never used to choose it. For each pair ``A:B`` (``--pair``, or ``--against B`` for
every other system against ``B``) and each set the table has both WERs, the relative WER
reduction of A over B (positive: A makes fewer errors, as in ``RESULTS.md``), the p-value of
NIST's MAPSSWE test (SCTK ``sc_stats``; :func:`nghf.score.significance.mapsswe`; null when
SCTK is not installed) and that of the paired speaker bootstrap
(:func:`nghf.score.significance.paired_bootstrap`, 1000 replicates, seed 0 by default);
``*`` marks p < 0.05.

Run, e.g.: ``python bench/compare_systems.py --system ce=exp/tdnn_ce --system nghf=exp/tdnn_mpfe_nghf
--system sgd=exp/tdnn_mpfe_sgd --pair nghf:sgd --against ce`` (prints a table; JSON to ``--json``,
default ``bench/results/compare_systems.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from nghf.score.decode_dir import DecodeDirError, tune_and_apply, utt_scores_path
from nghf.score.sclite import ScliteError
from nghf.score.significance import (
    BootstrapConfig,
    SignificanceConfig,
    SignificanceError,
    UttScore,
    check_matched,
    format_p,
    mapsswe,
    paired_bootstrap,
    read_utt_scores,
    relative_reduction,
    sctk_available,
)

REPO = Path(__file__).resolve().parents[1]
TOOL = "compare_systems"
SETS = ("dev", "eval")
ALPHA = SignificanceConfig().alpha
"""Significance level of the ``*`` markers (that of the results table, 0.05)."""


class System(NamedTuple):
    """A system as compared: its dir, the LM weight tuned on dev, and per set the file of the
    per-utterance scores at that weight, the scores, and the WER the scoring summary records."""

    name: str
    directory: Path
    lmwt: float
    files: dict[str, Path]
    scores: dict[str, dict[str, UttScore]]
    summary_wer: dict[str, float]


def parse_systems(items: Sequence[str]) -> dict[str, Path]:
    """``NAME=SYSTEM_DIR`` options -> ``{name: dir}`` in the order given; a malformed item, a
    repeated name or a dir that does not exist exits with a one-line message."""
    systems: dict[str, Path] = {}
    for item in items:
        name, sep, directory = item.partition("=")
        name = name.strip()
        if not sep or not name or not directory or ":" in name:
            raise SystemExit(f"{TOOL}: bad --system {item!r}; want NAME=SYSTEM_DIR (NAME without ':')")
        if name in systems:
            raise SystemExit(f"{TOOL}: --system {name} is given twice")
        path = Path(directory)
        if not path.is_dir():
            raise SystemExit(f"{TOOL}: --system {name}: {path} is not a directory")
        systems[name] = path
    return systems


def parse_pairs(pairs: Sequence[str], against: Sequence[str], names: Sequence[str]) -> list[tuple[str, str]]:
    """The ``(A, B)`` pairs of ``--pair A:B`` options, then of each ``--against B`` (every other
    system, in the order of ``names``, against ``B``); repeats are dropped. Names not among
    ``names``, a system against itself or no pair at all exit with a one-line message."""
    known = ", ".join(names)
    out: list[tuple[str, str]] = []

    def add(a: str, b: str, what: str) -> None:
        for n in (a, b):
            if n not in names:
                raise SystemExit(f"{TOOL}: {what}: no --system named {n!r} (systems: {known})")
        if a == b:
            raise SystemExit(f"{TOOL}: {what}: a system against itself")
        if (a, b) not in out:
            out.append((a, b))

    for item in pairs:
        a, sep, b = item.partition(":")
        if not sep or not a or not b:
            raise SystemExit(f"{TOOL}: bad --pair {item!r}; want A:B with A and B names from --system")
        add(a, b, f"--pair {item}")
    for b in against:
        if b not in names:
            raise SystemExit(f"{TOOL}: --against {b}: no --system named {b!r} (systems: {known})")
        for a in names:
            if a != b:
                add(a, b, f"--against {b}")
    if not out:
        raise SystemExit(f"{TOOL}: nothing to compare; give --pair A:B or --against NAME")
    return out


def load_system(name: str, directory: Path) -> System:
    """Tune the LM weight on ``directory/decode_dev`` and read both sets' per-utterance scores at
    that weight. The totals of each file must match the scoring summary at that weight (a stale
    or foreign file would silently test something else); every failure is a one-line exit."""
    dev_dir, eval_dir = directory / "decode_dev", directory / "decode_eval"
    try:
        lmwt, dev_counts, eval_counts = tune_and_apply(dev_dir, eval_dir)
    except DecodeDirError as err:
        raise SystemExit(f"{TOOL}: --system {name}: {err}") from None
    files: dict[str, Path] = {}
    scores: dict[str, dict[str, UttScore]] = {}
    wers: dict[str, float] = {}
    for set_name, decode_dir, counts in (("dev", dev_dir, dev_counts), ("eval", eval_dir, eval_counts)):
        path = utt_scores_path(decode_dir, lmwt)
        if not path.is_file():
            raise SystemExit(f"{TOOL}: --system {name}: {path} not found: no per-utterance scores at the LM weight "
                             f"{lmwt:g} tuned on dev (rescore {decode_dir} with steps/score.sh)")
        try:
            got = read_utt_scores(path)
        except SignificanceError as err:
            raise SystemExit(f"{TOOL}: --system {name}: {err}") from None
        errors, words = sum(s.errors for s in got.values()), sum(s.ref_words for s in got.values())
        if (errors, words) != (int(counts["errors"]), int(counts["ref_words"])):
            raise SystemExit(f"{TOOL}: --system {name}: {path} has {errors} errors in {words} words but "
                             f"{decode_dir}/scoring/summary.json records {counts['errors']} in "
                             f"{counts['ref_words']} at LM weight {lmwt:g}; rescore the decode dir")
        files[set_name], scores[set_name], wers[set_name] = path, got, float(counts["wer"])
    return System(name, directory, lmwt, files, scores, wers)


def compare(a: System, b: System, set_name: str, config: BootstrapConfig, use_sctk: bool) -> dict[str, Any]:
    """One row: both WERs, the relative reduction of A over B and the p-values of MAPSSWE
    (``None`` without SCTK) and of the paired speaker bootstrap on ``set_name``. Systems that
    score different utterances (or references) exit with a message naming both files."""
    sa, sb = a.scores[set_name], b.scores[set_name]
    names = (str(a.files[set_name]), str(b.files[set_name]))
    try:
        check_matched(sa, sb, names)
        boot = paired_bootstrap(sa, sb, config, names)
        mp = mapsswe(sa, sb, names=names) if use_sctk else None
    except (SignificanceError, ScliteError) as err:
        raise SystemExit(f"{TOOL}: {a.name} vs {b.name} on {set_name}: {err}") from None
    return {"set": set_name, "a": a.name, "b": b.name, "lmwt_a": a.lmwt, "lmwt_b": b.lmwt,
            "wer_a": round(boot.wer_a, 4), "wer_b": round(boot.wer_b, 4),
            "rel_reduction": relative_reduction(boot.wer_a, boot.wer_b),
            "mapsswe_p": mp.p_value if mp is not None else None,
            "mapsswe_p_text": mp.p_text if mp is not None else None,
            "mapsswe_z": mp.z if mp is not None else None,
            "bootstrap_p": boot.p_value, "bootstrap_p_text": format_p(boot.p_value, config.replicates),
            "difference": round(boot.difference, 4), "difference_ci": [boot.low, boot.high],
            "utterances": len(sa), "speakers": len({s.spk for s in sa.values()})}


def _p_cell(p: float | None, text: str | None) -> str:
    if p is None:
        return "–"
    return f"{text}{' *' if p < ALPHA else ''}"


def format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as a fixed-width table (pair, set, WER a, WER b, rel. change, both p-values)."""
    width = max([len("pair")] + [len(f"{r['a']} vs {r['b']}") for r in rows])
    lines = [f"{'pair':{width}s} {'set':5s} {'WER a':>7s} {'WER b':>7s} {'rel.':>7s} {'MAPSSWE p':>10s} "
             f"{'bootstrap p':>12s}"]
    for r in rows:
        rel = "–" if r["rel_reduction"] is None else f"{r['rel_reduction']:+.1f}%"
        lines.append(f"{r['a'] + ' vs ' + r['b']:{width}s} {r['set']:5s} {r['wer_a']:7.2f} {r['wer_b']:7.2f} "
                     f"{rel:>7s} {_p_cell(r['mapsswe_p'], r['mapsswe_p_text']):>10s} "
                     f"{_p_cell(r['bootstrap_p'], r['bootstrap_p_text']):>12s}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Parse the options, compare the pairs, print the table, write the JSON; returns what it wrote."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--system", action="append", default=[], metavar="NAME=SYSTEM_DIR",
                        help="a system: its name and the dir holding decode_dev and decode_eval (repeatable)")
    parser.add_argument("--pair", action="append", default=[], metavar="A:B",
                        help="compare system A with system B (repeatable)")
    parser.add_argument("--against", action="append", default=[], metavar="NAME",
                        help="compare every other system with NAME (repeatable)")
    defaults = BootstrapConfig()
    parser.add_argument("--replicates", type=int, default=defaults.replicates,
                        help=f"bootstrap replicates (default: {defaults.replicates})")
    parser.add_argument("--seed", type=int, default=defaults.seed, help=f"bootstrap seed (default: {defaults.seed})")
    parser.add_argument("--no-mapsswe", action="store_true", help="skip MAPSSWE (SCTK) even when it is installed")
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "compare_systems.json"),
                        help="results file (default: bench/results/compare_systems.json)")
    args = parser.parse_args(argv)

    paths = parse_systems(args.system)
    if not paths:
        raise SystemExit(f"{TOOL}: no systems; give --system NAME=SYSTEM_DIR for each")
    pairs = parse_pairs(args.pair, args.against, list(paths))
    try:
        config = BootstrapConfig(replicates=args.replicates, seed=args.seed)
    except ValueError as err:
        raise SystemExit(f"{TOOL}: {err}") from None
    used = [n for n in paths if any(n in p for p in pairs)]
    systems = {n: load_system(n, paths[n]) for n in used}
    use_sctk = not args.no_mapsswe and sctk_available()
    if not args.no_mapsswe and not use_sctk:
        print(f"{TOOL}: SCTK (sclite, sc_stats) is not installed: no MAPSSWE, its p-values are null",
              file=sys.stderr)
    rows = [compare(systems[a], systems[b], set_name, config, use_sctk) for a, b in pairs for set_name in SETS]
    print(format_table(rows))
    print("LM weights (tuned on dev): " + ", ".join(f"{n} {s.lmwt:g}" for n, s in systems.items()))
    report = {
        "what": "matched-pair tests of systems on the same utterances at each system's LM weight tuned on dev "
                f"(MAPSSWE via sc_stats; paired speaker bootstrap, {config.replicates} replicates, seed {config.seed}); "
                "rel_reduction: relative WER reduction of a over b (positive: a has fewer errors)",
        "args": vars(args),
        "config": {"replicates": config.replicates, "seed": config.seed, "level": config.level, "alpha": ALPHA,
                   "mapsswe": use_sctk},
        "systems": {n: {"dir": str(s.directory), "lmwt": s.lmwt,
                        "utt_scores": {k: str(v) for k, v in s.files.items()}, "wer": s.summary_wer}
                    for n, s in systems.items()},
        "lmwt": {n: s.lmwt for n, s in systems.items()},
        "rows": rows,
    }
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {out}", file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
