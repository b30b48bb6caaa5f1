"""Shared helpers of the reliability tests: the other suites' tiny-data builders, killing a
command at a seeded point, and comparing outputs."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
for sub in ("data", "train"):  # datatest_helpers (sox audio), nghf_synth_data (features + alignments)
    if str(TESTS / sub) not in sys.path:
        sys.path.insert(0, str(TESTS / sub))

from datatest_helpers import make_wav, write  # noqa: E402
from nghf_synth_data import synth_corpus, write_data_dir, write_int_ark  # noqa: E402

__all__ = ["REPO", "make_wav", "write", "synth_corpus", "write_data_dir", "write_int_ark", "kill_at_seeded_point",
           "bin_path", "env_one_thread"]


def env_one_thread() -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")


def bin_path(name: str) -> str:
    """A console command of the project venv (``nghf-...``)."""
    return str(Path(sys.executable).parent / name)


def kill_at_seeded_point(cmd: list[str], seed: int, ready: Callable[[], bool], max_delay: float,
                         timeout: float = 120.0) -> tuple[int, float]:
    """Start ``cmd``; once ``ready()`` holds (e.g. its first checkpoint exists), wait a seeded
    random delay in ``[0, max_delay)`` and SIGKILL it. Returns ``(return code, delay)``: a
    negative code means it was killed, 0 that it finished first (the caller decides whether
    that is acceptable)."""
    delay = random.Random(seed).uniform(0.0, max_delay)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env_one_thread(),
                            cwd=REPO)
    start = time.monotonic()
    try:
        while not ready():
            if proc.poll() is not None or time.monotonic() - start > timeout:
                break
            time.sleep(0.005)
        if proc.poll() is None:
            time.sleep(delay)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        return proc.wait(timeout=timeout), delay
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def tmp_leftovers(directory: Path) -> list[Path]:
    """Temporary files of interrupted atomic writes (``.name.tmp.PID``)."""
    return [p for p in directory.rglob(".*.tmp.*")]
