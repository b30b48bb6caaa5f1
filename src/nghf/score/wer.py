"""Word error rate by Levenshtein alignment, per utterance, per speaker and in total.

The alignment minimises a weighted edit cost by dynamic programming. ``mode="sclite"`` uses
NIST sclite's costs (insertion 3, deletion 3, substitution 4) and sclite's tie-break on the
way back from the end (match/substitution first, then insertion, then deletion), so counts
equal what ``sclite`` reports (the tests check this against the binary on random pairs).
``mode="levenshtein"`` uses unit costs, like Kaldi's ``compute-wer``. The modes can differ:
sclite's weights sometimes prefer a substitution-heavy alignment with one more error than
the unit-cost minimum, so the default (``sclite``) is the number a reader can reproduce with
the standard NIST tool.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Literal

from nghf.score.normalize import TextNormalizer
from nghf.utils.logging import get_logger

log = get_logger(__name__)

AlignMode = Literal["sclite", "levenshtein"]


class ScoringError(ValueError):
    """Inconsistent references/hypotheses (message names the utterance)."""


@dataclasses.dataclass(frozen=True)
class ErrorCounts:
    """Error counts of one utterance or a sum of utterances."""

    ref_words: int = 0
    corr: int = 0
    sub: int = 0
    ins: int = 0
    dels: int = 0
    sentences: int = 0
    sentence_errors: int = 0

    @property
    def errors(self) -> int:
        return self.sub + self.ins + self.dels

    @property
    def wer(self) -> float:
        """Percent WER; errors against an empty reference count as 100 % per error word."""
        if self.ref_words == 0:
            return 0.0 if self.errors == 0 else float("inf")
        return 100.0 * self.errors / self.ref_words

    def __add__(self, other: ErrorCounts) -> ErrorCounts:
        return ErrorCounts(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other), strict=True)))

    def as_dict(self) -> dict[str, float | int]:
        d: dict[str, float | int] = dataclasses.asdict(self)
        d["errors"] = self.errors
        d["wer"] = round(self.wer, 4) if self.ref_words else (0.0 if self.errors == 0 else None)  # type: ignore[assignment]
        return d


COSTS: dict[str, tuple[int, int, int]] = {"sclite": (3, 3, 4), "levenshtein": (1, 1, 1)}  # ins, del, sub


def align(ref: Sequence[str], hyp: Sequence[str], mode: AlignMode = "sclite") -> list[tuple[str | None, str | None]]:
    """Minimum-cost alignment as pairs in order; ``(None, h)`` is an insertion, ``(r, None)`` a deletion."""
    if mode not in COSTS:
        raise ValueError(f"unknown alignment mode {mode!r}; use one of {', '.join(COSTS)}")
    c_ins, c_del, c_sub = COSTS[mode]
    n, m = len(ref), len(hyp)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for j in range(1, m + 1):
        cost[0][j] = j * c_ins
    for i in range(1, n + 1):
        row, prev = cost[i], cost[i - 1]
        row[0] = i * c_del
        r = ref[i - 1]
        for j in range(1, m + 1):
            diag = prev[j - 1] + (0 if r == hyp[j - 1] else c_sub)
            row[j] = min(diag, prev[j] + c_del, row[j - 1] + c_ins)
    pairs: list[tuple[str | None, str | None]] = []
    i, j = n, m
    while i > 0 or j > 0:
        here = cost[i][j]
        if i > 0 and j > 0 and here == cost[i - 1][j - 1] + (0 if ref[i - 1] == hyp[j - 1] else c_sub):
            pairs.append((ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif j > 0 and here == cost[i][j - 1] + c_ins:
            pairs.append((None, hyp[j - 1]))
            j -= 1
        else:
            pairs.append((ref[i - 1], None))
            i -= 1
    pairs.reverse()
    return pairs


def utterance_counts(ref: Sequence[str], hyp: Sequence[str], mode: AlignMode = "sclite") -> ErrorCounts:
    """Counts of one utterance from its alignment."""
    corr = sub = ins = dels = 0
    for r, h in align(ref, hyp, mode):
        if r is None:
            ins += 1
        elif h is None:
            dels += 1
        elif r == h:
            corr += 1
        else:
            sub += 1
    errs = sub + ins + dels
    return ErrorCounts(len(ref), corr, sub, ins, dels, 1, int(errs > 0))


@dataclasses.dataclass(frozen=True)
class WerReport:
    """Per-utterance and per-speaker counts plus the total."""

    per_utt: dict[str, ErrorCounts]
    per_spk: dict[str, ErrorCounts]
    total: ErrorCounts
    missing_hyps: tuple[str, ...] = ()

    def summary(self) -> str:
        """Kaldi's ``%WER`` line."""
        t = self.total
        return (f"%WER {t.wer:.2f} [ {t.errors} / {t.ref_words}, {t.ins} ins, {t.dels} del, {t.sub} sub ]\n"
                f"%SER {100.0 * t.sentence_errors / max(t.sentences, 1):.2f} [ {t.sentence_errors} / {t.sentences} ]\n"
                f"Scored {t.sentences} sentences, {len(self.missing_hyps)} without a hypothesis (scored as empty).\n")


def score(
    refs: Mapping[str, Sequence[str]],
    hyps: Mapping[str, Sequence[str]],
    utt2spk: Mapping[str, str] | None = None,
    normalizer: TextNormalizer | None = None,
    mode: AlignMode = "sclite",
    allow_missing: bool = True,
) -> WerReport:
    """Score ``hyps`` against ``refs`` (both utterance id -> words).

    Every reference utterance is scored. One without a hypothesis is scored as an empty
    hypothesis (all deletions) and listed in ``missing_hyps`` (an error when
    ``allow_missing`` is false); a hypothesis without a reference is an error, as is an
    utterance missing from ``utt2spk`` when one is given.
    """
    norm = normalizer or TextNormalizer()
    extra = sorted(set(hyps) - set(refs))
    if extra:
        raise ScoringError(f"hypothesis for utterance {extra[0]} has no reference ({len(extra)} such utterances)")
    missing = tuple(sorted(set(refs) - set(hyps)))
    if missing:
        if not allow_missing:
            raise ScoringError(f"no hypothesis for utterance {missing[0]} ({len(missing)} such utterances)")
        log.warning("%d utterances have no hypothesis and are scored as empty, e.g. %s", len(missing), missing[0])
    per_utt: dict[str, ErrorCounts] = {}
    per_spk: dict[str, ErrorCounts] = {}
    total = ErrorCounts()
    for utt in sorted(refs):
        counts = utterance_counts(norm(refs[utt]), norm(hyps.get(utt, ())), mode)
        per_utt[utt] = counts
        total = total + counts
        if utt2spk is not None:
            if utt not in utt2spk:
                raise ScoringError(f"utterance {utt} is not in utt2spk")
            spk = utt2spk[utt]
            per_spk[spk] = per_spk.get(spk, ErrorCounts()) + counts
    return WerReport(per_utt, per_spk, total, missing)
