"""Running a command's body with clean one-line errors (shared by the _*_common modules)."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable

from nghf.utils.logging import setup_logging
from nghf.utils.outputs import describe_os_error


def run_catching(prog: str, body: Callable[[], int], expected: tuple[type[BaseException], ...],
                 verbose: int = 0) -> int:
    """Run ``body``; an ``expected`` error becomes ``prog: error: message`` and exit 1, and so
    does any ``OSError`` (a full disk, an unwritable or missing path: named, with the reason)."""
    setup_logging(verbose=verbose)
    try:
        return body()
    except expected as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # unwritable or full output, unreadable input: one line, no traceback
        verb = "write" if err.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS) else "access"
        print(f"{prog}: error: {err if err.filename is None else describe_os_error(err, verb)}", file=sys.stderr)
        return 1
