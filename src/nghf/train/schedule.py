"""Learning-rate schedules driven by the trainer: constant, newbob, warm-up + decay.

Newbob (the classic hybrid-system schedule): keep the learning rate while held-out frame
accuracy improves by at least ``start_halving_impr`` per epoch; from then on halve it every
epoch, and stop when the improvement falls below ``end_halving_impr``. Warm-up + decay:
linear warm-up over ``warmup_updates`` updates, then ``decay`` per epoch.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal


@dataclasses.dataclass(frozen=True)
class ScheduleConfig:
    """Learning-rate schedule settings."""

    kind: Literal["constant", "newbob", "warmup_decay"] = "newbob"
    start_halving_impr: float = 0.005
    end_halving_impr: float = 0.001
    halving_factor: float = 0.5
    min_epochs: int = 1
    warmup_updates: int = 0
    decay: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.halving_factor <= 1 or not 0 < self.decay <= 1 or self.warmup_updates < 0:
            raise ValueError(f"invalid schedule settings: {self}")


class LrSchedule:
    """The schedule's state (``state_dict`` goes into checkpoints)."""

    def __init__(self, config: ScheduleConfig, base_lr: float) -> None:
        self.config = config
        self.base_lr = base_lr
        self.epoch_lr = base_lr
        self.halving = False
        self.best_acc: float | None = None
        self.stop = False

    def lr(self, epoch: int, update: int) -> float:
        """Learning rate for global ``update`` (0-based) in ``epoch``."""
        c = self.config
        if c.kind == "warmup_decay":
            warm = min(1.0, (update + 1) / c.warmup_updates) if c.warmup_updates else 1.0
            return self.base_lr * warm * c.decay**epoch
        return self.epoch_lr

    def end_epoch(self, epoch: int, heldout_acc: float) -> None:
        """Update after ``epoch`` (0-based) given its held-out frame accuracy (0..1)."""
        c = self.config
        if c.kind != "newbob":
            return
        impr = heldout_acc - self.best_acc if self.best_acc is not None else float("inf")
        self.best_acc = heldout_acc if self.best_acc is None else max(self.best_acc, heldout_acc)
        if epoch + 1 < c.min_epochs:
            return
        if self.halving:
            if impr < c.end_halving_impr:
                self.stop = True
            self.epoch_lr *= c.halving_factor
        elif impr < c.start_halving_impr:
            self.halving = True
            self.epoch_lr *= c.halving_factor

    def state_dict(self) -> dict[str, Any]:
        return {"base_lr": self.base_lr, "epoch_lr": self.epoch_lr, "halving": self.halving,
                "best_acc": self.best_acc, "stop": self.stop}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base_lr = state["base_lr"]
        self.epoch_lr = state["epoch_lr"]
        self.halving = state["halving"]
        self.best_acc = state["best_acc"]
        self.stop = state["stop"]
