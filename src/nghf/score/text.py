"""Reading Kaldi ``text``/``utt2spk`` files and normalising words before scoring.

Scoring compares reference and hypothesis word sequences after the same normalisation on
both sides: tokens that are not words (``<unk>``, ``[NOISE]``, ``<sil>`` ...) are dropped so
that they count neither as errors nor as reference words. What is dropped is configurable
(exact tokens and regular expressions) through :class:`NormalizerConfig`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from pathlib import Path


class TextFormatError(ValueError):
    """A malformed Kaldi text-like file (message names file, line and utterance)."""


@dataclasses.dataclass(frozen=True)
class NormalizerConfig:
    """Which tokens are removed before scoring.

    ``drop_tokens`` are exact matches; ``drop_patterns`` are full-match regular expressions
    (the defaults drop bracketed noise markers such as ``[NOISE]`` and ``<unk>``-like tokens).
    ``lowercase`` folds case on both sides.
    """

    drop_tokens: tuple[str, ...] = ("<unk>", "<UNK>", "<eps>", "<sil>", "!SIL")
    drop_patterns: tuple[str, ...] = (r"\[[^\]\s]*\]", r"<[^>\s]*>")
    lowercase: bool = False


class TextNormalizer:
    """Applies a :class:`NormalizerConfig` to token sequences."""

    def __init__(self, config: NormalizerConfig | None = None) -> None:
        self.config = config or NormalizerConfig()
        self._drop = frozenset(self.config.drop_tokens)
        self._patterns = [re.compile(p) for p in self.config.drop_patterns]

    def keep(self, token: str) -> bool:
        """Whether ``token`` is a word that is scored."""
        if token in self._drop:
            return False
        return not any(p.fullmatch(token) for p in self._patterns)

    def __call__(self, tokens: Iterable[str]) -> list[str]:
        out = [t for t in tokens if self.keep(t)]
        return [t.lower() for t in out] if self.config.lowercase else out


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
