"""Disambiguation symbols for a lexicon, as Kaldi's ``utils/add_lex_disambig.pl`` adds them.

L o G can be determinised only if no phone sequence is ambiguous: a pronunciation shared
by several words (homophones) or one that is a proper prefix of another word's
pronunciation. Such pronunciations get ``#1``, ``#2``, ... appended: the k-th word with a
given ambiguous pronunciation gets ``#k``. ``#0`` is kept for the LM's back-off arcs and
one more symbol (returned count + 1) for silence in ``L_disambig.fst``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

Pron = tuple[str, ...]


def add_lex_disambig(prons: Sequence[Pron], first_allowed: int = 1) -> tuple[list[Pron], int]:
    """Return the pronunciations with disambiguation symbols and the highest index used.

    ``prons`` is the pronunciation of each lexicon entry in lexicon order. The highest index
    is ``first_allowed - 1`` when nothing needed disambiguation (Kaldi's convention, so that
    the caller's ``#0 .. #(max+1)`` always includes ``#0`` and the silence symbol).
    """
    count = Counter(prons)
    prefixes: set[Pron] = set()
    for pron in prons:
        for k in range(1, len(pron)):
            prefixes.add(pron[:k])
    next_index: dict[Pron, int] = {}
    highest = first_allowed - 1
    out = []
    for pron in prons:
        if pron in prefixes or count[pron] > 1 or not pron:
            index = next_index.get(pron, first_allowed)
            next_index[pron] = index + 1
            highest = max(highest, index)
            out.append((*pron, f"#{index}"))
        else:
            out.append(pron)
    return out, highest
