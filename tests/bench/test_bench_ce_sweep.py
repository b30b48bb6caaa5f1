"""bench/bench_ce_sweep.py: the training config it starts from and the held-out summary of a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ce_sweep(load_bench):
    return load_bench("bench_ce_sweep")


def test_recurrent_models_start_from_the_recipes_recurrent_config(ce_sweep):
    assert ce_sweep.default_train_config("lstm") == REPO / "conf" / "train_ce_recurrent.yaml"
    assert ce_sweep.default_train_config("rnn") == REPO / "conf" / "train_ce_rnn.yaml"
    assert ce_sweep.default_train_config("tdnn") == REPO / "conf" / "train_ce.yaml"


def _write_log(path: Path, accs: list[float]) -> Path:
    lines = [json.dumps({"update": 10, "loss": 3.0})]  # an update record without held-out scores
    lines += [json.dumps({"update": 10 * (e + 1), "epoch": e, "loss": 3.0 - e, "heldout_loss": 2.5 - 0.1 * e,
                          "heldout_acc": a, "lr": 0.003 / 2**e}) for e, a in enumerate(accs)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_summary_has_the_final_and_the_best_epoch(ce_sweep, tmp_path):
    records = ce_sweep.epoch_records(_write_log(tmp_path / "train_log.jsonl", [0.30, 0.42, 0.40]))
    assert [r["epoch"] for r in records] == [0, 1, 2]
    summary = ce_sweep.heldout_summary(records)
    assert summary["epochs"] == 3 and summary["heldout_acc"] == 0.40
    assert summary["best_heldout_acc"] == 0.42 and summary["best_epoch"] == 2
    assert summary["heldout_loss"] == 2.3 and summary["last_lr"] == 0.003 / 4


def test_a_log_without_epochs_or_with_a_bad_line_is_a_clear_error(ce_sweep, tmp_path):
    log = tmp_path / "train_log.jsonl"
    log.write_text(json.dumps({"update": 1, "loss": 2.0}) + "\n")
    with pytest.raises(SystemExit, match="no epoch with held-out scores"):
        ce_sweep.epoch_records(log)
    log.write_text(json.dumps({"update": 1, "loss": 2.0}) + "\n{oops\n")
    with pytest.raises(SystemExit, match=r"train_log.jsonl:2: not JSON"):
        ce_sweep.epoch_records(log)
