"""CMVN stats against numpy; split/merge keeps every utterance; make_fbank/compute_cmvn end to end."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch

from nghf import _kaldi
from nghf.data.ark import read_scp
from nghf.data.cmvn import accumulate_cmvn, apply_cmvn, compute_speaker_cmvn
from nghf.data.datadir import load_data_dir
from nghf.data.features import FbankConfig, compute_data_dir_fbank
from nghf.data.kaldi_files import DataDirError, read_dict
from nghf.data.split import split_data_dir, split_utterances
from nghf.data.validate import validate_data_dir


def test_stats_and_apply_match_numpy():
    rng = np.random.default_rng(0)
    mats = [rng.normal(3.0, 2.0, size=(n, 5)).astype(np.float32) for n in (7, 11)]
    stats = accumulate_cmvn(mats)
    allf = np.concatenate(mats).astype(np.float64)
    assert stats.shape == (2, 6)
    np.testing.assert_allclose(stats[0, :5], allf.sum(0))
    np.testing.assert_allclose(stats[1, :5], (allf**2).sum(0))
    assert stats[0, 5] == 18 and stats[1, 5] == 0
    out = apply_cmvn(mats[0], stats, norm_vars=True)
    np.testing.assert_allclose(out, (mats[0] - allf.mean(0)) / allf.std(0), rtol=1e-5, atol=1e-5)
    t = apply_cmvn(torch.from_numpy(mats[0]).double(), stats, norm_vars=False)
    assert t.dtype == torch.float64
    np.testing.assert_allclose(t.numpy(), mats[0] - allf.mean(0), rtol=1e-6)


def test_speaker_cmvn_file(make_data_dir, tmp_path):
    d = make_data_dir()
    data = load_data_dir(d)
    compute_data_dir_fbank(data, FbankConfig(num_mel_bins=23), tmp_path / "f.ark", d / "feats.scp")
    data = load_data_dir(d)
    compute_speaker_cmvn(data, tmp_path / "cmvn.ark", d / "cmvn.scp")
    feats = dict(read_scp(d / "feats.scp"))
    got = dict(read_scp(d / "cmvn.scp"))
    assert list(got) == ["spkA", "spkB", "spkC"]
    a = np.concatenate([feats["spkA-u1"], feats["spkA-u2"]]).astype(np.float64)
    assert got["spkA"].dtype == np.float64
    np.testing.assert_allclose(got["spkA"][0, :-1], a.sum(0), rtol=1e-10)
    np.testing.assert_allclose(got["spkA"][1, :-1], (a * a).sum(0), rtol=1e-10)
    assert got["spkA"][0, -1] == a.shape[0]
    with _kaldi.kaldi_native_io.RandomAccessDoubleMatrixReader(f"scp:{d}/cmvn.scp") as ra:
        np.testing.assert_array_equal(np.array(ra["spkA"], copy=True), got["spkA"])
    assert validate_data_dir(d).ok


@pytest.mark.parametrize("per_utt", [False, True])
def test_split_preserves_utterances(make_data_dir, per_utt):
    d = make_data_dir()
    data = load_data_dir(d)
    out = split_data_dir(d, 3, per_utt=per_utt)
    assert out.name == ("split3utt" if per_utt else "split3")
    merged: list[str] = []
    for k in (1, 2, 3):
        part = load_data_dir(out / str(k))
        assert validate_data_dir(out / str(k), ).ok
        merged += part.utts
        if not per_utt:  # a speaker never straddles two parts
            assert all(set(part.utt2spk.values()).isdisjoint(load_data_dir(out / str(j)).utt2spk.values())
                       for j in (1, 2, 3) if j != k)
    assert merged == data.utts
    with pytest.raises(DataDirError, match="cannot split 3 speakers into 4 parts"):
        split_utterances(data.utt2spk, 4)


def test_make_fbank_and_cmvn_scripts(make_data_dir, repo_root, tmp_path):
    d = make_data_dir()
    run = lambda *a: subprocess.run([str(x) for x in a], cwd=repo_root, capture_output=True, text=True)  # noqa: E731
    r = run("steps/make_fbank.sh", "--nj", 2, "--cmd", "utils/run_local.sh", d, tmp_path / "log", tmp_path / "fb")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "fb/raw_fbank_d.1.ark").is_file() and (tmp_path / "fb/raw_fbank_d.2.ark").is_file()
    assert (tmp_path / "log/make_fbank_d.2.log").is_file()
    feats = read_dict(d / "feats.scp")
    assert list(feats) == load_data_dir(d).utts
    frames = read_dict(d / "utt2num_frames")
    assert {u: m.shape[0] for u, m in read_scp(d / "feats.scp")} == {u: int(n) for u, n in frames.items()}
    r2 = run("steps/make_fbank.sh", "--nj", 2, d, tmp_path / "log", tmp_path / "fb")
    assert "done already" in r2.stdout
    r3 = run("steps/compute_cmvn_stats.sh", d, tmp_path / "log", tmp_path / "fb")
    assert r3.returncode == 0, r3.stdout + r3.stderr
    assert list(read_dict(d / "cmvn.scp")) == ["spkA", "spkB", "spkC"]
    # a bad data dir stops make_fbank before any job runs, naming the problem
    (d / "text").write_text("spkA-u1 x\n")
    (d / "utt2spk").write_text("spkA-u1 spkA\nspkA-u1 spkA\n")
    bad = run("steps/make_fbank.sh", "--force", "true", d, tmp_path / "log", tmp_path / "fb")
    assert bad.returncode == 1
    assert f"{d}/utt2spk:2: id 'spkA-u1': duplicate id" in bad.stderr
