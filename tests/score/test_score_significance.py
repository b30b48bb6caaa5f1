"""Confidence intervals (speaker-block bootstrap) against exact enumeration, the paired
bootstrap and MAPSSWE (SCTK sc_stats) on clear and null cases, the per-utterance scores from
a scored decode dir to the results records, and RESULTS.md / significance.json with the
intervals, p-values and markers (all data fabricated for the tests)."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from nghf.score.archive import archive_run
from nghf.score.decode_dir import score_decode_dir, utt_scores_path
from nghf.score.results import SIGNIFICANCE_JSON, render_table, write_results
from nghf.score.results_log import SystemInfo, make_record, read_records, record_dev_eval
from nghf.score.significance import (
    BootstrapConfig,
    SignificanceConfig,
    SignificanceError,
    UttScore,
    assess_systems,
    bootstrap_wers,
    check_matched,
    mapsswe,
    paired_bootstrap,
    parse_mapsswe,
    read_utt_scores,
    sctk_available,
    speaker_totals,
    utt_scores_from_report,
    wer_interval,
    write_utt_scores,
)
from nghf.score.wer import score

needs_sctk = pytest.mark.skipif(not sctk_available(), reason="SCTK (sclite, sc_stats) is not installed")


def _blocks(per_spk: list[list[tuple[int, int]]]) -> dict[str, UttScore]:
    """UttScores from ``[[(errors, ref_words) per utterance] per speaker]``."""
    out = {}
    for s, utts in enumerate(per_spk):
        for u, (errs, words) in enumerate(utts):
            name = f"s{s}-u{u}"
            out[name] = UttScore(name, f"s{s}", words, errs)
    return out


def test_speakers_with_equal_wer_give_a_zero_width_interval():
    scores = _blocks([[(1, 10), (1, 10)], [(3, 30)], [(0, 5), (5, 45)], [(4, 40)]])  # every speaker 10 %
    iv = wer_interval(scores, BootstrapConfig(replicates=500, seed=3))
    assert iv.wer == pytest.approx(10.0)
    assert iv.low == pytest.approx(10.0) and iv.high == pytest.approx(10.0)
    assert (iv.speakers, iv.utterances, iv.replicates) == (4, 6, 500)


def _exact_distribution(errs: list[int], words: list[int]) -> dict[float, float]:
    """WER distribution of a speaker resample, by enumerating all n^n equally likely draws."""
    n = len(errs)
    dist: Counter[float] = Counter()
    for draw in itertools.product(range(n), repeat=n):
        dist[round(100.0 * sum(errs[i] for i in draw) / sum(words[i] for i in draw), 9)] += 1
    return {w: c / n ** n for w, c in sorted(dist.items())}


def _exact_quantile(dist: dict[float, float], q: float) -> tuple[float, float]:
    """``min{x: F(x) >= q}`` and the distance of ``q`` from the nearest step of ``F``."""
    cum = 0.0
    for w, p in dist.items():
        before, cum = cum, cum + p
        if cum >= q:
            return w, min(q - before, cum - q)
    raise AssertionError("unreachable")


def test_bootstrap_matches_the_exact_distribution_of_speaker_resamples():
    # 3 speakers with different WERs, 2 utterances each: the exact bootstrap distribution is the
    # 27 equally likely speaker draws (resampling utterances would give another distribution)
    scores = _blocks([[(1, 4), (0, 6)], [(2, 8), (3, 12)], [(7, 10), (5, 20)]])
    totals = speaker_totals(scores)
    assert totals.speakers == ("s0", "s1", "s2")
    assert totals.errors.tolist() == [1, 5, 12] and totals.ref_words.tolist() == [10, 20, 30]
    exact = _exact_distribution([1, 5, 12], [10, 20, 30])
    reps = 100_000
    sample = np.round(bootstrap_wers(totals, BootstrapConfig(replicates=reps, seed=7)), 9)
    freq = Counter(sample.tolist())
    assert set(freq) <= set(exact)  # every replicate is a WER of some speaker draw
    for w, p in exact.items():
        assert abs(freq[w] / reps - p) < 5 * np.sqrt(p * (1 - p) / reps), (w, p, freq[w] / reps)
    assert float(np.mean(sample)) == pytest.approx(sum(w * p for w, p in exact.items()), abs=0.05)
    for level in (0.95, 0.8):
        cfg = BootstrapConfig(replicates=reps, seed=7, level=level)
        iv = wer_interval(scores, cfg)
        assert iv.wer == pytest.approx(100.0 * 18 / 60)
        tails = ((1 - level) / 2, 1 - (1 - level) / 2)
        (lo, margin_lo), (hi, margin_hi) = (_exact_quantile(exact, q) for q in tails)
        assert min(margin_lo, margin_hi) > 5 * np.sqrt(0.25 / reps)  # not decided by sampling noise
        assert (iv.low, iv.high) == (pytest.approx(lo), pytest.approx(hi)), (level, exact)
    assert (lo, hi) != (min(exact), max(exact))  # the 80 % interval is inside the support


def test_bootstrap_is_seeded():
    scores = _blocks([[(i % 4, 10)] for i in range(9)])
    a = wer_interval(scores, BootstrapConfig(replicates=200, seed=1))
    assert a == wer_interval(scores, BootstrapConfig(replicates=200, seed=1))
    totals = speaker_totals(scores)
    assert not np.array_equal(bootstrap_wers(totals, BootstrapConfig(200, 1)), bootstrap_wers(totals, BootstrapConfig(200, 2)))
    with pytest.raises(ValueError, match="replicates"):
        BootstrapConfig(replicates=0)


def _pair(n_spk: int = 8, utts: int = 5, err_a: float = 0.05, err_b: float = 0.35,
          seed: int = 0) -> tuple[dict[str, UttScore], dict[str, UttScore]]:
    """Two systems on the same utterances: words substituted with probability err_a / err_b."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(30)]
    refs, utt2spk, hyp_a, hyp_b = {}, {}, {}, {}
    for s in range(n_spk):
        for u in range(utts):
            utt = f"spk{s}-{u:02d}"
            refs[utt] = [rng.choice(vocab) for _ in range(10)]
            utt2spk[utt] = f"spk{s}"
            hyp_a[utt] = [w if rng.random() > err_a else "x" for w in refs[utt]]
            hyp_b[utt] = [w if rng.random() > err_b else "x" for w in refs[utt]]
    out = []
    for hyps in (hyp_a, hyp_b):
        report = score(refs, hyps, utt2spk)
        out.append({s.utt: s for s in utt_scores_from_report(report, refs, hyps, utt2spk)})
    return out[0], out[1]


