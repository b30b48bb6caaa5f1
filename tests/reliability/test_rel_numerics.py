"""Fault class **numerics**: NaN/Inf in features, log-likelihoods, lattice scores, the loss,
the gradient or a curvature product never reaches the parameters. The update is skipped
(first-order) or rejected with the damping raised (second-order); the trainer's
``BadUpdateGuard`` logs each event with the update number and utterance ids (marking those
with non-finite features) and stops the run with ``NumericalError`` only past
``max_bad_updates`` (``TrainConfig.max_bad_updates``, default 10; negative: never).

| where the NaN/Inf is          | observed                                                                  |
|-------------------------------|---------------------------------------------------------------------------|
| features on disk              | ``read_features``: ``DataError`` naming utterance, frame and dimension     |
| features in a batch (Adam)    | update skipped, params unchanged, warning with utterance ids, counted     |
| gradient only (loss finite)   | update skipped, params unchanged, counted                                 |
| features in a batch (NGHF)    | step rejected (no change), counted                                        |
| curvature product (NGHF)      | every CG retry rejected, damping raised, params unchanged, counted        |
| more than max_bad_updates     | ``NumericalError`` naming the update and the utterances                   |
| log-likelihoods (decoding)    | ``DecodeInputError`` naming utterance and first bad frame                 |
| lattice graph cost on disk    | ``LatticeError`` naming archive, utterance and arc (xfail: see reason)    |
"""

from __future__ import annotations

import copy
import logging

import numpy as np
import pytest
import torch
from rel_helpers import synth_corpus, write_data_dir

from nghf.criteria.ce import CrossEntropy
from nghf.data.nnfeats import DataError, read_features
from nghf.decode.decoder import DecodeInputError, expand_to_tids
from nghf.lattice.store import LatticeStore, save_lattice_archive
from nghf.lattice.synthetic import random_lattice
from nghf.lattice.types import LatticeError
from nghf.models.factory import ModelConfig, build_model
from nghf.models.tdnn import TdnnConfig
from nghf.optim.base import UpdateProblem
from nghf.optim.config import DampingConfig, SecondOrderConfig
from nghf.optim.curvature import ModelCurvature
from nghf.optim.first_order import FirstOrderConfig, build_first_order
from nghf.optim.params import ParamSpace
from nghf.optim.second_order import SecondOrderOptimizer
from nghf.optim.toy import frames_of, make_batch, make_model
from nghf.train.data import ChunkedData, DataConfig, split_heldout, utterance_batches
from nghf.train.trainer import Trainer
from nghf.train.updates import ChunkedUpdates
from nghf.utils.numerics import BadUpdateGuard, NumericalError

D64 = torch.float64


def _params(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _trainer(tmp_path, feats, alis, max_bad_updates: int, updater_kind: str = "adam") -> Trainer:
    torch.manual_seed(0)
    config = ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=8, contexts=((-1, 0, 1),)))
    model = build_model(config, 3, 4)
    dconf = DataConfig(chunk_width=10, batch_size=2, heldout_fraction=0.25)
    train, held = split_heldout(sorted(feats), dconf)
    data = ChunkedData(feats, alis, dconf, model, train)
    updater = build_first_order(FirstOrderConfig(kind=updater_kind, lr=0.01), model.parameters())
    return Trainer(model, CrossEntropy(), updater, ChunkedUpdates(data), utterance_batches(feats, alis, held),
                   tmp_path, epochs=1, max_bad_updates=max_bad_updates)


@pytest.fixture
def poisoned():
    feats, alis = synth_corpus(num_utts=8, dim=3, min_len=12, max_len=16, seed=7)
    dconf = DataConfig(chunk_width=10, batch_size=2, heldout_fraction=0.25)
    bad = split_heldout(sorted(feats), dconf)[0][0]  # a training utterance
    feats[bad] = np.full_like(feats[bad], np.nan)
    return feats, alis, bad


def test_nonfinite_features_on_disk_are_named_at_read_time(tmp_path) -> None:
    feats, alis = synth_corpus(num_utts=3, dim=3, min_len=10, max_len=12, seed=1)
    utt = sorted(feats)[1]
    feats[utt][4, 2] = np.inf
    data, _ = write_data_dir(tmp_path, feats, alis, cmvn=False)
    with pytest.raises(DataError, match=rf"feats.scp: utterance {utt}: 1 non-finite feature value\(s\), "
                                         r"first inf at frame 4, dimension 2"):
        read_features(data)


def test_nan_batch_is_skipped_logged_with_ids_and_counted(tmp_path, poisoned, caplog) -> None:
    feats, alis, bad = poisoned
    trainer = _trainer(tmp_path, feats, alis, max_bad_updates=100)
    expected = sum(bad in {u.split(":")[0] for b in trainer.source.update_batches(0, i)[0] for u in b.utt_ids}
                   for i in range(trainer.source.num_updates(0)))
    assert expected >= 1
    with caplog.at_level(logging.WARNING, logger="nghf"):
        trainer.train()
    assert trainer.guard.count == expected
    assert trainer.updater.skipped == expected
    assert all(bool(torch.isfinite(t).all()) for t in trainer.model.state_dict().values())  # BN stats too
    assert np.isfinite(trainer.history[0].heldout_loss)
    events = [r.getMessage() for r in caplog.records if "non-finite" in r.getMessage() and "utterances:" in r.getMessage()]
    assert len(events) == expected and all(f"non-finite features in: {bad}" in e for e in events), events
    assert "update skipped" in events[0]
    assert trainer.state_dict()["progress"]["bad_updates"] == expected  # survives a resume


