"""Sentences for the embedded corpus: read free text shipped by Debian packages, normalise it.

Sources (both installed by ``tools/install.sh``): the fortune databases (``fortunes``,
``fortunes-min``: quotations, jokes, literature) and the example sentences of WordNet
(``wordnet-base``). A transcript is upper-case words with apostrophes only: numbers are
spelt out, a few abbreviations expanded, punctuation removed. Sentences that cannot be
normalised safely (acronyms, spelt letters, code, non-ASCII letters, odd number formats)
are dropped rather than guessed at, so that what the synthesiser says is what the
transcript says. The pool is deduplicated and sorted, so it is the same on every run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nghf.corpus.config import TextConfig
from nghf.corpus.numbers import spell_number_token
from nghf.utils.logging import get_logger

log = get_logger(__name__)

_ABBREVIATIONS = {
    "mr.": "mister", "mrs.": "missus", "dr.": "doctor", "st.": "saint", "prof.": "professor",
    "vs.": "versus", "etc.": "et cetera", "jr.": "junior", "sr.": "senior", "mt.": "mount",
    "e.g.": "for example", "i.e.": "that is", "&": " and ",
}
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u201c": '"', "\u201d": '"',
                         "\u2014": " ", "\u2013": " "})
_REJECT_CHARS = re.compile(r"[@#<>=+*_|\\~^\[\]{}$%/]|https?:|www\.")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')]*\s+(?=[\"'(]*[A-Z])")
_NUMBER = re.compile(r"^\d[\d,]*(?:st|nd|rd|th)?$", re.IGNORECASE)
_WORD = re.compile(r"^[A-Z]+(?:'[A-Z]+)*$")
_ALLOWED_SINGLE = {"A", "I", "O"}
_ALPHA_TOKEN = re.compile(r"'*[A-Za-z][A-Za-z']*")
_TOKEN_SPLIT = re.compile(r"[\s\-]+")
_DIGIT = re.compile(r"\d")
_NON_WORD = re.compile(r"[^A-Za-z']")
_MAX_WORD_LEN = 18


@dataclass(frozen=True)
class Sentence:
    """One normalised sentence and where it came from (``source`` is e.g. ``fortune:wisdom``)."""

    text: str
    source: str


def normalise(raw: str, min_words: int = 1, max_words: int = 1000) -> str | None:
    """Upper-case words with apostrophes only, or None if the sentence cannot be used."""
    if len(raw) > 40 * max_words:
        return None
    text = raw.translate(_QUOTES).strip()
    if not text or not text.isascii() or _REJECT_CHARS.search(text):
        return None
    lowered_tokens = []
    for token in text.split():
        key = token.lower()
        lowered_tokens.append(_ABBREVIATIONS.get(key, token))
    text = " ".join(lowered_tokens)
    text = re.sub(r"(?<=\w)-(?=\w)", " ", text)  # well-known -> well known
    words: list[str] = []
    alpha_tokens = _ALPHA_TOKEN.findall(text)
    shouting = bool(alpha_tokens) and sum(t.isupper() for t in alpha_tokens) > len(alpha_tokens) / 2
    for token in _TOKEN_SPLIT.split(text):
        stripped = token.strip(".,;:!?\"()'")
        if not stripped:
            continue
        if _DIGIT.search(stripped):
            if not _NUMBER.match(stripped):
                return None
            spelt = spell_number_token(stripped)
            if spelt is None:
                return None
            words.extend(spelt)
            continue
        if _NON_WORD.search(stripped):
            return None  # e.g. "a.m." or "e-mail" leftovers
        if not shouting and len(stripped) > 1 and stripped.isupper():
            return None  # an acronym: engines spell it, the lexicon may not
        word = stripped.upper()
        if not _WORD.match(word) or len(word) > _MAX_WORD_LEN:
            return None
        if len(word) == 1 and word not in _ALLOWED_SINGLE:
            return None  # spelt letters ("Q:", "x")
        words.append(word)
    if not min_words <= len(words) <= max_words:
        return None
    return " ".join(words)


def split_sentences(paragraph: str) -> list[str]:
    """Split running text into sentences at ``.!?`` followed by a capital letter."""
    flat = " ".join(paragraph.split())
    return [s for s in _SENTENCE_END.split(flat) if s.strip()]


def read_fortune_file(path: Path) -> Iterator[str]:
    """Raw sentences of one fortune database (entries separated by ``%`` lines).

    Attribution lines (``-- Author``) are skipped; each entry is split into sentences.
    """
    entry: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as err:
        raise OSError(f"{path}: cannot read fortune file: {err.strerror}") from None
    for line in [*lines, "%"]:
        if line.strip() == "%":
            if entry:
                yield from split_sentences(" ".join(entry))
            entry = []
            continue
        if line.strip().startswith("--") or line.strip().startswith("\u2014"):
            if entry:
                yield from split_sentences(" ".join(entry))
            entry = []
            continue
        entry.append(line)


def fortune_sentences(directory: Path, exclude: Iterable[str] = ()) -> Iterator[tuple[str, str]]:
    """(source, raw sentence) for every database directly in ``directory`` (not ``off/``)."""
    excluded = set(exclude)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: fortune directory not found (install 'fortunes')")
    for path in sorted(directory.iterdir()):
        if path.is_file() and "." not in path.name and path.name not in excluded:
            for sentence in read_fortune_file(path):
                yield f"fortune:{path.name}", sentence


def wordnet_sentences(directory: Path) -> Iterator[tuple[str, str]]:
    """(source, raw sentence) for the quoted example sentences in WordNet's ``data.*`` glosses."""
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: WordNet directory not found (install 'wordnet-base')")
    for pos in ("noun", "verb", "adj", "adv"):
        path = directory / f"data.{pos}"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: WordNet data file missing")
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("  ") or "|" not in line:
                    continue  # licence header
                gloss = line.split("|", 1)[1]
                for example in re.findall(r'"([^"]+)"', gloss):
                    example = example.strip()
                    if example and example[0].isalpha():
                        yield f"wordnet:{pos}", example[0].upper() + example[1:]


def sentence_pool(config: TextConfig) -> list[Sentence]:
    """All usable sentences, normalised, deduplicated (first source in sorted order wins), sorted."""
    seen: dict[str, str] = {}
    raw_count = 0
    sources = [
        fortune_sentences(Path(config.fortune_dir), config.fortune_exclude),
        wordnet_sentences(Path(config.wordnet_dir)),
    ]
    for stream in sources:
        for source, raw in stream:
            raw_count += 1
            text = normalise(raw, config.min_words, config.max_words)
            if text is not None and text not in seen:
                seen[text] = source
    pool = [Sentence(text, seen[text]) for text in sorted(seen)]
    log.info("text: %d usable sentences from %d raw ones", len(pool), raw_count)
    if not pool:
        raise ValueError(f"no usable sentences in {config.fortune_dir} or {config.wordnet_dir}")
    return pool
