"""Per-epoch dev WERs: nghf-score track, dev_wer.jsonl, and their curves in the plots."""

from __future__ import annotations

import json

import pytest

from nghf.bin.score import main as score_main
from nghf.score.dev_wer_log import DevWerLogError, read_dev_wer_log, track_decode
from nghf.score.results import write_plots


def _scored(decode_dir, best_lmwt, wers):
    """A decode dir as steps/score.sh leaves it (scoring/summary.json), fabricated."""
    (decode_dir / "scoring").mkdir(parents=True)
    summary = {"best_lmwt": best_lmwt, "lmwt": {f"{w:g}": {"wer": e, "ref_words": 100} for w, e in wers.items()}}
    (decode_dir / "scoring" / "summary.json").write_text(json.dumps(summary))
    return decode_dir


def test_track_records_the_best_lm_weight_and_replaces_a_redecoded_update(tmp_path):
    log = tmp_path / "sys" / "dev_wer.jsonl"
    log.parent.mkdir()
    second = _scored(tmp_path / "e2", 11.0, {10.0: 31.0, 11.0: 30.5})
    first = _scored(tmp_path / "e1", 8.0, {8.0: 33.0, 9.0: 34.0})
    track_decode(log, second, 2, 8)
    rec = track_decode(log, first, 1, 4)
    assert rec == {"update": 4, "epoch": 1, "dev_wer": 33.0, "lmwt": 8.0, "decode_dir": str(first)}
    assert [(r["update"], r["dev_wer"]) for r in read_dev_wer_log(log)] == [(4, 33.0), (8, 30.5)]
    again = _scored(tmp_path / "e1b", 9.0, {9.0: 32.0})
    track_decode(log, again, 1, 4)
    assert [(r["update"], r["dev_wer"]) for r in read_dev_wer_log(log)] == [(4, 32.0), (8, 30.5)]


def test_track_cli_and_its_errors(tmp_path, capsys):
    d = _scored(tmp_path / "dec", 10.0, {10.0: 25.0})
    log = tmp_path / "dev_wer.jsonl"
    assert score_main(["track", "--dev-wer-log", str(log), "--epoch", "3", "--update", "12", str(d)]) == 0
    assert "epoch 3 (update 12): dev WER 25.0 at LMWT 10" in capsys.readouterr().out
    assert score_main(["track", "--dev-wer-log", str(log), "--epoch", "1", "--update", "2",
                       str(tmp_path / "unscored")]) == 1
    log.write_text('{"epoch": 1}\n')
    with pytest.raises(DevWerLogError, match=r"dev_wer\.jsonl:1: record has no update, dev_wer"):
        read_dev_wer_log(log)


def test_the_dev_wer_plot_draws_the_epochs_beside_a_training_log(tmp_path):
    sys_dir = tmp_path / "tdnn_mmi_nghf"
    sys_dir.mkdir()
    (sys_dir / "train_log.jsonl").write_text("".join(
        json.dumps({"update": u, "loss": 1.0 / (u + 1)}) + "\n" for u in range(5)))
    (sys_dir / "dev_wer.jsonl").write_text("".join(
        json.dumps({"update": u, "epoch": u // 2, "dev_wer": 30.0 + u}) + "\n" for u in (2, 4)))
    written = write_plots({"tdnn_mmi_nghf": sys_dir / "train_log.jsonl"}, tmp_path / "plots",
                          final_wers={"tdnn_mmi_nghf": (4, 34.0)})
    assert tmp_path / "plots" / "dev_wer_vs_updates.png" in written
    without = write_plots({"tdnn_mmi_nghf": sys_dir / "train_log.jsonl"}, tmp_path / "plots2")
    assert tmp_path / "plots2" / "dev_wer_vs_updates.png" in without  # the epoch curve alone
