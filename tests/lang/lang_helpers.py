"""Small dictionary directories for the lang tests (written by hand, no CMUdict needed)."""

from __future__ import annotations

from pathlib import Path

from nghf.lang.lexicon import LexiconEntry, write_dict_dir

TOY_LEXICON = {
    "A": [("AH",), ("EY",)],
    "CAT": [("K", "AE", "T")],
    "READ": [("R", "EH", "D"), ("R", "IY", "D")],
    "RED": [("R", "EH", "D")],
    "THE": [("DH", "AH")],
    "SAT": [("S", "AE", "T")],
}


def write_toy_dict(dict_dir: Path, lexicon: dict[str, list[tuple[str, ...]]] | None = None) -> list[LexiconEntry]:
    """Write a dict dir for ``lexicon`` (default ``TOY_LEXICON``) and return its entries."""
    lexicon = TOY_LEXICON if lexicon is None else lexicon
    entries = [LexiconEntry(w, p) for w, prons in sorted(lexicon.items()) for p in prons]
    write_dict_dir(entries, dict_dir)
    return entries
