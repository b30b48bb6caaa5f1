"""The speaker inventory: engine + voice + settings, and its split into train/dev/eval.

A "speaker" of the embedded corpus is a synthesis engine, one of its voices, the engine's
own knobs (espeak-ng variant, pitch and rate; flite duration stretch and f0 mean; piper
length scale) and a sox perturbation (pitch shift in cents, tempo, level) that moves it
further from its neighbours. The inventory is a fixed list for each engine, perturbed from
a seed, so it is the same on every run; dev and eval take ``heldout_per_engine`` speakers
of each engine and training the rest, so the sets never share a speaker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from nghf.corpus.config import SPLITS, VoiceConfig

# espeak-ng accents (all ship with espeak-ng-data) and its voice variants.
ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan",
                  "en-gb-x-gbcwmd", "en-us-nyc")
ESPEAK_VARIANTS = ("m1", "f1", "m2", "f2", "m3", "f3", "m4", "f4", "m5", "f5", "m6", "m7")
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
FLITE_F0 = {"kal": 100.0, "kal16": 100.0, "awb": 110.0, "rms": 95.0, "slt": 170.0}
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
PIPER_VOICES = ("en_US-joe-medium",)
# How many speakers each engine contributes (before the espeak cap on utterance share).
SPEAKERS_PER_ENGINE = {"espeak": 16, "flite": 15, "festival": 9, "piper": 5}
ENGINE_TAG = {"espeak": "esp", "flite": "fli", "festival": "fes", "piper": "pip"}


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker; ``spk_id`` is ``<engine tag><two digits>`` (e.g. ``fli07``)."""

    spk_id: str
    engine: str
    voice: str
    engine_pitch: float      # espeak -p (0-99) or flite f0 mean (Hz); 0 where unused
    engine_rate: float       # espeak -s (wpm), flite duration stretch, piper length scale
    pitch_cents: float       # sox pitch shift
    tempo: float             # sox tempo factor (speaking rate)
    level_db: float          # target speech level (dBFS RMS)

    def describe(self) -> str:
        return (f"{self.spk_id} {self.engine} {self.voice} engine_pitch={self.engine_pitch:g} "
                f"engine_rate={self.engine_rate:g} pitch_cents={self.pitch_cents:g} "
                f"tempo={self.tempo:g} level_db={self.level_db:g}")


def stable_rng(seed: int, *keys: str) -> np.random.Generator:
    """A generator determined by the seed and string keys only (never by call order)."""
    digest = hashlib.sha256("\x1f".join(keys).encode("utf-8")).digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    return np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFF, *words]))


def _engine_speakers(engine: str, count: int, seed: int, config: VoiceConfig) -> list[Speaker]:
    rng = stable_rng(seed, "speakers", engine)
    speakers = []
    for i in range(count):
        # Spread the sox perturbation over its range (stratified), jittered.
        frac = (i + rng.uniform(0.15, 0.85)) / count
        pitch = config.pitch_cents[0] + (config.pitch_cents[1] - config.pitch_cents[0]) * (
            (frac * 7.0) % 1.0)
        tempo = float(rng.uniform(*config.tempo))
        level = float(rng.uniform(*config.level_db))
        engine_pitch = 0.0
        engine_rate = 1.0
        if engine == "espeak":
            accent = ESPEAK_ACCENTS[i % len(ESPEAK_ACCENTS)]
            variant = ESPEAK_VARIANTS[(i * 5) % len(ESPEAK_VARIANTS)]
            voice = f"{accent}+{variant}"
            engine_pitch = float(rng.integers(30, 71))
            engine_rate = float(rng.integers(150, 186))
            pitch = pitch * 0.3  # espeak varies pitch itself
        elif engine == "flite":
            voice = FLITE_VOICES[i % len(FLITE_VOICES)]
            engine_pitch = round(FLITE_F0[voice] * float(rng.uniform(0.85, 1.2)), 1)
            engine_rate = round(float(rng.uniform(0.9, 1.15)), 3)
        elif engine == "festival":
            voice = FESTIVAL_VOICES[i % len(FESTIVAL_VOICES)]
        elif engine == "piper":
            voice = PIPER_VOICES[i % len(PIPER_VOICES)]
            engine_rate = round(float(rng.uniform(0.9, 1.15)), 3)
        else:  # pragma: no cover - VoiceConfig validates engine names
            raise ValueError(f"unknown engine {engine}")
        speakers.append(Speaker(
            spk_id=f"{ENGINE_TAG[engine]}{i + 1:02d}", engine=engine, voice=voice,
            engine_pitch=engine_pitch, engine_rate=engine_rate, pitch_cents=round(pitch, 1),
            tempo=round(tempo, 3), level_db=round(level, 2),
        ))
    return speakers


def speaker_inventory(seed: int, config: VoiceConfig) -> dict[str, list[Speaker]]:
    """Speakers of each set: ``{"train": [...], "dev": [...], "eval": [...]}`` (disjoint)."""
    sets: dict[str, list[Speaker]] = {split: [] for split in SPLITS}
    for engine in config.engines:
        speakers = _engine_speakers(engine, SPEAKERS_PER_ENGINE[engine], seed, config)
        held = int(config.heldout_per_engine.get(engine, 0))
        if 2 * held >= len(speakers):
            raise ValueError(f"engine {engine}: {held} held-out speakers each for dev and eval "
                             f"leave none of its {len(speakers)} for training")
        order = stable_rng(seed, "heldout", engine).permutation(len(speakers))
        dev = {int(i) for i in order[:held]}
        evl = {int(i) for i in order[held : 2 * held]}
        for i, spk in enumerate(speakers):
            split = "dev" if i in dev else "eval" if i in evl else "train"
            sets[split].append(spk)
    for split in SPLITS:
        if not sets[split]:
            raise ValueError(f"no speakers for {split}: raise heldout_per_engine")
    return sets


def engine_shares(config: VoiceConfig) -> dict[str, float]:
    """Share of utterances per engine: the weights, with espeak capped at ``espeak_max_share``."""
    weights = {e: float(config.engine_weights.get(e, 0.0)) for e in config.engines}
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("engine_weights are all zero for the selected engines")
    shares = {e: w / total for e, w in weights.items()}
    if shares.get("espeak", 0.0) > config.espeak_max_share:
        others = sum(v for e, v in shares.items() if e != "espeak")
        if others <= 0:
            return {"espeak": 1.0}
        cap = config.espeak_max_share
        shares = {e: (cap if e == "espeak" else v / others * (1 - cap)) for e, v in shares.items()}
    return shares


def speaker_weights(speakers: list[Speaker], config: VoiceConfig) -> np.ndarray:
    """Sampling weight of each speaker so that engines get their share of utterances."""
    shares = engine_shares(config)
    counts: dict[str, int] = {}
    for spk in speakers:
        counts[spk.engine] = counts.get(spk.engine, 0) + 1
    present = sum(shares[e] for e in counts)
    weights = np.array([shares[s.engine] / present / counts[s.engine] for s in speakers])
    return weights / weights.sum()
