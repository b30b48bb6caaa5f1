"""The data side of lattice-based sequence training: whole utterances with their lattices.

A sequence criterion scores whole utterances against their numerator (reference alignment)
and denominator (competing hypotheses) lattices, so examples are whole utterances, not
chunks. :class:`SequenceExamples` turns utterance ids into :class:`SequenceBatch`es with
padded features, frame targets (the numerator pdfs, for F-smoothing and frame counts) and
``lattices`` = :class:`~nghf.lattice.types.SequenceLattices` (numerator + denominator).

:class:`SequenceUpdates` is the trainer's ``UpdateSource``: each update takes
``utts_per_update`` utterances (a few for SGD/Adam, many for HF/NG/NGHF), split into
batches of at most ``batch_frames`` padded input frames, plus a seeded ``curvature_fraction``
of them as curvature batches. The order is a pure function of ``(seed, epoch)``, so a resumed
run sees the same batches. Distributed runs wrap it in :class:`nghf.dist.shard.ShardedUpdates`
(each rank gets its rows of every update, so the run equals the single-process run).

:func:`check_examples` pairs features, alignments and lattices before training: an
utterance without a denominator lattice or an alignment, or whose lattice length differs from
the model's output length (or the alignment's beyond a tolerance) is reported by id with the
reason and counted; above ``max_bad_share`` it is an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from nghf.data.batch import IGNORE_TARGET, SequenceBatch
from nghf.data.nnfeats import DataError
from nghf.lattice.numerator import FrameAlignment, numerator_lattice
from nghf.lattice.store import LatticeStore
from nghf.lattice.types import Lattice, LatticeBatch, SequenceLattices
from nghf.utils.logging import get_logger

log = get_logger(__name__)

DenLattices = LatticeStore | Mapping[str, Lattice]


@dataclasses.dataclass(frozen=True)
class SequenceDataConfig:
    """How sequence-training utterances are checked, held out and batched."""

    batch_frames: int = 20000
    """Padded input frames per batch (bounds memory; an update may have several batches)."""
    heldout_fraction: float = 0.05
    max_heldout_utts: int = 100
    heldout_batch_frames: int = 20000
    ali_tolerance: int = 2
    """Alignment/lattice length difference (frames) tolerated: the alignment is cut, or its
    last label repeated, to the lattice's length (GMM and NN features may differ slightly)."""
    max_bad_share: float = 0.05
    """Share of utterances that may lack a lattice/alignment or have mismatched lengths."""
    seed: int = 0
    heldout_from_init: bool = True
    """Hold out the utterances the initial (CE) model held out, read from its
    ``heldout_utts.txt``, so that the held-out set is data no model was trained on whatever
    the corpus size (``heldout_fraction`` and ``max_heldout_utts`` are then unused). Without
    that list (an older model), or when false: the seeded split of this config."""

    def __post_init__(self) -> None:
        if self.batch_frames < 1 or self.heldout_batch_frames < 1 or self.ali_tolerance < 0:
            raise ValueError(f"invalid sequence data settings: {self}")
        if not 0 <= self.heldout_fraction < 1 or not 0 <= self.max_bad_share <= 1:
            raise ValueError("heldout_fraction must be in [0, 1) and max_bad_share in [0, 1]")


@dataclasses.dataclass(frozen=True)
class UpdatePlan:
    """How big an update is; the trainer picks the first- or second-order plan from the optimiser."""

    utts_per_update: int = 8
    """Utterances in the gradient batch of one update (over all ranks)."""
    curvature_fraction: float = 0.0
    """Share of those utterances in the curvature batch (second-order methods)."""
    heldout_every: int = 0
    """Held-out loss every this many updates in ``train_log.jsonl`` (0: only at epoch ends)."""
    max_updates_per_epoch: int = 0
    """Stop an epoch after this many updates (0: use all utterances)."""
    epochs: int = 0
    """Epochs for this family of optimisers (0: ``TrainSeqConfig.epochs``): a second-order
    method makes few, large updates per epoch and may need more passes than SGD/Adam."""
    validation_utts: int = 0
    """Training utterances set aside (seeded) to judge second-order steps: CG-iterate
    backtracking, line search, acceptance and the reduction ratio use their loss, not the
    gradient batch's (0: judge on the gradient batch). Separate from the held-out set, which
    stays untouched for reporting and model selection."""
    validation_from: str = "train"
    """Where the judging utterances come from: ``train`` (``validation_utts`` training
    utterances, seen by the CE model) or ``heldout`` (the held-out set itself: the utterances the
    CE model held out too, see ``SequenceDataConfig.heldout_from_init``, so steps are judged on
    data no model was fitted to, as Kingsbury et al. 2012 do; ``validation_utts`` must then be 0)."""

    def __post_init__(self) -> None:
        if self.utts_per_update < 1 or not 0 <= self.curvature_fraction <= 1:
            raise ValueError("utts_per_update must be >= 1 and curvature_fraction in [0, 1]")
        if min(self.heldout_every, self.max_updates_per_epoch, self.validation_utts, self.epochs) < 0:
            raise ValueError("heldout_every, max_updates_per_epoch, validation_utts and epochs must be >= 0")
        if self.validation_from not in ("train", "heldout"):
            raise ValueError(f"validation_from must be 'train' or 'heldout', got {self.validation_from!r}")
        if self.validation_from == "heldout" and self.validation_utts:
            raise ValueError("validation_from: heldout judges steps on the held-out set: set validation_utts: 0")


