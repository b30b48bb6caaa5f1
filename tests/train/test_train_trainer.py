"""The generic trainer: CE training learns, resume is bit-identical, newbob, CLI end to end."""

from __future__ import annotations

import pytest
import torch
from nghf_synth_data import synth_corpus, write_data_dir

from nghf.bin.train import main as train_main
from nghf.criteria.ce import CrossEntropy
from nghf.models.factory import ModelConfig, build_model
from nghf.models.io import load_model
from nghf.models.rnn import RnnConfig
from nghf.models.tdnn import TdnnConfig
from nghf.optim.first_order import FirstOrderConfig, build_first_order
from nghf.train.data import ChunkedData, DataConfig, split_heldout, utterance_batches
from nghf.train.schedule import LrSchedule, ScheduleConfig
from nghf.train.trainer import Trainer, evaluate
from nghf.train.updates import ChunkedUpdates


class Crash(RuntimeError):
    pass


class CrashingUpdater:
    """Delegates to an updater and raises after ``after`` updates (a killed job)."""

    def __init__(self, inner, after: int) -> None:
        self.inner, self.after, self.count = inner, after, 0
        self.set_lr, self.state_dict, self.load_state_dict = inner.set_lr, inner.state_dict, inner.load_state_dict

    @property
    def lr(self) -> float:
        return self.inner.lr

    def step(self, problem):
        if self.count == self.after:
            raise Crash
        self.count += 1
        return self.inner.step(problem)


def make_trainer(out_dir, feats, alis, kind: str, crash_after: int | None = None, init_seed: int = 0) -> Trainer:
    torch.manual_seed(init_seed)
    if kind == "tdnn":
        config = ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=16, contexts=((-1, 0, 1), (-2, 0, 2))))
    else:
        config = ModelConfig(kind="rnn", rnn=RnnConfig(hidden_dim=16, num_layers=1))
    model = build_model(config, 3, 4)
    dconf = DataConfig(chunk_width=10, batch_size=4, extra_left_context=4 if kind == "rnn" else 0, heldout_fraction=0.2)
    train, held = split_heldout(list(feats), dconf)
    data = ChunkedData(feats, alis, dconf, model, train)
    updater = build_first_order(FirstOrderConfig(kind="adam", lr=0.01), model.parameters())
    if crash_after is not None:
        updater = CrashingUpdater(updater, crash_after)
    return Trainer(
        model, CrossEntropy(), updater, ChunkedUpdates(data), utterance_batches(feats, alis, held), out_dir,
        epochs=3, schedule=LrSchedule(ScheduleConfig(kind="warmup_decay", warmup_updates=5, decay=0.7), 0.01),
        checkpoint_every=3,
    )


@pytest.fixture(scope="module")
def corpus():
    return synth_corpus(num_utts=12, dim=3, min_len=20, max_len=40, seed=4)


