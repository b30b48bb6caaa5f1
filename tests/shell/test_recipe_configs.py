"""The embedded recipe's configs load into their dataclasses, and the recipe picks the CE
training config per model family (steps/lib/recipe_stages.sh: ce_train_conf)."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from nghf.corpus.config import CorpusConfig
from nghf.models.factory import ModelConfig, build_model
from nghf.train.run import TrainConfig
from nghf.train.sequence_run import TrainSeqConfig
from nghf.utils.config import load_config


@pytest.mark.parametrize("model", ["tdnn", "lstm", "rnn"])
def test_model_configs_build(repo_root: Path, model: str) -> None:
    config = load_config(ModelConfig, repo_root / f"conf/model_{model}.yaml")
    net = build_model(config, 80, 10)
    assert net.num_pdfs == 10 and config.kind == model


def test_training_configs_load(repo_root: Path) -> None:
    tdnn = load_config(TrainConfig, repo_root / "conf/train_ce.yaml")
    recurrent = load_config(TrainConfig, repo_root / "conf/train_ce_recurrent.yaml")
    assert recurrent.optimizer.lr > tdnn.optimizer.lr
    rnn = load_config(TrainConfig, repo_root / "conf/train_ce_rnn.yaml")
    assert rnn.data.chunk_width == 32 and dataclasses.replace(rnn, data=recurrent.data) == recurrent
    assert rnn.data == dataclasses.replace(recurrent.data, chunk_width=32)  # the only difference
    seq = load_config(TrainSeqConfig, repo_root / "conf/train_seq.yaml")
    assert seq.second_order.utts_per_update > seq.first_order.utts_per_update
    assert load_config(CorpusConfig, repo_root / "conf/corpus.yaml").default.train > 0


def _ce_train_conf(repo_root: Path, cwd: Path, model: str) -> str:
    script = f'NGHF_ROOT={repo_root}; . {repo_root}/steps/lib/recipe_stages.sh; ce_train_conf {model}'
    proc = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def test_ce_train_conf_per_model_family(repo_root: Path) -> None:
    assert _ce_train_conf(repo_root, repo_root, "tdnn") == "conf/train_ce.yaml"
    assert _ce_train_conf(repo_root, repo_root, "lstm") == "conf/train_ce_recurrent.yaml"
    assert _ce_train_conf(repo_root, repo_root, "rnn") == "conf/train_ce_rnn.yaml"  # its own chunk width
    # A recipe with its own train_ce.yaml keeps it for every model (not the top-level recurrent one).
    mgb = repo_root / "egs/mgb/s5"
    assert _ce_train_conf(repo_root, mgb, "lstm") == "conf/train_ce.yaml"
