"""Shared bits of the data commands: logging set-up and clean one-line errors."""

from __future__ import annotations

from collections.abc import Callable

from nghf.bin._cli_common import run_catching
from nghf.data.ark import ArchiveError
from nghf.data.audio import AudioError
from nghf.data.kaldi_files import DataDirError
from nghf.data.mgb import MgbError
from nghf.utils.config import ConfigError

EXPECTED = (DataDirError, ArchiveError, AudioError, MgbError, ConfigError, FileNotFoundError)


def run_main(prog: str, body: Callable[[], int], verbose: int = 0) -> int:
    """Run ``body``; an expected input error becomes ``prog: error: message`` and exit 1."""
    return run_catching(prog, body, EXPECTED, verbose)
