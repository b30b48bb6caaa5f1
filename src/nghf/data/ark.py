"""Kaldi ark/scp matrix I/O through ``kaldi-io`` (binary archives Kaldi itself can read).

``ArkWriter`` appends binary matrices to an archive and remembers each one's byte offset,
so that ``feats.scp`` lines (``utt /abs/path.ark:offset``) can be written afterwards; the
archive is written under a temporary name and renamed when closed without error.
``read_scp``/``read_ark`` read them back (float32 or float64 as stored).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import numpy as np

from nghf.data.kaldi_files import sort_key, write_table


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
        self._kio.write_mat(self._f, np.ascontiguousarray(mat), key=key)
        self.offsets[key] = start + len(key.encode("utf-8")) + 1

    def scp_lines(self) -> list[tuple[str, str]]:
        return [(k, f"{self.path}:{o}") for k, o in self.offsets.items()]

    def close(self, ok: bool = True) -> None:
        self._f.close()
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


def read_scp(scp: str | Path) -> Iterator[tuple[str, np.ndarray]]:
    """``(key, matrix)`` of every line of an scp file, in file order."""
    kio = _kaldi_io()
    yield from kio.read_mat_scp(str(scp))


def read_ark(ark: str | Path) -> Iterator[tuple[str, np.ndarray]]:
    """``(key, matrix)`` of every matrix in an archive, in archive order."""
    kio = _kaldi_io()
    yield from kio.read_mat_ark(str(ark))


def read_mat(rxspec: str) -> np.ndarray:
    """One matrix from an ``ark:offset`` specifier (an scp value)."""
    return _kaldi_io().read_mat(rxspec)


def sorted_keys(keys: list[str]) -> list[str]:
    return sorted(keys, key=sort_key)
