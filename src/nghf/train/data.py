"""From features and alignments to ``SequenceBatch``es: chunks for training, utterances for held-out.

Training examples are fixed-width chunks of utterances for every model type: a chunk covers
``chunk_width`` output frames with targets, plus input context (the model's declared
context, rounded up to the frame subsampling, and for recurrent models
``extra_left_context`` / ``extra_right_context`` frames to warm up their state) whose
targets are ignored. Short chunks
with real context behave like Kaldi's frame-shuffled TDNN examples (the output of a frame
depends only on its context window, which is exact inside a chunk) at a fraction of the cost
of one spliced window per frame, and the same code feeds recurrent models. The last chunk of
an utterance is shifted back to end at the utterance's end; frames already covered by the
previous chunk are context there, so every frame is trained on exactly once per epoch.

Order is a pure function of ``(seed, epoch)``: a resumed run sees the same batches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from nghf.data.batch import IGNORE_TARGET, SequenceBatch
from nghf.data.nnfeats import DataError
from nghf.models.base import AcousticModel
from nghf.utils.atomic import atomic_write_text
from nghf.utils.logging import get_logger

log = get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """How examples are cut and batched."""

    chunk_width: int = 64
    """Output frames with targets per chunk."""
    extra_left_context: int = 20
    """Input frames before a chunk beyond the model's declared context, to warm up the state
    of models with unbounded left context (recurrent); ignored for TDNNs."""
    extra_right_context: int = 20
    """Likewise after a chunk, for models with unbounded right context (bidirectional)."""
    batch_size: int = 64
    """Chunks per minibatch."""
    heldout_fraction: float = 0.05
    max_heldout_utts: int = 300
    heldout_batch_frames: int = 20000
    """Held-out utterances are batched whole, up to this many padded input frames per batch."""
    ali_tolerance: int = 2
    """Feature/alignment length difference (frames) tolerated (both cut to the shorter)."""
    norm_vars: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.chunk_width < 1 or self.batch_size < 1 or self.ali_tolerance < 0:
            raise ValueError(f"invalid data settings: {self}")
        if not 0 <= self.heldout_fraction < 1:
            raise ValueError(f"heldout_fraction must be in [0, 1), got {self.heldout_fraction}")


@dataclasses.dataclass(frozen=True)
class Chunk:
    """One training example: input frames ``[start, end)`` of ``utt`` and the output frames
    ``[target_start, target_end)`` (global output indices) that carry targets."""

    utt: str
    start: int
    end: int
    target_start: int
    target_end: int


def pair_features_alignments(
    feats: Mapping[str, np.ndarray], alis: Mapping[str, np.ndarray], tolerance: int, ali_source: str = "alignments"
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Utterances that have both, cut to a common length; a length mismatch beyond
    ``tolerance`` is an error naming the utterance, missing alignments are counted and logged."""
    out_f: dict[str, np.ndarray] = {}
    out_a: dict[str, np.ndarray] = {}
    missing = [u for u in sorted(feats) if u not in alis]
    for utt in sorted(feats):
        if utt not in alis:
            continue
        f, a = feats[utt], alis[utt]
        if abs(len(f) - len(a)) > tolerance:
            raise DataError(
                f"{ali_source}: utterance {utt} has {len(a)} alignment frames but {len(f)} feature "
                f"frames (tolerance {tolerance})"
            )
        n = min(len(f), len(a))
        if n == 0:
            raise DataError(f"{ali_source}: utterance {utt} has no frames")
        out_f[utt], out_a[utt] = f[:n], a[:n]
    extra = sum(1 for u in alis if u not in feats)
    if missing:
        log.warning(
            "%d of %d utterances have no alignment and are not used (e.g. %s)",
            len(missing), len(feats), ", ".join(missing[:5]),
        )
    if extra:
        log.warning("%d alignments have no features and are ignored", extra)
    if not out_f:
        raise DataError(f"{ali_source}: no utterance has both features and an alignment")
    return out_f, out_a


def split_heldout(utts: Sequence[str], config: DataConfig) -> tuple[list[str], list[str]]:
    """``(train, heldout)`` utterance ids; the held-out set is a seeded random subset."""
    utts = sorted(utts)
    n = min(config.max_heldout_utts, int(round(config.heldout_fraction * len(utts))))
    if config.heldout_fraction > 0:
        n = max(n, 1)
    if n >= len(utts):
        raise DataError(f"only {len(utts)} utterances: too few to hold {n} out for validation")
    rng = np.random.default_rng([config.seed, 7919])
    held = set(rng.choice(len(utts), size=n, replace=False).tolist()) if n else set()
    return [u for i, u in enumerate(utts) if i not in held], [u for i, u in enumerate(utts) if i in held]


HELDOUT_LIST = "heldout_utts.txt"
"""The held-out utterance ids a CE training run writes beside its model, one per line:
sequence training starting from that model holds out the same utterances."""


def write_heldout_list(out_dir: str | Path, utts: Sequence[str]) -> Path:
    """``out_dir/heldout_utts.txt``: the held-out utterances of a training run."""
    path = Path(out_dir) / HELDOUT_LIST
    atomic_write_text(path, "".join(f"{u}\n" for u in utts))
    return path


