"""Relative-entropy pruning and count cutoffs, checked against brute force and by hand.

* Stolcke's O(1) formula for D(hw) equals the KL divergence between the model and the model
  with hw removed and bow(h) renormalised by explicit summation over the vocabulary,
  summed over every history of the model (only h changes when a top-order n-gram goes);
  for a lower-order n-gram it equals the KL of history h (Stolcke's approximation ignores
  the longer histories that back off through h).
* Pruned models sum to one for every history (explicit summation), before and after ARPA.
* Count cutoffs on the TOY text of test_lang_lm (bigram, D = 0.5/1/1.5 fallback, unigram
  p(a) = p(b) = p(</s>) = 7/24), min_counts (1, 2): the singleton bigrams <s> b, a </s>,
  b a are cut and give their whole count to the back-off:
    gamma(<s>) = (D2 + 1)/3 = 2/3, p(a|<s>) = 1/3 + (2/3)(7/24) = 19/36, p(b|<s>) = (2/3)(7/24) = 7/36;
    gamma(a) = (D2 + 1)/3 = 2/3, p(b|a) = 19/36, p(</s>|a) = 7/36;
    gamma(b) = 2/3, p(</s>|b) = 19/36, p(a|b) = 7/36.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
from pathlib import Path

import pytest

from nghf._kaldi import kaldifst
from nghf.bin.train_lm import main as train_lm_main
from nghf.lang.arpa import BackoffLM, Ngram, evaluate, history_sums, read_arpa, write_arpa
from nghf.lang.grammar import format_lm
from nghf.lang.lexicon import read_word_list
from nghf.lang.lm import LmConfig, train_kneser_ney, vocab_from_words_txt
from nghf.lang.prune import context_log10_prob, prune_relative_entropy, relative_entropy_increases
from nghf.lang.symbols import read_symbols
from nghf.utils.config import ConfigError, load_config

TOY = [["a", "b"], ["a", "b", "a"], ["b"]]


def _random_text(n: int, seed: int, n_words: int = 7) -> list[list[str]]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(n_words)]
    # Skewed choices so that some n-grams are frequent and others rare.
    return [[words[min(int(rng.expovariate(0.6)), n_words - 1)] for _ in range(rng.randint(1, 7))]
            for _ in range(n)]


@pytest.fixture(scope="module")
def toy3() -> BackoffLM:
    lm, _ = train_kneser_ney(_random_text(150, 1), LmConfig(order=3))
    return lm


def _p(lm: BackoffLM, word: str, *history: str) -> float:
    return 10.0 ** lm.log10_prob(word, history)


def _assert_normalised(lm: BackoffLM) -> None:
    sums = history_sums(lm)
    for history, total in sums.items():
        assert total == pytest.approx(1.0, abs=1e-6), history


def _without(lm: BackoffLM, gram: Ngram) -> BackoffLM:
    """``lm`` with ``gram`` removed and bow(h) renormalised by summing over the vocabulary."""
    logprobs = tuple(dict(level) for level in lm.logprobs)
    backoffs = tuple(dict(level) for level in lm.backoffs)
    del logprobs[len(gram) - 1][gram]
    h = gram[:-1]
    listed = [w for w in lm.vocab if (*h, w) in logprobs[len(gram) - 1]]
    unlisted = [w for w in lm.vocab if (*h, w) not in logprobs[len(gram) - 1]]
    kept_mass = sum(_p(lm, w, *h) for w in listed)
    lower_mass = sum(_p(lm, w, *h[1:]) for w in unlisted)
    backoffs[len(h) - 1][h] = math.log10((1.0 - kept_mass) / lower_mass)
    return BackoffLM(lm.order, logprobs, backoffs, lm.bos, lm.eos, lm.unk)


def _kl(p_lm: BackoffLM, q_lm: BackoffLM, history: Ngram) -> float:
    """sum_v p(v|h) ln(p(v|h) / q(v|h)) over the whole vocabulary."""
    total = 0.0
    for w in p_lm.vocab:
        lp, lq = p_lm.log10_prob(w, history), q_lm.log10_prob(w, history)
        total += 10.0 ** lp * (lp - lq) * math.log(10.0)
    return total


def test_context_probability_follows_the_chain_rule(toy3: BackoffLM) -> None:
    # A leading <s> scores as the unigram </s> (SRILM): p(<s> w0) = p(</s>) p(w0|<s>).
    assert 10 ** context_log10_prob(toy3, ("<s>", "w0")) == pytest.approx(_p(toy3, "</s>") * _p(toy3, "w0", "<s>"))
    assert 10 ** context_log10_prob(toy3, ("w1", "w0")) == pytest.approx(_p(toy3, "w1") * _p(toy3, "w0", "w1"))
    assert context_log10_prob(toy3, ()) == 0.0


def test_fast_formula_equals_brute_force_kl_top_order(toy3: BackoffLM) -> None:
    deltas = relative_entropy_increases(toy3, 3)
    assert len(deltas) == len(toy3.logprobs[2])
    grams = sorted(deltas)[:: max(1, len(deltas) // 6)]
    histories = toy3.histories()
    weights = {h: 10.0 ** context_log10_prob(toy3, h) for h in histories}
    for gram in grams:
        pruned = _without(toy3, gram)
        _assert_normalised(pruned)
        # Over every history the model has: only gram's own history changes.
        brute = sum(weights[h] * _kl(toy3, pruned, h) for h in histories)
        assert deltas[gram] == pytest.approx(brute, rel=1e-6, abs=1e-13), gram
        assert deltas[gram] >= 0.0


def test_fast_formula_equals_brute_force_kl_lower_order(toy3: BackoffLM) -> None:
    bigram_lm, _ = train_kneser_ney(_random_text(150, 1), LmConfig(order=2))
    cases = [(bigram_lm, 2), (toy3, 2)]
    for lm, n in cases:
        deltas = relative_entropy_increases(lm, n)
        for gram in sorted(deltas)[:: max(1, len(deltas) // 5)]:
            h = gram[:-1]
            brute = 10.0 ** context_log10_prob(lm, h) * _kl(lm, _without(lm, gram), h)
            assert deltas[gram] == pytest.approx(brute, rel=1e-6, abs=1e-13), (lm.order, gram)


def test_threshold_selects_exactly_the_small_top_order_increases(toy3: BackoffLM) -> None:
    deltas = relative_entropy_increases(toy3, 3)
    values = sorted(math.expm1(d) for d in deltas.values())
    threshold = values[len(values) // 2]
    pruned, stats = prune_relative_entropy(toy3, threshold)
    expected = {g for g, d in deltas.items() if math.expm1(d) >= threshold}
    assert set(pruned.logprobs[2]) == expected
    assert stats.ngrams_before == tuple(len(x) for x in toy3.logprobs)
    assert stats.pruned[2] == len(deltas) - len(expected) > 0
    assert pruned.logprobs[0] == toy3.logprobs[0]  # unigrams never pruned


@pytest.mark.parametrize("quantile", [0.2, 0.5, 0.9])
def test_pruned_model_is_normalised(toy3: BackoffLM, quantile: float, tmp_path: Path) -> None:
    values = sorted(math.expm1(d) for d in relative_entropy_increases(toy3, 3).values())
    pruned, stats = prune_relative_entropy(toy3, values[int(quantile * len(values))])
    assert sum(stats.pruned) > 0
    _assert_normalised(pruned)
    # every history with a back-off weight still has listed successors, and vice versa
    for n in range(1, pruned.order):
        assert set(pruned.backoffs[n - 1]) == {g[:-1] for g in pruned.logprobs[n]}
    write_arpa(pruned, tmp_path / "p.arpa.gz")
    _assert_normalised(read_arpa(tmp_path / "p.arpa.gz"))
    assert toy3.logprobs[2] and len(toy3.logprobs[2]) > len(pruned.logprobs[2])  # input untouched


def test_threshold_zero_prunes_nothing(toy3: BackoffLM) -> None:
    pruned, stats = prune_relative_entropy(toy3, 0.0)
    assert pruned.logprobs == toy3.logprobs and pruned.backoffs == toy3.backoffs
    assert stats.pruned == (0, 0, 0)
    with pytest.raises(ValueError, match="finite number >= 0"):
        prune_relative_entropy(toy3, -1e-7)


def test_huge_threshold_leaves_only_unigrams(toy3: BackoffLM) -> None:
    pruned, stats = prune_relative_entropy(toy3, 1e9)
    assert pruned.order == 1 and pruned.logprobs[0] == toy3.logprobs[0]
    assert pruned.backoffs == ({},)
    assert stats.ngrams_after == (len(toy3.logprobs[0]),)
    assert stats.pruned == (0, len(toy3.logprobs[1]), len(toy3.logprobs[2]))
    _assert_normalised(pruned)
    assert _p(pruned, "w0", "w1", "w2") == pytest.approx(_p(toy3, "w0"))


def test_perplexity_grows_monotonically_with_the_threshold() -> None:
    text = _random_text(300, 7, n_words=9)
    lm, _ = train_kneser_ney(text, LmConfig(order=3))
    ppls, sizes = [], []
    for threshold in (0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 1.0):
        pruned, _ = prune_relative_entropy(lm, threshold)
        ppls.append(evaluate(pruned, text).perplexity)
        sizes.append(sum(len(level) for level in pruned.logprobs))
    assert all(a <= b + 1e-9 for a, b in zip(ppls, ppls[1:], strict=False)), ppls
    assert all(a >= b for a, b in zip(sizes, sizes[1:], strict=False)), sizes
    assert ppls[-1] > ppls[0] * 1.2 and sizes[-1] < sizes[0] / 5


def test_count_cutoffs_by_hand() -> None:
    full, full_stats = train_kneser_ney(TOY, LmConfig(order=2))
    lm, stats = train_kneser_ney(TOY, LmConfig(order=2, min_counts=(1, 2)))
    assert set(lm.logprobs[1]) == {("<s>", "a"), ("a", "b"), ("b", "</s>")}
    assert stats.discounts == full_stats.discounts  # discounts from all n-grams
    assert lm.logprobs[0] == full.logprobs[0]
    for word, hist, expected in [("a", "<s>", 19 / 36), ("b", "<s>", 7 / 36), ("b", "a", 19 / 36),
                                 ("</s>", "a", 7 / 36), ("</s>", "b", 19 / 36), ("a", "b", 7 / 36)]:
        assert _p(lm, word, hist) == pytest.approx(expected), (word, hist)
    assert lm.backoffs[0][("<s>",)] == pytest.approx(math.log10(2 / 3))
    _assert_normalised(lm)


def test_count_cutoffs_keep_lower_order_continuation_counts() -> None:
    # Cutting trigrams leaves the bigram level (continuation counts) as in the uncut model:
    # p(b|a) = 19/48 (test_lang_lm); every TOY trigram but "<s> a b" (count 2) is cut.
    lm, _ = train_kneser_ney(TOY, LmConfig(order=3, min_counts=(1, 1, 2)))
    assert set(lm.logprobs[2]) == {("<s>", "a", "b")}
    assert _p(lm, "b", "a") == pytest.approx(19 / 48)
    assert set(lm.backoffs[1]) == {("<s>", "a")}  # only histories with listed successors
    _assert_normalised(lm)
    # the last value repeats for higher orders; cutoffs must not decrease
    assert LmConfig(min_counts=(1, 2)).min_count(3) == 2 and LmConfig().min_count(2) == 1
    with pytest.raises(ValueError, match="must not decrease"):
        LmConfig(min_counts=(1, 3, 2))
    with pytest.raises(ValueError, match=">= 1"):
        LmConfig(min_counts=(0,))


def test_count_cutoffs_on_random_text_are_normalised() -> None:
    text = _random_text(200, 3)
    full, _ = train_kneser_ney(text, LmConfig(order=3))
    lm, _ = train_kneser_ney(text, LmConfig(order=3, min_counts=(2, 2, 3)))
    assert len(lm.logprobs[2]) < len(full.logprobs[2]) and len(lm.logprobs[1]) < len(full.logprobs[1])
    _assert_normalised(lm)


def test_config_reads_pruning_options(tmp_path: Path) -> None:
    cfg = load_config(LmConfig, Path(__file__).parents[2] / "conf" / "lm.yaml")
    assert cfg.min_counts == () and cfg.prune_threshold == 0.0
    (tmp_path / "lm.yaml").write_text("min_counts: [1, 1, 2]\nprune_threshold: 1.0e-7\n")
    cfg = load_config(LmConfig, tmp_path / "lm.yaml")
    assert cfg.min_counts == (1, 1, 2) and cfg.prune_threshold == 1e-7
    (tmp_path / "bad.yaml").write_text("prune_threshold: -1.0\n")
    with pytest.raises(ConfigError, match="prune_threshold"):
        load_config(LmConfig, tmp_path / "bad.yaml")


def _g_cost(g: kaldifst.StdVectorFst, word_ids: list[int], backoff_id: int) -> float:
    """Cost of a sentence in G, taking the #0 back-off arc only where no word arc exists."""
    state, cost = g.start, 0.0
    for w in word_ids:
        arcs = {a.ilabel: a for a in kaldifst.ArcIterator(g, state)}
        while w not in arcs:
            cost += arcs[backoff_id].weight.value
            state = arcs[backoff_id].nextstate
            arcs = {a.ilabel: a for a in kaldifst.ArcIterator(g, state)}
        cost += arcs[w].weight.value
        state = arcs[w].nextstate
    while g.final(state).value == math.inf:
        arc = next(a for a in kaldifst.ArcIterator(g, state) if a.ilabel == backoff_id)
        cost += arc.weight.value
        state = arc.nextstate
    return cost + g.final(state).value


