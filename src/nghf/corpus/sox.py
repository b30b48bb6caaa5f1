"""Run sox on float32 arrays through pipes (no temporary files, no dither, repeatable).

Audio goes in and out as raw 32-bit float, so sox never quantises or dithers in between;
``-R`` makes any pseudo-random part of an effect repeatable. Used for resampling, speaker
perturbation (pitch, tempo), reverberation and the telephone band.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

import numpy as np


class SoxError(RuntimeError):
    """sox failed; the message carries its command line and stderr."""


def sox_available() -> bool:
    return shutil.which("sox") is not None


def run_sox(audio: np.ndarray, rate_in: int, effects: Sequence[str], rate_out: int | None = None) -> np.ndarray:
    """Apply sox ``effects`` to mono float32 ``audio``; resample to ``rate_out`` if given."""
    raw = ["-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1"]
    cmd = ["sox", "-R", "-D", "-V1", *raw, "-r", str(rate_in), "-", *raw]
    if rate_out is not None:
        cmd += ["-r", str(rate_out)]
    cmd += ["-", *effects]
    if rate_out is not None and rate_out != rate_in and not any(e == "rate" for e in effects):
        cmd += ["rate", "-h", str(rate_out)]
    data = np.ascontiguousarray(audio, dtype="<f4").tobytes()
    proc = subprocess.run(cmd, input=data, capture_output=True, check=False)
    if proc.returncode != 0:
        raise SoxError(f"sox failed ({proc.returncode}): {' '.join(cmd)}: "
                       f"{proc.stderr.decode(errors='replace').strip()}")
    return np.frombuffer(proc.stdout, dtype="<f4").astype(np.float32)