def read_heldout_list(model_path: str | Path) -> list[str] | None:
    """The held-out utterances written beside ``model_path`` (``None`` when there is no list,
    e.g. a model trained before the lists were written)."""
    path = Path(model_path).parent / HELDOUT_LIST
    if not path.is_file():
        return None
    return [line.split()[0] for line in path.read_text().splitlines() if line.strip()]


class ChunkedData:
    """Training and held-out batches for one model's context and subsampling."""

    def __init__(
        self,
        feats: Mapping[str, np.ndarray],
        alis: Mapping[str, np.ndarray],
        config: DataConfig,
        model: AcousticModel,
        utts: Sequence[str] | None = None,
    ) -> None:
        self.feats = feats
        self.alis = alis
        self.config = config
        self.subsampling = model.subsampling
        s = self.subsampling
        left = model.left_context + (config.extra_left_context if model.unbounded_left else 0)
        right = model.right_context + (config.extra_right_context if model.unbounded_right else 0)
        self.left = -(-left // s) * s
        self.right = right
        self.utts = sorted(utts if utts is not None else feats)
        self.chunks = [c for u in self.utts for c in self._chunks(u)]

    def _chunks(self, utt: str) -> list[Chunk]:
        s, width = self.subsampling, self.config.chunk_width
        num_in = len(self.feats[utt])
        num_out = -(-num_in // s)
        chunks = []
        covered = 0
        a = 0
        while covered < num_out:
            a = min(a, max(0, num_out - width))
            b = min(a + width, num_out)
            start = max(0, a * s - self.left)
            end = min(num_in, b * s + self.right)
            chunks.append(Chunk(utt, start, end, covered, b))
            covered = b
            a = b
        return chunks

    def num_frames(self) -> int:
        """Output frames with targets per epoch."""
        return sum(c.target_end - c.target_start for c in self.chunks)

    def make_batch(self, chunks: Sequence[Chunk]) -> SequenceBatch:
        """Pad ``chunks`` into one batch; targets outside each chunk's target range are ignored."""
        s = self.subsampling
        lengths = [c.end - c.start for c in chunks]
        t_in = max(lengths)
        t_out = -(-t_in // s)
        first = self.feats[chunks[0].utt]
        features = np.zeros((len(chunks), t_in, first.shape[1]), dtype=first.dtype)
        targets = np.full((len(chunks), t_out), IGNORE_TARGET, dtype=np.int64)
        for row, c in enumerate(chunks):
            features[row, : c.end - c.start] = self.feats[c.utt][c.start : c.end]
            first_out = c.start // s
            ali_out = self.alis[c.utt][::s]
            targets[row, c.target_start - first_out : c.target_end - first_out] = ali_out[c.target_start : c.target_end]
        return SequenceBatch(
            utt_ids=tuple(f"{c.utt}:{c.start}-{c.end}" for c in chunks),
            features=torch.from_numpy(features),
            feature_lengths=torch.tensor(lengths, dtype=torch.long),
            targets=torch.from_numpy(targets),
        )

    def epoch_order(self, epoch: int) -> list[list[Chunk]]:
        """The minibatches (lists of chunks) of ``epoch``, a pure function of seed and epoch."""
        rng = np.random.default_rng([self.config.seed, epoch])
        order = rng.permutation(len(self.chunks))
        size = self.config.batch_size
        return [[self.chunks[i] for i in order[k : k + size]] for k in range(0, len(order), size)]

    def epoch_batches(self, epoch: int, rank: int = 0, world_size: int = 1) -> list[list[Chunk]]:
        """This rank's share of the epoch's minibatches (equal counts on every rank)."""
        order = self.epoch_order(epoch)
        per_rank = len(order) // world_size
        if per_rank == 0:
            raise DataError(f"{len(order)} minibatches cannot be shared by {world_size} ranks")
        return order[rank * per_rank : (rank + 1) * per_rank]


def utterance_batches(
    feats: Mapping[str, np.ndarray], alis: Mapping[str, np.ndarray] | None, utts: Sequence[str],
    subsampling: int = 1, max_frames: int = 20000,
) -> list[SequenceBatch]:
    """Whole utterances (sorted by length) batched up to ``max_frames`` padded frames."""
    order = sorted(utts, key=lambda u: (len(feats[u]), u))
    batches: list[SequenceBatch] = []
    group: list[str] = []
    for utt in order:
        if group and len(feats[utt]) * (len(group) + 1) > max_frames:
            batches.append(_whole_batch(feats, alis, group, subsampling))
            group = []
        group.append(utt)
    if group:
        batches.append(_whole_batch(feats, alis, group, subsampling))
    return batches


def _whole_batch(feats: Mapping[str, np.ndarray], alis: Mapping[str, np.ndarray] | None,
                 group: Sequence[str], s: int) -> SequenceBatch:
    lengths = [len(feats[u]) for u in group]
    t_in = max(lengths)
    features = np.zeros((len(group), t_in, feats[group[0]].shape[1]), dtype=feats[group[0]].dtype)
    targets = np.full((len(group), -(-t_in // s)), IGNORE_TARGET, dtype=np.int64)
    for row, utt in enumerate(group):
        features[row, : lengths[row]] = feats[utt]
        if alis is not None:
            ali = alis[utt][::s]
            targets[row, : len(ali)] = ali
    return SequenceBatch(
        utt_ids=tuple(group),
        features=torch.from_numpy(features),
        feature_lengths=torch.tensor(lengths, dtype=torch.long),
        targets=None if alis is None else torch.from_numpy(targets),
    )
