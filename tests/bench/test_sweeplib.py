"""bench/sweeplib.py: grid parsing, system names, overrides, config copies of a grid point, scoring and results files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SECTIONS = ("optim", "criterion", "train")


@pytest.fixture(scope="module")
def sweeplib(load_bench):
    return load_bench("sweeplib")


def test_grid_is_the_product_of_its_axes(sweeplib):
    points = sweeplib.parse_grid(["optim:lr=0.001,0.01", "criterion:xent_weight=0.1,0.3,0.5"], SECTIONS, "t")
    assert len(points) == 6
    assert points[0] == [("optim", "lr", "0.001"), ("criterion", "xent_weight", "0.1")]
    assert points[-1] == [("optim", "lr", "0.01"), ("criterion", "xent_weight", "0.5")]
    assert sweeplib.parse_grid([], SECTIONS, "t") == [[]]
    names = {sweeplib.point_name("tdnn_mmi_sgd", p) for p in points}
    assert len(names) == 6 and "tdnn_mmi_sgd_lr0.001_xent_weight0.1" in names
    assert sweeplib.point_name("lstm_ce", [("train", "data.chunk_width", "32")]) == "lstm_ce_data-chunk_width32"


@pytest.mark.parametrize("bad", ["lr=0.1", "optimiser:lr=0.1", "optim:lr=", "optim:=0.1", "model:x=1"])
def test_bad_grid_is_a_clear_error(sweeplib, bad):
    with pytest.raises(SystemExit, match=r"mytool: bad --grid"):
        sweeplib.parse_grid([bad], SECTIONS, "mytool")


def test_overrides_keep_only_the_section_after_the_base(sweeplib):
    point = [("train", "epochs", "3"), ("criterion", "xent_weight", "0.3"), ("train", "data.seed", "1")]
    assert sweeplib.overrides_of(point, "train", "batch=2") == "batch=2 epochs=3 data.seed=1"
    assert sweeplib.overrides_of(point, "criterion") == "xent_weight=0.3"
    assert sweeplib.overrides_of(point, "optim") == ""


def test_config_copy_sets_only_the_points_section_keys(sweeplib, tmp_path):
    point = [("optim", "lr", "0.003"), ("optim", "cg.max_iters", "8"), ("criterion", "xent_weight", "0.3")]
    out = sweeplib.config_copy(REPO / "conf" / "optim_nghf.yaml", point, "optim", tmp_path / "optim.yaml")
    got = yaml.safe_load(out.read_text())
    base = yaml.safe_load((REPO / "conf" / "optim_nghf.yaml").read_text())
    assert got["lr"] == 0.003 and got["cg"]["max_iters"] == 8 and "xent_weight" not in got
    base.update(lr=0.003)
    base["cg"]["max_iters"] = 8
    assert got == base


def _scored(decode_dir: Path, wers: dict[str, float]) -> None:
    (decode_dir / "scoring").mkdir(parents=True)
    best = min(wers, key=lambda k: (wers[k], float(k)))
    summary = {"best_lmwt": float(best), "lmwt": {k: {"wer": w} for k, w in wers.items()}}
    (decode_dir / "scoring" / "summary.json").write_text(json.dumps(summary))


def test_score_point_tunes_the_lm_weight_on_dev_and_applies_it_to_eval(sweeplib, tmp_path):
    _scored(tmp_path / "decode_dev", {"7": 30.0, "8": 29.0, "9": 31.0})
    _scored(tmp_path / "decode_eval", {"7": 25.0, "8": 28.0, "9": 27.0})  # eval's own best (7) is not taken
    assert sweeplib.score_point(tmp_path, with_eval=True) == {"lmwt": 8.0, "dev_wer": 29.0, "eval_wer": 28.0}
    assert sweeplib.score_point(tmp_path, with_eval=False) == {"lmwt": 8.0, "dev_wer": 29.0}


def test_write_sweep_json_creates_the_folder(sweeplib, tmp_path):
    out = tmp_path / "sub" / "sweep.json"
    sweeplib.write_sweep_json(out, {"rows": [{"name": "a"}]})
    assert json.loads(out.read_text()) == {"rows": [{"name": "a"}]}


def test_silence_override_is_the_lang_dirs_silence_phones_as_run_sh_passes_them(sweeplib, tmp_path):
    (tmp_path / "lang" / "phones").mkdir(parents=True)
    (tmp_path / "lang" / "phones" / "silence.csl").write_text("1:2:3:15\n")
    assert sweeplib.silence_override(tmp_path) == "silence_phones=[1,2,3,15]"
