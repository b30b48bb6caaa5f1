"""Archive a finished run's results where they can be kept (e.g. ``docs/results/<name>``).

:func:`archive_run` copies what the results table and its plots are made from, with the run's
relative paths kept (so the records still point at their files): the results file, every
system's per-update training log, ``meta.json`` and per-epoch ``dev_wer.jsonl``, each scored decode dir's ``best_wer``
and the per-utterance scores the records name (``utt_scores``: the confidence intervals and
significance tests of the table are computed from them),
and from the run's experiment directory the per-stage and per-part times (``stage_times.tsv``,
``part_times.tsv``: the time of each system's training and decoding, kept across resumed runs) and the
denominator-lattice statistics (``*_denlats/stats.json``). It then renders ``RESULTS.md`` and
the plots there with :func:`nghf.score.results.write_results`, so the archived table is
generated from the archived data, never edited by hand.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Sequence
from pathlib import Path

from nghf.score.dev_wer_log import DEV_WER_LOG
from nghf.score.expected import ExpectedSystem, load_expected_systems
from nghf.score.results import SIGNIFICANCE_JSON, write_results
from nghf.score.results_log import read_records
from nghf.score.significance import SignificanceConfig, TrainSpeakers


class RunArchiveError(ValueError):
    """A run that cannot be archived (a file the records name is missing, or an unsafe path)."""


def _relative(path: str, run_dir: Path, what: str) -> Path:
    rel = Path(path)
    if rel.is_absolute() or ".." in rel.parts:
        raise RunArchiveError(f"{what} {path!r} is not a path inside the run directory {run_dir}")
    return rel


def _copy(run_dir: Path, rel: Path, dest: Path, required: bool) -> Path | None:
    src = run_dir / rel
    if not src.is_file():
        if required:
            raise RunArchiveError(f"{src}: named by the results but missing")
        return None
    target = dest / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, target)
    return target


def archive_run(results: str | Path, dest: str | Path, run_dir: str | Path = ".",
                dev: str = "dev", evl: str = "eval", significance: SignificanceConfig | None = None,
                train_data: str | Path | None = None, expected_systems: str | Path | None = None) -> list[Path]:
    """Copy the run's results (see the module docstring) into ``dest`` and render
    ``dest/RESULTS.md`` (and ``significance.json``, configured by ``significance``) with plots in
    ``dest/plots``; return the files written. With ``train_data`` (the run's training data dir)
    its ``spk2utt`` is kept too, and the table gets its "WER by condition" part (seen and unseen
    voices), so an archived run is assessed again by condition without the data dir. With
    ``expected_systems`` (a YAML of :mod:`nghf.score.expected`, inside the run directory) the
    table lists every expected system, as the recipe's own table does, and the file is kept."""
    run_dir, dest = Path(run_dir), Path(dest)
    results_rel = Path(results)
    if results_rel.is_absolute():
        try:
            results_rel = results_rel.resolve().relative_to(run_dir.resolve())
        except ValueError:
            raise RunArchiveError(f"results file {results} is not inside the run directory {run_dir}") from None
    results_rel = _relative(str(results_rel), run_dir, "results file")
    records = read_records(run_dir / results_rel)
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path | None] = [_copy(run_dir, results_rel, dest, True)]
    for rec in records:
        if rec.get("train_log"):
            log_rel = _relative(str(rec["train_log"]), run_dir, "training log")
            written.append(_copy(run_dir, log_rel, dest, True))
            written.append(_copy(run_dir, log_rel.parent / "meta.json", dest, False))
            written.append(_copy(run_dir, log_rel.parent / DEV_WER_LOG, dest, False))
        if rec.get("decode_dir"):
            written.append(_copy(run_dir, _relative(str(rec["decode_dir"]), run_dir, "decode dir") / "best_wer",
                                 dest, False))
        if rec.get("utt_scores"):
            written.append(_copy(run_dir, _relative(str(rec["utt_scores"]), run_dir, "per-utterance scores"),
                                 dest, False))
    exp_rel = results_rel.parent
    for times in ("stage_times.tsv", "part_times.tsv"):
        written.append(_copy(run_dir, exp_rel / times, dest, False))
    for stats in sorted((run_dir / exp_rel).glob("*_denlats/stats.json")):
        written.append(_copy(run_dir, stats.relative_to(run_dir), dest, False))
    archived_train = None
    if train_data:
        train_rel = _relative(str(train_data), run_dir, "training data dir")
        written.append(_copy(run_dir, train_rel / "spk2utt", dest, True))
        # Read from the archive, named as in the run (the table's caption and significance.json
        # then hold no path of the machine that archived it).
        archived_train = dataclasses.replace(TrainSpeakers.read(dest / train_rel), source=str(train_rel))
    expected: list[ExpectedSystem] = []
    if expected_systems:
        expected_rel = _relative(str(expected_systems), run_dir, "expected-systems file")
        written.append(_copy(run_dir, expected_rel, dest, True))
        expected = load_expected_systems(dest / expected_rel)
    plots = write_results(records, dest / "RESULTS.md", dest / "plots", str(results_rel), dev, evl, expected,
                          base_dir=dest,
                          significance=significance, train_data=archived_train)
    files: Sequence[Path | None] = [*written, dest / "RESULTS.md", dest / SIGNIFICANCE_JSON, *plots]
    return sorted({f for f in files if f is not None})
