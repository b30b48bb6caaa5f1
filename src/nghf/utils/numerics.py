"""Counting updates that a NaN/Inf stopped, with the utterances involved, and a hard limit.

The updaters already refuse to apply a non-finite step: first-order ones skip the batch
(``extras["skipped"] == 1``), second-order ones reject the step and raise the damping
(``extras["accepted"] == 0``, with ``extras["rejected"] == 1`` when the loss or gradient
itself is non-finite). A long run must neither die on the first bad batch nor skip bad
batches forever without anyone noticing: :class:`BadUpdateGuard` logs every such event with
the update number, what was non-finite and the utterance ids of the batch (marking those whose
features are non-finite), and raises :class:`NumericalError` once more than
``max_bad_updates`` updates were lost this way (a negative limit never raises).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from nghf.utils.logging import get_logger

log = get_logger(__name__)

_CHECKED_EXTRAS = ("grad_norm", "loss_after", "validation_after", "q_model", "step_norm", "cg_q_final")
"""Update statistics that must be finite after a healthy update (``rho`` may be ``-inf`` by design)."""


class NumericalError(ValueError):
    """Too many updates were lost to NaN/Inf values (the message names the last utterances)."""


def nonfinite_utterances(batches: Sequence[Any]) -> list[str]:
    """Ids of the utterances whose valid feature frames hold a NaN or Inf."""
    bad: list[str] = []
    for batch in batches:
        feats, lengths = batch.features, batch.feature_lengths
        for row, utt in enumerate(batch.utt_ids):
            n = int(lengths[row])
            if not bool(torch.isfinite(feats[row, :n]).all()):
                bad.append(utt)
    return bad


def nonfinite_reason(loss: float, extras: Mapping[str, float]) -> str | None:
    """What was non-finite in an update's statistics, or ``None`` if everything is finite."""
    if not math.isfinite(loss):
        return f"loss {loss}"
    if extras.get("skipped", 0.0) > 0 or extras.get("rejected", 0.0) > 0:
        return "loss or gradient"
    for key in _CHECKED_EXTRAS:
        value = extras.get(key)
        if value is not None and not math.isfinite(value):
            return f"{key} {value}"
    return None


@dataclasses.dataclass
class BadUpdateGuard:
    """Counts non-finite updates of a run (``count`` goes into checkpoints)."""

    max_bad_updates: int = 10
    count: int = 0
    max_listed: int = 20

    def record(self, update: int, loss: float, extras: Mapping[str, float], batches: Sequence[Any]) -> bool:
        """Check one update's statistics; log and count it if a NaN/Inf stopped it. Returns
        whether it was bad; raises ``NumericalError`` past ``max_bad_updates``."""
        reason = nonfinite_reason(loss, extras)
        if reason is None:
            return False
        self.count += 1
        utts = [u for b in batches for u in b.utt_ids]
        shown = ", ".join(utts[: self.max_listed]) + (f" ... ({len(utts)} in all)" if len(utts) > self.max_listed else "")
        feats_bad = nonfinite_utterances(batches)
        applied = "update skipped" if extras.get("skipped", 0.0) > 0 else "step rejected, damping raised" \
            if "accepted" in extras else "update not applied"
        limit = "no limit" if self.max_bad_updates < 0 else f"at most {self.max_bad_updates}"
        log.warning(
            "update %d: non-finite %s; %s (%d such update(s) so far, %s); utterances: %s%s",
            update, reason, applied, self.count, limit, shown or "(none)",
            f"; non-finite features in: {', '.join(feats_bad)}" if feats_bad else "",
        )
        if 0 <= self.max_bad_updates < self.count:
            raise NumericalError(
                f"update {update}: {self.count} updates lost to NaN/Inf values (more than max_bad_updates="
                f"{self.max_bad_updates}); last one: non-finite {reason} on utterances {shown}"
                + (f" (non-finite features in: {', '.join(feats_bad)})" if feats_bad else "")
            )
        return True
