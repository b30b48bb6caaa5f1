"""The phone inventory of nghf's English recipes: ARPAbet's 39 phones plus silence classes.

CMUdict writes vowels with lexical stress digits (``AH0``, ``IY1``); nghf strips them, as
most hybrid-HMM recipes on small corpora do, which leaves the 39 base phones below. The
silence classes are ``SIL`` (optional silence between words), ``SPN`` (spoken noise: the
pronunciation of ``<unk>``) and ``NSN`` (non-speech noise and music, common in broadcast
audio).
"""

from __future__ import annotations

import re

#: ARPAbet as used by CMUdict, without stress: 15 vowels and 24 consonants.
ARPABET_VOWELS: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW",
)
ARPABET_CONSONANTS: tuple[str, ...] = (
    "B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH",
    "T", "TH", "V", "W", "Y", "Z", "ZH",
)
ARPABET: tuple[str, ...] = tuple(sorted(ARPABET_VOWELS + ARPABET_CONSONANTS))

SIL = "SIL"
SPN = "SPN"
NSN = "NSN"
SILENCE_PHONES: tuple[str, ...] = (SIL, SPN, NSN)

#: Word-position suffixes of Kaldi's position-dependent phones: begin, end, internal, singleton.
POSITION_SUFFIXES: tuple[str, ...] = ("_B", "_E", "_I", "_S")

_STRESS = re.compile(r"[012]$")


def strip_stress(phone: str) -> str:
    """``AH0`` -> ``AH``: drop CMUdict's trailing stress digit (other phones unchanged)."""
    return _STRESS.sub("", phone.upper())


def is_arpabet(phone: str) -> bool:
    """Whether ``phone`` is one of the 39 stress-free ARPAbet phones."""
    return phone in _ARPABET_SET


def position_variants(phone: str, silence: bool) -> list[str]:
    """Kaldi's word-position variants: ``p_B p_E p_I p_S``, plus bare ``p`` first for silence."""
    variants = [phone + suffix for suffix in POSITION_SUFFIXES]
    return [phone, *variants] if silence else variants


def base_phone(phone: str) -> str:
    """``AH_B`` -> ``AH``: remove a word-position suffix if there is one."""
    for suffix in POSITION_SUFFIXES:
        if phone.endswith(suffix):
            return phone[: -len(suffix)]
    return phone


_ARPABET_SET = frozenset(ARPABET)
