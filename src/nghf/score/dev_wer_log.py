"""Per-epoch dev WERs of a training run: ``<system-dir>/dev_wer.jsonl`` beside ``train_log.jsonl``.

One record per decoded checkpoint, ``{"update", "epoch", "dev_wer", "lmwt", "decode_dir"}``:
the dev WER at the LM weight best on dev for that checkpoint (the number the results table's
dev column is for the final model). ``steps/decode_epochs.sh`` writes them with
``nghf-score track``; the results plots draw them as dev-WER curves against updates. Dev data
only: nothing here ever looks at eval.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nghf.score.decode_dir import best_scored, read_summary
from nghf.utils.atomic import atomic_write_text
from nghf.utils.jsonl import read_jsonl

DEV_WER_LOG = "dev_wer.jsonl"


class DevWerLogError(ValueError):
    """A malformed dev-WER log (message names file and line)."""


def read_dev_wer_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of ``path`` sorted by update (missing file: an error naming it)."""
    records = read_jsonl(path, DevWerLogError, ("update", "dev_wer"), what="dev-WER log",
                         lacks="record has no {missing}")
    return sorted(records, key=lambda r: float(r["update"]))


def dev_wer_log_beside(train_log: str | Path) -> Path:
    """Where a run's per-epoch dev WERs are: ``dev_wer.jsonl`` in the training log's directory."""
    return Path(train_log).parent / DEV_WER_LOG


def track_decode(log_path: str | Path, decode_dir: str | Path, epoch: int, update: int) -> Mapping[str, Any]:
    """Add (or replace: decoding the same checkpoint again) the record of ``update`` in
    ``log_path`` from the scored ``decode_dir``; return the record."""
    lmwt, best = best_scored(read_summary(decode_dir))
    record = {"update": int(update), "epoch": int(epoch), "dev_wer": float(best["wer"]),
              "lmwt": lmwt, "decode_dir": str(decode_dir)}
    log_path = Path(log_path)
    kept = [r for r in read_dev_wer_log(log_path) if int(r["update"]) != record["update"]] if log_path.is_file() else []
    records = sorted([*kept, record], key=lambda r: float(r["update"]))
    atomic_write_text(log_path, "".join(json.dumps(r) + "\n" for r in records))
    return record
