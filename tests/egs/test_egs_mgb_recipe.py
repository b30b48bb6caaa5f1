"""The MGB recipe ``egs/mgb/s5/run.sh``: its data stage on the MGB-format fixture, its paper
configs against the config dataclasses, and its training stages with the tiny embedded corpus
substituted for the (licensed) MGB data, so the recipe cannot rot."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from nghf.criteria.seqbase import SequenceCriterionConfig
from nghf.data.kaldi_files import read_dict
from nghf.decode.decoder import DecoderConfig
from nghf.gmm.config import GmmConfig
from nghf.models.factory import ModelConfig, build_model
from nghf.optim.factory import load_optim_config
from nghf.score.expected import load_expected_systems
from nghf.train.run import TrainConfig
from nghf.train.sequence_run import TrainSeqConfig
from nghf.utils.config import load_config

FIXTURE = Path(__file__).parent / "fixtures" / "mgb"
SHOWS = {"20080401_bbcone_news": ("train", 5.0), "20080402_bbctwo_drama": ("train", 3.0),
         "20080403_bbcfour_doc": ("dev", 3.6)}
# Small systems for the tiny corpus: the stages and the MGB configs are what is tested.
TINY = ["--backend", "local", "--device", "cpu", "--nj", "2", "--models", "tdnn", "--criteria", "mmi",
        "--optimisers", "nghf", "--vocab-words", "100", "--lm-prune", "0", "--mono-gauss", "100",
        "--mono-iters", "4", "--tri1-leaves", "60", "--tri1-gauss", "200", "--tri2-leaves", "80",
        "--tri2-gauss", "300", "--tri-iters", "3", "--denlat-opts", "--lattice-beam 4 --max-arcs-per-frame 20"]


def _recipe(repo_root: Path) -> Path:
    return repo_root / "egs" / "mgb" / "s5" / "run.sh"


def _run(script: Path, args: list[str], timeout: float = 400) -> subprocess.CompletedProcess:
    """run.sh from its own directory, as a user runs it."""
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=script.parent)


def _dirs(tmp: Path) -> list[str]:
    return ["--exp", str(tmp / "exp"), "--data", str(tmp / "data"), "--featdir", str(tmp / "features"),
            "--results-md", str(tmp / "RESULTS.md")]


@pytest.fixture
def mgb(tmp_path: Path) -> Path:
    """A copy of the MGB-format fixture with generated audio beside it."""
    root = tmp_path / "mgb"
    shutil.copytree(FIXTURE, root)
    for show, (sub, dur) in SHOWS.items():
        wav = root / sub / "wav" / f"{show}.wav"
        wav.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["sox", "-R", "-n", "-r", "16000", "-b", "16", "-c", "1", str(wav), "synth", str(dur),
                        "pinknoise", "vol", "0.2"], check=True)
    return root


def test_mgb_recipe_data_stage_on_fixture(mgb: Path, tmp_path: Path, repo_root: Path):
    out = tmp_path / "out"
    args = ["--mgb-dir", str(mgb), "--backend", "local", "--device", "cpu", *_dirs(out)]
    proc = _run(_recipe(repo_root), [*args, "--stop-stage", "1"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    train = read_dict(out / "data/train/text")
    assert train and all(t == t.lower() for t in train.values())
    assert set(read_dict(out / "data/dev/text")) and (out / "data/dev/stm").is_file()
    # Without --lm-text the LMs are trained on the training transcripts.
    lm = (out / "data/local/lm/text.txt").read_text().splitlines()
    assert lm == [train[u] for u in sorted(train)]
    assert (out / "exp/.done/stage_1.data").is_file()

    again = _run(_recipe(repo_root), [*args, "--stop-stage", "1"])
    assert again.returncode == 0 and "done already, skipping" in again.stdout

    # An explicit LM text replaces the transcripts.
    lm_text = tmp_path / "lm.txt"
    lm_text.write_text("good evening\nthe weather\n")
    proc = _run(_recipe(repo_root), [*args, "--stop-stage", "1", "--force", "true", "--lm-text", str(lm_text)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "data/local/lm/text.txt").read_text() == lm_text.read_text()

    # The later stages score dev and eval: a distribution without eval stops at the data stage.
    proc = _run(_recipe(repo_root), [*args, "--stop-stage", "2", "--force", "true"])
    assert proc.returncode == 1
    assert "no eval set" in proc.stderr and "stage 1 (data) failed" in proc.stderr


def test_mgb_configs_load_and_cover_the_paper_systems(repo_root: Path):
    conf = repo_root / "egs/mgb/s5/conf"
    seq = load_config(TrainSeqConfig, conf / "train_seq.yaml")
    assert seq.second_order.utts_per_update >= 5000 and 0.01 <= seq.second_order.curvature_fraction <= 0.02
    assert load_config(TrainConfig, conf / "train_ce.yaml").epochs >= 1
    load_config(GmmConfig, conf / "gmm.yaml")
    load_config(DecoderConfig, conf / "decode.yaml")
    nghf = load_optim_config(conf / "optim_nghf.yaml")
    assert nghf.cg.max_iters == 8
    for opt in ("sgd", "adam", "hf", "ng"):
        load_optim_config(conf / f"optim_{opt}.yaml")
    systems = load_expected_systems(conf / "paper_systems.yaml")
    assert len(systems) == 1 + 3 + 3 * 2 * 5
    for s in systems:
        if s.model == "gmm":
            continue
        config = load_config(ModelConfig, conf / f"model_{s.model}.yaml")
        assert config.kind == s.model
        if s.criterion != "ce":
            assert load_config(SequenceCriterionConfig, conf / f"criterion_{s.criterion}.yaml").name == s.criterion
            assert (conf / f"optim_{s.optimiser}.yaml").is_file()
    for kind in ("tdnn", "lstm", "rnn"):  # the paper-size networks can be built
        model = build_model(load_config(ModelConfig, conf / f"model_{kind}.yaml"), feat_dim=80, num_pdfs=5000)
        assert sum(p.numel() for p in model.parameters()) > 5_000_000


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_mgb_recipe_training_stages_on_tiny_corpus(egs_tiny_corpus: Path, tmp_path: Path, repo_root: Path):
    """Stages 2-6, 8, 10, 11 and 20 of the MGB recipe, with the MGB configs, on the tiny corpus."""
    out = tmp_path / "out"
    for x in ("train", "dev", "eval"):  # what the data stage would write for MGB
        shutil.copytree(egs_tiny_corpus / "data" / x, out / "data" / x)
    (out / "data/local/lm").mkdir(parents=True)
    shutil.copy(egs_tiny_corpus / "data/local/lm_text.txt", out / "data/local/lm/text.txt")
    # The paper-size TDNN is too slow for a test: a small one replaces only the model config.
    small = tmp_path / "small_conf"
    small.mkdir()
    (small / "model_tdnn.yaml").write_text("kind: tdnn\ntdnn:\n  hidden_dim: 48\n"
                                           "  contexts: [[-2, -1, 0, 1, 2], [-3, 0, 3]]\n")
    args = [*TINY, *_dirs(out), "--conf-overrides", str(small), "--ce-overrides", "epochs=1 data.batch_size=32",
            "--seq-overrides", "second_order.utts_per_update=8 second_order.curvature_fraction=0.25 "
                               "second_order.max_updates_per_epoch=1 second_order.validation_utts=3 "
                               "data.max_heldout_utts=2"]
    for first, last in (("2", "6"), ("8", "8"), ("10", "11"), ("20", "20")):  # decoding stages skipped
        proc = _run(_recipe(repo_root), [*args, "--stage", first, "--stop-stage", last], timeout=500)
        assert proc.returncode == 0, f"stages {first}-{last}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"

    exp = out / "exp"
    assert (exp / "tdnn_ce/final.mdl").is_file()
    model_conf = (exp / "tdnn_ce/model_config.yaml").read_text()
    assert "hidden_dim: 48" in model_conf  # the override; every other config is MGB's:
    assert "chunk_width: 150" in (exp / "tdnn_ce/train_config.yaml").read_text()
    log = [json.loads(line) for line in (exp / "tdnn_mmi_nghf/train_log.jsonl").read_text().splitlines()]
    updates = [r for r in log if r.get("cg_iterations") is not None]
    assert updates and all(1 <= r["cg_iterations"] <= 8 for r in updates)  # MGB optim_nghf.yaml
    text = (out / "RESULTS.md").read_text()
    table, by_condition = text.split("\n## ")[0], text.split("\n## WER by condition\n")[1]  # --train-data
    assert "| tdnn_mmi_nghf | tdnn | mmi |" in by_condition
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith(("| system", "| ---"))]
    assert len(rows) == 34 and any(r.startswith("| tdnn_mmi_nghf | tdnn |") and "| mmi | nghf |" in r for r in rows)
    assert "0 of the 34 expected systems scored" in table
    assert not (exp / "tri2/decode_dev").exists()  # stage 7 was not run
