"""First-order updaters (SGD with momentum/Nesterov, Adam) behind the ``Updater`` interface.

One ``step(problem)`` is one update: forward and backward over the problem's gradient
batches with loss ``Σ utterance losses / num_frames`` (``num_frames`` counted over all
ranks, so the rank-local gradients are partial sums), ``reducer.sum_`` on every gradient,
optional clipping of the global gradient norm, a non-finite check (the update is skipped
and logged, so one bad batch cannot destroy the model), then the ``torch.optim`` step.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any, ClassVar, Literal

import torch

from nghf.optim.base import UpdateProblem, UpdateStats
from nghf.utils.logging import get_logger

log = get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class FirstOrderConfig:
    """SGD/Adam settings; ``clip_norm = 0`` disables clipping."""

    family: ClassVar[str] = "first"

    kind: Literal["sgd", "adam"] = "adam"
    lr: float = 1e-3
    momentum: float = 0.0
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    clip_norm: float = 0.0

    def __post_init__(self) -> None:
        if self.lr <= 0 or self.momentum < 0 or self.weight_decay < 0 or self.clip_norm < 0:
            raise ValueError(f"invalid optimiser settings: {self}")
        if self.nesterov and (self.kind != "sgd" or self.momentum <= 0):
            raise ValueError("nesterov needs kind: sgd and momentum > 0")


class FirstOrderUpdater:
    """An ``Updater`` that wraps one ``torch.optim`` optimiser."""

    def __init__(self, config: FirstOrderConfig, params: Iterable[torch.nn.Parameter]) -> None:
        self.config = config
        self.params = [p for p in params if p.requires_grad]
        if config.kind == "sgd":
            self.optimizer: torch.optim.Optimizer = torch.optim.SGD(
                self.params, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov,
                weight_decay=config.weight_decay,
            )
        else:
            self.optimizer = torch.optim.Adam(
                self.params, lr=config.lr, betas=config.betas, eps=config.eps,
                weight_decay=config.weight_decay,
            )
        self.skipped = 0

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def set_lr(self, lr: float) -> None:
        """Set the learning rate of every parameter group (the trainer's LR schedule)."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def step(self, problem: UpdateProblem) -> UpdateStats:
        if problem.num_frames <= 0:
            raise ValueError("update problem has no frames with targets")
        self.optimizer.zero_grad(set_to_none=False)
        model, criterion = problem.model, problem.criterion
        device = self.params[0].device
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        for batch in problem.grad_batches:
            batch = batch.to(device)
            outputs, out_lengths = model(batch.features, batch.feature_lengths)
            loss = criterion.utterance_losses(outputs, out_lengths, batch).sum() / problem.num_frames
            loss.backward()
            loss_sum += loss.detach().double()
        for p in self.params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            problem.reducer.sum_(p.grad)
        problem.reducer.sum_(loss_sum)
        grad_norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in self.params]))
        loss_value, norm_value = float(loss_sum), float(grad_norm)
        if not (math.isfinite(loss_value) and math.isfinite(norm_value)):
            self.skipped += 1
            self.optimizer.zero_grad(set_to_none=False)
            log.warning(
                "non-finite loss (%s) or gradient norm (%s) on batch starting %s: update skipped (%d so far)",
                loss_value, norm_value, problem.grad_batches[0].utt_ids[0] if problem.grad_batches else "?",
                self.skipped,
            )
            return UpdateStats(loss=loss_value, extras={"skipped": 1.0, "grad_norm": norm_value, "lr": self.lr})
        if self.config.clip_norm > 0 and norm_value > self.config.clip_norm:
            scale = self.config.clip_norm / (norm_value + 1e-12)
            for p in self.params:
                p.grad.mul_(scale)
        self.optimizer.step()
        return UpdateStats(loss=loss_value, extras={"skipped": 0.0, "grad_norm": norm_value, "lr": self.lr})

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "skipped": self.skipped}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.skipped = int(state.get("skipped", 0))


def build_first_order(config: FirstOrderConfig, params: Iterable[torch.nn.Parameter]) -> FirstOrderUpdater:
    """The SGD or Adam updater of ``config`` over ``params``."""
    return FirstOrderUpdater(config, params)
