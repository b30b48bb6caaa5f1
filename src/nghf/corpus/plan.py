"""The corpus plan: which recordings exist, their genre, speakers and sentences.

The plan is made once, in one process, from the seed, the config and the sentence pool;
the parallel render jobs only read it, so the corpus does not depend on how the work is
split. Eval is planned first, then dev, then train, so that changing the amount of
training data (``--hours``) leaves the test sets untouched. Every recording draws its
choices from a generator keyed by its own id. Sentences are taken from one seeded
permutation of the pool without replacement, so no sentence is spoken twice; those spoken
in dev or eval are kept out of the language-model text, and dev/eval skip sentences with
more than ``text.heldout_max_rare_words`` words found in no other sentence (OOV control).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nghf.corpus.config import SPLITS, CorpusConfig, GenreConfig, SplitHours
from nghf.corpus.speakers import Speaker, speaker_inventory, speaker_weights, stable_rng
from nghf.corpus.text import Sentence

# Rough speaking time per character of transcript at tempo 1 (measured on the engines here).
SECONDS_PER_CHAR = 0.056
# Planning order: the test sets first (so they do not depend on the training hours), each
# as its unseen-voice part (its own held-out speakers) and its seen-voice part (training
# speakers, new sentences), then the training set.
PLAN_ORDER = (("eval", "unseen"), ("dev", "unseen"), ("eval", "seen"), ("dev", "seen"), ("train", "unseen"))
SEEN_TAG = "seen"  # in the recording ids of the seen-voice part: <set>_seen_<genre>_<index>


@dataclass(frozen=True)
class PlannedUtterance:
    spk_id: str
    text: str
    source: str
    tempo: float          # genre speaking rate × per-utterance jitter
    telephone: bool


@dataclass(frozen=True)
class PlannedRecording:
    reco_id: str
    split: str
    genre: str
    utterances: tuple[PlannedUtterance, ...]
    snr_db: float
    music: bool
    music_db: float
    reverberance: float   # 0: dry
    telephone_snr_db: float

    def to_json(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_json(data: dict) -> PlannedRecording:
        utts = tuple(PlannedUtterance(**u) for u in data["utterances"])
        return PlannedRecording(**{**data, "utterances": utts})


@dataclass(frozen=True)
class CorpusPlan:
    seed: int
    speakers: dict[str, tuple[Speaker, ...]]
    recordings: tuple[PlannedRecording, ...]

    def speaker_map(self) -> dict[str, Speaker]:
        return {s.spk_id: s for group in self.speakers.values() for s in group}

    def sentences(self, split: str) -> set[str]:
        return {u.text for r in self.recordings if r.split == split for u in r.utterances}

    def save(self, path: str | Path) -> None:
        from nghf.utils.atomic import atomic_write_text

        data = {
            "seed": self.seed,
            "speakers": {k: [asdict(s) for s in v] for k, v in self.speakers.items()},
            "recordings": [r.to_json() for r in self.recordings],
        }
        atomic_write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n")

    @staticmethod
    def load(path: str | Path) -> CorpusPlan:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: cannot read corpus plan: {err}") from None
        return CorpusPlan(
            seed=int(data["seed"]),
            speakers={k: tuple(Speaker(**s) for s in v) for k, v in data["speakers"].items()},
            recordings=tuple(PlannedRecording.from_json(r) for r in data["recordings"]),
        )


def is_seen_voice(reco_id: str, split: str) -> bool:
    """Whether a held-out set's recording belongs to its seen-voice part (training speakers)."""
    return reco_id.startswith(f"{split}_{SEEN_TAG}_")


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    lo, hi = lo_hi
    return float(lo if lo == hi else rng.uniform(lo, hi))


class SentenceStream:
    """Sentences in one seeded order, each handed out at most once. For dev and eval a
    sentence with more than ``max_rare`` words that occur in no other pool sentence is
    passed over (it stays in the LM text), which bounds the test sets' OOV rate."""

    def __init__(self, sentences: list[Sentence], max_rare: int) -> None:
        self.sentences = sentences
        self.max_rare = max_rare
        self.cursor = 0
        counts: Counter[str] = Counter()
        for s in sentences:
            counts.update(set(s.text.split()))
        self.counts = counts

    def take(self, held_out: bool) -> Sentence:
        while self.cursor < len(self.sentences):
            sentence = self.sentences[self.cursor]
            self.cursor += 1
            if not held_out or self.max_rare < 0:
                return sentence
            rare = sum(self.counts[w] <= 1 for w in set(sentence.text.split()))
            if rare <= self.max_rare:
                return sentence
        raise ValueError(f"the sentence pool ({len(self.sentences)}) is too small for the requested hours")


