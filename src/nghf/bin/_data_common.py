"""Shared bits of the data commands: logging set-up and clean one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Callable

from nghf.data.audio import AudioError
from nghf.data.kaldi_files import DataDirError
from nghf.data.mgb import MgbError
from nghf.utils.config import ConfigError
from nghf.utils.logging import setup_logging

EXPECTED = (DataDirError, AudioError, MgbError, ConfigError, FileNotFoundError)


def run_main(prog: str, body: Callable[[], int], verbose: int = 0) -> int:
    """Run ``body``; an expected input error becomes ``prog: error: message`` and exit 1."""
    setup_logging(verbose=verbose)
    try:
        return body()
    except EXPECTED as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