def test_pruned_arpa_compiles_to_an_equivalent_g_fst(toy_lang: Path, tmp_path: Path) -> None:
    text = [["THE", "CAT", "SAT"], ["A", "CAT", "READ"], ["THE", "RED", "CAT", "SAT"], ["THE", "CAT", "READ"],
            ["A", "RED", "CAT"], ["THE", "CAT"], ["READ", "THE", "RED", "A"]] * 3
    cfg = LmConfig(order=3)
    lm, _ = train_kneser_ney(text, cfg, vocab_from_words_txt(read_word_list(toy_lang / "words.txt"), cfg))
    values = sorted(math.expm1(d) for d in relative_entropy_increases(lm, 2).values())
    pruned, _ = prune_relative_entropy(lm, values[len(values) // 2])
    # Pruning does not protect suffixes: some kept trigram's bigram suffix is gone.
    assert any(g[1:] not in pruned.logprobs[1] for g in pruned.logprobs[2])
    write_arpa(pruned, tmp_path / "lm.arpa.gz")
    format_lm(toy_lang, tmp_path / "lm.arpa.gz", tmp_path / "lang_test")
    words = read_symbols(tmp_path / "lang_test" / "words.txt")
    g = kaldifst.StdVectorFst.read(str(tmp_path / "lang_test" / "G.fst"))
    for sentence in ([*s, "CAT"] for s in text[:7]):
        expected = -sum(pruned.log10_prob(w, ["<s>", *sentence[:i]])
                        for i, w in enumerate([*sentence, "</s>"])) * math.log(10)
        assert _g_cost(g, words.ids(sentence), words.id("#0")) == pytest.approx(expected, abs=1e-3), sentence


def test_train_lm_cli_prunes_and_cuts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "text"
    text.write_text("".join(" ".join(s) + "\n" for s in _random_text(150, 1)))
    dev = tmp_path / "dev"
    dev.write_text("u1 w0 w1 w0\nu2 w2 w0 zz\n")
    base = ["--order", "3", "--text", str(text), "--eval", str(dev), "--eval-has-ids"]
    assert train_lm_main([*base, "--arpa", str(tmp_path / "full.arpa")]) == 0
    full = read_arpa(tmp_path / "full.arpa")
    rc = train_lm_main([*base, "--arpa", str(tmp_path / "p.arpa"), "--prune-threshold", "1e-3",
                        "--min-counts", "1", "1", "2", "--report", str(tmp_path / "r.json")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "pruned with threshold 0.001" in out and "(before pruning)" in out
    report = json.loads((tmp_path / "r.json").read_text())
    pruned = read_arpa(tmp_path / "p.arpa")
    assert report["ngrams"] == [len(x) for x in pruned.logprobs]
    assert report["ngrams_unpruned"][2] < len(full.logprobs[2])  # cut before pruning
    assert sum(report["prune"]["pruned"]) > 0
    assert report[f"eval:{dev}"]["perplexity"] != report[f"eval_unpruned:{dev}"]["perplexity"]
    assert "min_counts:\n- 1\n- 1\n- 2\nprune_threshold: 0.001" in (tmp_path / "p.arpa.yaml").read_text()
    # prune an existing ARPA file: same result as pruning in memory
    assert train_lm_main(["--lm", str(tmp_path / "full.arpa"), "--prune-threshold", "1e-3",
                          "--arpa", str(tmp_path / "p2.arpa")]) == 0
    expected, _ = prune_relative_entropy(full, 1e-3)
    again = read_arpa(tmp_path / "p2.arpa")
    assert {g: round(v, 5) for g, v in again.logprobs[2].items()} == {
        g: round(v, 5) for g, v in expected.logprobs[2].items()}
    # threshold 0 on an existing model: an identical copy is written
    assert train_lm_main(["--lm", str(tmp_path / "full.arpa"), "--prune-threshold", "0",
                          "--arpa", str(tmp_path / "copy.arpa")]) == 0
    assert read_arpa(tmp_path / "copy.arpa").logprobs == full.logprobs
    # bad options: one clear line, exit 1
    assert train_lm_main([*base, "--arpa", str(tmp_path / "x.arpa"), "--prune-threshold", "-1"]) == 1
    assert train_lm_main(["--lm", str(tmp_path / "full.arpa"), "--min-counts", "2"]) == 1
    assert train_lm_main(["--lm", str(tmp_path / "full.arpa"), "--prune-threshold", "1e-3"]) == 1
    err = capsys.readouterr().err
    assert "prune_threshold must be a finite number >= 0" in err
    assert "--min-counts needs the training counts" in err and "needs --arpa" in err


def test_train_lm_step_with_pruning(repo_root: Path, tmp_path: Path) -> None:
    (tmp_path / "lang").mkdir()
    (tmp_path / "lang" / "words.txt").write_text(
        "".join(f"{w} {i}\n" for i, w in enumerate(["<eps>", "<unk>", *[f"w{k}" for k in range(7)], "#0", "<s>", "</s>"])))
    (tmp_path / "text").write_text("".join(" ".join(s) + "\n" for s in _random_text(150, 1)))
    (tmp_path / "dev").write_text("u1 w0 w1 w0\n")
    env = dict(os.environ)
    args = ["steps/train_lm.sh", "--prune-threshold", "1e-3", "--min-counts", "1 1 2", "--dev-text",
            str(tmp_path / "dev"), str(tmp_path / "text"), str(tmp_path / "lang"), str(tmp_path / "lm")]
    proc = subprocess.run(args, cwd=repo_root, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "pruned with threshold 0.001" in proc.stdout
    report = json.loads((tmp_path / "lm" / "report.json").read_text())
    assert report["prune"]["threshold"] == 1e-3 and (tmp_path / "lm" / ".done").is_file()
    _assert_normalised(read_arpa(tmp_path / "lm" / "lm.arpa.gz"))
    bad = subprocess.run(["steps/train_lm.sh", "--prune-threshold", "abc", str(tmp_path / "text"),
                          str(tmp_path / "lang"), str(tmp_path / "lm2")],
                         cwd=repo_root, capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode != 0 and "--prune-threshold must be a non-negative number" in bad.stderr
