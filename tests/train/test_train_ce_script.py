"""steps/train_ce.sh end to end on a tiny synthetic data dir (usage errors, training, no-op rerun)."""

from __future__ import annotations

import json
import os
import subprocess

from nghf_synth_data import synth_corpus, write_data_dir

from nghf.models.io import load_model
from nghf.train.data import HELDOUT_LIST, DataConfig, split_heldout


def run(repo_root, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(
        ["bash", str(repo_root / "steps/train_ce.sh"), *args], cwd=repo_root, env=env,
        capture_output=True, text=True, timeout=120,
    )


def test_train_ce_script(tmp_path, repo_root) -> None:
    feats, alis = synth_corpus(num_utts=10, dim=3, min_len=20, max_len=30, seed=3)
    data, ali = write_data_dir(tmp_path, feats, alis)
    (ali / "num_pdfs").write_text("4\n")
    model_conf = tmp_path / "model.yaml"
    model_conf.write_text("kind: tdnn\ntdnn: {hidden_dim: 8, contexts: [[-1, 0, 1]]}\n")
    exp = tmp_path / "exp"

    bad = run(repo_root, str(data), str(ali), str(exp))
    assert bad.returncode == 1 and "expected 4 argument(s)" in bad.stderr
    bad = run(repo_root, "--model-config", str(model_conf), str(data), str(ali), "x", str(exp))
    assert bad.returncode == 1 and "<num-pdfs> must be a number" in bad.stderr

    args = ["--model-config", str(model_conf), "--overrides", "epochs=2 data.heldout_fraction=0.2 tensorboard=false",
            str(data), str(ali), str(ali / "num_pdfs"), str(exp)]
    done = run(repo_root, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "epoch 2:" in done.stdout
    loaded = load_model(exp / "final.mdl", num_pdfs=4)
    assert loaded.features.dim == 3
    meta = json.loads((exp / "meta.json").read_text())  # what the results table shows
    assert meta["criterion"] == "ce" and meta["updates"] > 0
    assert meta["parameters"] == sum(p.numel() for p in loaded.model.parameters() if p.requires_grad)
    # the held-out utterances (20 % of 10, seeded), for sequence training to hold out the same
    heldout = (exp / HELDOUT_LIST).read_text().split()
    assert heldout == split_heldout(sorted(feats), DataConfig(heldout_fraction=0.2))[1] and len(heldout) == 2
    again = run(repo_root, *args)
    assert again.returncode == 0 and "trained already" in again.stdout
