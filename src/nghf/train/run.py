"""Frame-level (CE) training of a hybrid acoustic model from a data dir and alignments.

``train_model`` reads features (CMVN applied) and pdf alignments, splits off a held-out set,
builds the model, criterion and updater from configs, runs the generic ``Trainer`` (resuming
if asked), and writes ``final.mdl`` (self-describing, with log priors from the training
alignment) and the resolved configs beside it, then a ``.done`` marker.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nghf.criteria.ce import CrossEntropy
from nghf.data.alignments import read_alignments
from nghf.data.batch import UpdateSource
from nghf.data.nnfeats import has_cmvn, read_features
from nghf.dist.checksum import broadcast_module_, check_same_value, text_hash
from nghf.dist.reduce import LocalReducer, Reducer
from nghf.dist.shard import ShardedUpdates
from nghf.models.factory import ModelConfig, build_model, num_parameters
from nghf.models.io import FeatureInfo, save_model
from nghf.models.priors import log_priors_from_counts, pdf_counts
from nghf.optim.factory import build_updater, is_first_order, optimiser_name
from nghf.optim.first_order import FirstOrderConfig
from nghf.train.checkpoint import LAST
from nghf.train.data import (
    ChunkedData,
    DataConfig,
    pair_features_alignments,
    split_heldout,
    utterance_batches,
    write_heldout_list,
)
from nghf.train.schedule import LrSchedule, ScheduleConfig
from nghf.train.trainer import EpochRecord, Trainer
from nghf.train.updates import ChunkedUpdates
from nghf.utils.atomic import atomic_write_text, mark_done
from nghf.utils.config import dump_config
from nghf.utils.logging import get_logger

log = get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything of a CE training run except the model (``conf/train_ce.yaml``)."""

    epochs: int = 4
    seed: int = 0
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    optimizer: FirstOrderConfig = dataclasses.field(default_factory=FirstOrderConfig)
    schedule: ScheduleConfig = dataclasses.field(default_factory=ScheduleConfig)
    label_smoothing: float = 0.0
    batches_per_update: int = 1
    curvature_fraction: float = 0.0
    checkpoint_every: int = 0
    """Also checkpoint every this many updates inside an epoch (0: only at epoch ends)."""
    prior_floor: float = 1e-8
    prior_scale: float = 1.0
    tensorboard: bool = True
    dtype: str = "float32"
    checksum_every: int = 50
    """Distributed runs: check every this many updates that all ranks hold identical parameters."""
    max_bad_updates: int = 10
    """Updates lost to NaN/Inf (skipped or rejected, logged with utterance ids) before the run
    stops with an error; negative: never stop."""

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and python RNGs (model initialisation is then reproducible)."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def write_training_summary(out_dir: Path, history: list[EpochRecord], model_kind: str, criterion: str,
                           optimiser: str, train_seconds: float, parameters: int) -> None:
    """``train_log.jsonl`` (one line per epoch, cumulative updates) and ``meta.json`` (what the
    results table needs: system, model, criterion, optimiser, parameter updates, training time,
    trainable parameter count).
    A resumed run reports the time of its last invocation only; the update count is total."""
    lines, total_updates = [], 0
    for r in history:  # EpochRecord.updates counts the updates of that epoch
        total_updates += r.updates
        lines.append(json.dumps({"update": total_updates, "epoch": r.epoch, "loss": r.train_loss,
                                 "heldout_loss": r.heldout_loss, "heldout_acc": r.heldout_acc, "lr": r.lr}))
    atomic_write_text(out_dir / "train_log.jsonl", "".join(line + "\n" for line in lines))
    meta = {"system": out_dir.name, "model": model_kind, "criterion": criterion, "optimiser": optimiser,
            "updates": total_updates, "train_seconds": round(train_seconds, 1), "parameters": parameters,
            "train_log": str(out_dir / "train_log.jsonl")}
    atomic_write_text(out_dir / "meta.json", json.dumps(meta, indent=1) + "\n")


@dataclasses.dataclass
class FrameData:
    """Features and pdf alignments paired utterance by utterance, and the held-out split."""

    feats: dict[str, np.ndarray]
    alis: dict[str, np.ndarray]
    train: list[str]
    heldout: list[str]

    @property
    def feat_dim(self) -> int:
        return int(next(iter(self.feats.values())).shape[1])


def load_frame_data(config: TrainConfig, data_dir: str | Path, ali_path: str | Path, num_pdfs: int) -> FrameData:
    """Features (CMVN applied), pdf alignments fitted to them, and the seeded held-out split."""
    feats = read_features(data_dir, norm_vars=config.data.norm_vars)
    alis = read_alignments(ali_path, num_pdfs)
    feats, alis = pair_features_alignments(feats, alis, config.data.ali_tolerance, str(ali_path))
    if config.dtype == "float64":
        feats = {u: f.astype(np.float64) for u, f in feats.items()}
    train_utts, heldout_utts = split_heldout(list(feats), config.data)
    return FrameData(feats, alis, train_utts, heldout_utts)