def fit_alignment(ali: FrameAlignment, num_frames: int, tolerance: int) -> FrameAlignment | None:
    """The alignment cut (or its last label repeated) to ``num_frames``; ``None`` beyond ``tolerance``."""
    diff = ali.num_frames - num_frames
    if diff == 0:
        return ali
    if abs(diff) > tolerance:
        return None
    if diff > 0:
        return FrameAlignment(ali.utt_id, ali.pdf[:num_frames], ali.phone[:num_frames], ali.tid[:num_frames])
    pad = -diff

    def ext(x: np.ndarray) -> np.ndarray:
        return np.concatenate([x, np.repeat(x[-1:], pad)])

    return FrameAlignment(ali.utt_id, ext(ali.pdf), ext(ali.phone), ext(ali.tid))


def output_frames(num_input: int, subsampling: int) -> int:
    """Output frames of a model with the given frame subsampling (ceil division)."""
    return -(-num_input // subsampling)


def check_examples(
    feats: Mapping[str, np.ndarray],
    alignments: Mapping[str, FrameAlignment],
    denlats: DenLattices,
    subsampling: int = 1,
    ali_tolerance: int = 2,
    max_bad_share: float = 0.05,
) -> tuple[dict[str, FrameAlignment], dict[str, str]]:
    """``(usable utterance -> alignment fitted to its lattice, bad utterance -> reason)``.

    Utterances are those with features. The share of bad ones above ``max_bad_share`` raises
    :class:`DataError` naming the first few and their reasons.
    """
    good: dict[str, FrameAlignment] = {}
    bad: dict[str, str] = {}
    for utt in sorted(feats):
        t_out = output_frames(len(feats[utt]), subsampling)
        if utt not in denlats:
            bad[utt] = "no denominator lattice"
            continue
        if utt not in alignments:
            bad[utt] = "no alignment (numerator)"
            continue
        t_den = denlats.num_frames(utt) if isinstance(denlats, LatticeStore) else denlats[utt].num_frames
        if t_den != t_out:
            bad[utt] = f"denominator lattice has {t_den} frames, the model outputs {t_out} for its features"
            continue
        ali = fit_alignment(alignments[utt].subsample(subsampling), t_den, ali_tolerance)
        if ali is None:
            bad[utt] = (f"alignment has {output_frames(alignments[utt].num_frames, subsampling)} output frames, "
                        f"the lattice {t_den} (tolerance {ali_tolerance})")
            continue
        good[utt] = ali
    extra = [u for u in denlats if u not in feats]
    if extra:
        log.warning("%d lattices have no features and are ignored (e.g. %s)", len(extra), extra[0])
    if bad:
        examples = "; ".join(f"{u}: {r}" for u, r in list(bad.items())[:5])
        log.warning("%d of %d utterances are not usable for sequence training: %s", len(bad), len(feats), examples)
        share = len(bad) / max(len(feats), 1)
        if share > max_bad_share:
            raise DataError(
                f"{len(bad)} of {len(feats)} utterances ({100 * share:.1f}% > {100 * max_bad_share:.1f}%) "
                f"lack lattices/alignments or have mismatched lengths: {examples}"
            )
    if not good:
        raise DataError("no utterance has features, an alignment and a denominator lattice")
    return good, bad


class SequenceExamples:
    """Builds sequence batches (features, targets, numerator + denominator lattices) by utterance id."""

    def __init__(self, feats: Mapping[str, np.ndarray], alignments: Mapping[str, FrameAlignment],
                 denlats: DenLattices, subsampling: int = 1) -> None:
        self.feats = feats
        self.alignments = alignments
        self.denlats = denlats
        self.subsampling = subsampling
        self._num_cache: dict[str, Lattice] = {}

    def numerator(self, utt: str) -> Lattice:
        lat = self._num_cache.get(utt)
        if lat is None:
            lat = numerator_lattice(self.alignments[utt])
            self._num_cache[utt] = lat
        return lat

    def length(self, utt: str) -> int:
        return len(self.feats[utt])

    def make_batch(self, utts: Sequence[str]) -> SequenceBatch:
        """One padded batch of whole utterances in the given order (lattices on the CPU)."""
        if not utts:
            raise ValueError("cannot make an empty sequence batch")
        lengths = [len(self.feats[u]) for u in utts]
        first = self.feats[utts[0]]
        features = np.zeros((len(utts), max(lengths), first.shape[1]), dtype=first.dtype)
        t_out = output_frames(max(lengths), self.subsampling)
        targets = np.full((len(utts), t_out), IGNORE_TARGET, dtype=np.int64)
        nums, dens = [], []
        for row, utt in enumerate(utts):
            features[row, : lengths[row]] = self.feats[utt]
            ali = self.alignments[utt]
            targets[row, : ali.num_frames] = ali.pdf
            nums.append(self.numerator(utt))
            dens.append(self.denlats[utt])
        return SequenceBatch(
            utt_ids=tuple(utts),
            features=torch.from_numpy(features),
            feature_lengths=torch.tensor(lengths, dtype=torch.long),
            targets=torch.from_numpy(targets),
            lattices=SequenceLattices(LatticeBatch.from_lattices(nums), LatticeBatch.from_lattices(dens)),
        )

    def batches(self, utts: Sequence[str], max_frames: int) -> list[SequenceBatch]:
        """``utts`` sorted by length and grouped into batches of at most ``max_frames`` padded
        input frames (an utterance longer than that is a batch of its own)."""
        order = sorted(utts, key=lambda u: (self.length(u), u))
        groups: list[list[str]] = []
        for utt in order:
            if groups and self.length(utt) * (len(groups[-1]) + 1) <= max_frames:
                groups[-1].append(utt)
            else:
                groups.append([utt])
        return [self.make_batch(g) for g in groups]


class SequenceUpdates:
    """``UpdateSource`` of whole-utterance sequence batches (see the module docstring)."""

    def __init__(self, examples: SequenceExamples, utts: Sequence[str], plan: UpdatePlan,
                 batch_frames: int = 20000, seed: int = 0) -> None:
        if not utts:
            raise DataError("no training utterances for sequence training")
        self.examples = examples
        self.utts = sorted(utts)
        self.plan = plan
        self.batch_frames = batch_frames
        self.seed = seed
        self._cache: tuple[int, list[list[str]]] | None = None

    def epoch_groups(self, epoch: int) -> list[list[str]]:
        """The utterances of every update of ``epoch`` (a pure function of seed and epoch):
        a seeded permutation cut into ``max(1, N // utts_per_update)`` near-equal groups."""
        if self._cache is not None and self._cache[0] == epoch:
            return self._cache[1]
        rng = np.random.default_rng([self.seed, epoch, 31337])
        order = [self.utts[i] for i in rng.permutation(len(self.utts))]
        per_update = self.plan.utts_per_update
        n = max(1, len(order) // per_update)
        if self.plan.max_updates_per_epoch:
            n = min(n, self.plan.max_updates_per_epoch)
        used = order[: min(len(order), n * per_update)]
        bounds = np.linspace(0, len(used), n + 1).round().astype(int)
        groups = [used[bounds[k]:bounds[k + 1]] for k in range(n)]
        self._cache = (epoch, groups)
        return groups

    def num_updates(self, epoch: int) -> int:
        return len(self.epoch_groups(epoch))

    def update_batches(self, epoch: int, index: int) -> tuple[list[SequenceBatch], list[SequenceBatch]]:
        group = self.epoch_groups(epoch)[index]
        grad = self.examples.batches(group, self.batch_frames)
        curv: list[SequenceBatch] = []
        if self.plan.curvature_fraction > 0:
            rng = np.random.default_rng([self.seed, epoch, index, 104729])
            n = max(1, int(round(self.plan.curvature_fraction * len(group))))
            chosen = sorted(rng.choice(len(group), size=n, replace=False).tolist())
            curv = self.examples.batches([group[i] for i in chosen], self.batch_frames)
        return grad, curv
