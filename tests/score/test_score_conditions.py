"""WER by condition: utterances by seen voices (speakers of the training data) and by unseen
voices, from hand-made per-utterance scores whose per-condition WERs are known exactly; the
condition's interval and tests equal those of a results set holding only its utterances; a
condition without utterances is left out with a caption; records without per-utterance
scores show "–" (all data fabricated for the tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nghf.bin.results import main
from nghf.score.results import SIGNIFICANCE_JSON, write_results
from nghf.score.results_log import SystemInfo, make_record
from nghf.score.significance import (
    BootstrapConfig,
    SignificanceConfig,
    SignificanceError,
    TrainSpeakers,
    UttScore,
    assess_systems,
    mapsswe,
    sctk_available,
    write_utt_scores,
)

needs_sctk = pytest.mark.skipif(not sctk_available(), reason="SCTK (sclite, sc_stats) is not installed")

BOOT = SignificanceConfig(BootstrapConfig(replicates=300, seed=5), use_sctk=False)
CE, MMI = SystemInfo("tdnn_ce", "tdnn", "ce", "adam", 10), SystemInfo("tdnn_mmi_nghf", "tdnn", "mmi", "nghf", 3)

# errors per speaker (two utterances of 5 words each: 10 words per speaker)
# dev: seen voices A B C (CE 6/30 = 20 %, MMI 3/30 = 10 %), unseen X Y Z (CE 3/30 = 10 %, MMI 6/30 = 20 %)
# eval: unseen voices only, P Q (CE 4/20 = 20 %, MMI 2/20 = 10 %)
ERRORS = {
    "dev": {"tdnn_ce": {"A": 2, "B": 3, "C": 1, "X": 1, "Y": 1, "Z": 1},
            "tdnn_mmi_nghf": {"A": 1, "B": 1, "C": 1, "X": 2, "Y": 3, "Z": 1}},
    "eval": {"tdnn_ce": {"P": 2, "Q": 2}, "tdnn_mmi_nghf": {"P": 1, "Q": 1}},
}
TRAIN_SPEAKERS = ("A", "B", "C", "T")  # T speaks only in training


def _scores(errors: dict[str, int]) -> dict[str, UttScore]:
    """Two 5-word utterances per speaker, the speaker's errors as substitutions, first utterance first."""
    out = {}
    for spk, errs in errors.items():
        for u, e in enumerate((min(errs, 5), max(errs - 5, 0))):
            utt = f"{spk}-{u}"
            ref = tuple(f"w{spk.lower()}{u}{i}" for i in range(5))
            out[utt] = UttScore(utt, spk, 5, e, ref, tuple("x" for _ in range(e)) + ref[e:])
    return out


def _write_data(path: Path, speakers: tuple[str, ...], name: str = "utt2spk") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if name == "utt2spk":
        text = "".join(f"{s}-train{i} {s}\n" for s in speakers for i in range(2))
    else:
        text = "".join(f"{s} {s}-train0 {s}-train1\n" for s in speakers)
    (path / name).write_text(text)
    return path


def _records(tmp: Path, keep: set[str] | None = None, scored: tuple[str, ...] = ("tdnn_ce", "tdnn_mmi_nghf"),
             errors: dict[str, dict[str, dict[str, int]]] = ERRORS) -> list[dict]:
    """Results records of CE and MMI on dev and eval; ``keep``: only those speakers' utterances;
    systems not in ``scored`` name no per-utterance scores."""
    recs = []
    for set_name, systems in errors.items():
        for info in (CE, MMI):
            scores = {u: s for u, s in _scores(systems[info.system]).items() if keep is None or s.spk in keep}
            if not scores:
                continue
            path = ""
            if info.system in scored:
                full = tmp / "exp" / info.system / f"decode_{set_name}" / "scoring" / "10.utt.jsonl"
                full.parent.mkdir(parents=True, exist_ok=True)
                write_utt_scores(full, list(scores.values()))
                path = str(full.relative_to(tmp))
            wer = 100.0 * sum(s.errors for s in scores.values()) / sum(s.ref_words for s in scores.values())
            recs.append(make_record(info, set_name, 10.0, {"wer": wer}, utt_scores=path))
    return recs


def _section(text: str) -> tuple[str, list[str], dict[str, list[str]]]:
    """Caption, header cells and ``system -> cells`` of the "WER by condition" table."""
    part = text.split("## WER by condition\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in part.splitlines() if line.strip()]
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines if line.startswith("| ")]
    caption = next(line for line in lines if not line.startswith("| "))
    return caption, cells[0], {row[0]: row for row in cells[2:]}


