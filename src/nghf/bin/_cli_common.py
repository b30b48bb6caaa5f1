"""Running a command's body with clean one-line errors (shared by the _*_common modules)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from nghf.utils.logging import setup_logging


def run_catching(prog: str, body: Callable[[], int], expected: tuple[type[BaseException], ...],
                 verbose: int = 0) -> int:
    """Run ``body``; an ``expected`` error becomes ``prog: error: message`` and exit 1."""
    setup_logging(verbose=verbose)
    try:
        return body()
    except expected as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
