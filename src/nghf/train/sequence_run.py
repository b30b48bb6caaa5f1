"""Lattice-based sequence training of a hybrid model, through the generic ``Trainer``.

``train_sequence`` starts from the cross-entropy ``final.mdl`` (its log priors, prior scale,
feature description and model config are kept), reads features as that model was trained on
them, the reference alignments (numerators) and the denominator lattice store, checks them
(:func:`nghf.train.sequence.check_examples`), holds out a seeded subset, builds the sequence
criterion (``conf/criterion_*.yaml``) and the updater from the optimiser config alone (SGD,
Adam, HF, NG, NGHF), and runs :class:`SequenceTrainer` -- the generic
:class:`~nghf.train.trainer.Trainer` plus a per-update JSONL log. It writes in ``out_dir``:

* ``final.mdl`` (same self-describing format as cross-entropy training, so decoding is
  unchanged) with a ``.done`` marker;
* ``train_log.jsonl``: one line per update -- ``update``, ``epoch``, ``loss``,
  ``heldout_loss`` (every ``heldout_every`` updates and at epoch ends, else null),
  ``cg_iterations``, ``damping``, ``rho``, the quadratic-model reductions (``q_model``,
  ``cg_q_initial``, ``cg_q_final``), ``accepted``, ``time`` (seconds of the update) and every
  other number the optimiser reports;
* ``meta.json`` (system, model, criterion, optimiser, parameter updates, training seconds)
  for the results table; checkpoints (resume continues bit-identically) and the resolved
  configs; ``bad_utts.txt`` (utterances left out, with the reason).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nghf.criteria.factory import load_sequence_criterion
from nghf.data.batch import UpdateSource
from nghf.data.nnfeats import read_features
from nghf.dist.checksum import broadcast_module_, check_same_value, text_hash
from nghf.dist.reduce import LocalReducer, Reducer
from nghf.dist.shard import ShardedUpdates
from nghf.lattice.numerator import TransitionMaps, check_pdf_range, read_frame_alignments
from nghf.lattice.store import LatticeStore
from nghf.models.factory import num_parameters
from nghf.models.io import LoadedModel, load_model, save_model
from nghf.optim.factory import build_updater, is_first_order, optimiser_name
from nghf.train.checkpoint import LAST
from nghf.train.data import DataConfig, read_heldout_list, split_heldout
from nghf.train.relattice import LatticeRefresher, OverlayLattices, RegenerateConfig
from nghf.train.run import seed_everything
from nghf.train.schedule import LrSchedule, ScheduleConfig
from nghf.train.sequence import (
    SequenceDataConfig,
    SequenceExamples,
    SequenceUpdates,
    UpdatePlan,
    check_examples,
)
from nghf.train.trainer import EpochRecord, ScalarWriter, Trainer, evaluate
from nghf.utils.atomic import atomic_write_text, mark_done
from nghf.utils.config import dump_config
from nghf.utils.logging import get_logger

log = get_logger(__name__)

LOG_NAME = "train_log.jsonl"
_LOG_KEYS = ("loss", "heldout_loss", "cg_iterations", "damping", "rho", "q_model", "cg_q_initial",
             "cg_q_final", "accepted", "time")


@dataclasses.dataclass(frozen=True)
class TrainSeqConfig:
    """Sequence-training settings (``conf/train_seq.yaml``); the optimiser comes from its own config."""

    epochs: int = 2
    seed: int = 0
    data: SequenceDataConfig = dataclasses.field(default_factory=SequenceDataConfig)
    first_order: UpdatePlan = dataclasses.field(default_factory=lambda: UpdatePlan(utts_per_update=8))
    """Update plan for SGD/Adam."""
    second_order: UpdatePlan = dataclasses.field(
        default_factory=lambda: UpdatePlan(utts_per_update=64, curvature_fraction=0.25, heldout_every=1))
    """Update plan for HF/NG/NGHF."""
    schedule: ScheduleConfig = dataclasses.field(default_factory=lambda: ScheduleConfig(kind="constant"))
    checkpoint_every: int = 0
    tensorboard: bool = True
    regenerate: RegenerateConfig = dataclasses.field(default_factory=RegenerateConfig)
    """On-the-fly denominator lattices (``regenerate.every`` > 0 needs the weak-LM graph,
    ``--den-graph``); see :mod:`nghf.train.relattice`."""
    max_bad_updates: int = 10
    """Updates lost to NaN/Inf (skipped or rejected) tolerated before the run stops (< 0: never)."""
    select_best: bool = True
    """``final.mdl`` is the model with the lowest held-out loss among those evaluated (the
    cross-entropy start, every ``heldout_every``-th update, every epoch end), not necessarily
    the last: the guard against over-training. Selection never sees dev or eval data."""
    freeze_norm: bool = True
    """Batch-norm layers keep the cross-entropy model's statistics (evaluation mode) during
    sequence training. The network is then one fixed function of its parameters: the loss is
    a sum of independent per-utterance terms (as the Fisher and the curvature sub-batch
    assume), the trial evaluations of a second-order update cannot move the running
    statistics, and what is optimised is exactly what decoding computes."""

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")


class UpdateLog:
    """``train_log.jsonl``: one JSON object per update, appended and flushed as it happens."""

    def __init__(self, path: str | Path, enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled

    def truncate(self, last_update: int) -> None:
        """Keep only records of updates ``<= last_update`` (what a resumed checkpoint has done)."""
        if not self.enabled or not self.path.is_file():
            return
        keep = [line for line in self.path.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line)["update"] <= last_update]
        atomic_write_text(self.path, "".join(line + "\n" for line in keep))

    def append(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()}
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(clean) + "\n")


class CapturingWriter:
    """A ``ScalarWriter`` that keeps the scalars of the current step (and forwards them)."""

    def __init__(self, inner: ScalarWriter | None = None) -> None:
        self.inner = inner
        self.current: dict[str, float] = {}

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        if tag.startswith(("train/", "update/")):
            self.current[tag.split("/", 1)[1]] = float(value)
        if self.inner is not None:
            self.inner.add_scalar(tag, value, step)

    def take(self) -> dict[str, float]:
        out, self.current = self.current, {}
        return out


class SequenceTrainer(Trainer):
    """The generic trainer, plus a per-update record in ``train_log.jsonl`` (optionally with
    the held-out loss every ``heldout_every`` updates) and the accumulated training time."""

    def __init__(self, *args: Any, update_log: UpdateLog, heldout_every: int = 0,
                 writer: ScalarWriter | None = None, freeze_norm: bool = False, **kwargs: Any) -> None:
        self.capture = CapturingWriter(writer)
        super().__init__(*args, writer=self.capture, **kwargs)
        self.update_log = update_log
        self.heldout_every = heldout_every
        self.freeze_norm = freeze_norm
        self.train_seconds = 0.0
        self.best: dict[str, Any] | None = None
        self.refresher: LatticeRefresher | None = None
        """Regenerates denominator lattices every ``regenerate.every`` updates (or ``None``)."""
        self.window_utts: Callable[[int, int, int], list[str]] | None = None
        """``(epoch, index, n)`` -> the utterances of updates ``index .. index+n-1`` of ``epoch``."""
        """Lowest held-out loss seen: ``loss``, ``update`` and the model's ``state``."""

    def consider(self, heldout_loss: float, update: int) -> None:
        """Keep the current model (the one after ``update`` updates) if its held-out loss is
        the lowest so far."""
        if not math.isfinite(heldout_loss) or (self.best is not None and heldout_loss >= self.best["loss"]):
            return
        state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.best = {"loss": heldout_loss, "update": update, "state": state}

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["train_seconds"] = self.train_seconds
        state["best"] = self.best
        if self.refresher is not None:
            state["relattice"] = self.refresher.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.train_seconds = float(state.get("train_seconds", 0.0))
        self.best = state.get("best")
        if self.refresher is not None and "relattice" in state:
            self.refresher.load_state_dict(state["relattice"])

    def run_update(self, index: int) -> float:
        if self.refresher is not None and self.window_utts is not None and self.refresher.due(self.global_update):
            start = time.perf_counter()
            self.refresher.refresh(self.model, self.window_utts(self.epoch, index, self.refresher.config.every))
            self.train_seconds += time.perf_counter() - start
        if self.freeze_norm:
            freeze_norm_layers(self.model)
        self.capture.take()
        start = time.perf_counter()
        loss = super().run_update(index)
        seconds = time.perf_counter() - start
        self.train_seconds += seconds
        extras = self.capture.take()
        record: dict[str, Any] = {k: None for k in _LOG_KEYS}
        record.update(extras)
        if "skipped" in extras:  # first-order updaters report skipped non-finite updates
            record["accepted"] = 1.0 - extras["skipped"]
        record.update(update=self.global_update + 1, epoch=self.epoch + 1, index=index + 1, loss=loss,
                      time=round(seconds, 4), train_seconds=round(self.train_seconds, 3))
        if self.heldout_every and (self.global_update + 1) % self.heldout_every == 0:
            record["heldout_loss"], record["heldout_frame_acc"] = evaluate(
                self.model, self.criterion, self.heldout, self.device, self.reducer)
            self.consider(record["heldout_loss"], record["update"])
        if self.reducer.rank == 0:
            self.update_log.append(record)
        return loss

    def _end_epoch(self, num_updates: int) -> None:
        super()._end_epoch(num_updates)
        rec = self.history[-1]
        self.consider(rec.heldout_loss, self.global_update)
        if self.reducer.rank == 0:
            self.update_log.append({"epoch_end": rec.epoch + 1, "update": self.global_update,
                                    "train_loss": rec.train_loss, "heldout_loss": rec.heldout_loss,
                                    "heldout_frame_acc": rec.heldout_acc})


