"""bench/bench_gpu.py on the CPU (device = reference): the table and JSON, the agreement check
and that it fails when the device's results are wrong or a computation raises."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench(load_bench):
    return load_bench("bench_gpu")


def test_compare_flags_results_outside_the_tolerance(bench) -> None:
    ref = torch.linspace(-2.0, 3.0, 50, dtype=torch.float64)
    assert bench.compare(ref, ref.clone(), rtol=1e-3)["ok"]
    assert bench.compare(ref, ref * (1 + 1e-5), rtol=1e-3)["ok"]  # float32-sized noise passes
    bad = bench.compare(ref, ref * (1 + 1e-2), rtol=1e-3)
    assert not bad["ok"] and bad["max_abs_diff"] == pytest.approx(3e-2) and bad["scale"] == pytest.approx(3.0)
    one = ref.clone()
    one[7] += 0.01  # a single wrong element
    assert not bench.compare(ref, one, rtol=1e-3)["ok"]
    assert bench.compare(ref, one, rtol=0.0, atol=0.02)["ok"]
    nan = ref.clone()
    nan[0] = float("nan")
    assert not bench.compare(ref, nan, rtol=1.0)["ok"]
    assert not bench.compare(ref, ref[:-1], rtol=1.0)["ok"]
    assert bench.compare([1.0, 2.0], [1.0, 2.0001], rtol=1e-3)["ok"]  # loss curves (lists)
    assert not bench.compare([1.0, 2.0], [1.0, 2.1], rtol=1e-3)["ok"]


def test_quick_cpu_run_prints_the_table_and_writes_the_json(bench, tmp_path, capsys) -> None:
    out = tmp_path / "gpu.json"
    assert bench.main(["--device", "cpu", "--quick", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "max|diff|" in text and "fb throughput:" in text and "arc-frames/s" in text
    assert "all checks passed" in text
    result = json.loads(out.read_text())
    assert result["device"] == "cpu" and result["reference"] == "cpu" and result["ok"] and not result["failures"]
    assert result["dtype"] == "float32" and result["sizes"] == "quick"
    assert result["tolerances"]["train_loss"] == {"rtol": 1e-3, "atol": 0.0}
    assert set(result["tolerances"]) >= {"log_z", "arc_post", "gamma", "cov_hvp", "grad", "gauss_newton", "fisher"}
    rows = result["rows"]
    assert {r["section"] for r in rows} == {"fb", "curv", "train"}
    for row in rows:
        assert row["ok"] and row["device_s"] > 0 and row["cpu_s"] > 0
        for check in row["checks"].values():
            assert check["ok"] and check["max_abs_diff"] == 0.0  # the CPU against itself: exact
            assert check["scale"] > 0 and "rtol" in check and "atol" in check
    fb = next(r for r in rows if r["name"] == "forward-backward")
    assert set(fb["checks"]) == {"log_z", "arc_post"}
    assert result["fb"]["arc_frames"] == result["fb"]["arcs"] > result["fb"]["frames"] > 0
    assert fb["device_arc_frames_per_s"] > 0 and result["fb"]["anchor_arc_frames_per_s"] == 1.8e8
    curv = {(r["model"], r["criterion"], r["product"]) for r in rows if r["section"] == "curv"}
    assert curv == {(m, c, p) for m in ("tdnn", "lstm", "rnn") for c in ("mmi", "mpfe")
                    for p in ("grad", "gauss_newton", "fisher")}
    train = [r for r in rows if r["section"] == "train"]
    assert {(r["model"], r["optimiser"]) for r in train} == {(m, o) for m in ("tdnn", "lstm") for o in ("nghf", "sgd")}
    for r in train:
        assert set(r["checks"]) == {"train_loss", "train_step"} and r["checks"]["train_step"]["scale"] > 0
        assert len(r["cpu_losses"]) == r["updates"] + 1 == 3 and r["cpu_losses"] == r["device_losses"]
        assert r["cpu_losses"][-1] < r["cpu_losses"][0]


def test_wrong_or_failing_device_results_fail_the_run(bench, tmp_path, monkeypatch, capsys) -> None:
    """Every check fails when the device's results are off by 3 % (the largest rtol is 1 %),
    and a product that raises is a failed row with the error's text (the run goes on, exits 1)."""

    def broken(self, v):
        raise RuntimeError("Trying to use forward AD with _fake_kernel that does not support it")

    monkeypatch.setattr(bench.ModelCurvature, "fisher", broken)
    out = tmp_path / "gpu.json"
    assert bench.main(["--device", "cpu", "--quick", "--perturb", "3e-2", "--json", str(out)]) == 1
    assert "FAILED:" in capsys.readouterr().out
    result = json.loads(out.read_text())
    checks = [(r, k, c) for r in result["rows"] for k, c in r["checks"].items()]
    assert not result["ok"] and len(result["failures"]) == len(checks)
    assert all(not c["ok"] for _, _, c in checks)
    fisher = [c for r, k, c in checks if k == "fisher"]
    assert len(fisher) == 6 and all("forward AD with _fake_kernel" in c["why"] for c in fisher)
    assert all(math.isnan(c["max_abs_diff"]) for c in fisher)
    assert all(c["max_abs_diff"] > 0 for r, k, c in checks if k != "fisher")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_missing_cuda_is_a_one_line_error(bench, capsys) -> None:
    assert bench.main(["--device", "cuda", "--quick"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench_gpu: error:") and "CUDA is not available" in lines[0]