def test_run_fails_only_past_the_configured_count(tmp_path, poisoned) -> None:
    feats, alis, bad = poisoned
    trainer = _trainer(tmp_path, feats, alis, max_bad_updates=0)
    with pytest.raises(NumericalError, match=rf"more than max_bad_updates=0.*{bad}"):
        trainer.train()
    assert trainer.guard.count == 1


def test_nonfinite_gradient_with_finite_loss_is_skipped(tmp_path) -> None:
    feats, alis = synth_corpus(num_utts=8, dim=3, min_len=12, max_len=16, seed=7)
    trainer = _trainer(tmp_path, feats, alis, max_bad_updates=5)
    weight = next(trainer.model.parameters())
    handle = weight.register_hook(lambda g: torch.full_like(g, float("inf")))
    before = _params(trainer.model)
    loss = trainer.run_update(0)
    handle.remove()
    assert np.isfinite(loss)
    assert trainer.guard.count == 1 and trainer.updater.skipped == 1
    assert all(torch.equal(v, before[k]) for k, v in trainer.model.state_dict().items())


class NanCurvature(ModelCurvature):
    """Gauss-Newton and Fisher products that come back as NaN (a numerically broken Jv/Jᵀu)."""

    def gauss_newton(self, v: torch.Tensor) -> torch.Tensor:
        return torch.full_like(v, float("nan"))

    def fisher(self, v: torch.Tensor) -> torch.Tensor:
        return torch.full_like(v, float("nan"))


def _convex_batch():
    teacher = make_model("linear", feat_dim=4, num_pdfs=3, seed=9, dtype=D64)
    return make_batch(6, 8, 4, 3, seed=2, teacher=teacher, dtype=D64)


@pytest.mark.parametrize("formulation", ["A", "B"])
def test_nan_curvature_product_rejects_the_step_and_raises_damping(formulation) -> None:
    batch = _convex_batch()
    model = make_model("linear", feat_dim=4, num_pdfs=3, dtype=D64)
    before = _params(model)
    cfg = SecondOrderConfig(kind="nghf", formulation=formulation,
                            damping=DampingConfig(initial=1.0, relative=False, max_retries=2))
    opt = SecondOrderOptimizer(model.parameters(), cfg)
    space = ParamSpace(model, list(model.parameters()))
    n = frames_of([batch])
    stats = opt.step(lambda: NanCurvature(model, CrossEntropy(), space, [batch], [batch], n, n))
    assert stats.extras["accepted"] == 0.0 and opt.rejections == 3  # first try + 2 retries
    assert opt.damping > 1.0
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    guard = BadUpdateGuard(max_bad_updates=0)
    with pytest.raises(NumericalError, match="utt"):  # the guard sees the NaN in the statistics
        guard.record(1, stats.loss, stats.extras, [batch])


def test_nan_features_in_a_second_order_update_change_nothing() -> None:
    batch = _convex_batch()
    feats = batch.features.clone()
    feats[1, 0, 0] = float("nan")
    bad = batch.__class__(**{**batch.__dict__, "features": feats})
    model = make_model("linear", feat_dim=4, num_pdfs=3, dtype=D64)
    before = copy.deepcopy(model.state_dict())
    opt = SecondOrderOptimizer(model.parameters(), SecondOrderConfig(kind="nghf"))
    n = frames_of([bad])
    stats = opt.step(UpdateProblem(model, CrossEntropy(), [bad], [bad], n, n))
    assert stats.extras["accepted"] == 0.0
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    guard = BadUpdateGuard(max_bad_updates=3)
    assert guard.record(7, stats.loss, stats.extras, [bad]) and guard.count == 1


def test_nonfinite_log_likelihoods_are_refused_by_the_decoder() -> None:
    loglik = np.zeros((5, 3), dtype=np.float32)
    loglik[3, 1] = np.nan
    with pytest.raises(DecodeInputError, match="utterance u7: log-likelihoods are not finite \\(first at frame 3\\)"):
        expand_to_tids(loglik, np.array([-1, 0, 1, 2]), 0.1, utt="u7")


def test_nan_lattice_score_on_disk_is_refused_on_load(tmp_path) -> None:
    path = tmp_path / "lat.1.npz"
    save_lattice_archive(path, [random_lattice(s, 6, utt_id=f"u{s}") for s in range(2)])
    with np.load(path) as npz:
        arrays = dict(npz)
    arrays["graph_cost"][-1] = np.nan  # an arc of u1
    np.savez(path, **arrays)
    with pytest.raises(LatticeError, match=rf"{path}: utterance u1: .*(NaN|finite)"):
        LatticeStore(tmp_path)["u1"]