def freeze_norm_layers(model: torch.nn.Module) -> None:
    """Put every batch-norm layer of ``model`` in evaluation mode (running statistics used,
    never updated); the rest of the model keeps its mode."""
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.eval()


@dataclasses.dataclass
class SequenceInputs:
    """What sequence training reads: the CE model (with priors and feature description), the
    criterion, the features, the usable utterances (alignment fitted to the lattice) and those
    left out with their reasons, and the denominator lattice store."""

    loaded: LoadedModel
    criterion: Any
    feats: dict[str, np.ndarray]
    fitted: dict[str, Any]
    bad: dict[str, str]
    store: LatticeStore


@dataclasses.dataclass(frozen=True)
class UtteranceSplit:
    """Training, held-out (reporting and model selection) and validation (judges
    second-order steps) utterances."""

    train: list[str]
    heldout: list[str]
    validation: list[str]


def load_inputs(config: TrainSeqConfig, data_dir: str | Path, ali_dir: str | Path, denlat_dir: str | Path,
                init_model: str | Path, criterion_config: str | Path, criterion_overrides: Sequence[str],
                trans_model: str | Path | TransitionMaps | None, num_pdfs: int | None) -> SequenceInputs:
    """Read the CE model, the criterion, features (as the model was trained on them),
    numerator alignments and denominator lattices, and check them utterance by utterance."""
    loaded = load_model(init_model, "cpu", num_pdfs=num_pdfs)
    if loaded.log_priors is None:
        raise ValueError(f"{init_model}: the model has no log priors (needed for the sequence criteria)")
    model = loaded.model
    criterion = load_sequence_criterion(criterion_config, loaded.log_priors, criterion_overrides)
    feats = read_features(data_dir, norm_vars=loaded.features.norm_vars, use_cmvn=loaded.features.apply_cmvn)
    if next(model.parameters()).dtype == torch.float64:
        feats = {u: f.astype(np.float64) for u, f in feats.items()}
    alis = read_frame_alignments(ali_dir, None if isinstance(trans_model, TransitionMaps) else trans_model)
    check_pdf_range(alis, model.num_pdfs, str(ali_dir))
    store = LatticeStore(denlat_dir)
    fitted, bad = check_examples(feats, alis, store, model.subsampling, config.data.ali_tolerance,
                                 config.data.max_bad_share)
    return SequenceInputs(loaded, criterion, feats, fitted, bad, store)