def test_training_speakers_come_from_utt2spk_or_spk2utt(tmp_path):
    assert TrainSpeakers.read(_write_data(tmp_path / "a", TRAIN_SPEAKERS)).speakers == set(TRAIN_SPEAKERS)
    assert TrainSpeakers.read(_write_data(tmp_path / "b", ("A", "T"), "spk2utt")).speakers == {"A", "T"}
    with pytest.raises(SignificanceError, match="no utt2spk or spk2utt"):
        TrainSpeakers.read(tmp_path / "c")
    train = TrainSpeakers.read(tmp_path / "a")
    parts = train.split(_scores(ERRORS["dev"]["tdnn_ce"]))
    assert sorted(parts) == ["seen", "unseen"]
    assert {s.spk for s in parts["seen"].values()} == {"A", "B", "C"}
    assert {s.spk for s in parts["unseen"].values()} == {"X", "Y", "Z"}


def test_per_condition_wers_are_the_known_ones(tmp_path):
    train = _write_data(tmp_path / "data" / "train", TRAIN_SPEAKERS)
    write_results(_records(tmp_path), tmp_path / "RESULTS.md", None, base_dir=tmp_path, significance=BOOT,
                  train_data=train)
    report = json.loads((tmp_path / SIGNIFICANCE_JSON).read_text())
    by = report["by_condition"]
    assert by["train_data"] == str(train) and by["train_speakers"] == 4
    seen, unseen = by["conditions"]["seen"], by["conditions"]["unseen"]
    assert seen["utterances"] == {"dev": 6, "eval": 0} and seen["speakers"] == {"dev": 3, "eval": 0}
    assert unseen["utterances"] == {"dev": 6, "eval": 4} and unseen["words"] == {"dev": 30, "eval": 20}
    expected = {("seen", "dev"): (20.0, 10.0), ("unseen", "dev"): (10.0, 20.0), ("unseen", "eval"): (20.0, 10.0)}
    for (cond, set_name), (ce, mmi) in expected.items():
        systems = by["conditions"][cond]["systems"]
        assert systems["tdnn_ce"][set_name]["wer"] == pytest.approx(ce)
        assert systems["tdnn_mmi_nghf"][set_name]["wer"] == pytest.approx(mmi)
        test = systems["tdnn_mmi_nghf"]["vs"][set_name]
        assert test["rel_reduction"] == pytest.approx(100.0 * (ce - mmi) / ce) and test["test"] == "bootstrap"
    assert "eval" not in by["conditions"]["seen"]["systems"]["tdnn_ce"]  # no seen voices in eval
    assert report["systems"]["tdnn_ce"]["dev"]["wer"] == pytest.approx(15.0)  # the whole set is unchanged

    caption, header, rows = _section((tmp_path / "RESULTS.md").read_text())
    assert header == ["system", "model", "criterion", "dev seen WER [95 % CI]", "dev seen vs CE",
                      "dev unseen WER [95 % CI]", "dev unseen vs CE", "eval unseen WER [95 % CI]", "eval unseen vs CE"]
    assert "No utterance of `eval` is by a seen voice: that condition is left out." in caption
    assert "`dev`: 6 utterances by 3 seen voices, 6 utterances by 3 unseen voices" in caption
    assert f"`{train}`, which has 4 speakers" in caption and "`eval`: 4 utterances by 2 unseen voices." in caption
    ce_dev_seen = by["conditions"]["seen"]["systems"]["tdnn_ce"]["dev"]
    assert rows["tdnn_ce"][3] == f"20.00 [{ce_dev_seen['ci'][0]:.1f}, {ce_dev_seen['ci'][1]:.1f}]"
    assert rows["tdnn_ce"][4] == "–"  # the baseline itself
    assert rows["tdnn_mmi_nghf"][3].startswith("10.00 [") and rows["tdnn_mmi_nghf"][5].startswith("20.00 [")
    assert rows["tdnn_mmi_nghf"][4].startswith("+50.0 % (p") and rows["tdnn_mmi_nghf"][6].startswith("-100.0 % (p")
    assert rows["tdnn_mmi_nghf"][8].startswith("+50.0 % (p")


