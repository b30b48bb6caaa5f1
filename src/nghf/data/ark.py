"""Kaldi ark/scp matrix I/O through ``kaldi-io`` (binary archives Kaldi itself can read).

``ArkWriter`` appends binary matrices to an archive and remembers each one's byte offset,
so that ``feats.scp`` lines (``utt /abs/path.ark:offset``) can be written afterwards; the
archive is written under a temporary name and renamed when closed without error.
``read_scp``/``read_ark`` read them back (float32 or float64 as stored).

Reading never skips or half-reads silently: a truncated or corrupt record raises
:class:`ArchiveError` naming the archive (and the scp file and line) and the key whose
record is damaged. ``kaldi-io``'s own ``read_mat_scp`` skips unreadable entries with a
printed warning, so the scp reader here resolves each line itself; ``iter_kaldi_table``
gives ``kaldi_native_io``'s sequential readers the same key-naming errors.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import numpy as np

from nghf.data.kaldi_files import sort_key, write_table


class ArchiveError(ValueError):
    """A truncated, corrupt or missing archive record (message names the file and the key)."""


def _kaldi_io():
    """Import kaldi-io quietly (it prints a KALDI_ROOT warning we do not need: no Kaldi binaries)."""
    with contextlib.redirect_stderr(io.StringIO()):
        import kaldi_io
    return kaldi_io


class ArkWriter:
    """Write ``key -> matrix`` pairs to a binary ark; ``scp_lines()`` gives the index."""

    def __init__(self, ark_path: str | Path) -> None:
        self.path = Path(ark_path).resolve()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.name}.tmp.{os.getpid()}")
        self._f = open(self._tmp, "wb")  # noqa: SIM115  (closed in close())
        self._kio = _kaldi_io()
        self.offsets: dict[str, int] = {}

    def write(self, key: str, mat: np.ndarray) -> None:
        if key in self.offsets:
            raise ValueError(f"{self.path}: key '{key}' written twice")
        if not key or any(c.isspace() for c in key):
            raise ValueError(f"{self.path}: invalid archive key {key!r}")
        start = self._f.tell()
        try:
            self._kio.write_mat(self._f, np.ascontiguousarray(mat), key=key)
        except OSError as err:  # disk full, size limit: name the archive (a bare write() error does not)
            raise OSError(err.errno, err.strerror, str(self.path)) from None
        self.offsets[key] = start + len(key.encode("utf-8")) + 1

    def scp_lines(self) -> list[tuple[str, str]]:
        return [(k, f"{self.path}:{o}") for k, o in self.offsets.items()]

    def close(self, ok: bool = True) -> None:
        """Rename the finished archive into place (``ok``) or remove the partial one; a failing
        final flush (disk full) also removes it and raises."""
        try:
            self._f.close()
        except OSError:
            self._tmp.unlink(missing_ok=True)
            raise
        if ok:
            os.replace(self._tmp, self.path)
        else:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> ArkWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(ok=exc_type is None)


def write_scp(path: str | Path, lines: list[tuple[str, str]]) -> None:
    """Write an scp index sorted in ``LC_ALL=C`` order."""
    write_table(path, lines)


def scp_entries(scp: str | Path) -> list[tuple[int, str, str]]:
    """``(line number, key, rxspecifier)`` of every non-blank line of an scp file."""
    scp = Path(scp)
    try:
        text = scp.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ArchiveError(f"{scp}: not valid UTF-8 (byte {err.start})") from None
    except OSError as err:
        raise ArchiveError(f"{scp}: cannot read index: {err.strerror or err}") from None
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        parts = line.split(maxsplit=1)
        if not parts:
            continue
        if len(parts) != 2:
            raise ArchiveError(f"{scp}:{lineno}: key '{parts[0]}': no archive location after the key")
        out.append((lineno, parts[0], parts[1].strip()))
    return out


def read_scp(scp: str | Path) -> Iterator[tuple[str, np.ndarray]]:
    """``(key, matrix)`` of every line of an scp file, in file order; a line whose matrix
    cannot be read raises :class:`ArchiveError` (never skipped)."""
    for lineno, key, rx in scp_entries(scp):
        yield key, read_mat(rx, key=key, where=f"{scp}:{lineno}")


def read_ark(ark: str | Path) -> Iterator[tuple[str, np.ndarray]]:
    """``(key, matrix)`` of every matrix in an archive, in archive order; a truncated or
    corrupt record raises :class:`ArchiveError` naming its key."""
    kio = _kaldi_io()
    ark = Path(ark)
    try:
        handle = open(ark, "rb")  # noqa: SIM115  (closed below)
    except OSError as err:
        raise ArchiveError(f"{ark}: cannot open archive: {err.strerror or err}") from None
    with handle:
        count, prev = 0, None
        while True:
            start = handle.tell()
            try:
                key = kio.read_key(handle)
            except (AssertionError, UnicodeDecodeError) as err:
                raise ArchiveError(f"{ark}: byte {start}: corrupt record after key '{prev}' "
                                   f"(no valid key): {err}") from None
            if key is None:
                return
            try:
                mat = kio.read_mat(handle)
            except Exception as err:  # kaldi-io raises assorted types on damaged data
                raise ArchiveError(f"{ark}: key '{key}' (record {count + 1}, byte {start}): truncated or "
                                   f"corrupt matrix: {_describe(err)}") from None
            count, prev = count + 1, key
            yield key, mat


def read_mat(rxspec: str, key: str | None = None, where: str | None = None) -> np.ndarray:
    """One matrix from an ``ark:offset`` specifier (an scp value); errors name ``key`` and ``where``."""
    what = (f"{where}: " if where else "") + (f"key '{key}': " if key else "")
    path, _, offset = rxspec.rpartition(":") if ":" in rxspec else (rxspec, "", "")
    if offset and not offset.isdigit():
        path = rxspec
    if path and not path.rstrip().endswith("|") and not Path(path).is_file():
        raise ArchiveError(f"{what}archive {path} does not exist")
    try:
        return _kaldi_io().read_mat(rxspec)
    except Exception as err:  # kaldi-io raises assorted types on damaged data
        raise ArchiveError(f"{what}cannot read matrix {rxspec} (truncated or corrupt archive?): "
                           f"{_describe(err)}") from None


_ELEMENT_BYTES = {b"FM ": 4, b"DM ": 8, b"FV ": 4, b"DV ": 8}


def matrix_record_problem(handle: BinaryIO, offset: int, size: int) -> str | None:
    """What is wrong with the binary Kaldi matrix at byte ``offset`` of an open archive of
    ``size`` bytes (``None`` if its header is valid and all its data is in the file).

    Only the header is read: the token (``FM``/``DM``, ``CM``/``CM2``/``CM3`` compressed),
    the dimensions, and from them the record's end, which must not pass the end of the file.
    A text matrix (no ``\0B``) is not checked. This is what makes a truncated archive an error
    of validation rather than of the training job that reads it hours later.
    """
    if offset >= size:
        return f"offset {offset} is at or past the end of the archive ({size} bytes)"
    handle.seek(offset)
    head = handle.read(24)
    if head[:2] != b"\0B":
        return None if head[:1] == b"[" or head[:2] == b" [" else f"no binary matrix at byte {offset}"
    token = head[2:6] if head[2:5] in (b"CM2", b"CM3") else head[2:5]
    if token in _ELEMENT_BYTES:
        if len(head) < 15 or head[5:6] != b"\x04" or head[10:11] != b"\x04":
            return f"matrix header at byte {offset} is cut off"
        rows, cols = struct.unpack("<i", head[6:10])[0], struct.unpack("<i", head[11:15])[0]
        end = offset + 15 + rows * cols * _ELEMENT_BYTES[token]
    elif token in (b"CM ", b"CM2 ", b"CM3 "):
        start = offset + 2 + len(token)
        if len(head) < start - offset + 16:
            return f"compressed matrix header at byte {offset} is cut off"
        rows, cols = struct.unpack_from("<ii", head, start - offset + 8)
        per = {b"CM ": rows * cols + 8 * cols, b"CM2 ": 2 * rows * cols, b"CM3 ": rows * cols}[token]
        end = start + 16 + per
    else:
        return f"unknown matrix type {head[2:6]!r} at byte {offset}"
    if rows < 0 or cols < 0:
        return f"matrix at byte {offset} has negative dimensions {rows}x{cols}"
    if end > size:
        return (f"archive is truncated: the {rows}x{cols} matrix at byte {offset} ends at byte {end}, "
                f"the file at {size}")
    return None


def iter_kaldi_table(reader_cls: type, kind: str, path: str | Path) -> Iterator[tuple[str, Any]]:
    """Iterate a ``kaldi_native_io`` sequential reader over ``kind:path`` (``ark``/``scp``),
    turning its C++ error into :class:`ArchiveError` naming the key that could not be read
    (for an scp: the entry after the last good one, with its line). Values are the
    reader's views: copy them before the next item."""
    last: str | None = None
    count = 0
    try:
        for key, value in reader_cls(f"{kind}:{path}"):
            last = key
            count += 1
            yield key, value
    except Exception as err:  # RuntimeError from the C++ reader
        detail = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        detail = detail.split("[E] ")[-1]
        if kind == "scp":
            entries = scp_entries(path)
            if count < len(entries):
                lineno, key, rx = entries[count]
                raise ArchiveError(f"{path}:{lineno}: key '{key}': cannot read {rx} "
                                   f"(truncated or corrupt archive?): {detail}") from None
        after = f"after key '{last}'" if last is not None else "at its first record"
        raise ArchiveError(f"{path}: cannot read the record {after} (truncated or corrupt?): {detail}") from None


def _describe(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def sorted_keys(keys: list[str]) -> list[str]:
    return sorted(keys, key=sort_key)