def write_run_configs(out_dir: Path, config: TrainSeqConfig, inputs: SequenceInputs, optim_config: Any) -> None:
    """The resolved configs beside the model, and the utterances left out with their reasons."""
    dump_config(config, out_dir / "train_config.yaml")
    dump_config(inputs.criterion.config, out_dir / "criterion_config.yaml")
    dump_config(optim_config, out_dir / "optim_config.yaml")
    dump_config(inputs.loaded.model_config, out_dir / "model_config.yaml")
    atomic_write_text(out_dir / "bad_utts.txt", "".join(f"{u} {r}\n" for u, r in sorted(inputs.bad.items())))


def split_utterances(config: TrainSeqConfig, plan: UpdatePlan, utts: list[str],
                     init_heldout: Sequence[str] | None = None) -> UtteranceSplit:
    """The held-out set (the initial model's, ``init_heldout``, when given and
    ``data.heldout_from_init``; else the seeded split), then the plan's validation utterances:
    out of training, or the held-out set itself (``validation_from: heldout``)."""
    if config.data.heldout_from_init and init_heldout is not None:
        held = set(init_heldout) & set(utts)
        if not held:
            raise ValueError(f"none of the {len(init_heldout)} utterances the initial model held out "
                             "is usable here; set data.heldout_from_init: false to draw a new held-out set")
        train, heldout = sorted(u for u in utts if u not in held), sorted(held)
        log.info("held out the %d utterances the initial model held out (%d of its list not usable here)",
                 len(heldout), len(set(init_heldout)) - len(heldout))
    else:
        train, heldout = split_heldout(utts, DataConfig(heldout_fraction=config.data.heldout_fraction,
                                                        max_heldout_utts=config.data.max_heldout_utts,
                                                        seed=config.data.seed))
    if plan.validation_from == "heldout":
        if not heldout:
            raise ValueError("validation_from: heldout needs a held-out set (data.heldout_fraction > 0)")
        return UtteranceSplit(train, heldout, list(heldout))
    validation: list[str] = []
    if plan.validation_utts:
        train, validation = split_heldout(train, DataConfig(
            heldout_fraction=0.5, max_heldout_utts=plan.validation_utts, seed=config.data.seed + 1))
    return UtteranceSplit(train, heldout, validation)


