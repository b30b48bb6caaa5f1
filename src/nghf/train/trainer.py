"""The one generic trainer: any criterion, any updater, epochs of updates, held-out checks.

Per update the trainer asks its ``UpdateSource`` for gradient (and curvature) batches,
counts their output frames over all ranks, and hands an ``UpdateProblem`` to the
``Updater`` -- SGD/Adam take one minibatch, HF/NG/NGHF the same loop with bigger gradient
batches and curvature batches. After each epoch it measures held-out loss per frame and
frame accuracy, updates the learning-rate schedule, logs scalars (log file, tensorboard) and
writes a checkpoint (also every ``checkpoint_every`` updates), from which ``resume`` continues
bit-identically.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import torch

from nghf.criteria.base import Criterion
from nghf.data.batch import IGNORE_TARGET, SequenceBatch, UpdateSource
from nghf.dist.checksum import average_buffers_, check_identical
from nghf.dist.reduce import LocalReducer, Reducer
from nghf.models.base import AcousticModel
from nghf.optim.base import UpdateProblem, Updater
from nghf.train.checkpoint import LAST, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from nghf.train.schedule import LrSchedule
from nghf.utils.logging import get_logger, progress
from nghf.utils.numerics import BadUpdateGuard
from nghf.utils.outputs import OutputError, describe_os_error, ensure_writable

log = get_logger(__name__)


class SupportsLr(Protocol):
    """Updaters whose learning rate the schedule drives (SGD, Adam)."""

    lr: float

    def set_lr(self, lr: float) -> None: ...


class ScalarWriter(Protocol):
    def add_scalar(self, tag: str, value: float, step: int) -> None: ...


@dataclasses.dataclass(frozen=True)
class EpochRecord:
    """One epoch's numbers (kept in checkpoints and returned by ``train``)."""

    epoch: int
    train_loss: float
    heldout_loss: float
    heldout_acc: float
    lr: float
    updates: int


def count_frames(batch: SequenceBatch, model: AcousticModel) -> int:
    """Output frames that contribute to the loss: frames with a target, else all valid frames."""
    if batch.targets is not None:
        return int((batch.targets != IGNORE_TARGET).sum())
    return int(model.output_lengths(batch.feature_lengths).sum())


@torch.no_grad()
def evaluate(
    model: AcousticModel, criterion: Criterion, batches: Sequence[SequenceBatch], device: torch.device | str,
    reducer: Reducer | None = None,
) -> tuple[float, float]:
    """``(loss per frame, frame accuracy)`` over ``batches`` in eval mode. With a
    distributed ``reducer`` each rank evaluates every ``world_size``-th batch and the sums
    are all-reduced, so every rank gets the same numbers."""
    reducer = reducer or LocalReducer()
    if reducer.world_size > 1:
        mine = list(batches)[reducer.rank :: reducer.world_size]
        loss, acc = evaluate(model, criterion, mine, device)
        frames = sum(count_frames(b, model) for b in mine)
        sums = reducer.sum_(torch.tensor([loss * frames, acc * frames, float(frames)], dtype=torch.float64,
                                         device=device))
        return float(sums[0] / max(sums[2], 1.0)), float(sums[1] / max(sums[2], 1.0))
    was_training = model.training
    model.eval()
    loss, correct, frames = 0.0, 0, 0
    for batch in batches:
        batch = batch.to(device)
        outputs, out_lengths = model(batch.features, batch.feature_lengths)
        loss += float(criterion.utterance_losses(outputs, out_lengths, batch).double().sum())
        frames += count_frames(batch, model)
        if batch.targets is not None:
            t = min(outputs.shape[1], batch.targets.shape[1])
            targets = batch.targets[:, :t]
            valid = (targets != IGNORE_TARGET) & (
                torch.arange(t, device=device).unsqueeze(0) < out_lengths.unsqueeze(1)
            )
            correct += int(((outputs[:, :t].argmax(-1) == targets) & valid).sum())
    model.train(was_training)
    return loss / max(frames, 1), correct / max(frames, 1)


