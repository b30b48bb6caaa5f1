"""The machine-readable results file ``exp/results.jsonl``: one JSON object per scored set.

Each record names the system (and its model, criterion, optimiser, number of parameter
updates, wall-clock training time), the set, the LM weight and the WER with its counts, and
(``utt_scores``) the decode dir's per-utterance scores at that LM weight, from which
``nghf-results`` computes confidence intervals and significance tests (records written
before that field existed lack it; their table cells show "–").
Records are appended one line at a time (a single ``write`` of one line in append mode), so
concurrent scorers do not interleave; readers report the file and line of a bad record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nghf.score.decode_dir import tune_and_apply, utt_scores_path
from nghf.utils.jsonl import read_jsonl


class ResultsFileError(ValueError):
    """A malformed results file (message names file and line)."""


@dataclasses.dataclass(frozen=True)
class SystemInfo:
    """What produced a decode: filled from a training ``meta.json`` and/or command-line options."""

    system: str
    model: str = ""
    criterion: str = ""
    optimiser: str = ""
    updates: int | None = None
    train_seconds: float | None = None
    train_log: str = ""  # per-update training log (*.jsonl) for the plots
    parameters: int | None = None  # trainable parameters of the model

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], **overrides: Any) -> SystemInfo:
        fields = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in meta.items() if k in fields}
        data.update({k: v for k, v in overrides.items() if v is not None})
        if "system" not in data:
            raise ResultsFileError("system name missing (give --system or a meta file with 'system')")
        return cls(**data)


REQUIRED = ("system", "set", "wer", "lmwt")


def make_record(info: SystemInfo, set_name: str, lmwt: float, counts: Mapping[str, Any],
                decode_dir: str = "", tuned_on: str = "", utt_scores: str = "") -> dict[str, Any]:
    """One results record (``utt_scores``: per-utterance scores file at ``lmwt``, or "")."""
    rec = dataclasses.asdict(info)
    rec.update({"set": set_name, "lmwt": lmwt, "wer": counts["wer"], "counts": dict(counts),
                "decode_dir": decode_dir, "lmwt_tuned_on": tuned_on, "utt_scores": utt_scores,
                "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    return rec


def append_record(path: str | Path, record: Mapping[str, Any]) -> None:
    """Append one record as one line."""
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise ResultsFileError(f"record lacks {', '.join(missing)}: {record}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(dict(record), sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """All records of a results file, in order."""
    return read_jsonl(path, ResultsFileError, REQUIRED, what="results file")


def record_dev_eval(results: str | Path, info: SystemInfo, dev_dir: str | Path, eval_dir: str | Path,
                    dev_name: str = "dev", eval_name: str = "eval") -> tuple[dict, dict]:
    """Tune the LM weight on dev, apply it to eval, append both records; return them.
    Each record names its decode dir's per-utterance scores at that weight when the dir has them
    (decode dirs scored before they were written have none)."""
    lmwt, dev_counts, eval_counts = tune_and_apply(dev_dir, eval_dir)

    def scores(decode_dir: str | Path) -> str:
        path = utt_scores_path(decode_dir, lmwt)
        return str(path) if path.is_file() else ""

    dev_rec = make_record(info, dev_name, lmwt, dev_counts, str(dev_dir), dev_name, scores(dev_dir))
    eval_rec = make_record(info, eval_name, lmwt, eval_counts, str(eval_dir), dev_name, scores(eval_dir))
    append_record(results, dev_rec)
    append_record(results, eval_rec)
    return dev_rec, eval_rec
