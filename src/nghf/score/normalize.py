"""Normalising words before scoring.

Scoring compares reference and hypothesis word sequences after the same normalisation on
both sides: tokens that are not words (``<unk>``, ``[NOISE]``, ``<sil>`` ...) are dropped so
that they count neither as errors nor as reference words. What is dropped is configurable
(exact tokens and regular expressions) through :class:`NormalizerConfig`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable


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
