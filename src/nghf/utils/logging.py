"""One logging set-up for every nghf command, and progress reporting that suits the terminal.

``setup_logging`` configures the root ``nghf`` logger once per process: a stderr handler and,
when the job has a log file (``--log``), a file handler, both in Kaldi's one-line style
(``time LEVEL (module) message``). ``progress`` wraps an iterable in a ``tqdm`` bar when
stderr is a terminal and otherwise logs a plain line every ``every_s`` seconds, so per-job
log files stay readable.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

LOG_FORMAT = "%(asctime)s %(levelname)s (%(name)s) %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def setup_logging(log_file: str | Path | None = None, verbose: int = 0) -> logging.Logger:
    """Configure and return the ``nghf`` logger; idempotent (handlers are replaced, not added)."""
    logger = logging.getLogger("nghf")
    logger.setLevel(logging.DEBUG if verbose > 0 else logging.INFO)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    formatter = logging.Formatter(LOG_FORMAT, DATE_FORMAT)
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(formatter)
    logger.addHandler(stream)
    if log_file is not None:
        path = Path(log_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(path, mode="a", encoding="utf-8")
        file_handler.setFormatter(formatter)
        logger.addHandler(file_handler)
    logger.propagate = False
    return logger


def get_logger(name: str) -> logging.Logger:
    """Logger for a module, below the ``nghf`` root (``get_logger(__name__)``)."""
    return logging.getLogger(name if name.startswith("nghf") else f"nghf.{name}")


def _is_interactive() -> bool:
    return sys.stderr.isatty()


def progress(
    items: Iterable[T],
    desc: str,
    total: int | None = None,
    every_s: float = 30.0,
    logger: logging.Logger | None = None,
    interactive: bool | None = None,
) -> Iterator[T]:
    """Yield ``items`` while reporting progress: tqdm on a terminal, periodic log lines otherwise."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if interactive is None:
        interactive = _is_interactive()
    if interactive:
        from tqdm import tqdm

        yield from tqdm(items, desc=desc, total=total, dynamic_ncols=True)
        return
    log = logger or get_logger("nghf.progress")
    start = last = time.monotonic()
    count = 0
    for count, item in enumerate(items, start=1):
        yield item
        now = time.monotonic()
        if now - last >= every_s:
            last = now
            of = f"/{total}" if total is not None else ""
            log.info("%s: %d%s done, %.1f s elapsed", desc, count, of, now - start)
    log.info("%s: finished %d items in %.1f s", desc, count, time.monotonic() - start)
