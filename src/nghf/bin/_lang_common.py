"""Shared bits of the lang/LM commands: logging set-up and clean one-line errors."""

from __future__ import annotations

from collections.abc import Callable

from nghf.bin._cli_common import run_catching
from nghf.lang.arpa import ArpaError
from nghf.lang.g2p import G2PError
from nghf.lang.lexicon import LexiconError
from nghf.lang.symbols import SymbolError
from nghf.utils.config import ConfigError

EXPECTED = (LexiconError, SymbolError, ArpaError, G2PError, ConfigError, FileNotFoundError, ValueError)


def run_main(prog: str, body: Callable[[], int], verbose: int = 0) -> int:
    """Run ``body``; an expected input error becomes ``prog: error: message`` and exit 1."""
    return run_catching(prog, body, EXPECTED, verbose)
