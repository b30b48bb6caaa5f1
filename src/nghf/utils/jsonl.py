"""Reading JSON-lines files (one JSON object per line) with errors that name file and line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def read_jsonl(path: str | Path, error_cls: type[Exception], required_keys: Sequence[str], *,
               what: str = "file", lacks: str = "record lacks {missing}") -> list[dict[str, Any]]:
    """All records of a JSON-lines file, in order; blank lines are skipped.

    Raises ``error_cls`` with ``"{path}: {what} not found"`` when the file is missing,
    ``"{path}:{lineno}: not JSON: ..."`` for a bad line, and ``"{path}:{lineno}: " + lacks``
    (``{missing}`` filled with the comma-separated missing keys) for a record that is not an
    object or lacks one of ``required_keys``.
    """
    path = Path(path)
    if not path.is_file():
        raise error_cls(f"{path}: {what} not found")
    out = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            raise error_cls(f"{path}:{lineno}: not JSON: {err.msg}") from None
        missing = [k for k in required_keys if not isinstance(rec, dict) or k not in rec]
        if not isinstance(rec, dict) or missing:
            raise error_cls(f"{path}:{lineno}: " + lacks.format(missing=", ".join(missing)))
        out.append(rec)
    return out
