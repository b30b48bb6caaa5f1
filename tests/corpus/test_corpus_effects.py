"""Effects: noise colours, music, SNR mixing, telephone band, reverberation, sox pipes."""

from __future__ import annotations

import numpy as np
import pytest

from nghf.corpus.effects import SR, fade, make_music, make_noise, reverberate, rms, telephone
from nghf.corpus.sox import SoxError, run_sox


def band_energy(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1.0 / SR)
    return float(spec[(f >= lo) & (f < hi)].sum() / spec.sum())


@pytest.mark.parametrize("kind", ["white", "pink", "crowd", "hum"])
def test_noise_unit_rms_and_deterministic(kind):
    a = make_noise(kind, SR, np.random.default_rng(5))
    b = make_noise(kind, SR, np.random.default_rng(5))
    assert a.dtype == np.float32 and a.size == SR
    assert rms(a) == pytest.approx(1.0, rel=1e-3)
    assert np.array_equal(a, b)


def test_noise_colours():
    rng = np.random.default_rng(0)
    white = make_noise("white", 4 * SR, rng)
    pink = make_noise("pink", 4 * SR, rng)
    crowd = make_noise("crowd", 4 * SR, rng)
    assert band_energy(white, 0, 1000) == pytest.approx(1000 / 8000, abs=0.02)
    assert band_energy(pink, 0, 1000) > 0.5
    assert band_energy(crowd, 150, 2500) > 0.8
    assert not np.any(make_noise("none", 10, rng))
    with pytest.raises(ValueError):
        make_noise("rain", 10, rng)


def test_music_is_tonal_deterministic_unit_rms():
    a = make_music(3 * SR, np.random.default_rng(1))
    assert np.array_equal(a, make_music(3 * SR, np.random.default_rng(1)))
    assert rms(a) == pytest.approx(1.0, rel=1e-3)
    spec = np.abs(np.fft.rfft(a))
    # Tonal: energy concentrated in few bins, unlike noise.
    top = np.sort(spec**2)[::-1]
    assert top[: spec.size // 100].sum() / top.sum() > 0.5


def test_fade_ramps_both_ends():
    y = fade(np.ones(SR, np.float32), 0.1)
    assert y[0] == 0 and y[-1] == 0 and y[SR // 2] == 1


def test_telephone_band_limits_and_keeps_length():
    x = make_noise("white", SR, np.random.default_rng(2))
    y = telephone(x, np.random.default_rng(3), snr_db=40.0)
    assert y.size == x.size and rms(y) == pytest.approx(rms(x), rel=1e-3)
    assert band_energy(y, 300, 3400) > 0.97
    assert band_energy(y, 4000, 8000) < 1e-3


def test_reverb_keeps_length_and_level_and_smears():
    x = np.zeros(SR, np.float32)
    x[1000] = 1.0
    y = reverberate(x, 60.0)
    assert y.size == x.size and rms(y) == pytest.approx(rms(x), rel=1e-3)
    tail = np.abs(y[1000 + SR // 10 : 1000 + SR // 2])
    assert tail.max() > 1e-3  # energy long after the impulse


def test_run_sox_resamples_and_reports_errors():
    x = np.sin(2 * np.pi * 440 * np.arange(22050) / 22050).astype(np.float32) * 0.5
    y = run_sox(x, 22050, [], rate_out=SR)
    assert abs(y.size - SR) <= 2
    f = np.fft.rfftfreq(y.size, 1.0 / SR)[np.argmax(np.abs(np.fft.rfft(y)))]
    assert f == pytest.approx(440, abs=2)
    with pytest.raises(SoxError, match="sox failed"):
        run_sox(x, 22050, ["no-such-effect"])
