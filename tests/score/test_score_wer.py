"""WER counts: equal to NIST sclite's on hand-picked and random pairs, per-speaker sums,
minimal cost against brute-force enumeration of alignments, and input errors."""

from __future__ import annotations

import functools
import random

import kaldialign
import pytest

from nghf.score.normalize import NormalizerConfig, TextNormalizer
from nghf.score.sclite import run_sclite
from nghf.score.wer import COSTS, ErrorCounts, ScoringError, align, score, utterance_counts

PAIRS = {  # utterance -> (reference, hypothesis)
    "u01": ("the cat sat on the mat", "the cat sat on the mat"),
    "u02": ("the cat sat on the mat", "the bat sat on mat"),
    "u03": ("", "spurious words here"),          # empty reference
    "u04": ("nothing was recognised", ""),        # empty hypothesis
    "u05": ("", ""),                              # both empty
    "u06": ("a b c d", "d c b a"),
    "u07": ("a a a b", "a b b b b"),
    "u08": ("b b c c c", "c d c b a c"),          # sclite's weights prefer substitutions here
    "u09": ("one", "one two three"),
    "u10": ("x y z", "q"),
    "u11": ("Mixed Case words", "mixed case Words"),  # scoring is case-sensitive
    "u12": ("(paren) %hesitation -frag", "(paren) %hesitation frag"),  # sclite syntax is neutralised
}
UTT2SPK = {u: ("spkA" if i % 3 == 0 else "spk_B-2" if i % 3 == 1 else "c") for i, u in enumerate(sorted(PAIRS))}


def _split(pairs):
    return ({u: r.split() for u, (r, _) in pairs.items()}, {u: h.split() for u, (_, h) in pairs.items()})


def test_equal_to_sclite_on_fixed_pairs(tmp_path):
    refs, hyps = _split(PAIRS)
    ours = score(refs, hyps, UTT2SPK, TextNormalizer(NormalizerConfig(drop_tokens=(), drop_patterns=())))
    theirs = run_sclite(refs, hyps, UTT2SPK, workdir=tmp_path)
    assert ours.total == theirs.total
    assert ours.per_spk == theirs.per_spk
    assert (tmp_path / "ref.trn").exists() and (tmp_path / "hyp.trn").exists()
    # per-utterance: one speaker per utterance makes sclite report each utterance
    per_utt = run_sclite(refs, hyps, {u: u for u in refs})
    assert {u: c for u, c in ours.per_utt.items()} == per_utt.per_spk
    assert ours.per_utt["u03"].ins == 3 and ours.per_utt["u04"].dels == 3
    assert ours.per_utt["u05"] == ErrorCounts(0, 0, 0, 0, 0, 1, 0)


def test_equal_to_sclite_on_random_pairs():
    rng = random.Random(7)
    refs, hyps = {}, {}
    for i in range(300):
        vocab = "abcde"[: rng.randint(1, 5)]
        refs[f"r{i:03d}"] = [rng.choice(vocab) for _ in range(rng.randint(0, 8))]
        hyps[f"r{i:03d}"] = [rng.choice(vocab) for _ in range(rng.randint(0, 8))]
    theirs = run_sclite(refs, hyps, {u: u for u in refs})
    for u in refs:
        assert utterance_counts(refs[u], hyps[u]) == theirs.per_spk[u], (refs[u], hyps[u])


def test_per_speaker_sums_to_total():
    refs, hyps = _split(PAIRS)
    report = score(refs, hyps, UTT2SPK)
    total = ErrorCounts()
    for c in report.per_spk.values():
        total = total + c
    assert total == report.total
    assert sum(c.ref_words for c in report.per_utt.values()) == report.total.ref_words


def _brute_min_cost(ref, hyp, costs):
    c_ins, c_del, c_sub = costs

    @functools.cache
    def best(i, j):
        if i == len(ref):
            return (len(hyp) - j) * c_ins
        if j == len(hyp):
            return (len(ref) - i) * c_del
        return min(best(i + 1, j + 1) + (0 if ref[i] == hyp[j] else c_sub), best(i + 1, j) + c_del, best(i, j + 1) + c_ins)

    return best(0, 0)


@pytest.mark.parametrize("mode", ["sclite", "levenshtein"])
def test_alignment_is_minimal_and_consistent(mode):
    rng = random.Random(3)
    c_ins, c_del, c_sub = COSTS[mode]
    for _ in range(200):
        ref = [rng.choice("abc") for _ in range(rng.randint(0, 6))]
        hyp = [rng.choice("abc") for _ in range(rng.randint(0, 6))]
        pairs = align(ref, hyp, mode)
        assert [r for r, _ in pairs if r is not None] == ref
        assert [h for _, h in pairs if h is not None] == hyp
        cost = sum(c_ins if r is None else c_del if h is None else (0 if r == h else c_sub) for r, h in pairs)
        assert cost == _brute_min_cost(tuple(ref), tuple(hyp), COSTS[mode])
        if mode == "levenshtein":
            assert utterance_counts(ref, hyp, mode).errors == kaldialign.edit_distance(ref, hyp)["total"]


def test_normaliser_drops_noise_tokens():
    refs = {"u": ["hello", "[NOISE]", "world", "<unk>"]}
    hyps = {"u": ["hello", "<unk>", "word", "[laughter]"]}
    report = score(refs, hyps)
    assert report.total == ErrorCounts(2, 1, 1, 0, 0, 1, 1)
    keep_all = TextNormalizer(NormalizerConfig(drop_tokens=(), drop_patterns=(), lowercase=True))
    assert keep_all(["[NOISE]", "A"]) == ["[noise]", "a"]


def test_missing_and_extra_hypotheses():
    refs = {"a": ["x", "y"], "b": ["z"]}
    report = score(refs, {"a": ["x", "y"]})
    assert report.missing_hyps == ("b",)
    assert report.total.dels == 1 and report.total.ref_words == 3
    with pytest.raises(ScoringError, match="no hypothesis for utterance b"):
        score(refs, {"a": ["x"]}, allow_missing=False)
    with pytest.raises(ScoringError, match="hypothesis for utterance zz has no reference"):
        score(refs, {"zz": ["x"]})
    with pytest.raises(ScoringError, match="utterance b is not in utt2spk"):
        score(refs, {"a": [], "b": []}, {"a": "s"})


def test_wer_value_and_summary():
    report = score({"a": ["a", "b", "c", "d"]}, {"a": ["a", "x", "c"]})
    assert report.total.wer == pytest.approx(50.0)
    assert report.summary().startswith("%WER 50.00 [ 2 / 4, 0 ins, 1 del, 1 sub ]")