def build_ce_trainer(config: TrainConfig, model_config: ModelConfig, data: FrameData, num_pdfs: int,
                     optim_config: Any, out_dir: Path, device: str, reducer: Reducer) -> Trainer:
    """The seeded model (identical on every rank), the chunked update source (sharded over
    ranks), the held-out batches, the updater and its learning-rate schedule, and the trainer."""
    dtype = torch.float64 if config.dtype == "float64" else torch.float32
    seed_everything(config.seed)
    model = build_model(model_config, data.feat_dim, num_pdfs).to(device=device, dtype=dtype)
    check_same_value(reducer, text_hash(data.train), "the training utterance list")
    broadcast_module_(reducer, model)
    log.info(
        "%s model: %d parameters, context -%d/+%d, %d train / %d held-out utterances",
        model_config.kind, num_parameters(model), model.left_context, model.right_context,
        len(data.train), len(data.heldout),
    )
    chunks = ChunkedData(data.feats, data.alis, config.data, model, data.train)
    source: UpdateSource = ChunkedUpdates(chunks, config.batches_per_update, config.curvature_fraction)
    if reducer.world_size > 1:
        source = ShardedUpdates(source, reducer.rank, reducer.world_size)
    heldout = utterance_batches(data.feats, data.alis, data.heldout, model.subsampling,
                                config.data.heldout_batch_frames)
    updater = build_updater(optim_config, model.parameters())
    schedule = LrSchedule(config.schedule, optim_config.lr if is_first_order(optim_config) else config.optimizer.lr)
    writer = None
    if config.tensorboard and reducer.rank == 0:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(out_dir / "tensorboard"))
    return Trainer(
        model, CrossEntropy(label_smoothing=config.label_smoothing), updater, source, heldout, out_dir,
        config.epochs, schedule, device=device, checkpoint_every=config.checkpoint_every, writer=writer,
        reducer=reducer, checksum_every=config.checksum_every, max_bad_updates=config.max_bad_updates,
    )


def save_ce_model(out_dir: Path, trainer: Trainer, config: TrainConfig, model_config: ModelConfig, data: FrameData,
                  num_pdfs: int, data_dir: str | Path) -> Path:
    """``final.mdl`` with log priors from the training alignment (unseen pdfs floored, with a
    warning) and the feature description, then the done marker."""
    counts = pdf_counts((data.alis[u] for u in data.train), num_pdfs)
    unseen = int((counts == 0).sum())
    if unseen:
        log.warning("%d of %d pdfs never occur in the training alignment (prior floored)", unseen, num_pdfs)
    features = FeatureInfo(dim=data.feat_dim, apply_cmvn=has_cmvn(data_dir), norm_vars=config.data.norm_vars)
    final = out_dir / "final.mdl"
    save_model(final, trainer.model, model_config, features, log_priors_from_counts(counts, config.prior_floor),
               config.prior_scale)
    mark_done(final)
    log.info("wrote %s", final)
    return final


def train_model(
    config: TrainConfig,
    model_config: ModelConfig,
    data_dir: str | Path,
    ali_path: str | Path,
    num_pdfs: int,
    out_dir: str | Path,
    device: str = "cpu",
    resume: bool = False,
    optim_config: Any = None,
    reducer: Reducer | None = None,
) -> list[EpochRecord]:
    """Train and write ``out_dir/final.mdl``; returns the per-epoch records: write configs, load
    frame data, build the trainer, resume, train, write the summary and the model.

    ``optim_config`` (e.g. from ``nghf.optim.factory.load_optim_config``) replaces
    ``config.optimizer``: any kind of the registry of ``nghf.optim.factory`` (HF, NG,
    NGHF) then drives the same trainer.

    With a distributed ``reducer`` (``nghf.dist.setup.distributed``) every rank runs this:
    each update's batches are shared out by ``ShardedUpdates`` (the run equals the
    single-process run), rank 0 writes configs, checkpoints, tensorboard and ``final.mdl``.
    """
    reducer = reducer or LocalReducer()
    main_rank = reducer.rank == 0
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    optim = optim_config if optim_config is not None else config.optimizer
    if main_rank:
        dump_config(config, out_dir / "train_config.yaml")
        if optim_config is not None:
            dump_config(optim_config, out_dir / "optim_config.yaml")
        dump_config(model_config, out_dir / "model_config.yaml")
    data = load_frame_data(config, data_dir, ali_path, num_pdfs)
    if main_rank:
        write_heldout_list(out_dir, data.heldout)
    trainer = build_ce_trainer(config, model_config, data, num_pdfs, optim, out_dir, device, reducer)
    if resume:
        if (out_dir / LAST).is_file():
            trainer.resume()
        else:
            log.info("%s: no checkpoint yet, starting from scratch", out_dir / LAST)
    started = time.monotonic()
    history = trainer.train()
    train_seconds = time.monotonic() - started
    if trainer.writer is not None:
        trainer.writer.close()
    if main_rank:
        write_training_summary(out_dir, history, model_config.kind, "ce", optimiser_name(optim), train_seconds,
                               num_parameters(trainer.model))
        save_ce_model(out_dir, trainer, config, model_config, data, num_pdfs, data_dir)
    return history