def _plan_recording(
    reco_index: int, split: str, config: CorpusConfig, speakers: list[Speaker],
    weights: np.ndarray, stream: SentenceStream, seen: bool = False,
) -> tuple[PlannedRecording, float]:
    """One recording taking its sentences from ``stream``; returns it and its estimated
    speech duration. ``seen``: a held-out set's recording by training voices."""
    part = f"{split}_{SEEN_TAG}" if seen else split
    rng = stable_rng(config.seed, "plan", part, str(reco_index))
    genre_weights = np.array([g.weight for g in config.genres], dtype=float)
    genre: GenreConfig = config.genres[int(rng.choice(len(config.genres), p=genre_weights / genre_weights.sum()))]
    n_spk = min(int(rng.integers(genre.speakers[0], genre.speakers[1] + 1)), len(speakers))
    chosen = rng.choice(len(speakers), size=n_spk, replace=False, p=weights)
    cast = [speakers[int(i)] for i in chosen]
    on_phone = [i > 0 and rng.uniform() < genre.telephone_prob for i in range(n_spk)]
    n_seg = int(rng.integers(genre.segments[0], genre.segments[1] + 1))
    # The first speaker (presenter) speaks first and about half the time.
    turn_p = np.array([1.0] + [1.0 / max(n_spk - 1, 1)] * (n_spk - 1)) if n_spk > 1 else np.ones(1)
    utts = []
    estimate = 0.0
    for k in range(n_seg):
        who = 0 if k == 0 else int(rng.choice(n_spk, p=turn_p / turn_p.sum()))
        sentence = stream.take(held_out=split != "train")
        tempo = round(_uniform(rng, genre.rate) * float(rng.uniform(0.97, 1.03)), 4)
        utts.append(PlannedUtterance(cast[who].spk_id, sentence.text, sentence.source, tempo, on_phone[who]))
        estimate += len(sentence.text) * SECONDS_PER_CHAR / (tempo * cast[who].tempo)
    reco = PlannedRecording(
        reco_id=f"{part}_{genre.name}_{reco_index:04d}",
        split=split,
        genre=genre.name,
        utterances=tuple(utts),
        snr_db=round(_uniform(rng, genre.snr_db), 2),
        music=bool(rng.uniform() < genre.music_prob),
        music_db=round(_uniform(rng, genre.music_db), 2),
        reverberance=round(_uniform(rng, genre.reverberance), 1) if rng.uniform() < genre.reverb_prob else 0.0,
        telephone_snr_db=round(_uniform(rng, genre.telephone_snr_db), 2),
    )
    return reco, estimate


def make_plan(config: CorpusConfig, hours: SplitHours, pool: list[Sentence]) -> CorpusPlan:
    """Plan recordings for every set until each reaches its target hours (estimated)."""
    inventory = speaker_inventory(config.seed, config.voices)
    order = stable_rng(config.seed, "sentences").permutation(len(pool))
    stream = SentenceStream([pool[int(i)] for i in order], config.text.heldout_max_rare_words)
    recordings: list[PlannedRecording] = []
    seen_share = config.voices.seen_share
    for split, condition in PLAN_ORDER:
        seen = condition == SEEN_TAG
        share = 1.0 if split == "train" else seen_share if seen else 1.0 - seen_share
        if share <= 0.0:
            continue
        speakers = inventory["train" if seen else split]
        weights = speaker_weights(speakers, config.voices)
        target = hours.of(split) * share * 3600.0
        total = 0.0
        index = 0
        if split == "train":
            # Every seen voice speaks in training: the training set opens with one recording by
            # each speaker of the held-out sets' seen-voice parts, then samples as usual.
            by_id = {s.spk_id: s for s in speakers}
            for spk_id in sorted({u.spk_id for r in recordings if is_seen_voice(r.reco_id, r.split)
                                  for u in r.utterances}):
                reco, estimate = _plan_recording(index, split, config, [by_id[spk_id]], np.ones(1), stream)
                recordings.append(reco)
                total += estimate
                index += 1
        while total < target:
            reco, estimate = _plan_recording(index, split, config, speakers, weights, stream, seen)
            recordings.append(reco)
            total += estimate
            index += 1
    recordings.sort(key=lambda r: r.reco_id)
    return CorpusPlan(
        seed=config.seed,
        speakers={split: tuple(inventory[split]) for split in SPLITS},
        recordings=tuple(recordings),
    )


def lm_sentences(plan: CorpusPlan, pool: list[Sentence]) -> list[str]:
    """Language-model text: every pool sentence not spoken in dev or eval, sorted."""
    held = plan.sentences("dev") | plan.sentences("eval")
    return sorted(s.text for s in pool if s.text not in held)