def build_trainer(config: TrainSeqConfig, plan: UpdatePlan, inputs: SequenceInputs, split: UtteranceSplit,
                  optim_config: Any, out_dir: Path, device: str, reducer: Reducer, den_graph: str | Path | None,
                  trans_model: str | Path | TransitionMaps | None, ali_dir: str | Path) -> SequenceTrainer:
    """The updater, the update source (sharded over ranks), the held-out and validation batches,
    the optional lattice regeneration, and the ``SequenceTrainer`` over them."""
    model, criterion = inputs.loaded.model, inputs.criterion
    denlats: LatticeStore | OverlayLattices = inputs.store
    if config.regenerate.every:
        if den_graph is None:
            raise ValueError("regenerate.every > 0 needs the denominator graph (--den-graph, e.g. exp/tri2/graph_bg)")
        denlats = OverlayLattices(inputs.store)
    examples = SequenceExamples(inputs.feats, inputs.fitted, denlats, model.subsampling)
    check_same_value(reducer, text_hash(split.train), "the sequence-training utterance list")
    single = SequenceUpdates(examples, split.train, plan, config.data.batch_frames, config.data.seed)
    source: UpdateSource = single
    if reducer.world_size > 1:
        source = ShardedUpdates(single, reducer.rank, reducer.world_size)
    heldout = examples.batches(split.heldout, config.data.heldout_batch_frames)
    log.info("%s: %s criterion, %s optimiser, %d parameters, %d train / %d held-out utterances "
             "(%d left out), %d updates per epoch of %d utterances%s", out_dir, criterion.name,
             optimiser_name(optim_config), num_parameters(model), len(split.train), len(split.heldout),
             len(inputs.bad), single.num_updates(0), plan.utts_per_update,
             f", steps judged on {len(split.validation)} validation utterances" if split.validation else "")

    seed_everything(config.seed)
    model.to(device)
    model.train()
    broadcast_module_(reducer, model)
    updater = build_updater(optim_config, model.parameters())
    schedule = LrSchedule(config.schedule, updater.lr) if is_first_order(optim_config) else None
    tb = None
    if config.tensorboard and reducer.rank == 0:
        from torch.utils.tensorboard import SummaryWriter

        tb = SummaryWriter(str(out_dir / "tensorboard"))
    update_log = UpdateLog(out_dir / LOG_NAME, enabled=reducer.rank == 0)
    trainer = SequenceTrainer(
        model, criterion, updater, source, heldout, out_dir, plan.epochs or config.epochs, schedule, device=device,
        reducer=reducer, checkpoint_every=config.checkpoint_every, writer=tb, update_log=update_log,
        heldout_every=plan.heldout_every, freeze_norm=config.freeze_norm, max_bad_updates=config.max_bad_updates,
    )
    trainer.validation = examples.batches(split.validation, config.data.heldout_batch_frames)
    if isinstance(denlats, OverlayLattices):
        assert den_graph is not None
        loaded = inputs.loaded
        trainer.refresher = LatticeRefresher(
            config.regenerate, den_graph, trans_model or Path(ali_dir) / "final.mdl", denlats, inputs.feats,
            loaded.log_priors, loaded.prior_scale, model.num_pdfs, device)
        trainer.window_utts = lambda epoch, index, n: [
            u for group in single.epoch_groups(epoch)[index:index + n] for u in group]
        log.info("denominator lattices regenerated with the current model every %d updates (graph %s)",
                 config.regenerate.every, den_graph)
    return trainer