def test_paired_bootstrap_detects_a_clear_difference_and_not_identical_systems():
    a, b = _pair()
    res = paired_bootstrap(a, b, BootstrapConfig(replicates=1000, seed=0))
    assert res.wer_b > res.wer_a and res.difference == pytest.approx(res.wer_b - res.wer_a)
    assert res.p_value < 0.05 and 0 < res.low <= res.difference <= res.high
    back = paired_bootstrap(b, a, BootstrapConfig(replicates=1000, seed=0))
    assert back.p_value == res.p_value and back.difference == pytest.approx(-res.difference)
    same = paired_bootstrap(a, dict(a), BootstrapConfig(replicates=1000, seed=0))
    assert same.p_value == 1.0 and same.difference == 0.0 and (same.low, same.high) == (0.0, 0.0)
    close_a, close_b = _pair(n_spk=4, utts=3, err_a=0.2, err_b=0.22, seed=5)
    assert paired_bootstrap(close_a, close_b, BootstrapConfig(replicates=1000)).p_value > 0.05


def test_paired_bootstrap_p_value_matches_exact_enumeration():
    # 3 speakers; the two-sided p is twice the probability (over the 27 speaker draws) that the
    # resampled difference has the other sign or is zero
    a = _blocks([[(2, 10)], [(3, 20)], [(1, 30)]])
    b = _blocks([[(4, 10)], [(2, 20)], [(3, 30)]])
    ea, eb, words = [2, 3, 1], [4, 2, 3], [10, 20, 30]
    diff = 100.0 * (sum(eb) - sum(ea)) / sum(words)
    flips = 0
    for draw in itertools.product(range(3), repeat=3):
        w = sum(words[i] for i in draw)
        d = 100.0 * (sum(eb[i] for i in draw) - sum(ea[i] for i in draw)) / w
        flips += d <= 0 if diff > 0 else d >= 0
    exact_p = min(1.0, 2 * flips / 27)
    reps = 100_000
    res = paired_bootstrap(a, b, BootstrapConfig(replicates=reps, seed=11))
    assert res.difference == pytest.approx(diff)
    assert res.p_value == pytest.approx(exact_p, abs=2 * 5 * np.sqrt(0.25 / reps)) and 0 < exact_p < 1


