"""Modified Kneser-Ney: hand-computed probabilities, normalisation, ARPA, perplexity, OOVs.

Toy text (3 sentences): "a b", "a b a", "b". Padded: <s> a b </s> | <s> a b a </s> | <s> b </s>.
Vocabulary = training words + <unk> + </s>: {a, b, </s>, <unk>}, |V| = 4.

Unigram continuation counts N1+(. w): a {<s>, b} = 2, b {a, <s>} = 2, </s> {b, a} = 2; total 6.
All count-of-counts estimates are undefined on this text (some n_k = 0), so the fallback
discounts D1 = 0.5, D2 = 1.0, D3+ = 1.5 apply at every order.
  gamma() = 3 * D2 / 6 = 1/2;  p(a) = p(b) = p(</s>) = (2 - 1)/6 + (1/2)(1/4) = 7/24;
  p(<unk>) = (1/2)(1/4) = 3/24.
Bigram model (raw bigram counts <s> a:2, <s> b:1, a b:2, a </s>:1, b </s>:2, b a:1):
  gamma(<s>) = (D2 + D1)/3 = 1/2; p(a|<s>) = (2 - 1)/3 + (1/2)(7/24) = 23/48;
  p(b|<s>) = (1 - 0.5)/3 + 7/48 = 15/48; p(</s>|<s>) = 7/48 (back-off); p(<unk>|<s>) = 3/48.
  p(b|a) = 23/48, p(</s>|a) = 15/48, p(</s>|b) = 23/48, p(a|b) = 15/48.
Trigram model: raw trigrams <s> a b:2, a b </s>:1, a b a:1, b a </s>:1, <s> b </s>:1.
  Bigram level now has continuation counts, except <s>-initial bigrams (raw):
  <s> a:2, <s> b:1, a b:1, a </s>:1 ({b}), b </s>:2 ({a, <s>}), b a:1.
  p(b|a) = p(</s>|a) = 0.5/2 + (1/2)(7/24) = 19/48;  p(</s>|b) = 23/48, p(a|b) = 15/48.
  p(b|<s> a) = (2 - 1)/2 + (1/2)(19/48) = 67/96;   p(</s>|a b) = 0.5/2 + (1/2)(23/48) = 47/96;
  p(a|a b) = 1/4 + (1/2)(15/48) = 39/96;            p(</s>|<s> b) = 1/2 + (1/2)(23/48) = 71/96;
  p(b|a b) (back-off) = (1/2) gamma(b) p(b) = (1/2)(1/2)(7/24) = 7/96.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from nghf.bin.train_lm import main as train_lm_main
from nghf.lang.arpa import ArpaError, evaluate, history_sums, read_arpa, write_arpa
from nghf.lang.lm import (
    LmConfig,
    discounts_from_count_of_counts,
    train_kneser_ney,
    vocab_from_words_txt,
)

TOY = [["a", "b"], ["a", "b", "a"], ["b"]]


def _p(lm, word: str, *history: str) -> float:
    return 10.0 ** lm.log10_prob(word, history)


def test_unigram_and_bigram_match_hand_computation() -> None:
    lm, stats = train_kneser_ney(TOY, LmConfig(order=2))
    assert stats.discounts == ((0.5, 1.0, 1.5), (0.5, 1.0, 1.5))
    assert _p(lm, "a") == pytest.approx(7 / 24)
    assert _p(lm, "</s>") == pytest.approx(7 / 24)
    assert _p(lm, "<unk>") == pytest.approx(3 / 24)
    assert _p(lm, "a", "<s>") == pytest.approx(23 / 48)
    assert _p(lm, "b", "<s>") == pytest.approx(15 / 48)
    assert _p(lm, "</s>", "<s>") == pytest.approx(7 / 48)
    assert _p(lm, "<unk>", "<s>") == pytest.approx(3 / 48)
    assert _p(lm, "b", "a") == pytest.approx(23 / 48)
    assert _p(lm, "</s>", "a") == pytest.approx(15 / 48)
    assert _p(lm, "a", "b") == pytest.approx(15 / 48)
    assert lm.backoffs[0][("<s>",)] == pytest.approx(math.log10(0.5))


def test_trigram_matches_hand_computation() -> None:
    lm, _ = train_kneser_ney(TOY, LmConfig(order=3))
    assert _p(lm, "b", "a") == pytest.approx(19 / 48)
    assert _p(lm, "</s>", "b") == pytest.approx(23 / 48)
    assert _p(lm, "b", "<s>", "a") == pytest.approx(67 / 96)
    assert _p(lm, "</s>", "a", "b") == pytest.approx(47 / 96)
    assert _p(lm, "a", "a", "b") == pytest.approx(39 / 96)
    assert _p(lm, "</s>", "<s>", "b") == pytest.approx(71 / 96)
    assert _p(lm, "b", "a", "b") == pytest.approx(7 / 96)
    assert ("a", "b", "b") not in lm.logprobs[2]


def test_discounts_from_count_of_counts() -> None:
    # n1=10, n2=5, n3=3, n4=2: Y = 10/20; D1 = 1 - 2(.5)(5/10) = .5; D2 = 2 - 3(.5)(3/5) = 1.1;
    # D3+ = 3 - 4(.5)(2/3) = 5/3
    assert discounts_from_count_of_counts(10, 5, 3, 2) == pytest.approx((0.5, 1.1, 5 / 3))
    assert discounts_from_count_of_counts(3, 0, 1, 1) is None
    assert discounts_from_count_of_counts(5, 1, 1, 0) is None  # D2 < 0


def _random_text(n: int, seed: int) -> list[list[str]]:
    import random

    rng = random.Random(seed)
    words = [f"w{i}" for i in range(12)]
    return [[rng.choice(words[: rng.randint(1, 12)]) for _ in range(rng.randint(1, 6))] for _ in range(n)]


@pytest.mark.parametrize("order", [1, 2, 3])
def test_arpa_sums_to_one_per_history(order: int, tmp_path: Path) -> None:
    vocab = {f"w{i}" for i in range(10)} | {"extra", "<unk>"}  # w10, w11 are OOV; "extra" unseen
    lm, stats = train_kneser_ney(_random_text(200, order), LmConfig(order=order), vocab)
    assert stats.oov_tokens > 0
    write_arpa(lm, tmp_path / "lm.arpa.gz")
    back = read_arpa(tmp_path / "lm.arpa.gz")
    assert back.order == order and set(back.vocab) == vocab | {"</s>"}
    sums = history_sums(back)
    assert len(sums) > 1 or order == 1
    for history, total in sums.items():
        assert total == pytest.approx(1.0, abs=2e-6), history
    assert 10 ** back.log10_prob("extra", ()) > 0.0  # unseen vocabulary word keeps some mass


def test_perplexity_on_toy_text() -> None:
    lm, _ = train_kneser_ney(TOY, LmConfig(order=2))
    report = evaluate(lm, [["a", "b"]])
    # p(a|<s>) p(b|a) p(</s>|b) = (23/48)^3 over 3 tokens -> ppl 48/23
    assert report.perplexity == pytest.approx(48 / 23)
    assert (report.sentences, report.words, report.oovs) == (1, 2, 0)


def test_oov_words_map_to_unk_and_are_counted() -> None:
    lm, stats = train_kneser_ney([["a", "zz", "b"], ["zz", "yy"]], LmConfig(order=2), vocab={"a", "b", "<unk>"})
    assert (stats.oov_tokens, stats.oov_types, stats.words) == (3, 2, 5)
    assert ("<unk>", "<unk>") in lm.logprobs[1]
    report = evaluate(lm, [["a", "qq", "b"]])
    assert report.oovs == 1 and report.oov_rate == pytest.approx(1 / 3)
    expected = _p(lm, "a", "<s>") * _p(lm, "<unk>", "a") * _p(lm, "b", "<unk>") * _p(lm, "</s>", "b")
    assert report.log10_prob == pytest.approx(math.log10(expected))
    assert report.perplexity_no_oov != report.perplexity


def test_vocab_from_words_txt_drops_specials() -> None:
    vocab = vocab_from_words_txt(["<eps>", "!SIL", "<unk>", "A", "#0", "<s>", "</s>"], LmConfig())
    assert vocab == {"<unk>", "A"}


def test_bad_arpa_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.arpa"
    bad.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1.0\ta\n\\end\\\n")
    with pytest.raises(ArpaError, match="header says 2 1-grams, file has 1"):
        read_arpa(bad)


def test_train_lm_cli_trains_and_evaluates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "text").write_text("a b\na b a\nb\n")
    (tmp_path / "dev").write_text("u1 a b\nu2 a c\n")
    (tmp_path / "words.txt").write_text("<eps> 0\n<unk> 1\na 2\nb 3\n#0 4\n<s> 5\n</s> 6\n")
    rc = train_lm_main(["--order", "2", "--text", str(tmp_path / "text"), "--vocab", str(tmp_path / "words.txt"),
                        "--arpa", str(tmp_path / "lm.arpa"), "--eval", str(tmp_path / "dev"), "--eval-has-ids",
                        "--report", str(tmp_path / "report.json")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "2 sentences, 4 words, 1 OOVs (25.00%)" in out
    lm = read_arpa(tmp_path / "lm.arpa")
    assert _p(lm, "a", "<s>") == pytest.approx(23 / 48)
    assert train_lm_main(["--text", str(tmp_path / "missing"), "--arpa", str(tmp_path / "x.arpa")]) == 1
