"""Sentence normalisation and the text sources."""

from __future__ import annotations

import re

import pytest

from nghf.corpus.config import TextConfig
from nghf.corpus.text import (
    fortune_sentences,
    normalise,
    sentence_pool,
    split_sentences,
    wordnet_sentences,
)

WORDS = re.compile(r"^[A-Z]+(?:'[A-Z]+)*(?: [A-Z]+(?:'[A-Z]+)*)*$")


@pytest.mark.parametrize(("raw", "expected"), [
    ("Don't panic, it's only a test!", "DON'T PANIC IT'S ONLY A TEST"),
    ("Mr. Smith bought 3 well-known books in 1984.", "MISTER SMITH BOUGHT THREE WELL KNOWN BOOKS IN NINETEEN EIGHTY FOUR"),
    ("\u201cQuoted\u201d text \u2014 with dashes", "QUOTED TEXT WITH DASHES"),
    ("Salt & pepper are on the 2nd shelf", "SALT AND PEPPER ARE ON THE SECOND SHELF"),
    ("ALL CAPS SENTENCE IS SHOUTED", "ALL CAPS SENTENCE IS SHOUTED"),
    ("'Tis the season, said the ghost", "TIS THE SEASON SAID THE GHOST"),
])
def test_normalise(raw, expected):
    assert normalise(raw) == expected


@pytest.mark.parametrize("raw", [
    "The NASA budget grew last year",          # acronym
    "Q: what is it",                            # spelt letter
    "Visit http://example.org today",           # URL
    "It costs $5 or 10% more",                  # currency, percent
    "The caf\u00e9 was open late",              # non-ASCII letter
    "Pi is roughly 3.14 they say",              # decimal
    "x = y + 1 in code",                        # code
])
def test_normalise_drops_what_it_cannot_read_safely(raw):
    assert normalise(raw) is None


def test_word_count_limits():
    assert normalise("one two three", min_words=4) is None
    assert normalise("one two three four", min_words=4, max_words=4) == "ONE TWO THREE FOUR"
    assert normalise("a b", min_words=1) is None  # single letters other than A/I/O


def test_split_sentences():
    assert split_sentences("It rained.  Then it\nstopped! Did it? yes.") == [
        "It rained.", "Then it stopped!", "Did it? yes."]


def test_fortune_reader(tmp_path):
    (tmp_path / "wisdom").write_text(
        "First saying here. Second one follows.\n%\nA poem line\ncontinues here.\n"
        "\t\t-- Somebody Famous\n%\n", encoding="utf-8")
    (tmp_path / "wisdom.dat").write_bytes(b"\x00\x01")  # index files are skipped
    (tmp_path / "skipme").write_text("Excluded text here.\n%\n", encoding="utf-8")
    got = list(fortune_sentences(tmp_path, exclude=["skipme"]))
    assert got == [("fortune:wisdom", "First saying here."), ("fortune:wisdom", "Second one follows."),
                   ("fortune:wisdom", "A poem line continues here.")]


def test_wordnet_reader(tmp_path):
    (tmp_path / "data.noun").write_text(
        "  1 This software and database is licensed\n"
        '00001740 03 n 01 entity 0 000 | that which is perceived; "the team is a unit"; '
        '"dogs bark at night"\n', encoding="utf-8")
    for pos in ("verb", "adj", "adv"):
        (tmp_path / f"data.{pos}").write_text("", encoding="utf-8")
    assert list(wordnet_sentences(tmp_path)) == [
        ("wordnet:noun", "The team is a unit"), ("wordnet:noun", "Dogs bark at night")]


def test_missing_sources_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="fortune directory"):
        list(fortune_sentences(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="data.noun"):
        list(wordnet_sentences(tmp_path))


def test_installed_pool_is_clean_sorted_and_unique():
    pool = sentence_pool(TextConfig())
    texts = [s.text for s in pool]
    assert len(texts) > 20000
    assert texts == sorted(set(texts))
    for t in texts:
        assert WORDS.match(t), t
        assert 4 <= len(t.split()) <= 20
    sources = {s.source.split(":")[0] for s in pool}
    assert sources == {"fortune", "wordnet"}
