"""What every ``nghf-*`` command shares: its argument parser (help for every option, with
the default shown, as the step scripts' ``--help`` does) and one error format,
``nghf-x: error: message`` on one line, whatever went wrong."""

from __future__ import annotations

import argparse
import errno
import logging
import sys
from collections.abc import Callable
from typing import Any

from nghf.utils.logging import setup_logging
from nghf.utils.outputs import describe_os_error


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks (module docstrings) and appends ``(default: X)`` to
    every option's help, unless the default is empty (``None``, ``False``, ``""``, ``[]``) or
    the help already says what the default is."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (not action.option_strings or default is None or default is False or default == argparse.SUPPRESS
                or default in ("", []) or "default" in text.lower()):
            return text
        return f"{text} (default: %(default)s)"


class CliParser(argparse.ArgumentParser):
    """The parser of every ``nghf-*`` command and its sub-commands (``add_subparsers`` makes
    more of this class): always :class:`HelpFormatter`; usage errors keep argparse's
    ``prog: error: message`` line (after the usage) and exit status 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["formatter_class"] = HelpFormatter
        super().__init__(*args, **kwargs)


def report_error(prog: str, err: BaseException | str) -> int:
    """Print ``prog: error: message`` and return 1, the exit status of a command that failed
    on its input (a message that lists several problems keeps its lines). A ``--log`` file
    of the command gets the same line as an ERROR record, so the log is complete."""
    print(f"{prog}: error: {err}", file=sys.stderr)
    logger = logging.getLogger("nghf")
    record = logger.makeRecord(logger.name, logging.ERROR, "", 0, f"{prog}: %s", (err,), None)
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)
    return 1


def run_catching(prog: str, body: Callable[[], int], expected: tuple[type[BaseException], ...],
                 verbose: int = 0) -> int:
    """Run ``body``; an ``expected`` error becomes ``prog: error: message`` and exit 1, and so
    does any ``OSError`` (a full disk, an unwritable or missing path: named, with the reason)."""
    setup_logging(verbose=verbose)
    try:
        return body()
    except expected as err:
        return report_error(prog, err)
    except OSError as err:  # unwritable or full output, unreadable input: one line, no traceback
        verb = "write" if err.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS) else "access"
        return report_error(prog, err if err.filename is None else describe_os_error(err, verb))