def start_or_resume(trainer: SequenceTrainer, resume: bool, out_dir: Path, main_rank: bool) -> None:
    """Resume from the last checkpoint (the update log cut to it), or log the starting model's
    held-out loss as update 0 and make it the first candidate for selection."""
    if resume and (out_dir / LAST).is_file():
        trainer.resume()
        trainer.update_log.truncate(trainer.global_update)
        return
    if resume:
        log.info("%s: no checkpoint yet, starting from the cross-entropy model", out_dir / LAST)
    if main_rank:
        (out_dir / LOG_NAME).unlink(missing_ok=True)
    initial_loss, initial_acc = evaluate(trainer.model, trainer.criterion, trainer.heldout, trainer.device,
                                         trainer.reducer)
    trainer.update_log.append({"update": 0, "epoch": 0, "heldout_loss": initial_loss,
                               "heldout_frame_acc": initial_acc})
    log.info("initial held-out %s loss per frame %.5f", trainer.criterion.name, initial_loss)
    trainer.consider(initial_loss, 0)


def select_best(config: TrainSeqConfig, trainer: SequenceTrainer, history: list[EpochRecord]) -> int:
    """Load the best held-out model into the trainer's model when it beats the last one
    (``select_best``); return the update it was made at."""
    selected = trainer.global_update
    if config.select_best and trainer.best is not None and trainer.best["update"] != trainer.global_update:
        last_loss = history[-1].heldout_loss if history else float("nan")
        if trainer.best["loss"] < last_loss or not math.isfinite(last_loss):
            trainer.model.load_state_dict(trainer.best["state"])
            selected = int(trainer.best["update"])
            log.info("selected the model after update %d (held-out loss %.5f; the last model's is %.5f)",
                     selected, trainer.best["loss"], last_loss)
    return selected


