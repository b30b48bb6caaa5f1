"""Reading and writing Kaldi ``text`` and ``utt2spk`` files (utterance id -> words/speaker).

The word normalisation applied before scoring is :mod:`nghf.score.normalize`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path


class TextFormatError(ValueError):
    """A malformed Kaldi text-like file (message names file, line and utterance)."""


def parse_text_lines(lines: Iterable[str], where: str) -> dict[str, list[str]]:
    """Parse ``utt-id word word ...`` lines (an utterance may have no words)."""
    out: dict[str, list[str]] = {}
    for lineno, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        utt = fields[0]
        if utt in out:
            raise TextFormatError(f"{where}:{lineno}: utterance {utt} appears twice")
        out[utt] = fields[1:]
    return out


def read_text(path: str | Path) -> dict[str, list[str]]:
    """Read a Kaldi ``text`` (or ``.tra`` in word form) file: utterance id -> words."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_text_lines(handle, str(path))
    except OSError as err:
        raise TextFormatError(f"{path}: cannot read: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise TextFormatError(f"{path}: not UTF-8 text: {err}") from None


def read_utt2spk(path: str | Path) -> dict[str, str]:
    """Read ``utt2spk``: exactly two fields per line."""
    path = Path(path)
    out: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise TextFormatError(f"{path}: cannot read: {err.strerror}") from None
    for lineno, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise TextFormatError(f"{path}:{lineno}: expected '<utt-id> <speaker-id>', got {line!r}")
        if fields[0] in out:
            raise TextFormatError(f"{path}:{lineno}: utterance {fields[0]} appears twice")
        out[fields[0]] = fields[1]
    return out


def format_text(texts: Mapping[str, Iterable[str]]) -> str:
    """Kaldi ``text`` form, sorted by utterance id."""
    lines = []
    for utt in sorted(texts):
        words = " ".join(texts[utt])
        lines.append(f"{utt} {words}".rstrip())
    return "".join(line + "\n" for line in lines)
