"""Reading frame-level pdf-id alignments.

Accepted: a Kaldi table of int vectors (``.scp``, or a binary/text ``.ark`` -- the text form
is exactly ``utt pdf1 pdf2 ...`` per line; ``.gz`` archives too), or an alignment directory
holding ``ali_pdf.scp``, ``ali_pdf.*.ark``/``ali_pdf.ark``, ``ali_pdf.*.txt``/``ali_pdf.txt``,
or the ``pdf.JOB.gz`` archives that ``nghf-ali-to-pdf`` writes.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nghf._kaldi import kaldi_native_io
from nghf.data.ark import ArchiveError, iter_kaldi_table
from nghf.data.nnfeats import DataError


def alignment_files(path: str | Path) -> list[tuple[str, Path]]:
    """``(kaldi rspecifier type, file)`` pairs for an alignment file or directory."""
    path = Path(path)
    if path.is_file():
        return [("scp" if path.suffix == ".scp" else "gz" if path.suffix == ".gz" else "ark", path)]
    if not path.is_dir():
        raise DataError(f"{path}: no such alignment file or directory")
    if (path / "ali_pdf.scp").is_file():
        return [("scp", path / "ali_pdf.scp")]
    for pattern in ("ali_pdf.*.ark", "ali_pdf.ark", "ali_pdf.*.txt", "ali_pdf.txt", "pdf.*.gz"):
        found = sorted(path.glob(pattern), key=_job_order)
        if found:
            return [("gz" if pattern.endswith(".gz") else "ark", f) for f in found]
    raise DataError(f"{path}: no ali_pdf.scp, ali_pdf.*.ark, ali_pdf.*.txt or pdf.*.gz in this directory")


def _read_table(kind: str, file: Path) -> Iterator[tuple[str, Any]]:
    if kind in ("gz", "ark"):
        # Parsed here rather than by kaldi_native_io, whose sequential archive reader stops
        # silently at a truncated record (the rest of the archive would vanish unnoticed).
        try:
            if kind == "gz":
                with gzip.open(file, "rb") as handle:
                    data = handle.read()
            else:
                data = file.read_bytes()
        except (OSError, EOFError) as err:
            raise DataError(f"{file}: cannot read alignment archive (truncated or corrupt?): {err}") from None
        if b"\0B" in data[:4096]:
            yield from _read_binary_int_vectors(data, file)
        else:
            for lineno, line in enumerate(data.decode("utf-8").splitlines(), start=1):
                parts = line.split()
                if parts:
                    try:
                        yield parts[0], [int(v) for v in parts[1:]]
                    except ValueError:
                        raise DataError(f"{file}:{lineno}: expected '<utt> <int> ...', got {line[:80]!r}") from None
        return
    yield from iter_kaldi_table(kaldi_native_io.SequentialInt32VectorReader, kind, file)


def _read_binary_int_vectors(data: bytes, file: Path) -> Iterator[tuple[str, np.ndarray]]:
    """Kaldi binary int32-vector archive records: ``key \\0B \\4 <n> (\\4 <int32>)*n``."""
    pos, prev = 0, "(none: first record)"
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            raise DataError(f"{file}: byte {pos}: truncated record (no key) after utterance {prev}")
        key = data[pos:space].decode("utf-8", errors="replace")
        if space + 8 > len(data):
            raise DataError(f"{file}: utterance {key}: truncated record (archive ends at byte {len(data)})")
        if data[space + 1 : space + 3] != b"\0B" or data[space + 3] != 4:
            raise DataError(f"{file}: byte {pos}: utterance {key}: not a binary int-vector archive record")
        (n,) = struct.unpack_from("<i", data, space + 4)
        start = space + 8
        if n < 0 or start + 5 * n > len(data):
            raise DataError(f"{file}: utterance {key}: truncated or corrupt record (length {n}, "
                            f"{len(data) - start} bytes left of {max(n, 0) * 5} needed)")
        body = np.frombuffer(data, dtype=[("size", "i1"), ("value", "<i4")], count=n, offset=start)
        if n and not (body["size"] == 4).all():
            raise DataError(f"{file}: utterance {key}: not an int32 vector")
        yield key, body["value"].astype(np.int64)
        pos, prev = start + 5 * n, key


def _job_order(path: Path) -> tuple[int, str]:
    parts = path.name.split(".")
    return (int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0, path.name)


def read_alignments(path: str | Path, num_pdfs: int | None = None) -> dict[str, np.ndarray]:
    """``utt -> int64 pdf-ids``; a duplicate utterance or an out-of-range pdf is an error."""
    alis: dict[str, np.ndarray] = {}
    for kind, file in alignment_files(path):
        try:
            for utt, vec in _read_table(kind, file):
                if utt in alis:
                    raise DataError(f"{file}: utterance {utt} appears twice in the alignments")
                ali = np.array(vec, dtype=np.int64)
                if num_pdfs is not None and ali.size and (ali.min() < 0 or ali.max() >= num_pdfs):
                    raise DataError(
                        f"{file}: utterance {utt} has pdf-id {int(ali.max() if ali.max() >= num_pdfs else ali.min())} "
                        f"outside [0, {num_pdfs}) (wrong tree or num-pdfs?)"
                    )
                alis[utt] = ali
        except DataError:
            raise
        except ArchiveError as err:
            raise DataError(f"cannot read alignments: {err}") from None
        except Exception as err:
            raise DataError(f"{file}: cannot read alignments (int vectors expected): {err}") from None
    if not alis:
        raise DataError(f"{path}: no alignments found")
    return alis
