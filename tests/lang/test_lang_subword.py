"""Subword lexicon: sentencepiece pieces pronounced by the G2P give a valid lang dir."""

from __future__ import annotations

from pathlib import Path

from nghf.lang.lexicon import write_dict_dir
from nghf.lang.phones import is_arpabet
from nghf.lang.prepare import prepare_lang
from nghf.lang.subword import (
    SubwordConfig,
    decode_pieces,
    encode_lines,
    subword_lexicon,
    train_subword_model,
)
from nghf.lang.validate import validate_lang

TEXT = [
    "THE CAT SAT ON THE MAT", "THE DOG SAT ON THE LOG", "A CAT AND A DOG", "CATS AND DOGS SAT",
    "THE WEATHER TODAY IS SUNNY", "SPORT NEWS AND WEATHER",
]


def test_subword_lexicon_on_a_small_text(tmp_path: Path) -> None:
    model = tmp_path / "sp.model"
    train_subword_model(TEXT * 2, model, SubwordConfig(vocab_size=40, model_type="bpe"))
    pieces = encode_lines(model, ["THE CATS SAT", "SUNNY WEATHER"])
    assert [decode_pieces(p) for p in pieces] == [["THE", "CATS", "SAT"], ["SUNNY", "WEATHER"]]
    entries = subword_lexicon(model)
    lexicon = {e.word: e.phones for e in entries}
    assert all(is_arpabet(p) for e in entries for p in e.phones)
    for line in pieces:  # every piece of the encoded text can be pronounced
        assert all(p in lexicon for p in line)
    # single letters use their in-word sound, not the letter name ("S" -> S, not EH S)
    if "S" in lexicon:
        assert lexicon["S"] == ("S",)
    write_dict_dir(entries, tmp_path / "dict")
    prepare_lang(tmp_path / "dict", "<unk>", tmp_path / "tmp", tmp_path / "lang")
    assert validate_lang(tmp_path / "lang") == []


def test_unigram_model_type(tmp_path: Path) -> None:
    model = tmp_path / "sp.model"
    train_subword_model(TEXT * 2, model, SubwordConfig(vocab_size=40, model_type="unigram"))
    assert decode_pieces(encode_lines(model, ["THE DOG"])[0]) == ["THE", "DOG"]
