"""Fault class **data**, the cases that used to slip through:

| fault                               | what happens now                                                        |
|-------------------------------------|-------------------------------------------------------------------------|
| truncated wav (header: 1 s, 478 samples) | validation error naming wav.scp line, file and utterance(s); fbank: ``DataDirError`` naming them, no archive |
| truncated feature archive           | ``validate_data_dir`` error naming ``feats.scp:LINE``, utterance, archive |
| missing audio                       | ``nghf-fix-data`` removes the recording and its utterances, as ``steps/make_fbank.sh`` advises |
| ``--nj abc`` on a step               | usage error before anything is removed (done marker and outputs kept)     |
| ``nghf-train`` without ``cmvn.scp``   | a WARNING saying how to compute it (was an INFO line)                     |
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from rel_helpers import REPO, make_wav, write

from nghf.bin.fix_data import main as fix_main
from nghf.data.ark import ArkWriter, write_scp
from nghf.data.datadir import load_data_dir
from nghf.data.features import FbankConfig, compute_data_dir_fbank
from nghf.data.kaldi_files import DataDirError, read_table
from nghf.data.validate import ValidateOptions, validate_data_dir

UTTS = ("spkA-r1", "spkB-r2", "spkC-r3")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Three one-utterance recordings (no segments: utterance = recording)."""
    wav = tmp_path / "wav"
    for i, utt in enumerate(UTTS, start=1):
        make_wav(wav / f"{utt}.wav", 1.0, freq=200 * i)
    d = tmp_path / "d"
    d.mkdir()
    write(d / "wav.scp", "".join(f"{u} {wav}/{u}.wav\n" for u in UTTS))
    write(d / "text", "".join(f"{u} word{i}\n" for i, u in enumerate(UTTS)))
    write(d / "utt2spk", "".join(f"{u} {u.split('-')[0]}\n" for u in UTTS))
    write(d / "spk2utt", "".join(f"{u.split('-')[0]} {u}\n" for u in UTTS))
    return d


def _truncate_wav(path: Path, samples: int) -> None:
    """Keep the 44-byte header (which still declares the full length) and ``samples`` samples."""
    data = path.read_bytes()
    assert data[36:40] == b"data", "sox wrote a header layout this test does not expect"
    path.write_bytes(data[: 44 + 2 * samples])


def _fbank(d: Path) -> None:
    compute_data_dir_fbank(load_data_dir(d), FbankConfig(num_mel_bins=10), d / "f.ark", d / "f.scp", where=str(d))


@pytest.mark.parametrize("with_segments", [False, True])
def test_truncated_wav_is_an_error_naming_file_and_utterance(data_dir, with_segments) -> None:
    wav = data_dir.parent / "wav" / "spkB-r2.wav"
    _truncate_wav(wav, 478)
    utt = "spkB-r2"
    if with_segments:  # two utterances cut from the truncated recording: both are named
        write(data_dir / "segments", "spkA-r1 spkA-r1 0 1.0\nspkB-r2 spkB-r2 0 0.5\nspkB-r2b spkB-r2 0.5 1.0\n"
                                     "spkC-r3 spkC-r3 0 1.0\n")
        write(data_dir / "text", "spkA-r1 a\nspkB-r2 b\nspkB-r2b c\nspkC-r3 d\n")
        write(data_dir / "utt2spk", "spkA-r1 spkA\nspkB-r2 spkB\nspkB-r2b spkB\nspkC-r3 spkC\n")
        write(data_dir / "spk2utt", "spkA spkA-r1\nspkB spkB-r2 spkB-r2b\nspkC spkC-r3\n")
        utt = "spkB-r2', 'spkB-r2b"
    errors = [str(i) for i in validate_data_dir(data_dir, ValidateOptions(check_feats=False)).errors]
    expected = (f"{data_dir}/wav.scp:2: id 'spkB-r2': audio file {wav} is truncated: its header declares 16000 "
                f"samples (1.000 s at 16000 Hz) but the file holds 478 (0.030 s) (utterance")
    assert any(expected in e and f"'{utt}')" in e for e in errors), errors
    with pytest.raises(DataDirError, match="truncated") as info:
        _fbank(data_dir)
    message = str(info.value)
    assert f"{data_dir}/wav.scp: recording 'spkB-r2': audio file {wav} is truncated" in message
    assert f"'{utt}')" in message
    assert not (data_dir / "f.ark").exists()  # one frame of a cut recording is never written


def test_complete_wav_with_trailing_chunk_is_not_truncated(data_dir) -> None:
    wav = data_dir.parent / "wav" / "spkB-r2.wav"
    wav.write_bytes(wav.read_bytes() + b"LIST\x04\x00\x00\x00abcd")  # metadata after the samples
    assert validate_data_dir(data_dir, ValidateOptions(check_feats=False)).ok


