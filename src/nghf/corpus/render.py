"""Render planned recordings: synthesise the utterances, lay them out with pauses, add the
genre's channel (telephone, reverberation), background noise and music, write the WAV and
a per-recording JSON of its segments.

A recording's randomness comes from a generator keyed by the seed and its id, so it has the
same bytes whichever job renders it and whatever else that job renders. Utterances start
and end on 10 ms boundaries, so the times in ``segments`` are exact.
"""

from __future__ import annotations

import json
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nghf.corpus.config import CorpusConfig
from nghf.corpus.effects import (
    SR,
    db_to_gain,
    fade,
    make_music,
    make_noise,
    reverberate,
    rms,
    telephone,
)
from nghf.corpus.engines import SpeechRequest, Synthesizer
from nghf.corpus.plan import CorpusPlan, PlannedRecording
from nghf.corpus.speakers import Speaker, stable_rng
from nghf.utils.atomic import atomic_path, atomic_write_text
from nghf.utils.logging import get_logger, progress

log = get_logger(__name__)

FRAME = SR // 100  # 10 ms
PEAK = 0.95
# Recordings synthesised together (festival starts once per voice per chunk).
CHUNK = 24


@dataclass(frozen=True)
class RenderedUtterance:
    utt_id: str
    spk_id: str
    start: float
    end: float
    text: str
    source: str
    engine: str
    telephone: bool


def _frames(seconds: float) -> int:
    return int(round(seconds * 100)) * FRAME


def _pad_to_frame(x: np.ndarray) -> np.ndarray:
    extra = (-x.size) % FRAME
    return np.concatenate([x, np.zeros(extra, np.float32)]) if extra else x


def utt_id(spk_id: str, reco_id: str, start_sample: int, end_sample: int) -> str:
    """``<spk>-<reco>-<start cs>-<end cs>`` (centiseconds, 7 digits) as in Kaldi's MGB recipe."""
    return f"{spk_id}-{reco_id}-{start_sample // FRAME:07d}-{end_sample // FRAME:07d}"


def speech_requests(reco: PlannedRecording, speakers: dict[str, Speaker]) -> list[SpeechRequest]:
    """What the engines must say for one recording, in order."""
    return [SpeechRequest(speakers[u.spk_id], u.text, u.tempo, key=f"{reco.reco_id}#{k}")
            for k, u in enumerate(reco.utterances)]


def render_recording(
    reco: PlannedRecording, speakers: dict[str, Speaker], config: CorpusConfig, speech: list[np.ndarray],
) -> tuple[np.ndarray, list[RenderedUtterance]]:
    """The recording's int16 samples and its utterances with their times, from the
    synthesised utterances ``speech`` (one per planned utterance, see ``speech_requests``)."""
    if len(speech) != len(reco.utterances):
        raise ValueError(f"{reco.reco_id}: {len(speech)} synthesised utterances for {len(reco.utterances)} planned")
    rng = stable_rng(config.seed, "render", reco.reco_id)
    genre = next((g for g in config.genres if g.name == reco.genre), None)
    if genre is None:
        raise ValueError(f"{reco.reco_id}: genre {reco.genre!r} is not in the corpus config")
    pieces = []
    for k, (u, x) in enumerate(zip(reco.utterances, speech, strict=True)):
        if u.telephone:
            x = telephone(x, stable_rng(config.seed, "phone", reco.reco_id, str(k)), reco.telephone_snr_db)
        pieces.append(_pad_to_frame(x))
    # Layout: lead-in, utterances separated by pauses, lead-out.
    spans = []
    position = _frames(float(rng.uniform(*config.lead_s)))
    for k, x in enumerate(pieces):
        if k:
            position += _frames(float(rng.uniform(*genre.pause_s)))
        spans.append((position, position + x.size))
        position += x.size
    total = position + _frames(float(rng.uniform(*config.lead_s)))
    track = np.zeros(total, np.float32)
    for (start, end), x in zip(spans, pieces, strict=True):
        track[start:end] += x
    speech_level = rms(np.concatenate(pieces))
    if reco.reverberance > 0:
        track = reverberate(track, reco.reverberance)
    mix = track.astype(np.float64)
    if genre.noise != "none":
        noise = make_noise(genre.noise, total, rng)
        mix += noise * speech_level * db_to_gain(-reco.snr_db)
    if reco.music:
        first = int(rng.integers(len(spans)))
        last = int(rng.integers(first, len(spans)))
        start = max(0, spans[first][0] - SR)
        end = min(total, spans[last][1] + SR)
        music = fade(make_music(end - start, rng), 0.8)
        mix[start:end] += music * speech_level * db_to_gain(reco.music_db)
    peak = float(np.max(np.abs(mix)))
    if peak > PEAK:
        mix *= PEAK / peak
    samples = np.round(mix * 32767.0).astype("<i2")
    utts = []
    for (start, end), u in zip(spans, reco.utterances, strict=True):
        spk = speakers[u.spk_id]
        utts.append(RenderedUtterance(
            utt_id=utt_id(u.spk_id, reco.reco_id, start, end), spk_id=u.spk_id,
            start=start / SR, end=end / SR, text=u.text, source=u.source, engine=spk.engine,
            telephone=u.telephone))
    return samples, utts


