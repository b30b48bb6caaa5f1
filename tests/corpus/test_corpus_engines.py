"""Every engine: 16 kHz float output at the speaker's level, identical on a second call."""

from __future__ import annotations

import numpy as np
import pytest

from nghf.corpus.config import VoiceConfig
from nghf.corpus.effects import db_to_gain, rms
from nghf.corpus.engines import (
    SpeechRequest,
    SynthesisError,
    Synthesizer,
    read_wav_bytes,
    trim_silence,
)
from nghf.corpus.speakers import speaker_inventory

TEXT = "THE RAIN WILL CLEAR BY MORNING"


@pytest.fixture(scope="module")
def synth():
    with Synthesizer() as s:
        yield s


def one_speaker_per_voice():
    inv = speaker_inventory(2021, VoiceConfig())
    seen = {}
    for s in inv["train"] + inv["dev"] + inv["eval"]:
        seen.setdefault((s.engine, s.voice.split("+")[0]), s)
    return sorted(seen.values(), key=lambda s: s.spk_id)


@pytest.mark.parametrize("speaker", one_speaker_per_voice(), ids=lambda s: f"{s.engine}-{s.voice}")
def test_engine_is_deterministic_and_16k(synth, speaker):
    a = synth.speak(SpeechRequest(speaker, TEXT, 1.0, key="t"))
    b = synth.speak(SpeechRequest(speaker, TEXT, 1.0, key="t"))
    assert np.array_equal(a, b), f"{speaker.engine} {speaker.voice} is not deterministic"
    assert a.dtype == np.float32
    assert 0.8 < a.size / 16000 < 5.0
    assert rms(a) == pytest.approx(db_to_gain(speaker.level_db), rel=1e-3)


def test_tempo_shortens_speech(synth):
    speaker = one_speaker_per_voice()[0]
    slow = synth.speak(SpeechRequest(speaker, TEXT, 0.8))
    fast = synth.speak(SpeechRequest(speaker, TEXT, 1.25))
    assert fast.size < 0.8 * slow.size


def test_festival_batch_equals_single_calls(synth):
    fest = [s for s in one_speaker_per_voice() if s.engine == "festival"][:2]
    reqs = [SpeechRequest(fest[0], TEXT), SpeechRequest(fest[1], "GOOD EVENING"), SpeechRequest(fest[0], "GOOD EVENING")]
    batch = synth.speak_many(reqs)
    for req, audio in zip(reqs, batch, strict=True):
        assert np.array_equal(audio, synth.speak(req))


def test_trim_silence_keeps_margin():
    x = np.zeros(16000, np.float32)
    x[8000:8160] = 0.5
    y = trim_silence(x, margin_s=0.05)
    assert y.size == 160 + 2 * 800


def test_bad_wav_is_named():
    with pytest.raises(SynthesisError, match="utt-7"):
        read_wav_bytes(b"not a wav", "utt-7")