@pytest.mark.parametrize("kind", ["tdnn", "rnn"])
def test_resume_is_bit_identical(tmp_path, corpus, kind) -> None:
    feats, alis = corpus
    full = make_trainer(tmp_path / "a", feats, alis, kind)
    full.train()
    per_epoch = full.source.num_updates(0)
    crash_at = per_epoch + 4  # inside epoch 2, after its first mid-epoch checkpoint
    broken = make_trainer(tmp_path / "b", feats, alis, kind, crash_after=crash_at)
    with pytest.raises(Crash):
        broken.train()
    resumed = make_trainer(tmp_path / "b", feats, alis, kind, init_seed=99)
    resumed.resume()
    assert (resumed.epoch, resumed.next_update) == (1, 3)
    resumed.train()
    for (name, p), q in zip(full.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    assert [r.heldout_loss for r in full.history] == [r.heldout_loss for r in resumed.history]


def test_training_lowers_heldout_ce(tmp_path, corpus) -> None:
    feats, alis = corpus
    trainer = make_trainer(tmp_path, feats, alis, "tdnn")
    before, acc_before = evaluate(trainer.model, trainer.criterion, trainer.heldout, "cpu")
    history = trainer.train()
    assert history[-1].heldout_loss < 0.7 * before
    assert history[-1].heldout_acc > max(acc_before, 0.6)
    assert (tmp_path / "checkpoint.epoch3.pt").is_file()


def test_newbob_schedule() -> None:
    s = LrSchedule(ScheduleConfig(kind="newbob", start_halving_impr=0.01, end_halving_impr=0.002), 1.0)
    for epoch, acc in enumerate([0.50, 0.60, 0.605, 0.61, 0.611]):
        assert not s.stop
        s.end_epoch(epoch, acc)
    assert s.halving and s.stop
    assert s.lr(5, 0) == pytest.approx(0.125)  # halved after epochs 3, 4 and 5
    w = LrSchedule(ScheduleConfig(kind="warmup_decay", warmup_updates=4, decay=0.5), 2.0)
    assert [w.lr(0, u) for u in range(5)] == [0.5, 1.0, 1.5, 2.0, 2.0]
    assert w.lr(2, 100) == pytest.approx(0.5)


def test_cli_end_to_end(tmp_path, repo_root) -> None:
    feats, alis = synth_corpus(num_utts=10, dim=3, min_len=20, max_len=30, seed=2)
    data, ali = write_data_dir(tmp_path, feats, alis)
    exp = tmp_path / "exp"
    args = [
        "--config", str(repo_root / "conf/train_ce.yaml"), "--model-config", str(repo_root / "conf/model_tdnn.yaml"),
        "--set", "epochs=2", "--set", "data.chunk_width=16", "--set", "data.heldout_fraction=0.2",
        "--model-set", "tdnn.hidden_dim=8", "--model-set", "tdnn.contexts=[[-1,0,1]]",
        "--log", str(exp / "log/train.log"), str(data), str(ali), "4", str(exp),
    ]
    assert train_main(args) == 0
    loaded = load_model(exp / "final.mdl", "cpu", feat_dim=3, num_pdfs=4)
    assert loaded.features.apply_cmvn and loaded.log_priors is not None
    assert torch.exp(loaded.log_priors).sum() == pytest.approx(1.0, rel=1e-5)
    for name in ("final.mdl.done", "train_config.yaml", "model_config.yaml", "log/train.log", "checkpoint.last.pt"):
        assert (exp / name).exists(), name
    assert list((exp / "tensorboard").glob("events.*"))
    assert "held-out frame accuracy" in (exp / "log/train.log").read_text()
    assert train_main(["--resume", *args[:-2], "7", str(exp)]) == 1  # checkpoint has 4 pdfs: clear error
    assert train_main([*args[:-2], "2", str(tmp_path / "exp2")]) == 1  # pdf-id 3 >= 2: clear error


def test_float64_run_and_compute_priors_cli(tmp_path) -> None:
    from nghf.bin.compute_priors import main as priors_main

    feats, alis = synth_corpus(num_utts=8, dim=3, min_len=20, max_len=30, seed=5)
    data, ali = write_data_dir(tmp_path, feats, alis)
    exp = tmp_path / "exp"
    args = ["--set", "epochs=1", "--set", "dtype=float64", "--set", "tensorboard=false",
            "--set", "data.heldout_fraction=0.25", "--model-set", "kind=rnn", "--model-set", "rnn.hidden_dim=6",
            str(data), str(ali), "4", str(exp)]
    assert train_main(args) == 0
    loaded = load_model(exp / "final.mdl")
    assert next(loaded.model.parameters()).dtype == torch.float64
    assert priors_main([str(exp / "final.mdl"), str(data), str(tmp_path / "post.mdl")]) == 0
    post = load_model(tmp_path / "post.mdl")
    assert torch.exp(post.log_priors).sum() == pytest.approx(1.0, rel=1e-5)
    assert not torch.allclose(post.log_priors, loaded.log_priors)
    assert priors_main(["--ali", str(ali), str(exp / "final.mdl"), str(data), str(tmp_path / "ali.mdl")]) == 0
    torch.testing.assert_close(load_model(tmp_path / "ali.mdl").log_priors.exp().sum(), torch.tensor(1.0))
    assert priors_main([str(tmp_path / "missing.mdl"), str(data), str(tmp_path / "x.mdl")]) == 1
