"""Grapheme-to-phoneme fallback through espeak-ng, mapped onto the 39-phone ARPAbet set.

Words missing from CMUdict (names, coinages, corpus-specific spellings) still need a
pronunciation. ``espeak-ng -x`` prints its rule-based pronunciation as phoneme mnemonics
(Kirshenbaum-style ASCII); with ``--sep=_`` each phoneme is one ``_``-separated token, with
stress marks (``'`` primary, ``,`` secondary) attached in front. ``ESPEAK_TO_ARPABET``
maps each en-us mnemonic to one or more ARPAbet phones.

The mapping (en-us voice; left espeak-ng, right ARPAbet):

==========================  ==========================================================
consonants                  ``p b t d k g f v s z h m n l r w`` as themselves (``h``->HH),
                            ``T``->TH, ``D``->DH, ``S``->SH, ``Z``->ZH, ``N``->NG,
                            ``j``->Y, ``tS``->CH, ``dZ``->JH; allophones fold onto the
                            phoneme: flap ``t#``/``t2`` and glottal ``?``->T, syllabic
                            ``n-``->N, Scots ``x``->K
simple vowels               ``I I2 I#``->IH, ``i i: i::``->IY, ``E``->EH, ``a``->AE,
                            ``aa``->AE (US "bath"), ``0 A: A``->AA, ``V @ a# @-``->AH,
                            ``O: O O2``->AO, ``U``->UH, ``u:``->UW, ``3 3:``->ER
diphthongs                  ``eI``->EY, ``aI``->AY, ``aU``->AW, ``oU``->OW, ``OI``->OY
r-coloured / syllabic       ``A@``->AA R, ``O@ o@``->AO R, ``i@3``->IH R, ``e@``->EH R,
                            ``U@``->UH R, ``aI@ aI3``->AY ER, ``r-``->ER, ``@L``->AH L,
                            ``i@``->IY AH (en-us uses it for "-ia"/"-ion", the rhotic
                            NEAR vowel is ``i@3``)
==========================  ==========================================================

``;`` (palatalisation) and empty tokens carry no phone and are skipped. espeak-ng writes
an ``r`` after r-coloured vowels before a vowel (``v'e@_r_i``); CMUdict has a single R
there (``V EH R IY``), so an R right after R or ER is dropped. An unknown mnemonic
raises ``G2PError`` naming the word, so a new espeak-ng release cannot silently corrupt
the lexicon. Its phone error rate against held-out CMUdict words is measured by
``bench/bench_g2p.py``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from nghf.utils.logging import get_logger

log = get_logger(__name__)

ESPEAK_TO_ARPABET: dict[str, tuple[str, ...]] = {
    # consonants
    "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "k": ("K",), "g": ("G",),
    "f": ("F",), "v": ("V",), "T": ("TH",), "D": ("DH",), "s": ("S",), "z": ("Z",),
    "S": ("SH",), "Z": ("ZH",), "h": ("HH",), "m": ("M",), "n": ("N",), "N": ("NG",),
    "l": ("L",), "r": ("R",), "w": ("W",), "j": ("Y",), "tS": ("CH",), "dZ": ("JH",),
    "t#": ("T",), "t2": ("T",), "?": ("T",), "n-": ("N",), "x": ("K",),
    # simple vowels
    "I": ("IH",), "I2": ("IH",), "I#": ("IH",), "i": ("IY",), "i:": ("IY",), "i::": ("IY",),
    "E": ("EH",), "a": ("AE",), "aa": ("AE",), "0": ("AA",), "A:": ("AA",), "A": ("AA",),
    "V": ("AH",), "@": ("AH",), "@2": ("AH",), "a#": ("AH",), "@-": ("AH",),
    "O:": ("AO",), "O": ("AO",), "O2": ("AO",), "U": ("UH",), "u:": ("UW",), "u": ("UW",),
    "3": ("ER",), "3:": ("ER",),
    # diphthongs
    "eI": ("EY",), "aI": ("AY",), "aU": ("AW",), "oU": ("OW",), "OI": ("OY",),
    # r-coloured and syllabic
    "A@": ("AA", "R"), "O@": ("AO", "R"), "o@": ("AO", "R"), "i@": ("IY", "AH"),
    "i@3": ("IH", "R"), "e@": ("EH", "R"), "U@": ("UH", "R"), "aI@": ("AY", "ER"),
    "aI3": ("AY", "ER"), "r-": ("ER",), "@L": ("AH", "L"),
}

#: Tokens that carry no phone (stress and length marks are stripped before lookup).
_SKIP = frozenset({"", ";", "-", "|", "||"})
_MARKS = re.compile(r"[',%=]")
_SPELLABLE = re.compile(r"[^A-Za-z0-9']")


class G2PError(RuntimeError):
    """espeak-ng is missing, failed, or printed a phoneme the mapping does not know."""


@dataclass(frozen=True)
class EspeakG2P:
    """Rule-based G2P: ``EspeakG2P().pronounce(["NGHF", "ZORBLAX"])`` -> ARPAbet lists.

    ``voice`` is the espeak-ng voice (``en-us`` suits the ARPAbet set); ``executable`` the
    binary. One espeak-ng process handles all words (one per line), so thousands of
    words take about a second.
    """

    voice: str = "en-us"
    executable: str = "espeak-ng"

    def pronounce(self, words: Sequence[str]) -> dict[str, list[str]]:
        """ARPAbet pronunciation of each word; a word with no letters or digits gets an empty list."""
        result: dict[str, list[str]] = {}
        todo = []
        for word in dict.fromkeys(words):
            clean = _SPELLABLE.sub(" ", word).strip().lower()
            if not clean.strip("' "):
                result[word] = []
            else:
                todo.append((word, clean))
        if not todo:
            return result
        lines = self._run([clean for _, clean in todo])
        if len(lines) != len(todo):  # espeak-ng split or merged a line: go word by word
            lines = [" ".join(self._run([clean])) for _, clean in todo]
        for (word, _), line in zip(todo, lines, strict=True):
            result[word] = mnemonics_to_arpabet(line, word)
        return result

    def _run(self, texts: Sequence[str]) -> list[str]:
        exe = shutil.which(self.executable)
        if exe is None:
            raise G2PError(f"{self.executable} not found on PATH (install the espeak-ng package)")
        proc = subprocess.run(
            [exe, "-q", "-x", "--sep=_", "-v", self.voice],
            input="\n".join(texts) + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise G2PError(f"{self.executable} failed (code {proc.returncode}): {proc.stderr.strip()}")
        return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def mnemonics_to_arpabet(line: str, word: str = "?") -> list[str]:
    """Convert one line of ``espeak-ng -x --sep=_`` output into ARPAbet phones."""
    phones: list[str] = []
    for chunk in line.split():
        for token in chunk.split("_"):
            token = _MARKS.sub("", token)
            if token in _SKIP:
                continue
            mapped = ESPEAK_TO_ARPABET.get(token)
            if mapped is None:
                raise G2PError(
                    f"espeak-ng phoneme {token!r} in the pronunciation of {word!r} ({line!r}) "
                    "has no ARPAbet mapping; add it to nghf.lang.g2p.ESPEAK_TO_ARPABET"
                )
            if mapped == ("R",) and phones and phones[-1] in ("R", "ER"):
                continue
            phones.extend(mapped)
    return phones
