"""The GMM's MFCC and CMVN go through the data layer's readers and writer, bit for bit as before.

``nghf.gmm.feats`` used to carry its own ``wave``-based audio reader and a CMVN writer that
summed ``kaldi_native_fbank.compute_cmvn_stats`` per utterance in ``mfcc.scp`` order. The
references below are those former algorithms; the audio the MFCC jobs read
(``nghf.data.audio.utterance_audio``) and the stats ``nghf-gmm compute-cmvn`` writes
(``nghf.data.cmvn.compute_speaker_cmvn`` with ``kaldi_cmvn_stats``) must equal them exactly.
"""

from __future__ import annotations

import wave
from pathlib import Path

import kaldi_native_fbank as knf
import numpy as np
import pytest

from nghf.data.ark import read_scp
from nghf.data.audio import utterance_audio
from nghf.data.kaldi_files import DataDirError
from nghf.gmm.feats import FeatureConfig, MfccConfig, load_features, make_mfcc_job, write_cmvn


def _write_wav(path: Path, seconds: float, seed: int, channels: int = 1) -> None:
    rng = np.random.default_rng(seed)
    samples = (rng.standard_normal(int(16000 * seconds) * channels) * 3000).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(samples.tobytes())


def _old_read_wav(spec: str) -> tuple[np.ndarray, int]:
    with wave.open(spec) as handle:
        samples = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").astype(np.float32)
        if handle.getnchannels() > 1:
            samples = samples.reshape(-1, handle.getnchannels())[:, 0]
        return samples, handle.getframerate()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    wav = tmp_path / "wav"
    wav.mkdir()
    for i, (dur, ch) in enumerate(((2.1, 1), (2.2, 2), (1.5, 1)), start=1):
        _write_wav(wav / f"r{i}.wav", dur, seed=i, channels=ch)
    d = tmp_path / "data"
    d.mkdir()
    (d / "wav.scp").write_text(f"r1 {wav}/r1.wav\nr2 cat {wav}/r2.wav |\nr3 {wav}/r3.wav\n")
    (d / "segments").write_text("a-1 r1 0.0 1.0\na-2 r1 1.0 2.0\nb-1 r2 0.5 2.1\nb-2 r3 0.1 -1\nc-1 r3 0.3 1.2\n")
    u2s = {"a-1": "a", "a-2": "a", "b-1": "b", "b-2": "b", "c-1": "c"}
    (d / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in u2s.items()))
    (d / "spk2utt").write_text("a a-1 a-2\nb b-1 b-2\nc c-1\n")
    return d


def test_utterance_audio_is_the_former_wave_reader(data: Path) -> None:
    wavs = dict(line.split(maxsplit=1) for line in (data / "wav.scp").read_text().splitlines())
    for utt, samples, rate in utterance_audio(data, ["a-1", "a-2", "b-1", "b-2", "c-1"]):
        reco, start, end = (data / "segments").read_text().split(f"{utt} ", 1)[1].split("\n")[0].split()
        path = wavs[reco].split()[-2] if wavs[reco].endswith("|") else wavs[reco]
        full, old_rate = _old_read_wav(path)
        hi = len(full) if float(end) < 0 else int(round(float(end) * old_rate))
        expected = full[int(round(float(start) * old_rate)):hi]
        assert rate == old_rate and samples.dtype == np.float32 and np.array_equal(samples, expected), utt


def test_cmvn_stats_are_the_former_per_utterance_kaldi_sums(data: Path, tmp_path: Path) -> None:
    scps = [make_mfcc_job(data, tmp_path / "mfcc", 2, j, MfccConfig()) for j in (1, 2)]
    (data / "mfcc.scp").write_text("".join(sorted(ln for s in scps for ln in s.read_text().splitlines(True))))
    write_cmvn(data, ark=tmp_path / "mfcc" / "mfcc_cmvn.ark")
    utt2spk = dict(line.split() for line in (data / "utt2spk").read_text().splitlines())
    expected: dict[str, np.ndarray] = {}
    for utt, mat in read_scp(data / "mfcc.scp"):  # the former writer: scp order, s0 + s1 + ...
        s = knf.compute_cmvn_stats(np.ascontiguousarray(mat, dtype=np.float32))
        expected[utt2spk[utt]] = expected[utt2spk[utt]] + s if utt2spk[utt] in expected else s
    got = dict(read_scp(data / "mfcc_cmvn.scp"))
    assert list(got) == ["a", "b", "c"]
    for spk, stats in expected.items():
        assert got[spk].dtype == np.float64 and np.array_equal(got[spk], stats), spk
    assert len(dict(load_features(data, FeatureConfig()))) == 5


def test_missing_segment_and_recording_are_named(data: Path) -> None:
    with pytest.raises(DataDirError, match="segments: utterance x-9 has no segment"):
        list(utterance_audio(data, ["x-9"]))
    (data / "segments").write_text("a-1 r9 0.0 1.0\n")
    with pytest.raises(DataDirError, match=r"wav.scp: recording r9 \(utterance a-1\) is missing"):
        list(utterance_audio(data))
