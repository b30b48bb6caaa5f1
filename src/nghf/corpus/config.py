"""Configuration of the embedded broadcast-style corpus (``conf/corpus.yaml``).

Every knob that changes what the corpus sounds like lives here as a frozen dataclass: the
sizes, the text sources and their filters, the engines and their share of the speech, how
many speakers each held-out set gets, and per genre the speaking rate, pauses, noise,
music, reverberation and telephone share. The generator never mutates a config; the
resolved config is written beside the corpus (``data/local/corpus_config.yaml``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

ENGINES = ("espeak", "flite", "festival", "piper")
NOISE_KINDS = ("none", "white", "pink", "crowd", "hum")
SPLITS = ("train", "dev", "eval")


@dataclass(frozen=True)
class SplitHours:
    """Target hours of speech per set (the plan estimates durations; the result is close)."""

    train: float
    dev: float
    eval: float

    def __post_init__(self) -> None:
        for name in SPLITS:
            if getattr(self, name) <= 0:
                raise ValueError(f"hours for {name} must be positive, got {getattr(self, name)}")

    def of(self, split: str) -> float:
        return float(getattr(self, split))


@dataclass(frozen=True)
class TextConfig:
    """Where sentences come from and which ones are kept."""

    fortune_dir: str = "/usr/share/games/fortunes"
    fortune_exclude: tuple[str, ...] = ("ascii-art", "perl", "translate-me", "debian", "linuxcookie")
    wordnet_dir: str = "/usr/share/wordnet"
    min_words: int = 4
    max_words: int = 20
    # Dev/eval sentences may hold at most this many words that occur in no other sentence
    # of the pool (so cannot be in the LM text or lexicon); -1: no limit.
    heldout_max_rare_words: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.min_words <= self.max_words:
            raise ValueError(f"need 1 <= min_words <= max_words, got {self.min_words}, {self.max_words}")


@dataclass(frozen=True)
class VoiceConfig:
    """Which engines speak, their share of the utterances, and the held-out speakers."""

    engines: tuple[str, ...] = ENGINES
    # Relative share of utterances per engine (renormalised over the engines in use).
    engine_weights: dict[str, float] = field(
        default_factory=lambda: {"espeak": 0.3, "flite": 0.3, "festival": 0.25, "piper": 0.15}
    )
    # Upper bound on espeak-ng's share of utterances, whatever the weights say.
    espeak_max_share: float = 0.35
    # Speakers per engine reserved for dev and for eval (each; never used in training).
    heldout_per_engine: dict[str, int] = field(
        default_factory=lambda: {"espeak": 2, "flite": 2, "festival": 1, "piper": 1}
    )
    # Share of each held-out set's hours spoken by training voices with new sentences (the
    # "seen-voice" condition: MGB's dev and eval share recurring presenters with training);
    # the rest is spoken by the set's own held-out speakers ("unseen-voice" condition).
    seen_share: float = 0.0
    # Per-speaker sox perturbation ranges applied on top of the engine's own settings.
    pitch_cents: tuple[float, float] = (-250.0, 250.0)
    tempo: tuple[float, float] = (0.9, 1.1)
    level_db: tuple[float, float] = (-26.0, -18.0)

    def __post_init__(self) -> None:
        for engine in self.engines:
            if engine not in ENGINES:
                raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
        if not self.engines:
            raise ValueError("no engines selected")
        if not 0 < self.espeak_max_share <= 1:
            raise ValueError(f"espeak_max_share must be in (0, 1], got {self.espeak_max_share}")
        if not 0.0 <= self.seen_share < 1.0:
            raise ValueError(f"seen_share must be in [0, 1), got {self.seen_share}")


@dataclass(frozen=True)
class GenreConfig:
    """How one programme genre sounds."""

    name: str
    weight: float                        # share of recordings
    speakers: tuple[int, int]            # speakers per recording (min, max)
    segments: tuple[int, int]            # utterances per recording (min, max)
    rate: tuple[float, float]            # tempo factor on top of the speaker's (speaking rate)
    pause_s: tuple[float, float]         # silence between utterances
    noise: str = "none"                  # background noise kind (none/white/pink/crowd/hum)
    snr_db: tuple[float, float] = (30.0, 40.0)  # speech-to-noise ratio of the background
    music_prob: float = 0.0              # probability of background music under some segments
    music_db: tuple[float, float] = (-20.0, -12.0)  # music level relative to speech
    reverb_prob: float = 0.0             # probability the recording is reverberant
    reverberance: tuple[float, float] = (30.0, 60.0)  # sox reverb reverberance (%)
    telephone_prob: float = 0.0          # probability a non-first speaker is on the telephone
    telephone_snr_db: tuple[float, float] = (20.0, 30.0)  # line noise of a telephone speaker

    def __post_init__(self) -> None:
        if self.noise not in NOISE_KINDS:
            raise ValueError(f"genre {self.name}: unknown noise {self.noise!r}; known: {', '.join(NOISE_KINDS)}")
        for name in ("speakers", "segments", "rate", "pause_s", "snr_db", "music_db", "reverberance",
                     "telephone_snr_db"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ValueError(f"genre {self.name}: {name} range [{lo}, {hi}] is empty")
        if self.speakers[0] < 1 or self.segments[0] < 1:
            raise ValueError(f"genre {self.name}: need at least one speaker and one segment")
        for name in ("music_prob", "reverb_prob", "telephone_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"genre {self.name}: {name} must be a probability")


@dataclass(frozen=True)
class CorpusConfig:
    """The whole corpus recipe; ``sizes`` maps a size name to its hours."""

    seed: int = 2021
    sample_rate: int = 16000
    tiny: SplitHours = SplitHours(0.025, 0.008, 0.008)
    default: SplitHours = SplitHours(1.0, 0.25, 0.25)
    text: TextConfig = TextConfig()
    voices: VoiceConfig = VoiceConfig()
    genres: tuple[GenreConfig, ...] = ()
    lead_s: tuple[float, float] = (0.3, 1.0)   # silence before the first / after the last utterance

    def __post_init__(self) -> None:
        if not self.genres:
            raise ValueError("no genres configured")
        names = [g.name for g in self.genres]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate genre names: {names}")
        if self.sample_rate != 16000:
            raise ValueError("the corpus is 16 kHz (sample_rate: 16000)")

    def hours(self, size: str, train_hours: float | None = None) -> SplitHours:
        """Hours per set for a size name; ``train_hours`` overrides the training amount."""
        if size not in ("tiny", "default"):
            raise ValueError(f"unknown size {size!r}; use tiny or default")
        base: SplitHours = getattr(self, size)
        if train_hours is None:
            return base
        return dataclasses.replace(base, train=float(train_hours))
