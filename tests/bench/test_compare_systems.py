"""bench/compare_systems.py: LM weight tuned on dev and applied to eval, the sign of the relative
reduction, the paired tests on clear and null cases, and one-line errors, on tiny synthetic
decode dirs written in the format ``score_decode_dir`` writes (summary.json, best_wer, wer_N,
scoring/N.utt.jsonl)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from nghf.score.significance import UttScore, sctk_available, write_utt_scores

needs_sctk = pytest.mark.skipif(not sctk_available(), reason="SCTK (sclite, sc_stats) is not installed")

SPEAKERS = [f"spk{i}" for i in range(8)]
UTTS = [(f"{spk}-utt{j}", spk) for spk in SPEAKERS for j in range(2)]
WORDS = 6  # reference words per utterance


@pytest.fixture(scope="module")
def cs(load_bench):
    return load_bench("compare_systems")


def _scores(errors: Mapping[str, int] | int) -> dict[str, UttScore]:
    """Every utterance with ``WORDS`` reference words and ``errors`` substitutions (per
    utterance, or one count for all), the hypothesis words written out as MAPSSWE needs."""
    out = {}
    for k, (utt, spk) in enumerate(UTTS):
        ref = tuple(f"w{k}_{i}" for i in range(WORDS))
        n = errors if isinstance(errors, int) else errors[utt]
        out[utt] = UttScore(utt, spk, WORDS, n, ref, tuple("oops" for _ in range(n)) + ref[n:])
    return out


def _counts(scores: Mapping[str, UttScore]) -> dict:
    words, errs = sum(s.ref_words for s in scores.values()), sum(s.errors for s in scores.values())
    return {"ref_words": words, "corr": words - errs, "sub": errs, "ins": 0, "dels": 0, "sentences": len(scores),
            "sentence_errors": sum(s.errors > 0 for s in scores.values()), "errors": errs,
            "wer": round(100.0 * errs / words, 4)}


def _write_decode(decode_dir: Path, by_lmwt: Mapping[int, dict[str, UttScore]]) -> None:
    """A scored decode dir: per LM weight the per-utterance scores, ``wer_N`` and the counts
    of ``scoring/summary.json``; ``best_lmwt`` is the lowest WER (ties: the lowest weight)."""
    scoring = decode_dir / "scoring"
    scoring.mkdir(parents=True)
    lmwt, per_spk = {}, {}
    for w, scores in by_lmwt.items():
        write_utt_scores(scoring / f"{w}.utt.jsonl", list(scores.values()))
        c = _counts(scores)
        lmwt[str(w)] = c
        per_spk[str(w)] = {spk: _counts({u: s for u, s in scores.items() if s.spk == spk}) for spk in SPEAKERS}
        (decode_dir / f"wer_{w}").write_text(f"%WER {c['wer']:.2f} [ {c['errors']} / {c['ref_words']}, 0 ins, "
                                             f"0 del, {c['sub']} sub ]\n")
    best = min(lmwt, key=lambda k: (lmwt[k]["wer"], float(k)))
    (decode_dir / "best_wer").write_text((decode_dir / f"wer_{best}").read_text().strip()
                                         + f" {decode_dir}/wer_{best}\n")
    summary = {"decode_dir": str(decode_dir), "data_dir": "data/x", "align_mode": "sclite",
               "best_lmwt": float(best), "lmwt": lmwt, "per_spk": per_spk, "missing_hyps": []}
    (scoring / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")


def _system(root: Path, name: str, dev: Mapping[int, dict[str, UttScore]],
            evl: Mapping[int, dict[str, UttScore]]) -> Path:
    sys_dir = root / name
    _write_decode(sys_dir / "decode_dev", dev)
    _write_decode(sys_dir / "decode_eval", evl)
    return sys_dir


def _flat(root: Path, name: str, errors: int) -> Path:
    """A system with ``errors`` errors in every utterance at LM weights 8 and 10 (best: 8)."""
    return _system(root, name, {8: _scores(errors), 10: _scores(errors)}, {8: _scores(errors), 10: _scores(errors)})


def test_lm_weight_is_tuned_on_dev_and_applied_to_eval(cs, tmp_path):
    one_per_spk = {u: int(u.endswith("utt0")) for u, _ in UTTS}
    sys_dir = _system(tmp_path, "x", dev={8: _scores(one_per_spk), 10: _scores(2)},
                      evl={8: _scores(3), 10: _scores(0)})  # eval alone would choose 10
    x = cs.load_system("x", sys_dir)
    assert x.lmwt == 8.0
    assert x.files["eval"] == sys_dir / "decode_eval" / "scoring" / "8.utt.jsonl"
    assert x.summary_wer == {"dev": round(100 * 8 / 96, 4), "eval": 50.0}
    other = cs.load_system("y", _flat(tmp_path, "y", 1))
    row = cs.compare(x, other, "eval", cs.BootstrapConfig(), use_sctk=False)
    assert (row["lmwt_a"], row["wer_a"], row["wer_b"]) == (8.0, 50.0, round(100 / 6, 4))


def test_relative_reduction_is_positive_when_a_has_fewer_errors(cs, tmp_path):
    assert cs.relative_reduction(20.0, 25.0) == pytest.approx(20.0)
    assert cs.relative_reduction(25.0, 20.0) == pytest.approx(-25.0)
    assert cs.relative_reduction(1.0, 0.0) is None
    good, bad = cs.load_system("good", _flat(tmp_path, "good", 1)), cs.load_system("bad", _flat(tmp_path, "bad", 2))
    assert cs.compare(good, bad, "dev", cs.BootstrapConfig(), False)["rel_reduction"] == pytest.approx(50.0)
    assert cs.compare(bad, good, "dev", cs.BootstrapConfig(), False)["rel_reduction"] == pytest.approx(-100.0)


def test_identical_systems_differ_by_nothing_and_a_better_one_on_every_speaker_significantly(cs, tmp_path):
    a, a2 = cs.load_system("a", _flat(tmp_path, "a", 1)), cs.load_system("a2", _flat(tmp_path, "a2", 1))
    same = cs.compare(a, a2, "eval", cs.BootstrapConfig(), False)
    assert (same["bootstrap_p"], same["rel_reduction"], same["difference"], same["mapsswe_p"]) == (1.0, 0.0, 0.0, None)
    b = cs.load_system("b", _flat(tmp_path, "b", 3))
    clear = cs.compare(a, b, "eval", cs.BootstrapConfig(), False)
    assert clear["bootstrap_p"] < 0.05 and clear["bootstrap_p_text"] == "<0.001"
    assert (clear["utterances"], clear["speakers"]) == (16, 8)


@needs_sctk
def test_mapsswe_p_values_of_the_null_and_the_clear_case(cs, tmp_path):
    a, a2 = cs.load_system("a", _flat(tmp_path, "a", 1)), cs.load_system("a2", _flat(tmp_path, "a2", 1))
    assert cs.compare(a, a2, "dev", cs.BootstrapConfig(), True)["mapsswe_p"] == 1.0
    # C makes 0 or 1 errors where D makes 2 or 3 (MAPSSWE needs the per-segment differences to vary)
    better = _scores({u: k % 3 % 2 for k, (u, _) in enumerate(UTTS)})
    worse = _scores({u: 2 + k % 2 for k, (u, _) in enumerate(UTTS)})
    c = cs.load_system("c", _system(tmp_path, "c", {8: better}, {8: better}))
    d = cs.load_system("d", _system(tmp_path, "d", {8: worse}, {8: worse}))
    clear = cs.compare(c, d, "dev", cs.BootstrapConfig(), True)
    assert clear["mapsswe_p"] < 0.05 and clear["mapsswe_p_text"] == "<0.001" and clear["bootstrap_p"] < 0.05


def test_main_prints_the_table_and_writes_the_json(cs, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cs, "sctk_available", lambda: False)
    for name, errors in (("ce", 2), ("sgd", 2), ("nghf", 1)):
        _flat(tmp_path, name, errors)
    out = tmp_path / "res" / "cmp.json"
    argv = [f"--system={n}={tmp_path / n}" for n in ("ce", "sgd", "nghf")]
    cs.main(argv + ["--pair", "nghf:sgd", "--against", "ce", "--json", str(out)])
    captured = capsys.readouterr()
    assert captured.err.count("SCTK (sclite, sc_stats) is not installed") == 1
    report = json.loads(out.read_text())
    assert report["lmwt"] == {"ce": 8.0, "sgd": 8.0, "nghf": 8.0} and report["config"]["mapsswe"] is False
    pairs = [(r["a"], r["b"], r["set"]) for r in report["rows"]]
    assert pairs == [("nghf", "sgd", "dev"), ("nghf", "sgd", "eval"), ("sgd", "ce", "dev"), ("sgd", "ce", "eval"),
                     ("nghf", "ce", "dev"), ("nghf", "ce", "eval")]
    assert all(r["mapsswe_p"] is None for r in report["rows"])
    lines = captured.out.splitlines()
    assert lines[0].split()[:4] == ["pair", "set", "WER", "a"]
    nghf_sgd_dev = next(line for line in lines if line.startswith("nghf vs sgd") and " dev " in line)
    assert "+50.0%" in nghf_sgd_dev and nghf_sgd_dev.rstrip().endswith("<0.001 *")


@pytest.mark.parametrize("argv, message", [
    (["--system", "ce"], r"bad --system 'ce'; want NAME=SYSTEM_DIR"),
    (["--system", "=x"], r"bad --system '=x'"),
    (["--system", "ce={tmp}/nowhere"], r"--system ce: .*/nowhere is not a directory"),
    (["--system", "ce={tmp}/ce", "--system", "ce={tmp}/nghf"], r"--system ce is given twice"),
    (["--system", "ce={tmp}/ce", "--pair", "nghf:ce"], r"--pair nghf:ce: no --system named 'nghf' \(systems: ce\)"),
    (["--system", "ce={tmp}/ce", "--pair", "ce"], r"bad --pair 'ce'; want A:B"),
    (["--system", "ce={tmp}/ce", "--pair", "ce:ce"], r"--pair ce:ce: a system against itself"),
    (["--system", "ce={tmp}/ce", "--against", "sgd"], r"--against sgd: no --system named 'sgd'"),
    (["--system", "ce={tmp}/ce", "--system", "nghf={tmp}/nghf"], r"nothing to compare"),
    ([], r"no systems"),
])
def test_bad_options_are_one_line_errors(cs, tmp_path, argv, message):
    _flat(tmp_path, "ce", 2)
    _flat(tmp_path, "nghf", 1)
    with pytest.raises(SystemExit, match=message) as err:
        cs.main([a.format(tmp=tmp_path) for a in argv] + ["--json", str(tmp_path / "out.json")])
    assert "\n" not in str(err.value.code)
    assert not (tmp_path / "out.json").exists()


def _main_error(cs, tmp_path: Path) -> str:
    argv = ["--system", f"ce={tmp_path / 'ce'}", "--system", f"nghf={tmp_path / 'nghf'}", "--pair", "nghf:ce",
            "--no-mapsswe", "--json", str(tmp_path / "out.json")]
    with pytest.raises(SystemExit) as err:
        cs.main(argv)
    message = str(err.value.code)
    assert "\n" not in message and not (tmp_path / "out.json").exists()
    return message


def test_missing_scores_or_decode_dirs_are_one_line_errors_naming_the_file(cs, tmp_path):
    _flat(tmp_path, "ce", 2)
    nghf = _flat(tmp_path, "nghf", 1)
    missing = nghf / "decode_eval" / "scoring" / "8.utt.jsonl"
    missing.unlink()
    assert _main_error(cs, tmp_path).startswith(f"compare_systems: --system nghf: {missing} not found")
    summary = nghf / "decode_eval" / "scoring" / "summary.json"
    summary.unlink()
    assert f"{summary}: not found" in _main_error(cs, tmp_path)


def test_stale_scores_and_unmatched_utterances_are_one_line_errors(cs, tmp_path):
    _flat(tmp_path, "ce", 2)
    nghf = _flat(tmp_path, "nghf", 1)
    stale = nghf / "decode_dev" / "scoring" / "8.utt.jsonl"
    write_utt_scores(stale, list(_scores(0).values()))
    assert f"{stale} has 0 errors in 96 words but" in _main_error(cs, tmp_path)
    fewer = dict(list(_scores(1).items())[:-1])
    _system(tmp_path / "other", "nghf", {8: fewer}, {8: fewer})
    (tmp_path / "nghf").rename(tmp_path / "stale")
    (tmp_path / "other" / "nghf").rename(tmp_path / "nghf")
    assert "nghf vs ce on dev:" in _main_error(cs, tmp_path)
    assert "score different utterances" in _main_error(cs, tmp_path)