def test_mismatched_utterance_sets_are_named():
    a, b = _pair(n_spk=3, utts=2)
    b.pop(next(iter(b)))
    with pytest.raises(SignificanceError, match=r"ce\.utt\.jsonl and mmi\.utt\.jsonl score different utterances: "
                                                r"1 only in ce\.utt\.jsonl"):
        paired_bootstrap(a, b, names=("ce.utt.jsonl", "mmi.utt.jsonl"))
    a2, b2 = _pair(n_spk=3, utts=2)
    utt = next(iter(b2))
    b2[utt] = UttScore(utt, b2[utt].spk, b2[utt].ref_words + 1, 0)
    with pytest.raises(SignificanceError, match=f"disagree on the reference of utterance {utt}"):
        check_matched(a2, b2)
    with pytest.raises(SignificanceError, match="different utterances"):
        mapsswe(a, b)


DETAIL = ("MTCH_PR_RESULTS (systems: sysA sysB) (# segs: 106) (Seg per Sent: 1.767) (% Error: 20.84 24.17) "
          "(mean: -0.179) (std dev: 1.225) (Z Stat: -1.506) (Stat Diff: No)\n")
UNIFIED = ("|     MP     ||  sysA   |             |  ~    0.134     ||         MP          |\n"
           "|     MP     ||  sysB   |             |                 ||         MP          |\n")


def test_sc_stats_reports_are_parsed():
    res = parse_mapsswe(DETAIL, UNIFIED)
    assert (res.p_value, res.p_text, res.z, res.significant, res.better, res.segments) == \
        (0.134, "0.134", -1.506, False, None, 106)
    sig = parse_mapsswe(DETAIL.replace("Diff: No", "Diff: Yes"), UNIFIED.replace("~    0.134   ", "sysB  <0.001 ***"))
    assert (sig.p_value, sig.p_text, sig.significant, sig.better) == (0.001, "<0.001", True, "b")


@needs_sctk
def test_mapsswe_agrees_with_the_paired_bootstrap(tmp_path):
    a, b = _pair()
    mp = mapsswe(a, b, workdir=tmp_path)
    boot = paired_bootstrap(a, b)
    assert mp.significant and mp.better == "a" and mp.p_value < 0.05 and boot.p_value < 0.05
    assert {"ref.trn", "a.trn", "b.trn", "a.sgml", "b.sgml"} <= {p.name for p in tmp_path.iterdir()}
    assert mapsswe(b, a).better == "b"
    same = mapsswe(a, dict(a))
    assert not same.significant and same.p_value == 1.0 and paired_bootstrap(a, dict(a)).p_value == 1.0


def _write_system(tmp: Path, name: str, set_name: str, scores: dict[str, UttScore]) -> str:
    path = tmp / "exp" / name / f"decode_{set_name}" / "scoring" / "10.utt.jsonl"
    path.parent.mkdir(parents=True)
    write_utt_scores(path, list(scores.values()))
    return str(path.relative_to(tmp))


def _records(tmp: Path, with_scores: bool = True) -> list[dict]:
    """CE, a clearly worse MMI system, and an MPFE system identical to CE on dev and to MMI on
    eval; eval has other utterances and speakers."""
    recs = []
    for set_name, seed in (("dev", 0), ("eval", 1)):
        a, b = _pair(n_spk=8 + seed, seed=seed)
        for info, scores in ((SystemInfo("tdnn_ce", "tdnn", "ce", "adam", 10), a),
                             (SystemInfo("tdnn_mmi_nghf", "tdnn", "mmi", "nghf", 3), b),
                             (SystemInfo("tdnn_mpfe_nghf", "tdnn", "mpfe", "nghf", 3), dict(a if set_name == "dev" else b))):
            path = _write_system(tmp, info.system, set_name, scores) if with_scores else ""
            recs.append(make_record(info, set_name, 10.0, {"wer": round(wer_interval(scores).wer, 4)},
                                    utt_scores=path))
    return recs


def _rows(table: str) -> dict[str, list[str]]:
    return {c[0]: c for c in ([x.strip() for x in line.strip("|").split("|")] for line in table.splitlines()
                              if line.startswith("| ") and not line.startswith(("| system", "| ---")))}


