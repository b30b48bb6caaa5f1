"""format_lm: G.fst from an ARPA model, consistent with words.txt and with the ARPA scores."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from nghf._kaldi import kaldifst
from nghf.lang.arpa import ArpaError, read_arpa, write_arpa
from nghf.lang.grammar import format_lm
from nghf.lang.lexicon import read_word_list
from nghf.lang.lm import LmConfig, train_kneser_ney, vocab_from_words_txt
from nghf.lang.symbols import read_symbols
from nghf.lang.validate import validate_lang

TEXT = [["THE", "CAT", "SAT"], ["A", "CAT", "READ"], ["THE", "RED", "CAT", "SAT"], ["THE", "DOG"]]


@pytest.fixture(scope="module")
def lang_test(toy_lang: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("g")
    cfg = LmConfig(order=3)
    lm, _ = train_kneser_ney(TEXT, cfg, vocab_from_words_txt(read_word_list(toy_lang / "words.txt"), cfg))
    write_arpa(lm, root / "lm.arpa.gz")
    format_lm(toy_lang, root / "lm.arpa.gz", root / "lang_test")
    return root / "lang_test"


def _sentence_cost(g: kaldifst.StdVectorFst, word_ids: list[int], backoff_id: int) -> float:
    """Follow G for a word sequence, taking the #0 back-off arc only where no word arc exists."""
    state, cost = g.start, 0.0
    for w in word_ids:
        while True:
            arcs = {a.ilabel: a for a in kaldifst.ArcIterator(g, state)}
            if w in arcs:
                cost += arcs[w].weight.value
                state = arcs[w].nextstate
                break
            cost += arcs[backoff_id].weight.value
            state = arcs[backoff_id].nextstate
    while g.final(state).value == math.inf:  # back off until </s> is available
        arcs = {a.ilabel: a for a in kaldifst.ArcIterator(g, state)}
        cost += arcs[backoff_id].weight.value
        state = arcs[backoff_id].nextstate
    return cost + g.final(state).value


def test_g_fst_is_valid_and_uses_words_txt(lang_test: Path) -> None:
    assert validate_lang(lang_test) == []
    words = read_symbols(lang_test / "words.txt")
    g = kaldifst.StdVectorFst.read(str(lang_test / "G.fst"))
    labels = {a.ilabel for s in range(g.num_states) for a in kaldifst.ArcIterator(g, s)}
    assert words.id("#0") in labels
    assert {words.id("CAT"), words.id("<unk>")} <= labels
    assert words.id("<s>") not in labels and words.id("</s>") not in labels
    assert (lang_test / "L_disambig.fst").is_file() and (lang_test / ".done").is_file()


def test_g_fst_scores_equal_the_arpa_model(lang_test: Path) -> None:
    words = read_symbols(lang_test / "words.txt")
    lm = read_arpa(lang_test.parent / "lm.arpa.gz")
    g = kaldifst.StdVectorFst.read(str(lang_test / "G.fst"))
    for sentence in (["THE", "CAT", "SAT"], ["A", "RED", "CAT"], ["SAT"], ["<unk>", "THE"]):
        hist = ["<s>"]
        log10p = 0.0
        for w in [*sentence, "</s>"]:
            log10p += lm.log10_prob(w, hist)
            hist.append(w)
        cost = _sentence_cost(g, words.ids(sentence), words.id("#0"))
        assert cost == pytest.approx(-log10p * math.log(10), abs=1e-3), sentence


def test_arpa_word_outside_words_txt_is_an_error(toy_lang: Path, tmp_path: Path) -> None:
    lm, _ = train_kneser_ney([["THE", "ZEBRA"]], LmConfig(order=2))
    write_arpa(lm, tmp_path / "lm.arpa")
    with pytest.raises(ArpaError, match="1 word\\(s\\) not in .*words.txt: ZEBRA"):
        format_lm(toy_lang, tmp_path / "lm.arpa", tmp_path / "out")
    assert not (tmp_path / "out").exists()
