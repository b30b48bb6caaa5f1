"""steps/train_ce.sh --num-workers 2 end to end: the same model as one worker (float64,
layer-norm TDNN: to 1e-12), rank-0 outputs, one log per rank, and a run started with two
workers and resumed with one that ends where an uninterrupted one-worker run ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from nghf_synth_data import synth_corpus, write_data_dir  # noqa: E402

OVERRIDES = ("data.heldout_fraction=0.2 tensorboard=false dtype=float64 data.batch_size=4 data.chunk_width=8 "
             "checksum_every=1")


def _train(repo_root: Path, tmp: Path, exp: str, workers: int, epochs: int) -> subprocess.CompletedProcess:
    model_conf = tmp / "model.yaml"
    model_conf.write_text("kind: tdnn\ntdnn: {hidden_dim: 8, contexts: [[-1, 0, 1]], norm: layer}\n")
    return subprocess.run(
        ["bash", str(repo_root / "steps/train_ce.sh"), "--num-workers", str(workers), "--dist-timeout", "60",
         "--model-config", str(model_conf), "--overrides", f"{OVERRIDES} epochs={epochs}",
         str(tmp / "data"), str(tmp / "ali"), "4", str(tmp / exp)],
        cwd=repo_root, capture_output=True, text=True, timeout=120, env=dict(os.environ, OMP_NUM_THREADS="1"),
    )


def _params(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=False)["model"]


def test_two_workers_train_like_one_and_resume_with_one(tmp_path, repo_root) -> None:
    feats, alis = synth_corpus(num_utts=12, dim=3, min_len=20, max_len=30, seed=3)
    write_data_dir(tmp_path, feats, alis)
    one = _train(repo_root, tmp_path, "one", 1, 2)
    assert one.returncode == 0, one.stderr
    two = _train(repo_root, tmp_path, "two", 2, 1)
    assert two.returncode == 0, two.stderr
    log = tmp_path / "two" / "log"
    assert sorted(p.name for p in log.iterdir() if p.is_file()) == ["train.1.log", "train.1.rank.0.log",
                                                                     "train.1.rank.1.log"]
    assert "epoch 1: train loss" in (log / "train.1.rank.1.log").read_text()
    assert "nghf-dist-launch --num-workers 2" in (log / "train.1.log").read_text()
    a, b = _params(tmp_path / "one" / "checkpoint.epoch1.pt"), _params(tmp_path / "two" / "checkpoint.epoch1.pt")
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-12, atol=1e-12, msg=key)
    # resume the two-worker run with one worker for a second epoch
    (tmp_path / "two" / "final.mdl.done").unlink()
    resumed = _train(repo_root, tmp_path, "two", 1, 2)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in (log / "train.1.log").read_text()
    a, b = _params(tmp_path / "one" / "checkpoint.last.pt"), _params(tmp_path / "two" / "checkpoint.last.pt")
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-12, atol=1e-12, msg=key)
