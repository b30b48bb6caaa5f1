"""Line-level reading and writing of Kaldi table files (``wav.scp``, ``text``, ``utt2spk``...).

Every Kaldi data-dir file is a table of ``<id> <value>`` lines sorted by id in ``LC_ALL=C``
(byte) order. Readers here keep the line number of every entry and never raise on bad
content: decoding or format problems are returned with the entry so that validation can
report them all (file, line, id) and fix-up can remove them with a reason. Writers sort by
id in byte order and write atomically.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path

from nghf.utils.atomic import atomic_path


class DataDirError(ValueError):
    """Bad data-dir content; the message names the file, line and id."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One line of a Kaldi table file: ``key`` and the rest of the line after one space.

    ``problem`` is set when the line could not be decoded as UTF-8 (the text is then decoded
    with replacement characters so the id can still be reported).
    """

    key: str
    value: str
    line: int
    problem: str | None = None

    @property
    def fields(self) -> list[str]:
        """The whitespace-separated fields of the value."""
        return self.value.split()


def sort_key(key: str) -> bytes:
    """The ``LC_ALL=C`` sort key of an id: its UTF-8 bytes."""
    return key.encode("utf-8", errors="surrogateescape")


def read_table(path: str | Path) -> list[Entry]:
    """All non-blank lines of ``path`` as entries, in file order, with 1-based line numbers."""
    entries: list[Entry] = []
    raw = Path(path).read_bytes()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, blob in enumerate(lines, start=1):
        problem = None
        if blob.endswith(b"\r"):
            blob = blob[:-1]
            problem = "line ends with a carriage return (DOS line ending)"
        try:
            line = blob.decode("utf-8")
        except UnicodeDecodeError as err:
            line = blob.decode("utf-8", errors="replace")
            problem = f"not valid UTF-8 (byte {err.start}: {blob[err.start:err.start + 1]!r})"
        if not line.strip():
            entries.append(Entry("", "", number, problem or "blank line"))
            continue
        stripped = line.lstrip(" \t")
        if stripped != line and problem is None:
            problem = "line starts with whitespace"
        parts = stripped.split(maxsplit=1)
        key = parts[0]
        value = parts[1].rstrip(" \t") if len(parts) > 1 else ""
        entries.append(Entry(key, value, number, problem))
    return entries


def write_table(path: str | Path, items: Iterable[tuple[str, str]], sort: bool = True) -> None:
    """Write ``key value`` lines (sorted by key in byte order unless ``sort=False``) atomically."""
    pairs = list(items)
    if sort:
        pairs.sort(key=lambda kv: sort_key(kv[0]))
    text = "".join(f"{k} {v}\n" if v != "" else f"{k}\n" for k, v in pairs)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_lines(path: str | Path, lines: Sequence[str]) -> None:
    """Write whole lines (already formatted) atomically, in the given order."""
    with atomic_path(path) as tmp:
        tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def to_dict(entries: Iterable[Entry], path: str | Path, min_fields: int = 1) -> dict[str, str]:
    """``{key: value}`` of good entries; raise naming file+line+id on a duplicate or bad line,
    or on a line with fewer than ``min_fields`` whitespace-separated fields (the key counts)."""
    out: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for e in entries:
        if e.problem is not None:
            raise DataDirError(f"{path}:{e.line}: id '{e.key}': {e.problem}")
        if 1 + len(e.fields) < min_fields:
            raise DataDirError(f"{path}:{e.line}: id '{e.key}': expected at least {min_fields} fields, "
                               f"got {1 + len(e.fields)}")
        if e.key in out:
            raise DataDirError(
                f"{path}:{e.line}: duplicate id '{e.key}' (first on line {first_line[e.key]})"
            )
        out[e.key] = e.value
        first_line[e.key] = e.line
    return out


def read_dict(path: str | Path, min_fields: int = 1) -> dict[str, str]:
    """Strictly read a table file into ``{key: value}`` (see ``to_dict``); a file that cannot
    be read is a :class:`DataDirError` naming it (so a command reports it in one line).

    This is the one strict reader of Kaldi ``key value`` tables (``utt2spk``, ``wav.scp``,
    ``segments``, ``*.scp``): the data-dir loader and the GMM feature code both use it."""
    try:
        entries = read_table(path)
    except OSError as err:
        raise DataDirError(f"{path}: cannot read: {err.strerror or err}") from None
    return to_dict(entries, path, min_fields)


def read_fields(path: str | Path, min_fields: int = 2) -> dict[str, list[str]]:
    """:func:`read_dict` with each value split into its whitespace-separated fields."""
    return {k: v.split() for k, v in read_dict(path, min_fields).items()}
