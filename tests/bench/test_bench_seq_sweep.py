"""bench/bench_seq_sweep.py: grid parsing, system names and the optimiser config of a point."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sweep(load_bench):
    return load_bench("bench_seq_sweep")


def test_grid_is_the_product_of_its_axes(sweep):
    points = sweep.parse_grid(["optim:lr=0.001,0.01", "criterion:xent_weight=0.1,0.3,0.5"])
    assert len(points) == 6
    assert points[0] == [("optim", "lr", "0.001"), ("criterion", "xent_weight", "0.1")]
    assert points[-1] == [("optim", "lr", "0.01"), ("criterion", "xent_weight", "0.5")]
    assert sweep.parse_grid([]) == [[]]
    names = {sweep.point_name("tdnn_mmi_sgd", p) for p in points}
    assert len(names) == 6 and "tdnn_mmi_sgd_lr0.001_xent_weight0.1" in names


@pytest.mark.parametrize("bad", ["lr=0.1", "optimiser:lr=0.1", "optim:lr=", "optim:=0.1"])
def test_bad_grid_is_a_clear_error(sweep, bad):
    with pytest.raises(SystemExit, match="bad --grid"):
        sweep.parse_grid([bad])


def test_optim_copy_sets_only_the_points_optimiser_keys(sweep, tmp_path):
    point = [("optim", "lr", "0.003"), ("optim", "cg.max_iters", "8"), ("criterion", "xent_weight", "0.3")]
    out = sweep.optim_copy(REPO / "conf" / "optim_nghf.yaml", point, tmp_path / "optim.yaml")
    got = yaml.safe_load(out.read_text())
    base = yaml.safe_load((REPO / "conf" / "optim_nghf.yaml").read_text())
    assert got["lr"] == 0.003 and got["cg"]["max_iters"] == 8 and "xent_weight" not in got
    base.update(lr=0.003)
    base["cg"]["max_iters"] = 8
    assert got == base
