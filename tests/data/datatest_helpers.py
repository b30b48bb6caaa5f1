"""Helpers of the data-layer tests: sox-made audio and small file writers."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_wav(path: Path, seconds: float, rate: int = 16000, freq: int = 440, bits: int = 16) -> Path:
    """A sine+noise wav made by sox (deterministic: fixed seed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["sox", "-R", "-n", "-r", str(rate), "-b", str(bits), "-c", "1", str(path),
         "synth", f"{seconds}", "sine", str(freq), "whitenoise", "vol", "0.3"],
        check=True,
    )
    return path


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