def test_truncated_feature_archive_is_caught_by_validation(data_dir) -> None:
    ark = data_dir / "feats.ark"
    with ArkWriter(ark) as writer:
        for i, utt in enumerate(UTTS):
            writer.write(utt, np.full((50 + 10 * i, 13), i, dtype=np.float32))
        lines = writer.scp_lines()
    write_scp(data_dir / "feats.scp", lines)
    opts = ValidateOptions(check_audio=False)
    assert validate_data_dir(data_dir, opts).ok
    ark.write_bytes(ark.read_bytes()[:-100])  # the last matrix loses 25 of its rows
    errors = [str(i) for i in validate_data_dir(data_dir, opts).errors]
    assert len(errors) == 1, errors
    assert f"{data_dir}/feats.scp:3: id 'spkC-r3': feature archive {ark}: archive is truncated: the 70x13 matrix" \
        in errors[0]
    ark.write_bytes(ark.read_bytes()[:4000])  # now the last record starts past the end
    errors = [str(i) for i in validate_data_dir(data_dir, opts).errors]
    assert any("feats.scp:3: id 'spkC-r3'" in e and "past the end of the archive" in e for e in errors), errors
    assert any("feats.scp:2: id 'spkB-r2'" in e and "archive is truncated" in e for e in errors), errors


def test_fix_removes_utterances_whose_audio_is_missing_as_make_fbank_advises(data_dir, capsys) -> None:
    (data_dir.parent / "wav" / "spkB-r2.wav").unlink()
    empty = data_dir.parent / "wav" / "spkC-r3.wav"
    empty.write_bytes(b"")
    proc = subprocess.run([str(REPO / "steps/make_fbank.sh"), "--nj", "1", str(data_dir)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "steps/fix_data_dir.sh removes the utterances whose audio is missing or empty" in proc.stderr
    assert fix_main([str(data_dir)]) == 0  # what steps/fix_data_dir.sh runs
    out = capsys.readouterr().out
    assert "wav.scp: removed 2 of 3 entries (1 audio file empty; 1 audio file missing)" in out, out
    assert [e.key for e in read_table(data_dir / "utt2spk")] == ["spkA-r1"]
    assert "spkB-r2" in (data_dir / ".backup" / "wav.scp.removed").read_text()
    assert validate_data_dir(data_dir, ValidateOptions(check_feats=False)).ok  # make_fbank's check now passes


@pytest.mark.parametrize(("script", "option", "value", "message"), [
    ("make_denlats.sh", "--nj", "abc", "option --nj takes an integer, got 'abc'"),
    ("make_denlats.sh", "--acwt", "0.1x", "option --acwt takes a number, got '0.1x'"),
    ("make_fbank.sh", "--nj", "2.5", "option --nj takes an integer, got '2.5'"),
])
def test_bad_step_option_is_rejected_before_anything_is_removed(tmp_path, script, option, value, message) -> None:
    out = tmp_path / "out"
    out.mkdir()
    kept = [out / ".done", out / ".fbank.done", out / "lat.1.npz", out / "feats.scp", out / "utt2spk"]
    for f in kept:
        f.write_text("x\n")
    args = [out] if script == "make_fbank.sh" else [tmp_path, tmp_path, tmp_path / "m.mdl", out]
    proc = subprocess.run([str(REPO / "steps" / script), "--force", "true", option, value, *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and f"{script}: error: {message}" in proc.stderr, proc.stderr
    assert all(f.is_file() for f in kept)


def test_train_without_cmvn_warns(tmp_path, capfd) -> None:
    from nghf.bin.train import main as train_main

    data = tmp_path / "d"
    data.mkdir()
    (data / "feats.scp").write_text("")
    rc = train_main(["--config", str(REPO / "conf/train_ce.yaml"), "--model-config", str(REPO / "conf/model_tdnn.yaml"),
                     str(data), str(tmp_path / "no_ali"), "10", str(tmp_path / "exp")])
    err = capfd.readouterr().err
    assert rc == 1  # (and then fails: no features)
    assert f"WARNING (nghf.bin.train) {data}: no cmvn.scp: the features are used without per-speaker CMVN " \
           f"(compute it with steps/compute_cmvn_stats.sh {data})" in err, err
    (data / "cmvn.scp").write_text("")
    train_main([str(data), str(tmp_path / "no_ali"), "10", str(tmp_path / "exp")])
    assert "no cmvn.scp" not in capfd.readouterr().err
