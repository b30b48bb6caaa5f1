"""Reading frame-level pdf-id alignments.

Accepted: a Kaldi table of int vectors (``.scp``, or a binary/text ``.ark`` -- the text form
is exactly ``utt pdf1 pdf2 ...`` per line), or an alignment directory holding
``ali_pdf.scp``, ``ali_pdf.*.ark``/``ali_pdf.ark`` or ``ali_pdf.*.txt``/``ali_pdf.txt``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nghf._kaldi import kaldi_native_io
from nghf.train.features import DataError


def alignment_files(path: str | Path) -> list[tuple[str, Path]]:
    """``(kaldi rspecifier type, file)`` pairs for an alignment file or directory."""
    path = Path(path)
    if path.is_file():
        return [("scp" if path.suffix == ".scp" else "ark", path)]
    if not path.is_dir():
        raise DataError(f"{path}: no such alignment file or directory")
    if (path / "ali_pdf.scp").is_file():
        return [("scp", path / "ali_pdf.scp")]
    for pattern in ("ali_pdf.*.ark", "ali_pdf.ark", "ali_pdf.*.txt", "ali_pdf.txt"):
        found = sorted(path.glob(pattern), key=_job_order)
        if found:
            return [("ark", f) for f in found]
    raise DataError(f"{path}: no ali_pdf.scp, ali_pdf.*.ark or ali_pdf.*.txt in this directory")


def _job_order(path: Path) -> tuple[int, str]:
    parts = path.name.split(".")
    return (int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0, path.name)


def read_alignments(path: str | Path, num_pdfs: int | None = None) -> dict[str, np.ndarray]:
    """``utt -> int64 pdf-ids``; a duplicate utterance or an out-of-range pdf is an error."""
    alis: dict[str, np.ndarray] = {}
    for kind, file in alignment_files(path):
        try:
            reader = kaldi_native_io.SequentialInt32VectorReader(f"{kind}:{file}")
            for utt, vec in reader:
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
        except Exception as err:
            raise DataError(f"{file}: cannot read alignments (int vectors expected): {err}") from None
    if not alis:
        raise DataError(f"{path}: no alignments found")
    return alis