def test_a_condition_is_assessed_as_a_results_set_holding_only_its_utterances(tmp_path):
    full, only_seen = tmp_path / "full", tmp_path / "seen"
    train = TrainSpeakers.read(_write_data(tmp_path / "train", TRAIN_SPEAKERS))
    baselines = {"tdnn_mmi_nghf": "tdnn_ce"}

    def systems(recs: list[dict]) -> dict[str, dict[str, dict]]:
        out: dict[str, dict[str, dict]] = {}
        for r in recs:
            out.setdefault(r["system"], {})[r["set"]] = r
        return out

    split = assess_systems(systems(_records(full)), baselines, ("dev", "eval"), BOOT, full, train)
    alone = assess_systems(systems(_records(only_seen, keep={"A", "B", "C"})), baselines, ("dev", "eval"), BOOT,
                           only_seen)
    got, want = split["by_condition"]["conditions"]["seen"]["systems"], alone["systems"]
    for system in ("tdnn_ce", "tdnn_mmi_nghf"):
        a, b = dict(got[system]["dev"]), dict(want[system]["dev"])
        # Named as the records name them (relative to each run's base dir), not by where they were read.
        assert a.pop("utt_scores") == b.pop("utt_scores") == "exp/tdnn_ce/decode_dev/scoring/10.utt.jsonl".replace(
            "tdnn_ce", system)
        assert a == b and a["speakers"] == 3 and a["utterances"] == 6
    assert got["tdnn_mmi_nghf"]["vs"]["dev"] == want["tdnn_mmi_nghf"]["vs"]["dev"]
    assert 0.0 < got["tdnn_mmi_nghf"]["vs"]["dev"]["p_value"] <= 1.0


def test_old_corpus_without_seen_voices_leaves_the_condition_out(tmp_path):
    train = _write_data(tmp_path / "train", ("T", "U"))  # nobody of dev or eval speaks in training
    write_results(_records(tmp_path), tmp_path / "RESULTS.md", None, base_dir=tmp_path, significance=BOOT,
                  train_data=train)
    report = json.loads((tmp_path / SIGNIFICANCE_JSON).read_text())
    conds = report["by_condition"]["conditions"]
    assert conds["seen"]["utterances"] == {"dev": 0, "eval": 0}
    assert conds["seen"]["systems"] == {"tdnn_mmi_nghf": {"vs": {"baseline": "tdnn_ce"}}}
    for set_name in ("dev", "eval"):  # unseen voices are the whole set
        assert conds["unseen"]["systems"]["tdnn_ce"][set_name] == report["systems"]["tdnn_ce"][set_name]
    caption, header, rows = _section((tmp_path / "RESULTS.md").read_text())
    assert not any(" seen " in h for h in header) and "dev unseen WER [95 % CI]" in header
    for set_name in ("dev", "eval"):
        assert f"No utterance of `{set_name}` is by a seen voice: that condition is left out." in caption
    assert len(rows["tdnn_ce"]) == 3 + 4


def test_records_without_per_utterance_scores_show_dashes_and_the_cli_option(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _write_data(tmp_path / "data" / "train", TRAIN_SPEAKERS)
    (tmp_path / "exp").mkdir()
    recs = _records(tmp_path, scored=("tdnn_ce",))
    (tmp_path / "exp" / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    argv = ["--results", "exp/results.jsonl", "--out", "RESULTS.md", "--plots-dir", "", "--bootstrap-replicates", "200"]
    assert main(argv) == 0
    assert "WER by condition" not in (tmp_path / "RESULTS.md").read_text()
    assert "by_condition" not in json.loads((tmp_path / SIGNIFICANCE_JSON).read_text())
    assert main([*argv, "--train-data", "data/train"]) == 0
    _, header, rows = _section((tmp_path / "RESULTS.md").read_text())
    assert len(header) == 3 + 6
    assert rows["tdnn_mmi_nghf"][3:] == ["–"] * 6
    assert rows["tdnn_ce"][3].startswith("20.00 [") and rows["tdnn_ce"][5].startswith("10.00 [")
    capsys.readouterr()
    assert main([*argv, "--train-data", "data/nonexistent"]) == 1
    assert capsys.readouterr().err.startswith("nghf-results: error: data/nonexistent: no utt2spk or spk2utt")


@needs_sctk
def test_mapsswe_runs_on_the_condition_s_utterances(tmp_path):
    train = _write_data(tmp_path / "data" / "train", TRAIN_SPEAKERS)
    write_results(_records(tmp_path), tmp_path / "RESULTS.md", None, base_dir=tmp_path,
                  significance=SignificanceConfig(BootstrapConfig(replicates=200)), train_data=train)
    report = json.loads((tmp_path / SIGNIFICANCE_JSON).read_text())
    assert report["test"] == "mapsswe"
    ce, mmi = _scores(ERRORS["dev"]["tdnn_ce"]), _scores(ERRORS["dev"]["tdnn_mmi_nghf"])
    for cond, spks in (("seen", "ABC"), ("unseen", "XYZ")):
        test = report["by_condition"]["conditions"][cond]["systems"]["tdnn_mmi_nghf"]["vs"]["dev"]
        direct = mapsswe({u: s for u, s in ce.items() if s.spk in spks}, {u: s for u, s in mmi.items() if s.spk in spks})
        assert test["test"] == "mapsswe" and test["mapsswe"] == direct.as_dict()
        assert test["mapsswe"]["segments"] == direct.segments