def test_table_shows_intervals_p_values_and_markers(tmp_path):
    recs = _records(tmp_path)
    out = tmp_path / "RESULTS.md"
    write_results(recs, out, None, base_dir=tmp_path,
                  significance=SignificanceConfig(BootstrapConfig(replicates=400, seed=2), use_sctk=False))
    text = out.read_text()
    rows = _rows(text)
    report = json.loads((tmp_path / SIGNIFICANCE_JSON).read_text())
    assert report["test"] == "bootstrap" and report["config"]["replicates"] == 400
    for column, set_name, speakers in ((7, "dev", 8), (9, "eval", 9)):
        ce = report["systems"]["tdnn_ce"][set_name]
        lo, hi = ce["ci"]
        assert lo < ce["wer"] < hi and ce["speakers"] == speakers and ce["utterances"] == 5 * speakers
        assert rows["tdnn_ce"][column] == f"{ce['wer']:.2f} [{lo:.1f}, {hi:.1f}]"
    assert rows["tdnn_ce"][10:] == ["–", "–"]
    vs = report["systems"]["tdnn_mmi_nghf"]["vs"]
    assert vs["baseline"] == "tdnn_ce" and vs["eval"]["significant"] and vs["eval"]["test"] == "bootstrap"
    assert vs["eval"]["p_value"] < 0.05 and vs["eval"]["bootstrap"]["difference_ci"][0] > 0
    assert rows["tdnn_mmi_nghf"][10].endswith(" *") and rows["tdnn_mmi_nghf"][10].startswith("-")  # worse, significant
    p_text = vs["eval"]["p_text"]
    assert f"(p{p_text})" in rows["tdnn_mmi_nghf"][10] if p_text.startswith("<") else f"(p={p_text})" in rows["tdnn_mmi_nghf"][10]
    assert rows["tdnn_mpfe_nghf"][11] == "+0.0 % (p=1.000)"  # dev: identical to CE, no marker
    assert rows["tdnn_mpfe_nghf"][10] == rows["tdnn_mmi_nghf"][10]  # eval: MMI's hypotheses
    assert "95 % confidence interval" in text and "resamples speakers" in text
    assert "`*` marks a difference significant at p < 0.05" in text and "paired bootstrap" in text
    assert "| dev WER [95 % CI] | LMWT | eval WER [95 % CI] | eval vs CE | dev vs CE |" in text


@needs_sctk
def test_table_uses_mapsswe_when_sctk_is_installed(tmp_path):
    write_results(_records(tmp_path), tmp_path / "RESULTS.md", None, base_dir=tmp_path,
                  significance=SignificanceConfig(BootstrapConfig(replicates=200)))
    report = json.loads((tmp_path / SIGNIFICANCE_JSON).read_text())
    vs = report["systems"]["tdnn_mmi_nghf"]["vs"]["dev"]
    assert report["test"] == "mapsswe" and vs["test"] == "mapsswe" and vs["mapsswe"]["significant"]
    assert vs["significant"] == (vs["bootstrap"]["p_value"] < 0.05)  # both tests agree here
    assert "MAPSSWE" in (tmp_path / "RESULTS.md").read_text()


def test_old_records_without_per_utterance_scores_render_dashes(tmp_path):
    recs = _records(tmp_path, with_scores=False)
    assert all(r["utt_scores"] == "" for r in recs)
    for r in recs:
        del r["utt_scores"]  # as written before the field existed
    report = assess_systems({r["system"]: {r["set"]: r} for r in recs}, {"tdnn_mmi_nghf": "tdnn_ce"}, ("dev", "eval"))
    assert report["systems"] == {"tdnn_mmi_nghf": {"vs": {"baseline": "tdnn_ce"}}}
    rows = _rows(render_table(recs, significance=report))
    assert rows["tdnn_ce"][7].endswith(" [–]") and rows["tdnn_mmi_nghf"][10].endswith("% (p –)")
    missing = _records(tmp_path / "gone")  # named but deleted: a warning, and "–"
    for r in missing:
        (tmp_path / "gone" / r["utt_scores"]).unlink(missing_ok=True)
    write_results(missing, tmp_path / "R.md", None, base_dir=tmp_path / "gone")
    assert _rows((tmp_path / "R.md").read_text())["tdnn_ce"][7].endswith(" [–]")


def _scored_run(run: Path) -> None:
    """A run (the working directory, as for the recipe) whose decode dirs hold best paths
    (tra.1) scored by score_decode_dir and recorded with relative paths."""
    a, b = _pair(n_spk=6, utts=4)
    words = sorted({w for s in (*a.values(), *b.values()) for w in (*s.ref, *s.hyp)})
    (run / "lang").mkdir(parents=True)
    (run / "lang" / "words.txt").write_text("".join(f"{w} {i + 1}\n" for i, w in enumerate(words)))
    for set_name in ("dev", "eval"):
        data = run / "data" / set_name
        data.mkdir(parents=True)
        (data / "text").write_text("".join(f"{u} {' '.join(s.ref)}\n" for u, s in sorted(a.items())))
        (data / "utt2spk").write_text("".join(f"{u} {s.spk}\n" for u, s in sorted(a.items())))
    for system, scores in (("tdnn_ce", a), ("tdnn_mmi_nghf", b)):
        info = SystemInfo(system, "tdnn", system.split("_")[1], "adam", 5)
        dirs = []
        for set_name in ("dev", "eval"):
            d = Path("exp") / system / f"decode_{set_name}"
            d.mkdir(parents=True)
            (d / "tra.1").write_text("".join(f"{u} {' '.join(s.hyp)}\n" for u, s in sorted(scores.items())))
            (d / "stats.1.json").write_text(json.dumps({"acoustic_scale": 0.1}))
            score_decode_dir(d, Path("data") / set_name, Path("lang") / "words.txt", [10.0], sclite_check=False)
            dirs.append(d)
        record_dev_eval(Path("exp") / "results.jsonl", info, dirs[0], dirs[1])


