"""``format_lm``: compile an ARPA language model into ``G.fst`` inside a copy of a lang dir.

Kaldi's ``arpa2fst`` (through ``kaldilm.arpa2fst``) reads the ARPA file with the lang
dir's ``words.txt`` as its symbol table and ``#0`` on the input side of back-off arcs;
``<s>`` and ``</s>`` become epsilons and sentence ends become final weights, as in Kaldi's
``utils/format_lm.sh``. Every ARPA word must be in ``words.txt``: unknown words are
reported with their count (first few listed) rather than left to a deep error.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from pathlib import Path

from nghf._kaldi import kaldifst, kaldilm
from nghf.lang.arpa import ArpaError
from nghf.lang.symbols import read_symbols
from nghf.utils.atomic import atomic_path, mark_done
from nghf.utils.logging import get_logger

log = get_logger(__name__)


def _plain_arpa(arpa: Path, workdir: Path) -> Path:
    if not arpa.name.endswith(".gz"):
        return arpa
    plain = workdir / "lm.arpa"
    with gzip.open(arpa, "rb") as src, plain.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return plain


def arpa_words(arpa: Path) -> set[str]:
    """The unigram words of an ARPA file (plain text)."""
    words: set[str] = set()
    in_unigrams = False
    with arpa.open(encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if s.startswith("\\"):
                if in_unigrams:
                    break
                in_unigrams = s == "\\1-grams:"
                continue
            if in_unigrams and s:
                fields = s.split()
                if len(fields) < 2:
                    raise ArpaError(f"{arpa}: bad unigram line {s!r}")
                words.add(fields[1])
    if not words:
        raise ArpaError(f"{arpa}: no \\1-grams: section")
    return words


def format_lm(lang_dir: str | Path, arpa: str | Path, out_lang_dir: str | Path) -> None:
    """Copy ``lang_dir`` to ``out_lang_dir`` and add ``G.fst`` compiled from ``arpa``."""
    lang, arpa, out_dir = Path(lang_dir), Path(arpa), Path(out_lang_dir)
    words_txt = lang / "words.txt"
    if not words_txt.is_file():
        raise FileNotFoundError(f"{words_txt}: missing (is {lang} a lang directory?)")
    if not arpa.is_file():
        raise FileNotFoundError(f"{arpa}: ARPA file does not exist")
    words = read_symbols(words_txt)
    with tempfile.TemporaryDirectory(prefix="format_lm.") as work:
        plain = _plain_arpa(arpa, Path(work))
        unknown = sorted(w for w in arpa_words(plain) if w not in words)
        if unknown:
            raise ArpaError(
                f"{arpa}: {len(unknown)} word(s) not in {words_txt}: {' '.join(unknown[:20])}"
                " (train the LM with --vocab on this words.txt)"
            )
        if "#0" not in words:
            raise ArpaError(f"{words_txt}: has no #0 disambiguation symbol")
        with atomic_path(out_dir) as tmp:
            shutil.copytree(lang, tmp, ignore=shutil.ignore_patterns(".done", "G.fst"))
            kaldilm.arpa2fst(
                input_arpa=str(plain),
                output_fst=str(tmp / "G.fst"),
                disambig_symbol="#0",
                read_symbol_table=str(words_txt),
                max_arpa_warnings=30,
            )
            g = kaldifst.StdVectorFst.read(str(tmp / "G.fst"))
            if g is None or g.num_states == 0:
                raise ArpaError(f"{arpa}: arpa2fst produced an empty G.fst")
            log.info("G.fst: %d states from %s", g.num_states, arpa)
    mark_done(out_dir)
