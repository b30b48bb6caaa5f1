"""Fault class **disk full / unwritable output**: a clear one-line error naming the path and
the reason, raised before work is lost, and never a partial file under a final name.

| fault                                        | observed                                                          |
|----------------------------------------------|-------------------------------------------------------------------|
| output dir below a regular file (unwritable) | ``nghf-compute-fbank: error: cannot access PATH: File exists``     |
| file size limit hit mid-write (disk full)    | exit 1, ``cannot write ARK: File too large (file size limit..)``   |
| too little space for a checkpoint            | ``OutputError`` from ``Trainer.train`` before the first update     |
| checkpoint write fails (ENOSPC) mid-run      | ``OutputError`` naming the file; the previous checkpoint is intact |
| ``nghf-train`` into an unwritable exp dir    | exit 1 with one error line, no traceback                           |
"""

from __future__ import annotations

import errno
import resource
import signal
import subprocess

import pytest
import torch
from rel_helpers import bin_path, env_one_thread, make_wav, synth_corpus, write, write_data_dir

from nghf.bin.compute_fbank import main as fbank_main
from nghf.bin.train import main as train_main
from nghf.criteria.ce import CrossEntropy
from nghf.models.factory import ModelConfig, build_model
from nghf.models.tdnn import TdnnConfig
from nghf.optim.first_order import FirstOrderConfig, build_first_order
from nghf.train import checkpoint as checkpoint_module
from nghf.train.checkpoint import LAST, load_checkpoint
from nghf.train.data import ChunkedData, DataConfig, split_heldout, utterance_batches
from nghf.train.trainer import Trainer
from nghf.train.updates import ChunkedUpdates
from nghf.utils import outputs
from nghf.utils.outputs import OutputError, ensure_writable


@pytest.fixture
def audio_dir(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    for i in (1, 2):
        make_wav(tmp_path / "wav" / f"r{i}.wav", 2.0, freq=300 * i)
    write(d / "wav.scp", "".join(f"r{i} {tmp_path}/wav/r{i}.wav\n" for i in (1, 2)))
    write(d / "utt2spk", "r1 r1\nr2 r2\n")
    write(d / "spk2utt", "r1 r1\nr2 r2\n")
    return d


def test_unwritable_output_dir_is_one_clear_error(audio_dir, tmp_path, capsys) -> None:
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where a directory should be\n")
    assert fbank_main([str(audio_dir), str(blocker / "raw.ark"), str(blocker / "raw.scp")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nghf-compute-fbank: error: cannot access ")
    assert "File exists" in err or "Not a directory" in err
    assert str(blocker) in err and "Traceback" not in err
    with pytest.raises(OutputError, match=rf"output directory {blocker}/x: cannot create .*Not a directory"):
        ensure_writable(blocker / "x")


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_full_disk_mid_write_is_a_clear_error_without_partial_files(audio_dir, tmp_path) -> None:
    out = tmp_path / "feats"
    proc = subprocess.run([bin_path("nghf-compute-fbank"), str(audio_dir), str(out / "raw.ark"), str(out / "raw.scp")],
                          capture_output=True, text=True, env=env_one_thread(), timeout=60,
                          preexec_fn=_limit_file_size(20_000))  # the first matrix (~25 KB) does not fit
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"nghf-compute-fbank: error: cannot write {out / 'raw.ark'}: File too large" in proc.stderr
    assert "file size limit" in proc.stderr
    assert not (out / "raw.ark").exists() and not (out / "raw.scp").exists()
    assert not list(out.glob(".raw.ark.tmp.*"))  # the partial archive was removed


def _trainer(out_dir) -> Trainer:
    feats, alis = synth_corpus(num_utts=6, dim=3, min_len=12, max_len=16, seed=2)
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=8, contexts=((-1, 0, 1),))), 3, 4)
    dconf = DataConfig(chunk_width=10, batch_size=2, heldout_fraction=0.2)
    train, held = split_heldout(sorted(feats), dconf)
    updater = build_first_order(FirstOrderConfig(kind="adam", lr=0.01), model.parameters())
    return Trainer(model, CrossEntropy(), updater, ChunkedUpdates(ChunkedData(feats, alis, dconf, model, train)),
                   utterance_batches(feats, alis, held), out_dir, epochs=2, checkpoint_every=1)


def test_too_little_space_stops_training_before_the_first_update(tmp_path, monkeypatch) -> None:
    trainer = _trainer(tmp_path / "exp")
    usage = outputs.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(outputs.shutil, "disk_usage", lambda p: usage._replace(free=1000))
    with pytest.raises(OutputError, match=rf"training output directory {tmp_path / 'exp'}: only 0.0 MiB can be "
                                          r"written, but about .* MiB are needed"):
        trainer.train()
    assert trainer.global_update == 0 and not (tmp_path / "exp" / LAST).exists()


def test_failed_checkpoint_write_names_the_file_and_keeps_the_previous_one(tmp_path, monkeypatch) -> None:
    trainer = _trainer(tmp_path / "exp")
    real_save, calls = checkpoint_module.torch.save, []

    def save(obj, path):
        calls.append(path)
        if len(calls) > 1:  # the second checkpoint hits a full disk half-way
            with open(path, "wb") as handle:
                handle.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real_save(obj, path)

    monkeypatch.setattr(checkpoint_module.torch, "save", save)
    with pytest.raises(OutputError, match=r"cannot write .*checkpoint.last.pt.*No space left on device \(disk full"
                                          r".*the previous checkpoint .* is unchanged"):
        trainer.train()
    state = load_checkpoint(tmp_path / "exp" / LAST)  # the first checkpoint, whole
    assert state["progress"]["next_update"] == 1
    assert not list((tmp_path / "exp").glob(".checkpoint*.tmp.*"))


def test_train_command_into_unwritable_dir_fails_cleanly(tmp_path, capsys) -> None:
    feats, alis = synth_corpus(num_utts=6, dim=3, min_len=12, max_len=16, seed=2)
    data, ali = write_data_dir(tmp_path, feats, alis)
    blocker = tmp_path / "file"
    blocker.write_text("x\n")
    model = tmp_path / "model.yaml"
    model.write_text("kind: tdnn\ntdnn: {hidden_dim: 4, contexts: [[-1, 0, 1]]}\n")
    assert train_main(["--model-config", str(model), str(data), str(ali), "4", str(blocker / "exp")]) == 1
    captured = capsys.readouterr()
    assert "Not a directory" in captured.err and "Traceback" not in captured.err