def test_scored_decode_dirs_to_records_to_table_and_archive(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    monkeypatch.chdir(run)
    _scored_run(run)
    dev_dir = run / "exp" / "tdnn_ce" / "decode_dev"
    kept = read_utt_scores(utt_scores_path(dev_dir, 10.0))
    assert len(kept) == 24 and kept["spk0-00"].spk == "spk0" and len(kept["spk0-00"].ref) == 10
    summary = json.loads((dev_dir / "scoring" / "summary.json").read_text())
    assert sum(s.errors for s in kept.values()) == summary["lmwt"]["10"]["errors"]
    recs = read_records(run / "exp" / "results.jsonl")
    assert [r["utt_scores"] for r in recs[:2]] == ["exp/tdnn_ce/decode_dev/scoring/10.utt.jsonl",
                                                   "exp/tdnn_ce/decode_eval/scoring/10.utt.jsonl"]
    from nghf.bin.results import main
    assert main(["--results", "exp/results.jsonl", "--out", "RESULTS.md", "--plots-dir", "",
                 "--bootstrap-replicates", "300", "--seed", "4"]) == 0
    report = json.loads((run / SIGNIFICANCE_JSON).read_text())
    assert report["config"]["replicates"] == 300 and report["config"]["seed"] == 4
    assert report["systems"]["tdnn_mmi_nghf"]["vs"]["eval"]["significant"]
    rows = _rows((run / "RESULTS.md").read_text())
    assert "[–]" not in rows["tdnn_ce"][7] and rows["tdnn_mmi_nghf"][10].endswith(" *")
    files = archive_run("exp/results.jsonl", tmp_path / "archive", run)
    rel = {str(f.relative_to(tmp_path / "archive")) for f in files}
    assert {"exp/tdnn_ce/decode_dev/scoring/10.utt.jsonl", "exp/tdnn_mmi_nghf/decode_eval/scoring/10.utt.jsonl",
            SIGNIFICANCE_JSON} <= rel
    archived = _rows((tmp_path / "archive" / "RESULTS.md").read_text())
    assert archived["tdnn_mmi_nghf"][10].endswith(" *")  # rendered from the archived scores
    assert archived["tdnn_ce"][7].split(" [")[0] == rows["tdnn_ce"][7].split(" [")[0] and "[–]" not in archived["tdnn_ce"][7]


def test_archive_keeps_the_training_speakers_and_the_condition_table(tmp_path, monkeypatch):
    """With the training data dir, the archive keeps its spk2utt and its RESULTS.md has the
    'WER by condition' part (seen voices: speakers of that spk2utt), rendered from the archive."""
    run = tmp_path / "run"
    run.mkdir()
    monkeypatch.chdir(run)
    _scored_run(run)
    train = run / "data" / "train"
    train.mkdir(parents=True)
    (train / "spk2utt").write_text("spk0 spk0-train1 spk0-train2\n")
    plain = archive_run("exp/results.jsonl", tmp_path / "plain", run)
    assert "WER by condition" not in (tmp_path / "plain" / "RESULTS.md").read_text()
    assert not any(f.name == "spk2utt" for f in plain)
    files = archive_run("exp/results.jsonl", tmp_path / "archive", run, train_data="data/train")
    assert tmp_path / "archive" / "data" / "train" / "spk2utt" in files
    text = (tmp_path / "archive" / "RESULTS.md").read_text()
    assert "WER by condition" in text and "by 1 seen voice" in text
    report = json.loads((tmp_path / "archive" / SIGNIFICANCE_JSON).read_text())
    assert report["by_condition"]["train_speakers"] == 1
    # The archive names its files as the run does: no path of the machine that archived it.
    assert report["by_condition"]["train_data"] == "data/train" and "training data `data/train`" in text
    assert str(tmp_path) not in text and str(tmp_path) not in (tmp_path / "archive" / SIGNIFICANCE_JSON).read_text()