def write_wav(path: Path, samples: np.ndarray) -> None:
    """16 kHz mono 16-bit PCM WAV, written atomically."""
    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SR)
        handle.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())


def meta_path(out_dir: Path, reco_id: str) -> Path:
    return out_dir / "meta" / f"{reco_id}.json"


def wav_path(out_dir: Path, reco_id: str) -> Path:
    return out_dir / "wav" / f"{reco_id}.wav"


def job_recordings(plan: CorpusPlan, job: int, nj: int) -> list[PlannedRecording]:
    """The recordings of job ``job`` (1-based) of ``nj``: every nj-th in id order."""
    if not 1 <= job <= nj:
        raise ValueError(f"job {job} is outside 1..{nj}")
    return [r for i, r in enumerate(plan.recordings) if i % nj == job - 1]


def render_job(plan: CorpusPlan, config: CorpusConfig, out_dir: Path, job: int, nj: int) -> int:
    """Render this job's recordings that are not finished yet; returns how many it rendered.

    A recording is finished when its JSON exists (it is written after the WAV), so a killed
    job resumes where it stopped.
    """
    speakers = plan.speaker_map()
    todo = [r for r in job_recordings(plan, job, nj) if not meta_path(out_dir, r.reco_id).exists()]
    chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
    with Synthesizer() as synth:
        for chunk in progress(chunks, desc=f"render job {job}/{nj} ({len(todo)} recordings)", logger=log):
            requests = [speech_requests(reco, speakers) for reco in chunk]
            flat = synth.speak_many([req for group in requests for req in group])
            offset = 0
            for reco, group in zip(chunk, requests, strict=True):
                speech, offset = flat[offset : offset + len(group)], offset + len(group)
                _finish(reco, speakers, config, speech, out_dir)
    return len(todo)


def _finish(reco: PlannedRecording, speakers: dict[str, Speaker], config: CorpusConfig,
            speech: list[np.ndarray], out_dir: Path) -> None:
    """Mix one recording and write its WAV, then its metadata (the "finished" mark)."""
    samples, utts = render_recording(reco, speakers, config, speech)
    write_wav(wav_path(out_dir, reco.reco_id), samples)
    meta = {
        "reco_id": reco.reco_id, "split": reco.split, "genre": reco.genre,
        "num_samples": int(samples.size), "duration": samples.size / SR,
        "utterances": [u.__dict__ for u in utts],
    }
    atomic_write_text(meta_path(out_dir, reco.reco_id), json.dumps(meta, indent=1) + "\n")
