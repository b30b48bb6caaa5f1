"""prepare_lang: Kaldi layout, position-dependent phones, disambiguation, topology, L.fst paths."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from lang_helpers import TOY_LEXICON, write_toy_dict

from nghf._kaldi import kaldi_hmm_gmm, kaldifst
from nghf.lang.disambig import add_lex_disambig
from nghf.lang.lexicon import LexiconError
from nghf.lang.lexicon_fst import enumerate_paths
from nghf.lang.prepare import LangConfig, prepare_lang
from nghf.lang.symbols import read_symbols
from nghf.lang.validate import validate_lang


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _positional(pron: tuple[str, ...]) -> tuple[str, ...]:
    if len(pron) == 1:
        return (pron[0] + "_S",)
    return (pron[0] + "_B", *(p + "_I" for p in pron[1:-1]), pron[-1] + "_E")


def test_lang_dir_is_kaldi_shaped_and_valid(toy_lang: Path) -> None:
    assert validate_lang(toy_lang) == []
    phones = read_symbols(toy_lang / "phones.txt")
    words = read_symbols(toy_lang / "words.txt")
    # phones.txt: <eps>, silence (bare + 4 positions each), 39 x 4 non-silence, then #0..
    assert [s for s, _ in phones.symbols[:7]] == ["<eps>", "SIL", "SIL_B", "SIL_E", "SIL_I", "SIL_S", "SPN"]
    assert len(_lines(toy_lang / "phones/silence.txt")) == 3 * 5
    assert len(_lines(toy_lang / "phones/nonsilence.txt")) == 39 * 4
    # words.txt: <eps>=0, sorted words (C order), then #0 <s> </s>
    syms = [s for s, _ in words.symbols]
    assert syms[0] == "<eps>" and syms[-3:] == ["#0", "<s>", "</s>"]
    assert syms[1:-3] == sorted(["!SIL", "<unk>", "<noise>", *TOY_LEXICON])
    assert _lines(toy_lang / "oov.txt") == ["<unk>"]
    assert _lines(toy_lang / "oov.int") == [str(words.id("<unk>"))]
    assert _lines(toy_lang / "phones/optional_silence.txt") == ["SIL"]
    assert _lines(toy_lang / "phones/silence.csl")[0] == ":".join(str(phones.id(p)) for p in _lines(toy_lang / "phones/silence.txt"))
    assert "shared split SIL SIL_B SIL_E SIL_I SIL_S" in _lines(toy_lang / "phones/roots.txt")
    assert "AA_B begin" in _lines(toy_lang / "phones/word_boundary.txt")
    assert "SIL nonword" in _lines(toy_lang / "phones/word_boundary.txt")
    align = _lines(toy_lang / "phones/align_lexicon.txt")
    assert "<eps> <eps> SIL" in align and "CAT CAT K_B AE_I T_E" in align and "A A EY_S" in align


def test_homophones_get_disambiguation_symbols(toy_lang: Path) -> None:
    # READ (R EH D) and RED (R EH D) are homophones: #1 and #2; one more for silence.
    assert _lines(toy_lang / "phones/disambig.txt") == ["#0", "#1", "#2", "#3"]
    lex = _lines(toy_lang.parent / "tmp" / "lexiconp_disambig.txt")
    assert "READ\t1\tR_B EH_I D_E #1" in lex
    assert "RED\t1\tR_B EH_I D_E #2" in lex
    assert "READ\t1\tR_B IY_I D_E" in lex


def test_add_lex_disambig_prefixes_and_homophones() -> None:
    prons = [("AH",), ("AH", "B"), ("AH", "B"), ("K", "AE", "T"), ("K", "AE")]
    out, top = add_lex_disambig(prons)
    # "AH" is a prefix of "AH B"; "AH B" is shared by two words; "K AE" is a prefix of "K AE T".
    assert out == [("AH", "#1"), ("AH", "B", "#1"), ("AH", "B", "#2"), ("K", "AE", "T"), ("K", "AE", "#1")]
    assert top == 2
    assert add_lex_disambig([("A",), ("B",)]) == ([("A",), ("B",)], 0)


def test_prefix_disambiguation_without_position_phones(tmp_path: Path) -> None:
    write_toy_dict(tmp_path / "dict", {"A": [("AH",)], "AB": [("AH", "B")], "ABS": [("AH", "B", "Z")]})
    prepare_lang(tmp_path / "dict", "<unk>", tmp_path / "tmp", tmp_path / "lang",
                 LangConfig(position_dependent_phones=False))
    assert validate_lang(tmp_path / "lang") == []
    lex = _lines(tmp_path / "tmp" / "lexiconp_disambig.txt")
    assert "A\t1\tAH #1" in lex and "AB\t1\tAH B #1" in lex and "ABS\t1\tAH B Z" in lex
    assert not (tmp_path / "lang" / "phones" / "word_boundary.txt").exists()


def _single_word_paths(lang: Path, fst_name: str) -> dict[tuple[str, tuple[str, ...]], float]:
    phones = read_symbols(lang / "phones.txt")
    words = read_symbols(lang / "words.txt")
    fst = kaldifst.StdVectorFst.read(str(lang / fst_name))
    out: dict[tuple[str, tuple[str, ...]], float] = {}
    for path in enumerate_paths(fst, max_arcs=7):
        if len(path.olabels) == 1:
            key = (words.symbol(path.olabels[0]), tuple(phones.symbol(i) for i in path.ilabels))
            out[key] = min(out.get(key, math.inf), path.cost)
    return out


def test_lexicon_fst_paths_spell_the_lexicon(toy_lang: Path) -> None:
    paths = _single_word_paths(toy_lang, "L.fst")
    no_sil = -math.log(0.5) * 2  # start -> loop without silence, word -> loop without silence
    for word, prons in TOY_LEXICON.items():
        for pron in prons:
            pos = _positional(pron)
            assert paths[(word, pos)] == pytest.approx(no_sil, abs=1e-5)
            # the same word followed by optional silence (3 arcs more at most)
            assert paths[(word, (*pos, "SIL"))] == pytest.approx(no_sil, abs=1e-5)
            assert paths[(word, ("SIL", *pos))] == pytest.approx(no_sil, abs=1e-5)
    # every single-word path without silence is a lexicon pronunciation (nothing extra)
    plain = {(w, p) for (w, p) in paths if "SIL" not in p}
    expected = {(w, _positional(p)) for w, prons in TOY_LEXICON.items() for p in prons}
    expected |= {("!SIL", ("SIL_S",)), ("<unk>", ("SPN_S",)), ("<noise>", ("NSN_S",))}
    assert plain == expected


def test_lexicon_disambig_fst_has_symbols_and_self_loops(toy_lang: Path) -> None:
    paths = _single_word_paths(toy_lang, "L_disambig.fst")
    assert ("READ", ("R_B", "EH_I", "D_E", "#1")) in paths
    assert ("RED", ("R_B", "EH_I", "D_E", "#2")) in paths
    assert ("CAT", ("SIL", "#3", "K_B", "AE_I", "T_E")) in paths  # silence disambiguation symbol
    phones = read_symbols(toy_lang / "phones.txt")
    words = read_symbols(toy_lang / "words.txt")
    fst = kaldifst.StdVectorFst.read(str(toy_lang / "L_disambig.fst"))
    loops = [a for s in range(fst.num_states) for a in kaldifst.ArcIterator(fst, s)
             if a.nextstate == s and a.ilabel == phones.id("#0")]
    assert loops and all(a.olabel == words.id("#0") for a in loops)
    assert fst.is_olabel_sorted


def test_no_silence_lexicon_fst(tmp_path: Path) -> None:
    write_toy_dict(tmp_path / "dict")
    prepare_lang(tmp_path / "dict", "<unk>", tmp_path / "tmp", tmp_path / "lang", LangConfig(sil_prob=0.0))
    assert validate_lang(tmp_path / "lang") == []
    paths = _single_word_paths(tmp_path / "lang", "L.fst")
    assert paths[("CAT", ("K_B", "AE_I", "T_E"))] == pytest.approx(0.0)
    assert not any("SIL" in p for _, p in paths)


def test_topology_is_read_by_kaldi_with_configurable_states(tmp_path: Path, toy_lang: Path) -> None:
    topo = kaldi_hmm_gmm.HmmTopology()
    topo.read((toy_lang / "topo").read_text())
    topo.check()
    phones = read_symbols(toy_lang / "phones.txt")
    assert topo.num_pdf_classes(phones.id("AA_B")) == 3
    assert topo.num_pdf_classes(phones.id("SIL")) == 5
    write_toy_dict(tmp_path / "dict")
    prepare_lang(tmp_path / "dict", "<unk>", tmp_path / "tmp", tmp_path / "lang",
                 LangConfig(num_nonsil_states=1, num_sil_states=3))
    topo = kaldi_hmm_gmm.HmmTopology()
    topo.read((tmp_path / "lang" / "topo").read_text())
    assert topo.num_pdf_classes(phones.id("AA_B")) == 1
    assert topo.num_pdf_classes(phones.id("SPN_S")) == 3


def test_bad_dictionary_is_reported_with_file_and_line(tmp_path: Path) -> None:
    write_toy_dict(tmp_path / "dict")
    lex = tmp_path / "dict" / "lexicon.txt"
    lex.write_text(lex.read_text() + "DOG D OG G\n")
    with pytest.raises(LexiconError, match=r"lexicon.txt:\d+: word DOG: phone\(s\) OG not in the phone set"):
        prepare_lang(tmp_path / "dict", "<unk>", tmp_path / "tmp", tmp_path / "lang")
    write_toy_dict(tmp_path / "dict")
    with pytest.raises(LexiconError, match="OOV word '<oov>' is not in the lexicon"):
        prepare_lang(tmp_path / "dict", "<oov>", tmp_path / "tmp", tmp_path / "lang")
    assert not (tmp_path / "lang").exists()
