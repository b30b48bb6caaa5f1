"""Broadcast effects: background noise and music (synthesised with numpy), mixing at a given
SNR, reverberation and the telephone channel (through sox).

Every random choice comes from a ``numpy.random.Generator`` handed in by the caller, which
derives it from stable ids, so an effect is the same whichever job renders it.
"""

from __future__ import annotations

import numpy as np

from nghf.corpus.sox import run_sox

SR = 16000


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def _shaped_noise(n: int, rng: np.random.Generator, shape) -> np.ndarray:
    """White Gaussian noise coloured by ``shape(freqs)`` in the frequency domain, unit RMS."""
    if n == 0:
        return np.zeros(0, np.float32)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SR)
    spectrum *= shape(freqs)
    out = np.fft.irfft(spectrum, n)
    return (out / max(rms(out), 1e-12)).astype(np.float32)


def make_noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples (unit RMS) of background noise: white, pink, crowd, hum; zeros for none."""
    if kind == "none":
        return np.zeros(n, np.float32)
    if kind == "white":
        x = rng.standard_normal(n)
        return (x / max(rms(x), 1e-12)).astype(np.float32)
    if kind == "pink":
        return _shaped_noise(n, rng, lambda f: 1.0 / np.sqrt(np.maximum(f, 20.0)))
    if kind == "crowd":
        # Band-limited murmur whose loudness swells slowly, plus a few cheers.
        base = _shaped_noise(
            n, rng, lambda f: np.exp(-0.5 * (np.log(np.maximum(f, 1.0) / 600.0) / 0.7) ** 2))
        t = np.arange(n) / SR
        swell = np.ones(n)
        for _ in range(3):
            swell += 0.25 * np.sin(2 * np.pi * rng.uniform(0.05, 0.4) * t + rng.uniform(0, 2 * np.pi))
        for _ in range(int(rng.integers(1, 4 + n // (10 * SR)))):
            centre = rng.uniform(0, n)
            width = rng.uniform(0.5, 2.0) * SR
            swell += rng.uniform(0.8, 2.0) * np.exp(-0.5 * ((np.arange(n) - centre) / width) ** 2)
        out = base * swell
        return (out / max(rms(out), 1e-12)).astype(np.float32)
    if kind == "hum":
        t = np.arange(n) / SR
        mains = rng.choice([50.0, 60.0])
        hum = sum(np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 2 * np.pi)) / k for k in (1, 2, 3, 5))
        hiss = make_noise("pink", n, rng)
        out = hum / max(rms(hum), 1e-12) + 0.5 * hiss
        return (out / max(rms(out), 1e-12)).astype(np.float32)
    raise ValueError(f"unknown noise kind {kind!r}")


_MAJOR = (0, 4, 7)
_MINOR = (0, 3, 7)
# Chord roots (semitones above the key) and qualities of a few common progressions.
_PROGRESSIONS = (
    ((0, _MAJOR), (7, _MAJOR), (9, _MINOR), (5, _MAJOR)),
    ((0, _MAJOR), (5, _MAJOR), (7, _MAJOR), (5, _MAJOR)),
    ((9, _MINOR), (5, _MAJOR), (0, _MAJOR), (7, _MAJOR)),
    ((0, _MINOR), (8, _MAJOR), (3, _MAJOR), (10, _MAJOR)),
)


def _tone(freq: float, n: int, rng: np.random.Generator, decay: float) -> np.ndarray:
    t = np.arange(n) / SR
    partials = sum(np.sin(2 * np.pi * freq * k * t) * (0.6 ** (k - 1)) for k in (1, 2, 3, 4))
    attack = np.minimum(1.0, t / 0.01)
    return (partials * attack * np.exp(-t * decay)).astype(np.float64)


def make_music(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples (unit RMS) of a synthetic jingle: a chord pad and an arpeggio over a
    four-chord progression, tempo, key and pattern drawn from ``rng``."""
    if n == 0:
        return np.zeros(0, np.float32)
    bpm = float(rng.uniform(80, 132))
    step = int(SR * 60.0 / bpm / 2)  # eighth notes
    key = int(rng.integers(45, 57))  # MIDI A2..G#3
    progression = _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))]
    pattern = rng.permutation([0, 1, 2, 1, 0, 2, 1, 2])
    out = np.zeros(n + 8 * step + 2 * SR)
    bar = 8 * step
    for b, start in enumerate(range(0, n, bar)):
        root, quality = progression[b % len(progression)]
        notes = [key + root + q for q in quality]
        for note in notes:  # pad
            f = 440.0 * 2 ** ((note - 69) / 12)
            out[start : start + bar] += 0.35 * _tone(f, bar, rng, decay=0.8)
        for k in range(8):  # arpeggio an octave up
            note = notes[int(pattern[k]) % 3] + 12
            f = 440.0 * 2 ** ((note - 69) / 12)
            s = start + k * step
            length = min(int(1.5 * step), out.size - s)
            if length > 0:
                out[s : s + length] += 0.5 * _tone(f, length, rng, decay=6.0)
    out = out[:n]
    return (out / max(rms(out), 1e-12)).astype(np.float32)


def fade(x: np.ndarray, seconds: float = 0.5) -> np.ndarray:
    """Linear fade-in and fade-out (at most a third of the signal each)."""
    n = min(int(seconds * SR), x.size // 3)
    if n <= 0:
        return x
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)
    y = x.copy()
    y[:n] *= ramp
    y[-n:] *= ramp[::-1]
    return y


def reverberate(x: np.ndarray, reverberance: float, room_scale: float = 80.0) -> np.ndarray:
    """Room reverberation (sox ``reverb``); output has the input's length and RMS."""
    if x.size == 0:
        return x
    peak = float(np.max(np.abs(x))) or 1.0
    y = run_sox(x * (0.3 / peak), SR, ["reverb", f"{reverberance:.1f}", "50", f"{room_scale:.1f}"])
    y = _fit_length(y, x.size)
    return (y * (rms(x) / max(rms(y), 1e-12))).astype(np.float32)


def telephone(x: np.ndarray, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """Telephone channel: line hiss/hum at ``snr_db``, 8 kHz, band-limited to 300-3400 Hz,
    8-bit mu-law, back to 16 kHz; output has the input's length and RMS."""
    if x.size == 0:
        return x
    peak = float(np.max(np.abs(x))) or 1.0
    y = x * (0.5 / peak)
    kind = "hum" if rng.uniform() < 0.5 else "pink"
    y = y + make_noise(kind, y.size, rng) * (rms(y) * db_to_gain(-snr_db))
    narrow = run_sox(y, SR, ["sinc", "300-3400"], rate_out=8000)
    mu = 255.0
    companded = np.sign(narrow) * np.log1p(mu * np.minimum(np.abs(narrow), 1.0)) / np.log1p(mu)
    quantised = np.round(companded * 127.0) / 127.0
    expanded = np.sign(quantised) * np.expm1(np.abs(quantised) * np.log1p(mu)) / mu
    wide = run_sox(expanded.astype(np.float32), 8000, ["sinc", "300-3400"], rate_out=SR)
    wide = _fit_length(wide, x.size)
    return (wide * (rms(x) / max(rms(wide), 1e-12))).astype(np.float32)


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    if y.size >= n:
        return y[:n]
    return np.concatenate([y, np.zeros(n - y.size, np.float32)])
