"""Archiving a finished run: copies with relative paths kept, table and plots rendered there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nghf.score.archive import RunArchiveError, archive_run
from nghf.score.results_log import SystemInfo, append_record, make_record


def _fake_run(run: Path) -> None:
    """A run directory with one GMM and one NGHF system (fabricated test data)."""
    exp = run / "exp"
    nghf = exp / "tdnn_mmi_nghf"
    nghf.mkdir(parents=True)
    log = [{"update": u, "loss": 1.0 / (u + 1), "heldout_loss": 1.1 / (u + 1), "cg_iterations": 5,
            "damping": 0.5, "quad_reduction": [0.4, 0.2]} for u in range(3)]
    (nghf / "train_log.jsonl").write_text("".join(json.dumps(x) + "\n" for x in log))
    (nghf / "meta.json").write_text(json.dumps({"system": "tdnn_mmi_nghf", "updates": 3}))
    (nghf / "dev_wer.jsonl").write_text(json.dumps({"update": 1, "epoch": 1, "dev_wer": 22.0}) + "\n")
    for x in ("dev", "eval"):
        (nghf / f"decode_{x}").mkdir()
        (nghf / f"decode_{x}" / "best_wer").write_text(f"%WER 20.00 [ {x} ]\n")
    (exp / "stage_times.tsv").write_text("0\tcorpus\t12\n")
    (exp / "part_times.tsv").write_text("11\tseq_train\ttdnn_mmi_nghf\t60\t2026-01-01 00:00:00\n")
    (exp / "tdnn_denlats").mkdir()
    (exp / "tdnn_denlats" / "stats.json").write_text("{}")
    infos = [SystemInfo("tri2", "gmm", "ml", "em", 20, None),
             SystemInfo("tdnn_mmi_nghf", "tdnn", "mmi", "nghf", 3, 60.0, "exp/tdnn_mmi_nghf/train_log.jsonl", 1000)]
    for info in infos:
        for x, wer in (("dev", 20.0), ("eval", 21.0)):
            rec = make_record(info, x, 10.0, {"wer": wer, "ref_words": 100, "errors": int(wer)})
            rec["decode_dir"] = f"exp/{info.system}/decode_{x}"
            append_record(exp / "results.jsonl", rec)


def test_archive_copies_the_inputs_and_renders_the_table_there(tmp_path, monkeypatch):
    run, dest = tmp_path / "run", tmp_path / "docs" / "default"
    _fake_run(run)
    files = archive_run("exp/results.jsonl", dest, run)
    rel = {str(f.relative_to(dest)) for f in files}
    assert {"exp/results.jsonl", "exp/tdnn_mmi_nghf/train_log.jsonl", "exp/tdnn_mmi_nghf/meta.json",
            "exp/tdnn_mmi_nghf/decode_dev/best_wer", "exp/tdnn_mmi_nghf/decode_eval/best_wer",
            "exp/tdnn_mmi_nghf/dev_wer.jsonl", "exp/stage_times.tsv", "exp/part_times.tsv", "exp/tdnn_denlats/stats.json",
            "RESULTS.md", "plots/criterion_vs_updates.png", "plots/dev_wer_vs_updates.png"} <= rel
    text = (dest / "RESULTS.md").read_text()
    assert "](plots/criterion_vs_updates.png)" in text and "tdnn_mmi_nghf" in text
    # The archived copy renders again on its own, from inside the archive.
    monkeypatch.chdir(dest)
    from nghf.bin.results import main
    assert main(["--results", "exp/results.jsonl", "--out", "again.md", "--plots-dir", "plots"]) == 0
    assert (dest / "again.md").read_text().split("\n", 1)[1] == text.split("\n", 1)[1]


def test_missing_training_log_is_named(tmp_path):
    run = tmp_path / "run"
    _fake_run(run)
    (run / "exp" / "tdnn_mmi_nghf" / "train_log.jsonl").unlink()
    with pytest.raises(RunArchiveError, match="train_log.jsonl: named by the results but missing"):
        archive_run("exp/results.jsonl", tmp_path / "dest", run)


def test_paths_outside_the_run_are_refused(tmp_path):
    run = tmp_path / "run"
    _fake_run(run)
    with pytest.raises(RunArchiveError, match="not inside the run directory"):
        archive_run(tmp_path / "elsewhere" / "results.jsonl", tmp_path / "dest", run)


def test_archive_with_expected_systems_lists_them_and_keeps_the_file(tmp_path):
    run, dest = tmp_path / "run", tmp_path / "docs" / "paper"
    _fake_run(run)
    (run / "conf").mkdir()
    (run / "conf" / "systems.yaml").write_text(
        "systems:\n  - {system: tri2, model: gmm, criterion: ml, optimiser: em}\n"
        "grids:\n  - {models: [tdnn], criteria: [mmi], optimisers: [sgd, nghf]}\n")
    files = archive_run("exp/results.jsonl", dest, run, expected_systems="conf/systems.yaml")
    assert dest / "conf" / "systems.yaml" in files
    text = (dest / "RESULTS.md").read_text()
    assert "2 of the 3 expected systems scored" in text and "| tdnn_mmi_sgd | tdnn | – | mmi | sgd |" in text
    with pytest.raises(RunArchiveError, match="missing"):
        archive_run("exp/results.jsonl", tmp_path / "other", run, expected_systems="conf/absent.yaml")