class Trainer:
    """Epochs of updates with held-out evaluation, LR schedule and checkpoints."""

    def __init__(
        self,
        model: AcousticModel,
        criterion: Criterion,
        updater: Updater,
        source: UpdateSource,
        heldout: Sequence[SequenceBatch],
        out_dir: str | Path,
        epochs: int,
        schedule: LrSchedule | None = None,
        device: torch.device | str = "cpu",
        reducer: Reducer | None = None,
        checkpoint_every: int = 0,
        writer: ScalarWriter | None = None,
        checksum_every: int = 0,
        max_bad_updates: int = 10,
    ) -> None:
        self.model = model
        self.criterion = criterion
        self.updater = updater
        self.source = source
        self.heldout = list(heldout)
        self.out_dir = Path(out_dir)
        self.epochs = epochs
        self.schedule = schedule
        self.device = torch.device(device)
        self.reducer = reducer or LocalReducer()
        self.checkpoint_every = checkpoint_every
        self.writer = writer
        self.checksum_every = checksum_every
        """Distributed runs: check every this many updates that all ranks hold identical
        parameters (``nghf.dist.checksum``; 0: only at epoch ends)."""
        self.validation: list[SequenceBatch] = []
        """Batches that judge second-order steps (``UpdateProblem.validation_batches``); every
        rank holds all of them and passes its share (every ``world_size``-th batch)."""
        self.guard = BadUpdateGuard(max_bad_updates)
        """Counts updates lost to NaN/Inf (logged with utterance ids); more than
        ``max_bad_updates`` stop the run (``nghf.utils.numerics.NumericalError``; < 0: never)."""
        self.epoch = 0
        self.next_update = 0
        self.global_update = 0
        self.history: list[EpochRecord] = []
        self._loss_sum = 0.0
        self._loss_updates = 0

    # -- state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "updater": self.updater.state_dict(),
            "schedule": None if self.schedule is None else self.schedule.state_dict(),
            "rng": rng_state(),
            "progress": {
                "epoch": self.epoch, "next_update": self.next_update, "global_update": self.global_update,
                "loss_sum": self._loss_sum, "loss_updates": self._loss_updates,
                "bad_updates": self.guard.count,
            },
            "history": [dataclasses.asdict(r) for r in self.history],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.updater.load_state_dict(state["updater"])
        if self.schedule is not None and state["schedule"] is not None:
            self.schedule.load_state_dict(state["schedule"])
        set_rng_state(state["rng"])
        p = state["progress"]
        self.epoch, self.next_update, self.global_update = p["epoch"], p["next_update"], p["global_update"]
        self._loss_sum, self._loss_updates = p["loss_sum"], p["loss_updates"]
        self.guard.count = int(p.get("bad_updates", 0))
        self.history = [EpochRecord(**r) for r in state["history"]]

    def save(self, name: str | None = None) -> None:
        if self.reducer.rank == 0:
            try:
                save_checkpoint(self.out_dir, self.state_dict(), name)
            except OSError as err:  # written atomically: the previous checkpoint is intact
                raise OutputError(f"{describe_os_error(err)}; the previous checkpoint "
                                  f"{self.out_dir / LAST} is unchanged (resume from it)") from None

    def check_output_space(self) -> None:
        """Fail now, not after hours of training, if ``out_dir`` cannot take a checkpoint
        (estimated as four times the model's tensors: parameters, optimiser state, slack)."""
        if self.reducer.rank != 0:
            return
        tensors = [*self.model.parameters(), *self.model.buffers()]
        need = 4 * sum(t.numel() * t.element_size() for t in tensors) + 2**16
        ensure_writable(self.out_dir, need, what="training output")

    def resume(self, path: str | Path | None = None) -> None:
        """Continue from ``path`` (default: the newest checkpoint in ``out_dir``)."""
        path = Path(path) if path is not None else self.out_dir / LAST
        try:
            self.load_state_dict(load_checkpoint(path))
        except (RuntimeError, KeyError) as err:
            raise ValueError(
                f"{path}: checkpoint does not fit this run (different model config or num-pdfs?): {err}"
            ) from None
        log.info("resumed from %s at epoch %d, update %d", path, self.epoch, self.next_update)

    # -- training -----------------------------------------------------------------------
    def _scalar(self, tag: str, value: float, step: int) -> None:
        if self.writer is not None and self.reducer.rank == 0:
            self.writer.add_scalar(tag, value, step)

    def _set_lr(self) -> float | None:
        if self.schedule is None or not hasattr(self.updater, "set_lr"):
            return None
        lr = self.schedule.lr(self.epoch, self.global_update)
        self.updater.set_lr(lr)  # type: ignore[attr-defined]
        return lr

    def run_update(self, index: int) -> float:
        """Perform update ``index`` of the current epoch; returns its loss."""
        grad, curv = self.source.update_batches(self.epoch, index)
        frames = torch.tensor(
            [sum(count_frames(b, self.model) for b in grad), sum(count_frames(b, self.model) for b in curv)],
            dtype=torch.float64,
        )
        self.reducer.sum_(frames)
        problem = UpdateProblem(
            model=self.model, criterion=self.criterion, grad_batches=grad, curvature_batches=curv,
            num_frames=int(frames[0]), curvature_frames=int(frames[1]), reducer=self.reducer,
            validation_batches=self.validation[self.reducer.rank :: self.reducer.world_size],
            validation_frames=sum(count_frames(b, self.model) for b in self.validation),
        )
        lr = self._set_lr()
        buffers = [b.detach().clone() for b in self.model.buffers()]
        stats = self.updater.step(problem)
        if self.guard.record(self.global_update + 1, stats.loss, stats.extras, grad):
            # The forward passes of a lost update still moved batch-norm running statistics
            # (possibly to NaN): put them back, so that nothing of the bad batch remains.
            with torch.no_grad():
                for b, saved in zip(self.model.buffers(), buffers, strict=True):
                    b.copy_(saved)
        if self.reducer.world_size > 1:
            average_buffers_(self.reducer, self.model)  # batch-norm statistics of all ranks
            if self.checksum_every and (self.global_update + 1) % self.checksum_every == 0:
                check_identical(self.reducer, self.model, f"after update {self.global_update + 1}")
        self._scalar("train/loss", stats.loss, self.global_update)
        if lr is not None:
            self._scalar("train/lr", lr, self.global_update)
        for key, value in stats.extras.items():
            self._scalar(f"update/{key}", value, self.global_update)
        if math.isfinite(stats.loss):
            self._loss_sum += stats.loss
            self._loss_updates += 1
        return stats.loss

    def train(self) -> list[EpochRecord]:
        """Run (or continue) training until ``epochs`` or the schedule says stop."""
        self.model.to(self.device)
        self.check_output_space()
        while self.epoch < self.epochs and not (self.schedule is not None and self.schedule.stop):
            self.model.train()
            num_updates = self.source.num_updates(self.epoch)
            indices = range(self.next_update, num_updates)
            for index in progress(indices, desc=f"epoch {self.epoch + 1}/{self.epochs}", logger=log):
                self.run_update(index)
                self.next_update = index + 1
                self.global_update += 1
                if self.checkpoint_every and self.next_update % self.checkpoint_every == 0 \
                        and self.next_update < num_updates:
                    self.save()
            self._end_epoch(num_updates)
        return self.history

    def _end_epoch(self, num_updates: int) -> None:
        train_loss = self._loss_sum / max(self._loss_updates, 1)
        if self.reducer.world_size > 1:
            check_identical(self.reducer, self.model, f"at the end of epoch {self.epoch + 1}")
        heldout_loss, heldout_acc = evaluate(self.model, self.criterion, self.heldout, self.device, self.reducer)
        lr = getattr(self.updater, "lr", float("nan"))
        record = EpochRecord(self.epoch, train_loss, heldout_loss, heldout_acc, float(lr), num_updates)
        self.history.append(record)
        log.info(
            "epoch %d: train loss %.4f, held-out loss %.4f, held-out frame accuracy %.2f%%, %s%d updates",
            self.epoch + 1, train_loss, heldout_loss, 100 * heldout_acc,
            f"lr {lr:.3g}, " if math.isfinite(lr) else "", num_updates,
        )
        self._scalar("heldout/loss", heldout_loss, self.epoch + 1)
        self._scalar("heldout/frame_acc", heldout_acc, self.epoch + 1)
        self._scalar("train/epoch_loss", train_loss, self.epoch + 1)
        if self.schedule is not None:
            self.schedule.end_epoch(self.epoch, heldout_acc)
            if self.schedule.stop:
                log.info("newbob: held-out accuracy no longer improves; stopping after epoch %d", self.epoch + 1)
        self.epoch += 1
        self.next_update = 0
        self._loss_sum, self._loss_updates = 0.0, 0
        self.save(name=f"epoch{self.epoch}")
