"""Reading OpenFst binary files (``L.fst``, ``L_disambig.fst``, ``G.fst``, ``HCLG.fst``).

:func:`read_fst` is the one FST reader: the lang-dir view of the GMM code (``nghf.gmm.lang``),
graph building (``nghf.graph.hclg``) and decoding (``nghf.decode.graph``) all read through it.
It reads vector and const FSTs (the header names the type), optionally arc-sorts a vector FST
for composition, and turns a missing or unreadable file into an :class:`FstError` naming it
(the bindings return ``None`` or abort with a C++ message that does not).
"""

from __future__ import annotations

from pathlib import Path

from nghf._kaldi import kaldifst


class FstError(ValueError):
    """A missing or unreadable FST file (the message names the file)."""


def read_fst(path: str | Path, sort: str | None = None, what: str = "FST file"):  # -> kaldifst.StdFst
    """The FST in ``path`` (``StdVectorFst``, or ``StdConstFst`` when the file holds one);
    ``sort`` (``"ilabel"``/``"olabel"``) arc-sorts it, which only a vector FST allows.
    ``what`` names the file in the not-found message (e.g. ``"decoding graph"``)."""
    path = Path(path)
    if not path.is_file():
        raise FstError(f"{path}: {what} not found")
    with open(path, "rb") as handle:
        head = handle.read(64)
    const = b"const" in head
    fst = kaldifst.StdConstFst.read(str(path)) if const else kaldifst.StdVectorFst.read(str(path))
    if fst is None:
        raise FstError(f"{path}: cannot read as an OpenFst FST")
    if sort is not None:
        if const:
            raise FstError(f"{path}: a const FST cannot be arc-sorted; write it as a vector FST")
        kaldifst.arcsort(fst, sort_type=sort)
    return fst