def save_outputs(out_dir: Path, trainer: SequenceTrainer, history: list[EpochRecord], selected: int,
                 inputs: SequenceInputs, split: UtteranceSplit, optim_config: Any, init_model: str | Path,
                 device: str) -> None:
    """``final.mdl`` (the CE model's description and priors kept), ``meta.json`` for the results
    table, and the done marker."""
    loaded, model = inputs.loaded, trainer.model
    final = out_dir / "final.mdl"
    save_model(final, model, loaded.model_config, loaded.features, loaded.log_priors, loaded.prior_scale)
    meta = {
        "system": out_dir.name, "model": loaded.model_config.kind, "criterion": inputs.criterion.name,
        "optimiser": optimiser_name(optim_config), "updates": selected, "updates_run": trainer.global_update,
        "train_seconds": round(trainer.train_seconds, 3), "train_log": str(out_dir / LOG_NAME),
        "epochs": len(history),
        "parameters": num_parameters(model), "init_model": str(init_model), "device": str(device),
        "train_utterances": len(split.train), "heldout_utterances": len(split.heldout),
        "validation_utterances": len(split.validation), "left_out": len(inputs.bad),
        "final_heldout_loss": history[-1].heldout_loss if history else None,
        "selected_heldout_loss": trainer.best["loss"] if selected != trainer.global_update and trainer.best
        else (history[-1].heldout_loss if history else None),
    }
    atomic_write_text(out_dir / "meta.json", json.dumps(meta, indent=1) + "\n")
    mark_done(final)
    log.info("wrote %s (%d parameter updates, %.1f s of training)", final, trainer.global_update,
             trainer.train_seconds)


def train_sequence(
    config: TrainSeqConfig,
    data_dir: str | Path,
    ali_dir: str | Path,
    denlat_dir: str | Path,
    init_model: str | Path,
    out_dir: str | Path,
    criterion_config: str | Path,
    optim_config: Any,
    device: str = "cpu",
    resume: bool = False,
    criterion_overrides: Sequence[str] = (),
    trans_model: str | Path | TransitionMaps | None = None,
    num_pdfs: int | None = None,
    reducer: Reducer | None = None,
    den_graph: str | Path | None = None,
) -> list[EpochRecord]:
    """Sequence-train ``init_model`` and write ``out_dir/final.mdl`` (see the module docstring):
    load inputs, split utterances, build the trainer, start or resume, train, select and save.

    With a distributed ``reducer`` every rank runs this; updates are shared out by
    ``ShardedUpdates`` and rank 0 writes the outputs.
    """
    reducer = reducer or LocalReducer()
    main_rank = reducer.rank == 0
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = load_inputs(config, data_dir, ali_dir, denlat_dir, init_model, criterion_config, criterion_overrides,
                         trans_model, num_pdfs)
    if main_rank:
        write_run_configs(out_dir, config, inputs, optim_config)
    plan = config.first_order if is_first_order(optim_config) else config.second_order
    split = split_utterances(config, plan, list(inputs.fitted), read_heldout_list(init_model))
    trainer = build_trainer(config, plan, inputs, split, optim_config, out_dir, device, reducer, den_graph,
                            trans_model, ali_dir)
    start_or_resume(trainer, resume, out_dir, main_rank)
    history = trainer.train()
    selected = select_best(config, trainer, history)
    if trainer.capture.inner is not None:
        trainer.capture.inner.close()
    if main_rank:
        save_outputs(out_dir, trainer, history, selected, inputs, split, optim_config, init_model, device)
    return history
