"""A decodable model from a training checkpoint (nghf.train.export, nghf-export-model)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nghf.bin.export_model import main as export_main
from nghf.models.factory import ModelConfig, build_model
from nghf.models.io import FeatureInfo, load_model, save_model
from nghf.models.priors import log_priors_from_counts
from nghf.models.tdnn import TdnnConfig
from nghf.train.checkpoint import save_checkpoint
from nghf.train.export import export_checkpoint

CONFIG = ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=8, contexts=((-1, 0, 1), (-2, 0, 2))))


def _run(tmp_path):
    """A run dir with final.mdl and an epoch-2 checkpoint holding other parameters."""
    torch.manual_seed(0)
    model = build_model(CONFIG, 6, 5)
    priors = log_priors_from_counts(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    save_model(tmp_path / "final.mdl", model, CONFIG, FeatureInfo(dim=6, apply_cmvn=True), priors, 0.8)
    earlier = {k: v + 0.5 if v.is_floating_point() else v for k, v in model.state_dict().items()}
    save_checkpoint(tmp_path, {"model": earlier, "progress": {"epoch": 2, "global_update": 7}}, "epoch2")
    save_checkpoint(tmp_path, {"model": model.state_dict(), "progress": {"epoch": 3, "global_update": 9}}, "epoch3")
    return model, earlier, priors


def test_export_takes_the_checkpoint_network_and_the_final_model_description(tmp_path):
    _, earlier, priors = _run(tmp_path)
    found = export_checkpoint(tmp_path / "checkpoint.epoch2.pt", tmp_path / "final.mdl", tmp_path / "epoch2.mdl")
    assert (found.epoch, found.update, found.identical) == (2, 7, False)
    loaded = load_model(tmp_path / "epoch2.mdl")
    for k, v in loaded.model.state_dict().items():
        torch.testing.assert_close(v, earlier[k])
    assert loaded.model_config == CONFIG and loaded.features == FeatureInfo(dim=6, apply_cmvn=True)
    torch.testing.assert_close(loaded.log_priors, priors)
    assert loaded.prior_scale == pytest.approx(0.8)


def test_the_checkpoint_of_the_final_model_is_reported_identical_and_not_written(tmp_path, capsys):
    _run(tmp_path)
    assert export_main([str(tmp_path / "checkpoint.epoch3.pt"), str(tmp_path / "final.mdl"),
                        str(tmp_path / "epoch3.mdl")]) == 0
    assert capsys.readouterr().out.split() == ["3", "9", "true"]
    assert not (tmp_path / "epoch3.mdl").exists()


def test_a_checkpoint_of_another_network_or_no_checkpoint_is_a_clear_error(tmp_path, capsys):
    _run(tmp_path)
    other = build_model(ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=4, contexts=((-1, 0, 1),))), 6, 5)
    save_checkpoint(tmp_path, {"model": other.state_dict(), "progress": {"epoch": 1, "global_update": 3}}, "epoch1")
    with pytest.raises(ValueError, match=r"checkpoint\.epoch1\.pt: its network does not fit .*final\.mdl"):
        export_checkpoint(tmp_path / "checkpoint.epoch1.pt", tmp_path / "final.mdl", tmp_path / "e1.mdl")
    torch.save({"something": 1}, tmp_path / "checkpoint.epoch4.pt")
    assert export_main([str(tmp_path / "checkpoint.epoch4.pt"), str(tmp_path / "final.mdl"), str(tmp_path / "x")]) == 1
    assert "not a training checkpoint" in capsys.readouterr().err
