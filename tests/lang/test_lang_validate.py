"""validate_lang catches broken lang directories with one clear message per problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nghf.bin.validate_lang import main as validate_main
from nghf.lang.validate import validate_lang


@pytest.fixture
def lang_copy(toy_lang: Path, tmp_path: Path) -> Path:
    out = tmp_path / "lang"
    shutil.copytree(toy_lang, out)
    return out


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_valid_lang_passes_and_cli_says_so(toy_lang: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_lang(toy_lang) == []
    assert validate_main([str(toy_lang)]) == 0
    assert "is a valid lang directory" in capsys.readouterr().out


def test_lexicon_phone_missing_from_phone_set(lang_copy: Path) -> None:
    _edit(lang_copy / "phones" / "align_lexicon.txt", "CAT CAT K_B AE_I T_E", "CAT CAT K_B AX_I T_E")
    problems = validate_lang(lang_copy)
    assert any("align_lexicon.txt" in p and "word CAT" in p and "AX_I" in p for p in problems), problems


def test_phone_removed_from_phones_txt(lang_copy: Path) -> None:
    lines = (lang_copy / "phones.txt").read_text().splitlines()
    (lang_copy / "phones.txt").write_text("".join(f"{ln}\n" for ln in lines if not ln.startswith("AE_I ")))
    problems = validate_lang(lang_copy)
    assert any("phones.txt: ids are not contiguous" in p for p in problems), problems
    assert any("nonsilence.txt: phone(s) not in phones.txt: AE_I" in p for p in problems), problems


def test_non_contiguous_words_txt(lang_copy: Path) -> None:
    _edit(lang_copy / "words.txt", "CAT 5\n", "CAT 50\n")
    problems = validate_lang(lang_copy)
    assert any("words.txt: ids are not contiguous from 0 (missing [5, 13," in p for p in problems), problems


def test_duplicate_symbol_is_reported_with_line(lang_copy: Path) -> None:
    _edit(lang_copy / "words.txt", "CAT 5\n", "A 5\n")
    problems = validate_lang(lang_copy)
    assert any("words.txt:6: symbol 'A' repeated (first on line 5)" in p for p in problems), problems


def test_missing_file(lang_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (lang_copy / "phones" / "disambig.int").unlink()
    (lang_copy / "L.fst").unlink()
    problems = validate_lang(lang_copy)
    assert f"{lang_copy / 'phones/disambig.int'}: missing" in problems
    assert f"{lang_copy / 'L.fst'}: missing" in problems
    assert validate_main([str(lang_copy)]) == 1
    assert "2 problem(s)" in capsys.readouterr().out


def test_disambig_symbol_missing_and_int_mismatch(lang_copy: Path) -> None:
    _edit(lang_copy / "phones" / "disambig.txt", "#2\n", "")
    problems = validate_lang(lang_copy)
    assert any("disambig.txt: expected #0..#2 in order" in p for p in problems), problems
    assert any("disambig.int: does not match" in p for p in problems), problems


def test_topology_missing_a_phone(lang_copy: Path) -> None:
    text = (lang_copy / "topo").read_text()
    ids = text.split("<ForPhones>\n")[1].split("\n")[0]
    _edit(lang_copy / "topo", ids, ids.rsplit(" ", 1)[0])
    problems = validate_lang(lang_copy)
    assert any("topo: covers the wrong phones (missing ['ZH_S']" in p for p in problems), problems


def test_unreadable_fst_and_wrong_labels(lang_copy: Path, toy_lang: Path) -> None:
    (lang_copy / "L.fst").write_bytes(b"not an fst")
    shutil.copy(toy_lang / "L_disambig.fst", lang_copy / "L_disambig.fst")
    problems = validate_lang(lang_copy)
    assert any("L.fst: cannot read" in p for p in problems), problems
    # an L_disambig where the plain L is expected has disambiguation symbols on its input
    shutil.copy(toy_lang / "L_disambig.fst", lang_copy / "L.fst")
    problems = validate_lang(lang_copy)
    assert any("L.fst: input label(s) that are not allowed phones" in p for p in problems), problems


def test_missing_directory() -> None:
    assert validate_lang("/nonexistent/lang") == ["/nonexistent/lang: lang directory does not exist"]
