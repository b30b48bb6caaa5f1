"""Model files (round trip, clear errors) and priors / pseudo-likelihood conversion."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nghf.data.batch import SequenceBatch
from nghf.models.factory import ModelConfig, build_model
from nghf.models.io import FeatureInfo, ModelFileError, load_model, save_model
from nghf.models.lstm import LstmConfig
from nghf.models.priors import log_likelihoods, log_priors_from_counts, pdf_counts, posterior_priors
from nghf.models.tdnn import TdnnConfig


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=8, contexts=((-1, 0, 1), (-2, 0, 2)))),
        ModelConfig(kind="lstm", lstm=LstmConfig(hidden_dim=8, num_layers=1, proj_dim=4)),
    ],
)
def test_model_file_round_trip(tmp_path, config) -> None:
    torch.manual_seed(1)
    model = build_model(config, 6, 5)
    model.train()
    x = torch.randn(2, 20, 6)
    model(x, torch.tensor([20, 11]))  # moves batch-norm running statistics
    model.eval()
    priors = log_priors_from_counts(np.array([1.0, 2.0, 3.0, 4.0, 0.0]))
    save_model(tmp_path / "final.mdl", model, config, FeatureInfo(dim=6, apply_cmvn=True), priors, 0.7)
    loaded = load_model(tmp_path / "final.mdl", "cpu", feat_dim=6, num_pdfs=5)
    assert loaded.model_config == config
    assert loaded.features == FeatureInfo(dim=6, apply_cmvn=True)
    assert loaded.prior_scale == pytest.approx(0.7)
    torch.testing.assert_close(loaded.log_priors, priors)
    assert not loaded.model.training
    torch.testing.assert_close(loaded.model(x, torch.tensor([20, 11]))[0], model(x, torch.tensor([20, 11]))[0])


def test_model_file_errors(tmp_path) -> None:
    config = ModelConfig(kind="rnn")
    model = build_model(config, 6, 5)
    path = tmp_path / "m.mdl"
    save_model(path, model, config, FeatureInfo(dim=6))
    with pytest.raises(ModelFileError, match=r"m\.mdl.*6-dim features.*40"):
        load_model(path, feat_dim=40)
    with pytest.raises(ModelFileError, match=r"m\.mdl.*5 pdfs.*3000"):
        load_model(path, num_pdfs=3000)
    data = path.read_bytes()
    (tmp_path / "cut.mdl").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"cut\.mdl.*corrupt"):
        load_model(tmp_path / "cut.mdl")
    (tmp_path / "junk.mdl").write_text("hello")
    with pytest.raises(ModelFileError, match=r"junk\.mdl"):
        load_model(tmp_path / "junk.mdl")
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "missing.mdl")
    with pytest.raises(ValueError, match="log_priors"):
        save_model(path, model, config, FeatureInfo(dim=6), torch.zeros(4))


def test_priors_from_counts_with_floor() -> None:
    counts = pdf_counts([np.array([0, 0, 1, 3]), np.array([3, 3])], 5)
    assert counts.tolist() == [2, 1, 0, 3, 0]
    lp = log_priors_from_counts(counts, floor=0.2)
    p = np.array([2, 1, 0, 3, 0]) / 6
    p = np.maximum(p, 0.2)  # pdf 1 is floored
    p[[2, 4]] = 0.5  # unseen pdfs: the largest seen prior, never a bonus over a trained pdf
    p /= p.sum()
    np.testing.assert_allclose(lp.numpy(), np.log(p), rtol=1e-6)
    assert math.isclose(float(lp.exp().sum()), 1.0, rel_tol=1e-6)
    with pytest.raises(ValueError, match="outside"):
        pdf_counts([np.array([5])], 5)
    with pytest.raises(ValueError, match="sum to zero"):
        log_priors_from_counts(np.zeros(3))


def test_log_likelihoods() -> None:
    logits = torch.tensor([[1.0, 2.0, 0.5]])
    lp = torch.log(torch.tensor([0.5, 0.25, 0.25]))
    out = log_likelihoods(logits, lp, 0.5)
    expected = torch.log_softmax(logits, -1) - 0.5 * lp
    torch.testing.assert_close(out, expected)
    # Brute force: log p(s|x) - k log p(s) by hand for one entry.
    p = math.exp(2.0) / (math.exp(1.0) + math.exp(2.0) + math.exp(0.5))
    assert float(out[0, 1]) == pytest.approx(math.log(p) - 0.5 * math.log(0.25), rel=1e-6)
    with pytest.raises(ValueError, match="pdfs"):
        log_likelihoods(logits, lp[:2])


def test_posterior_priors_average_valid_frames() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="rnn"), 3, 4).eval()
    x = torch.randn(2, 6, 3)
    lengths = torch.tensor([6, 2])
    batch = SequenceBatch(("a", "b"), x, lengths)
    with torch.no_grad():
        post_a = torch.softmax(model(x[:1], lengths[:1])[0][0], -1)
        post_b = torch.softmax(model(x[1:, :2], lengths[1:])[0][0], -1)
    expected = torch.log(torch.cat([post_a, post_b]).double().mean(0)).float()
    torch.testing.assert_close(posterior_priors(model, [batch]), expected, rtol=1e-5, atol=1e-6)
