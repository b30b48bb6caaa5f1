"""Kaldi/OpenFst text symbol tables (``phones.txt``, ``words.txt``): ``symbol integer`` lines.

``SymbolTable`` is a small immutable two-way map; ``read_symbols`` names the file and line
of any malformed or duplicate entry, and ``SymbolTable.check_contiguous`` reports ids
that do not run 0, 1, 2, ... (Kaldi tools index arrays by symbol id).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nghf.utils.atomic import atomic_write_text


class SymbolError(ValueError):
    """A malformed symbol table or an unknown symbol (message names the file)."""


@dataclass(frozen=True)
class SymbolTable:
    """Symbols and their integer ids; ``source`` is the file it came from (for messages)."""

    symbols: tuple[tuple[str, int], ...]
    source: str = "<memory>"
    _to_id: dict[str, int] = field(init=False, repr=False, compare=False)
    _to_sym: dict[int, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_to_id", {s: i for s, i in self.symbols})
        object.__setattr__(self, "_to_sym", {i: s for s, i in self.symbols})

    @classmethod
    def from_list(cls, symbols: Sequence[str], source: str = "<memory>") -> SymbolTable:
        """Table with ids 0, 1, 2, ... in the order given."""
        return cls(tuple((s, i) for i, s in enumerate(symbols)), source)

    def __len__(self) -> int:
        return len(self.symbols)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._to_id

    def id(self, symbol: str) -> int:
        """Integer id of ``symbol`` (``SymbolError`` naming the table if unknown)."""
        try:
            return self._to_id[symbol]
        except KeyError:
            raise SymbolError(f"{self.source}: no symbol {symbol!r}") from None

    def symbol(self, index: int) -> str:
        """Symbol of integer id ``index``."""
        try:
            return self._to_sym[index]
        except KeyError:
            raise SymbolError(f"{self.source}: no symbol with id {index}") from None

    def ids(self, symbols: Iterable[str]) -> list[int]:
        """Ids of several symbols."""
        return [self.id(s) for s in symbols]

    def has_id(self, index: int) -> bool:
        """Whether some symbol has id ``index``."""
        return index in self._to_sym

    def max_id(self) -> int:
        """Largest id in the table."""
        return max(i for _, i in self.symbols)

    def check_contiguous(self) -> list[str]:
        """Problems with the id sequence: gaps, or not starting at ``<eps>`` = 0."""
        problems = []
        ids = sorted(i for _, i in self.symbols)
        if ids != list(range(len(ids))):
            missing = sorted(set(range(ids[-1] + 1)) - set(ids)) if ids else []
            problems.append(
                f"{self.source}: ids are not contiguous from 0 (missing {missing[:10]})"
            )
        if self._to_sym.get(0) != "<eps>":
            problems.append(f"{self.source}: id 0 must be <eps>, got {self._to_sym.get(0)!r}")
        return problems

    def to_text(self) -> str:
        """``symbol id`` lines in id order."""
        return "".join(f"{s} {i}\n" for s, i in sorted(self.symbols, key=lambda x: x[1]))

    def write(self, path: str | Path) -> None:
        """Write as a text symbol table (atomically)."""
        atomic_write_text(path, self.to_text())


def read_symbols(path: str | Path) -> SymbolTable:
    """Read a text symbol table, checking each line and rejecting duplicates."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SymbolError(f"{path}: cannot read: {err.strerror}") from None
    pairs: list[tuple[str, int]] = []
    seen_sym: dict[str, int] = {}
    seen_id: dict[int, int] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or not fields[1].lstrip("-").isdigit():
            raise SymbolError(f"{path}:{lineno}: expected 'symbol integer', got {line!r}")
        sym, idx = fields[0], int(fields[1])
        if sym in seen_sym:
            raise SymbolError(f"{path}:{lineno}: symbol {sym!r} repeated (first on line {seen_sym[sym]})")
        if idx in seen_id:
            raise SymbolError(f"{path}:{lineno}: id {idx} repeated (first on line {seen_id[idx]})")
        seen_sym[sym], seen_id[idx] = lineno, lineno
        pairs.append((sym, idx))
    if not pairs:
        raise SymbolError(f"{path}: empty symbol table")
    return SymbolTable(tuple(pairs), str(path))
