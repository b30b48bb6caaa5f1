"""Checks that an output directory can take the files a stage will write, before the work.

A job that runs for hours and then cannot write its result (read-only or missing directory,
a full disk, a per-file size limit) loses everything since its last checkpoint. Stages call
``ensure_writable(dir, need_bytes)`` up front: it creates the directory, writes and removes a
probe file, and compares the space left (the smaller of the free disk space and the
process's ``RLIMIT_FSIZE``) with an estimate of the largest file to come, raising
:class:`OutputError` that names the directory and says what is wrong. ``describe_os_error``
turns a write failure during the run into the same kind of one-line message.
"""

from __future__ import annotations

import errno
import os
import resource
import shutil
from pathlib import Path


class OutputError(OSError):
    """An output location that cannot be written (message names the path and the reason)."""


def free_bytes(path: str | Path) -> int:
    """Bytes one file under ``path`` can still grow to: free disk space, capped by ``RLIMIT_FSIZE``."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    free = shutil.disk_usage(p).free
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY:
        free = min(free, soft)
    return int(free)


def describe_os_error(err: OSError, what: str = "write") -> str:
    """``cannot <what> <file>: <reason>`` with a hint for the usual causes."""
    target = err.filename if err.filename is not None else "(unknown file)"
    reason = err.strerror or str(err)
    hint = {
        errno.ENOSPC: " (disk full: free space or choose another output directory)",
        errno.EDQUOT: " (disk quota exceeded)",
        errno.EFBIG: " (file size limit reached: see ulimit -f)",
        errno.EROFS: " (read-only file system)",
        errno.EACCES: " (no permission)",
        errno.ENOTDIR: " (a path component is a file, not a directory)",
    }.get(err.errno or 0, "")
    return f"cannot {what} {target}: {reason}{hint}"


def ensure_writable(directory: str | Path, need_bytes: int = 0, what: str = "output") -> Path:
    """Create ``directory`` if needed and prove it takes a file of ``need_bytes`` bytes;
    raise :class:`OutputError` naming it otherwise. Returns the directory."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{what} directory {directory}: {describe_os_error(err, 'create')}") from None
    probe = directory / f".nghf-write-probe.{os.getpid()}"
    try:
        with open(probe, "wb") as handle:
            handle.write(b"\0" * min(max(need_bytes, 1), 4096))
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as err:
        raise OutputError(f"{what} directory {directory} is not writable: "
                          f"{describe_os_error(err)}") from None
    finally:
        probe.unlink(missing_ok=True)
    if need_bytes > 0:
        free = free_bytes(directory)
        if free < need_bytes:
            raise OutputError(f"{what} directory {directory}: only {free / 2**20:.1f} MiB can be "
                              f"written, but about {need_bytes / 2**20:.1f} MiB are needed "
                              "(disk full or file size limit): free space or choose another directory")
    return directory
