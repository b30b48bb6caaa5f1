"""The plan: sizes, no repeated sentences, disjoint sets, test sets independent of --hours,
genre mix, sharding, and the config's error messages."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from nghf.corpus.config import CorpusConfig, SplitHours
from nghf.corpus.plan import (
    SECONDS_PER_CHAR,
    CorpusPlan,
    SentenceStream,
    is_seen_voice,
    lm_sentences,
    make_plan,
)
from nghf.corpus.render import job_recordings
from nghf.corpus.text import Sentence
from nghf.utils.config import ConfigError, load_config

WORDS = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA", "JULIET", "KILO", "LIMA", "MIKE", "NOVEMBER", "OSCAR", "PAPA", "QUEBEC", "ROMEO", "SIERRA", "TANGO"]


@pytest.fixture(scope="module")
def config(repo_root):
    return load_config(CorpusConfig, repo_root / "conf" / "corpus.yaml")


@pytest.fixture(scope="module")
def pool():
    out = []
    for i in range(6000):
        n = 4 + i % 12
        out.append(Sentence(" ".join(WORDS[(i * 7 + k * (i % 5 + 1)) % len(WORDS)] for k in range(n))
                            + f" {WORDS[i % 20]}{i % 700}", "test"))
    return sorted(set(out), key=lambda s: s.text)


def estimated_hours(plan: CorpusPlan, split: str) -> float:
    spk = plan.speaker_map()
    return sum(len(u.text) * SECONDS_PER_CHAR / (u.tempo * spk[u.spk_id].tempo)
               for r in plan.recordings if r.split == split for u in r.utterances) / 3600


def test_plan_reaches_sizes_without_repeats(config, pool):
    hours = SplitHours(0.3, 0.1, 0.1)
    plan = make_plan(config, hours, pool)
    for split in ("train", "dev", "eval"):
        got = estimated_hours(plan, split)
        assert hours.of(split) <= got < hours.of(split) + 0.02
    texts = [u.text for r in plan.recordings for u in r.utterances]
    assert len(texts) == len(set(texts))
    ids = [r.reco_id for r in plan.recordings]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    spk = {(s, seen): {u.spk_id for r in plan.recordings if r.split == s and is_seen_voice(r.reco_id, s) == seen
                       for u in r.utterances} for s in ("train", "dev", "eval") for seen in (False, True)}
    assert not spk[("train", False)] & (spk[("dev", False)] | spk[("eval", False)])
    assert not spk[("dev", False)] & spk[("eval", False)] and not spk[("train", True)]
    for held in ("dev", "eval"):  # the seen-voice parts: training speakers (conf: seen_share 0.5)
        assert spk[(held, True)] and spk[(held, True)] <= {s.spk_id for s in plan.speakers["train"]}
    lm = set(lm_sentences(plan, pool))
    assert not lm & (plan.sentences("dev") | plan.sentences("eval"))
    assert plan.sentences("train") <= lm


def test_genres_follow_config(config, pool):
    plan = make_plan(config, SplitHours(1.0, 0.05, 0.05), pool)
    train = [r for r in plan.recordings if r.split == "train"]
    counts = Counter(r.genre for r in train)
    total_w = sum(g.weight for g in config.genres)
    for g in config.genres:
        assert counts[g.name] / len(train) == pytest.approx(g.weight / total_w, abs=_share_tolerance(g.weight / total_w, len(train)))
        for r in (r for r in train if r.genre == g.name):
            assert g.segments[0] <= len(r.utterances) <= g.segments[1]
            assert len({u.spk_id for u in r.utterances}) <= g.speakers[1]
            assert (r.reverberance > 0) <= (g.reverb_prob > 0)
            assert any(u.telephone for u in r.utterances) <= (g.telephone_prob > 0)
            assert not r.utterances[0].telephone  # the presenter is in the studio
    assert any(r.music for r in train) and any(r.reverberance for r in train)
    assert any(u.telephone for r in train for u in r.utterances)


def _share_tolerance(p: float, n: int) -> float:
    """Four binomial standard deviations of a share ``p`` among ``n`` seeded draws."""
    return 4 * (p * (1 - p) / n) ** 0.5


@pytest.mark.parametrize("weights", [(6, 1, 1, 1, 1), (1, 1, 1, 1, 12)])
def test_genre_shares_follow_skewed_weights(config, pool, weights):
    """The configured genre weights are close together (0.15-0.25), so a sampler that ignored
    them would pass a check on the default config; with skewed weights the shares must follow
    the weights, within a tolerance too small to admit uniform (or reordered) draws."""
    assert len(config.genres) == len(weights)
    genres = tuple(dataclasses.replace(g, weight=float(w)) for g, w in zip(config.genres, weights, strict=True))
    plan = make_plan(dataclasses.replace(config, genres=genres), SplitHours(1.0, 0.05, 0.05), pool)
    counts = Counter(r.genre for r in plan.recordings)
    n = len(plan.recordings)
    for g in genres:
        want = g.weight / sum(weights)
        tolerance = _share_tolerance(want, n)
        assert abs(want - 1 / len(genres)) > tolerance  # the check can tell these weights from uniform
        assert counts[g.name] / n == pytest.approx(want, abs=tolerance), (g.name, counts, n)


def test_test_sets_do_not_depend_on_training_hours(config, pool):
    small = make_plan(config, SplitHours(0.1, 0.1, 0.1), pool)
    large = make_plan(config, SplitHours(0.4, 0.1, 0.1), pool)
    for split in ("dev", "eval"):
        assert [r for r in small.recordings if r.split == split] == [
            r for r in large.recordings if r.split == split]


def test_plan_round_trips_through_json(config, pool, tmp_path):
    plan = make_plan(config, SplitHours(0.05, 0.02, 0.02), pool)
    plan.save(tmp_path / "plan.json")
    assert CorpusPlan.load(tmp_path / "plan.json") == plan
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="bad.json"):
        CorpusPlan.load(tmp_path / "bad.json")


@pytest.mark.parametrize("nj", [1, 2, 3, 7])
def test_jobs_partition_the_recordings(config, pool, nj):
    plan = make_plan(config, SplitHours(0.1, 0.03, 0.03), pool)
    shards = [job_recordings(plan, j, nj) for j in range(1, nj + 1)]
    flat = sorted(r.reco_id for shard in shards for r in shard)
    assert flat == [r.reco_id for r in plan.recordings]
    with pytest.raises(ValueError):
        job_recordings(plan, nj + 1, nj)


def test_pool_too_small_is_an_error(config, pool):
    with pytest.raises(ValueError, match="too small"):
        make_plan(config, SplitHours(50.0, 0.1, 0.1), pool[:100])


def test_config_errors_name_the_key(repo_root, tmp_path):
    path = repo_root / "conf" / "corpus.yaml"
    with pytest.raises(ConfigError, match="voices.espeak_max_share"):
        load_config(CorpusConfig, path, ["voices.espeak_max_share=lots"])
    with pytest.raises(ConfigError, match="unknown noise"):
        load_config(CorpusConfig, path, ["genres=[{name: x, weight: 1, speakers: [1, 1], segments: [1, 2], "
                                         "rate: [1, 1], pause_s: [0.1, 0.2], noise: rain}]"])
    with pytest.raises(ConfigError, match="unknown engine"):
        load_config(CorpusConfig, path, ["voices.engines=[espeak, sam]"])
    config = load_config(CorpusConfig, path)
    assert config.hours("default", 3.0).train == 3.0
    assert dataclasses.replace(config, seed=5).seed == 5
    with pytest.raises(ValueError, match="unknown size"):
        config.hours("huge")


def test_sentence_stream_skips_rare_words_for_held_out_sets_only():
    texts = ("A CAT SAT DOWN", "A CAT SAT UP", "A DOG SAT DOWN", "A DOG SAT UP", "ZEBRA QUIETLY ATE GRASS")
    pool = [Sentence(t, "t") for t in texts]
    counts = SentenceStream(pool, 0).counts
    assert counts["CAT"] == 2 and counts["SAT"] == 4 and counts["ZEBRA"] == 1
    held = SentenceStream(pool[::-1], 0)
    assert held.take(held_out=True).text == "A DOG SAT UP"     # ZEBRA sentence passed over
    assert held.take(held_out=False).text == "A DOG SAT DOWN"  # the stream moved on
    train = SentenceStream(pool[::-1], 0)
    assert train.take(held_out=False).text.startswith("ZEBRA")  # training takes anything
    assert SentenceStream(pool[::-1], 3).take(held_out=True).text == "A DOG SAT UP"  # 4 rare words
    assert SentenceStream(pool[::-1], 4).take(held_out=True).text.startswith("ZEBRA")
    assert SentenceStream(pool[::-1], -1).take(held_out=True).text.startswith("ZEBRA")
    with pytest.raises(ValueError, match="too small"):
        SentenceStream(pool[4:], 0).take(held_out=True)


def test_held_out_sentences_have_no_singleton_words(config, pool):
    plan = make_plan(config, SplitHours(0.05, 0.05, 0.05), pool)
    counts = SentenceStream(pool, 0).counts
    for split in ("dev", "eval"):
        for text in plan.sentences(split):
            assert all(counts[w] >= 2 for w in text.split()), text


@pytest.mark.parametrize("share", [0.0, 0.3, 0.7])
def test_seen_voice_share_of_the_held_out_sets(config, pool, share):
    """seen_share of each held-out set's hours is spoken by training voices, the rest by the
    set's own speakers; 0 gives disjoint speakers everywhere; the training set is unaffected
    in size, and the test sets are planned before it."""
    cfg = dataclasses.replace(config, voices=dataclasses.replace(config.voices, seen_share=share))
    hours = SplitHours(0.2, 0.1, 0.1)
    plan = make_plan(cfg, hours, pool)
    spk = plan.speaker_map()
    train_spk = {s.spk_id for s in plan.speakers["train"]}
    for held in ("dev", "eval"):
        seen_h = unseen_h = 0.0
        for r in plan.recordings:
            if r.split != held:
                continue
            dur = sum(len(u.text) * SECONDS_PER_CHAR / (u.tempo * spk[u.spk_id].tempo) for u in r.utterances) / 3600
            ids = {u.spk_id for u in r.utterances}
            if is_seen_voice(r.reco_id, held):
                assert ids <= train_spk
                seen_h += dur
            else:
                assert not ids & train_spk
                unseen_h += dur
        assert share * 0.1 <= seen_h < share * 0.1 + 0.02 if share else seen_h == 0.0
        assert (1 - share) * 0.1 <= unseen_h < (1 - share) * 0.1 + 0.02
    assert hours.train <= estimated_hours(plan, "train") < hours.train + 0.02


def test_seen_share_must_leave_unseen_voices():
    from nghf.corpus.config import VoiceConfig
    with pytest.raises(ValueError, match="seen_share"):
        VoiceConfig(seen_share=1.0)
