"""Fbank equals kaldi-native-fbank on the same samples and round-trips through both Kaldi readers."""

from __future__ import annotations

import dataclasses

import kaldi_native_fbank as knf
import numpy as np
import pytest
import soundfile as sf

from nghf import _kaldi
from nghf.data.ark import read_ark, read_scp
from nghf.data.audio import read_audio
from nghf.data.datadir import load_data_dir
from nghf.data.features import FbankConfig, compute_data_dir_fbank, compute_fbank, num_frames
from nghf.data.kaldi_files import DataDirError, read_dict
from nghf.utils.config import load_config


def _direct_knf(samples: np.ndarray, bins: int = 80) -> np.ndarray:
    """kaldi-native-fbank called directly with Kaldi's options (independent of FbankConfig)."""
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.frame_opts.samp_freq = 16000
    opts.mel_opts.num_bins = bins
    fb = knf.OnlineFbank(opts)
    fb.accept_waveform(16000, samples.tolist())
    fb.input_finished()
    return np.array([fb.get_frame(i) for i in range(fb.num_frames_ready)], dtype=np.float32)


def test_conf_file_loads(repo_root):
    cfg = load_config(FbankConfig, repo_root / "conf/fbank.yaml")
    assert cfg == FbankConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.num_mel_bins = 40  # type: ignore[misc]


def test_matches_kaldi_native_fbank_and_frame_count(make_data_dir):
    d = make_data_dir()
    wav = d.parent / "wav" / "r2.wav"
    samples, rate = read_audio(str(wav))
    ints, _ = sf.read(wav, dtype="int16")
    np.testing.assert_array_equal(samples, ints.astype(np.float32))  # Kaldi's 16-bit scale
    ours = compute_fbank(samples, FbankConfig())
    ref = _direct_knf(samples)
    assert ours.shape == ref.shape == (num_frames(samples.shape[0], FbankConfig()), 80)
    np.testing.assert_array_equal(ours, ref)
    assert ours.shape[0] == 1 + (int(2.2 * 16000) - 400) // 160


def test_dither_is_seeded_per_utterance():
    x = (np.sin(np.arange(8000) * 0.05) * 1000).astype(np.float32)
    cfg = FbankConfig(dither=1.0, dither_seed=3)
    a, b = compute_fbank(x, cfg, "u1"), compute_fbank(x, cfg, "u1")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, compute_fbank(x, cfg, "u2"))
    assert not np.array_equal(a, compute_fbank(x, FbankConfig(), "u1"))


def test_data_dir_features_roundtrip(make_data_dir, tmp_path):
    d = make_data_dir()
    data = load_data_dir(d)
    cfg = FbankConfig(num_mel_bins=40)
    ark, scp, u2n = tmp_path / "f.ark", tmp_path / "feats.scp", tmp_path / "utt2num_frames"
    assert compute_data_dir_fbank(data, cfg, ark, scp, u2n) == 4
    expected = {}
    for utt in data.utts:
        reco, start, end = data.utt_source(utt)
        samples, _ = read_audio(data.wav_scp[reco], reco, start, end)
        expected[utt] = _direct_knf(samples, 40)
    frames = read_dict(u2n)
    assert {u: int(n) for u, n in frames.items()} == {u: m.shape[0] for u, m in expected.items()}
    # kaldi-io: scp and ark
    got = dict(read_scp(scp))
    assert list(got) == data.utts
    for utt, m in got.items():
        assert m.dtype == np.float32
        np.testing.assert_array_equal(m, expected[utt])
    assert {k: v.shape for k, v in read_ark(ark)} == {k: v.shape for k, v in expected.items()}
    # kaldi_native_io: sequential and random access
    n = 0
    with _kaldi.kaldi_native_io.SequentialFloatMatrixReader(f"scp:{scp}") as reader:
        for key, value in reader:
            np.testing.assert_array_equal(np.array(value, copy=True), expected[key])
            n += 1
    assert n == 4
    with _kaldi.kaldi_native_io.RandomAccessFloatMatrixReader(f"scp:{scp}") as ra:
        np.testing.assert_array_equal(np.array(ra["spkB-u3"], copy=True), expected["spkB-u3"])


def test_bad_audio_is_named(make_data_dir, tmp_path):
    d = make_data_dir()
    (d / "segments").write_text("spkA-u1 r1 0.0 1.0\nspkA-u2 r1 1.0 2.0\nspkB-u3 r2 0.5 3.5\nspkC-u4 r3 0 2.3\n")
    with pytest.raises(DataDirError, match=r"segments: utterance 'spkB-u3': segment 0.5-3.5 s is outside recording 'r2'"):
        compute_data_dir_fbank(load_data_dir(d), FbankConfig(), tmp_path / "x.ark", tmp_path / "x.scp")
    assert not (tmp_path / "x.ark").exists()  # nothing half-written
    with pytest.raises(DataDirError, match=r"recording 'r1': sample rate 16000 Hz, but the fbank config expects 8000"):
        compute_data_dir_fbank(load_data_dir(d), FbankConfig(sample_rate=8000), tmp_path / "x.ark", tmp_path / "x.scp")
