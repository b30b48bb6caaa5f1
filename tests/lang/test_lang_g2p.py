"""G2P fallback (espeak-ng -> ARPAbet) and CMUdict-based lexicons."""

from __future__ import annotations

from pathlib import Path

import kaldialign
import pytest

from nghf.bin.make_lexicon import main as make_lexicon_main
from nghf.lang.g2p import EspeakG2P, G2PError, mnemonics_to_arpabet
from nghf.lang.lexicon import build_lexicon, read_lexicon
from nghf.lang.phones import ARPABET, is_arpabet, strip_stress


def test_mnemonic_mapping() -> None:
    assert mnemonics_to_arpabet("r_'i:_d_I_N") == ["R", "IY", "D", "IH", "NG"]
    assert mnemonics_to_arpabet("h_@_l_'oU w_'3:_l_d") == ["HH", "AH", "L", "OW", "W", "ER", "L", "D"]
    # r-coloured vowel followed by espeak's linking r: one R, as CMUdict has it
    assert mnemonics_to_arpabet("v_'e@_r_i") == ["V", "EH", "R", "IY"]
    assert mnemonics_to_arpabet("tS_'3:_tS") == ["CH", "ER", "CH"]
    with pytest.raises(G2PError, match="phoneme 'Q9' in the pronunciation of 'XYZ'"):
        mnemonics_to_arpabet("k_Q9", "XYZ")


def test_g2p_pronounces_known_words_sensibly() -> None:
    expected = {
        "HELLO": ["HH", "AH", "L", "OW"],
        "CAT": ["K", "AE", "T"],
        "SPEECH": ["S", "P", "IY", "CH"],
        "THINKING": ["TH", "IH", "NG", "K", "IH", "NG"],
        "JUDGE": ["JH", "AH", "JH"],
    }
    got = EspeakG2P().pronounce(list(expected))
    for word, phones in expected.items():
        assert kaldialign.edit_distance(phones, got[word])["total"] <= 1, (word, got[word])
    assert all(is_arpabet(p) for ps in got.values() for p in ps)


def test_g2p_handles_odd_spellings() -> None:
    got = EspeakG2P().pronounce(["ZORBLAX", "DON'T", "--", "R2D2"])
    assert got["--"] == []
    assert got["ZORBLAX"][:3] == ["Z", "AO", "R"]
    assert got["DON'T"] == ["D", "OW", "N", "T"]
    assert got["R2D2"]  # digits are read out


def test_missing_espeak_is_a_clear_error() -> None:
    with pytest.raises(G2PError, match="no-such-espeak not found on PATH"):
        EspeakG2P(executable="no-such-espeak").pronounce(["WORD"])


def test_build_lexicon_uses_cmudict_then_g2p() -> None:
    entries, stats = build_lexicon(["READ", "the", "ZORBLAXIFY", "--"])
    prons = {}
    for e in entries:
        prons.setdefault(e.word, []).append(e.phones)
    assert sorted(prons["READ"]) == [("R", "EH", "D"), ("R", "IY", "D")]  # both variants, no stress
    assert ("DH", "AH") in prons["the"]
    assert len(prons["the"]) == len(set(prons["the"]))  # DH AH0 / DH AH1 collapse to one
    assert stats.g2p_words == ("ZORBLAXIFY",) and stats.unpronounceable == ("--",)
    assert (stats.n_words, stats.n_cmudict, stats.n_g2p) == (3, 2, 1)
    assert all(p in ARPABET for e in entries for p in e.phones)
    assert strip_stress("AH0") == "AH" and strip_stress("NG") == "NG"


def test_make_lexicon_cli_writes_dict_dir(tmp_path: Path) -> None:
    (tmp_path / "text").write_text("u1 THE CAT SAT\nu2 ZORBLAX --\n")
    assert make_lexicon_main(["--kaldi-text", str(tmp_path / "text"), str(tmp_path / "dict")]) == 0
    d = tmp_path / "dict"
    words = {e.word for e in read_lexicon(d / "lexicon.txt")}
    assert {"THE", "CAT", "SAT", "ZORBLAX", "!SIL", "<unk>", "<noise>"} <= words
    assert "<unk> SPN" in (d / "lexicon.txt").read_text().splitlines()
    assert (d / "g2p_words.txt").read_text() == "ZORBLAX\n"
    assert (d / "unpronounceable.txt").read_text() == "--\n"
    assert (d / "silence_phones.txt").read_text().split() == ["SIL", "SPN", "NSN"]
    assert (d / "optional_silence.txt").read_text() == "SIL\n"
    assert len((d / "nonsilence_phones.txt").read_text().split()) == 39
    assert len((d / "extra_questions.txt").read_text().splitlines()) == 2
