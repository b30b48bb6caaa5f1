"""Reading the parts of a Kaldi lang dir that GMM training and graph building need.

Only Kaldi's file formats are relied on (``phones.txt``, ``words.txt``, ``topo``, ``L.fst``,
``L_disambig.fst``, ``G.fst``, ``phones/{disambig,silence,roots,sets,extra_questions}``,
``oov.int``), never the code that wrote them. Every parse error names the file and line.
Symbol tables are read by :func:`nghf.lang.symbols.read_symbols` and FSTs by
:func:`nghf.lang.fst.read_fst`, their one home.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from nghf._kaldi import kaldi_hmm_gmm, kaldifst
from nghf.lang.fst import read_fst
from nghf.lang.symbols import read_symbols


class LangError(ValueError):
    """A lang dir that is missing a file or has a malformed line (message names both)."""


@dataclasses.dataclass(frozen=True)
class Root:
    """One line of ``phones/roots.int``: phones sharing a tree root, and how."""

    shared: bool  # all pdf-classes share one root (the tree may ask about the pdf-class)
    split: bool  # whether the tree may split this root at all
    phones: tuple[int, ...]


def read_int_sets(path: str | Path) -> list[tuple[int, ...]]:
    """Lines of integers (``sets.int``, ``extra_questions.int``); blank lines are skipped."""
    out = []
    for n, line in enumerate(_lines(path), start=1):
        if not line.strip():
            continue
        try:
            out.append(tuple(int(x) for x in line.split()))
        except ValueError:
            raise LangError(f"{path}:{n}: expected integers, got {line!r}") from None
    return out


def read_roots(path: str | Path) -> list[Root]:
    """``phones/roots.int``: ``shared|not-shared split|not-split p1 p2 ...`` per line."""
    roots = []
    for n, line in enumerate(_lines(path), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 3 or parts[0] not in ("shared", "not-shared") or parts[1] not in (
            "split",
            "not-split",
        ):
            raise LangError(f"{path}:{n}: expected 'shared|not-shared split|not-split <phones>'")
        try:
            phones = tuple(int(p) for p in parts[2:])
        except ValueError:
            raise LangError(f"{path}:{n}: phones must be integers, got {line!r}") from None
        roots.append(Root(parts[0] == "shared", parts[1] == "split", phones))
    return roots


@dataclasses.dataclass(frozen=True)
class Lang:
    """A lang dir's contents as the GMM and graph code use them (paths kept for FSTs)."""

    path: Path
    phones: dict[str, int]
    words: dict[str, int]
    topo_text: str
    disambig: tuple[int, ...]
    silence: tuple[int, ...]
    roots: tuple[Root, ...]
    sets: tuple[tuple[int, ...], ...]
    extra_questions: tuple[tuple[int, ...], ...]
    oov: int

    @property
    def real_phones(self) -> list[int]:
        """Phone ids that have HMMs (all but ``<eps>`` and the disambiguation symbols)."""
        skip = set(self.disambig) | {0}
        return sorted(i for i in self.phones.values() if i not in skip)

    def topology(self) -> kaldi_hmm_gmm.HmmTopology:
        topo = kaldi_hmm_gmm.HmmTopology()
        try:
            topo.read(self.topo_text)
        except Exception as err:  # the binding raises RuntimeError with Kaldi's message
            raise LangError(f"{self.path / 'topo'}: cannot parse topology: {err}") from None
        return topo

    def lexicon_fst(self, disambig: bool = False) -> kaldifst.StdVectorFst:
        """``L.fst`` (or ``L_disambig.fst``), output-label sorted for composition."""
        name = "L_disambig.fst" if disambig else "L.fst"
        return read_fst(self.path / name, sort="olabel")

    def word_ids(self, words: list[str], utt: str, where: str) -> list[int]:
        """Map a transcript to word ids, OOVs to ``oov.int``."""
        return [self.words.get(w, self.oov) for w in words]


def load_lang(path: str | Path) -> Lang:
    """Load a Kaldi lang dir (only the files named in the module docstring)."""
    path = Path(path)
    if not path.is_dir():
        raise LangError(f"{path}: lang directory not found")
    ph = path / "phones"
    oov_lines = read_int_sets(path / "oov.int") if (path / "oov.int").exists() else [(0,)]
    extra = ph / "extra_questions.int"
    return Lang(
        path=path,
        phones=dict(read_symbols(path / "phones.txt").symbols),
        words=dict(read_symbols(path / "words.txt").symbols),
        topo_text=_read(path / "topo"),
        disambig=tuple(x for s in read_int_sets(ph / "disambig.int") for x in s),
        silence=tuple(int(x) for x in _read(ph / "silence.csl").strip().split(":") if x),
        roots=tuple(read_roots(ph / "roots.int")),
        sets=tuple(read_int_sets(ph / "sets.int")),
        extra_questions=tuple(read_int_sets(extra)) if extra.exists() else (),
        oov=oov_lines[0][0],
    )


def _read(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise LangError(f"{path}: cannot read: {err.strerror}") from None


def _lines(path: str | Path) -> list[str]:
    return _read(Path(path)).splitlines()
