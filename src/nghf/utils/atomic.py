"""Write-then-rename outputs so that a killed job never leaves a file that looks finished.

``atomic_path(final)`` yields a temporary sibling path (same directory, so the rename is
atomic on POSIX file systems); on success it is renamed onto ``final``, on an exception it
is removed. Works for files and directories. ``mark_done``/``is_done`` handle the
``.done`` markers that stage scripts and the trainer use to skip finished work.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``final``; rename it onto ``final`` if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp.{os.getpid()}")
    _remove(tmp)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{tmp}: nothing was written for {final}")
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        _remove(tmp)
        raise


def atomic_write_text(final: str | Path, text: str) -> None:
    """Write ``text`` to ``final`` through a temporary file and a rename."""
    with atomic_path(final) as tmp:
        tmp.write_text(text, encoding="utf-8")


def done_marker(output: str | Path) -> Path:
    """The ``.done`` marker of an output file or directory."""
    output = Path(output)
    if output.is_dir():
        return output / ".done"
    return output.with_name(f"{output.name}.done")


def is_done(output: str | Path) -> bool:
    """Whether ``output`` exists and its ``.done`` marker was written after it."""
    output = Path(output)
    return output.exists() and done_marker(output).exists()


def mark_done(output: str | Path) -> None:
    """Write the ``.done`` marker of a finished output."""
    done_marker(output).touch()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
