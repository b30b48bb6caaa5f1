"""Shared bits of the lang/LM commands: logging set-up and clean one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Callable

from nghf.lang.arpa import ArpaError
from nghf.lang.g2p import G2PError
from nghf.lang.lexicon import LexiconError
from nghf.lang.symbols import SymbolError
from nghf.utils.config import ConfigError
from nghf.utils.logging import setup_logging

EXPECTED = (LexiconError, SymbolError, ArpaError, G2PError, ConfigError, FileNotFoundError, ValueError)


def run_main(prog: str, body: Callable[[], int], verbose: int = 0) -> int:
    """Run ``body``; an expected input error becomes ``prog: error: message`` and exit 1."""
    setup_logging(verbose=verbose)
    try:
        return body()
    except EXPECTED as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
