"""Fault class **archives**: a truncated or corrupt feature archive, alignment archive,
lattice archive, checkpoint or model file is detected when it is read, with the file and the
key (utterance) named -- never a numpy/torch traceback, never a silently shorter table.

| archive                          | damage                 | observed                                                        |
|----------------------------------|------------------------|-----------------------------------------------------------------|
| feature ark via scp (training)   | truncated last record  | ``DataError: feats.scp:4: key 'U': cannot read feats.ark:OFFSET``|
| feature ark via scp (kaldi-io)   | truncated last record  | ``ArchiveError`` naming scp line and key (was: skipped silently) |
| feature ark read directly        | truncated / garbage    | ``ArchiveError: ark: key 'U' (record N, byte B): truncated``     |
| feature ark, ``nghf-copy-feats`` | truncated              | exit 1, ``nghf-copy-feats: error: ... key 'U'``, no traceback    |
| alignment ark (binary, plain/gz) | truncated              | ``DataError: ali: utterance U: truncated`` (was: silently shorter)|
| alignment scp                    | truncated archive      | ``DataError`` naming scp line and key                           |
| lattice archive (.npz)           | truncated / bad arrays | ``LatticeError`` naming file (and utterance)                    |
| checkpoint                       | truncated              | ``ValueError: checkpoint.last.pt: unreadable checkpoint``       |
| model file                       | truncated              | ``ModelFileError: final.mdl: not a readable model file``        |
"""

from __future__ import annotations

import gzip
import subprocess

import numpy as np
import pytest
import torch
from rel_helpers import bin_path, env_one_thread, synth_corpus, write_data_dir

from nghf.data.alignments import read_alignments
from nghf.data.ark import ArchiveError, read_ark, read_scp
from nghf.data.nnfeats import DataError, read_features
from nghf.lattice.store import LatticeStore, save_lattice_archive
from nghf.lattice.synthetic import random_lattice
from nghf.lattice.types import LatticeError
from nghf.models.factory import ModelConfig, build_model
from nghf.models.io import FeatureInfo, ModelFileError, load_model, save_model
from nghf.models.tdnn import TdnnConfig
from nghf.train.checkpoint import load_checkpoint, save_checkpoint


@pytest.fixture
def corpus(tmp_path):
    feats, alis = synth_corpus(num_utts=4, dim=3, min_len=10, max_len=12, seed=1)
    data, ali = write_data_dir(tmp_path, feats, alis, cmvn=False)
    return data, ali, list(feats)  # archive order


def _truncate(path, keep_fraction=None, drop=30) -> None:
    blob = path.read_bytes()
    path.write_bytes(blob[: int(len(blob) * keep_fraction)] if keep_fraction else blob[:-drop])


def test_truncated_feature_archive_names_scp_line_and_key(corpus) -> None:
    data, _, utts = corpus
    _truncate(data / "feats.ark")
    with pytest.raises(DataError, match=rf"feats.scp:4: key '{utts[3]}': cannot read .*feats.ark:\d+"):
        read_features(data)
    with pytest.raises(ArchiveError, match=rf"feats.scp:4: key '{utts[3]}': cannot read matrix"):
        list(read_scp(data / "feats.scp"))  # kaldi-io's own scp reader would skip it with a warning


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_archive_read_directly_names_the_key(corpus, damage) -> None:
    data, _, utts = corpus
    ark = data / "feats.ark"
    if damage == "truncated":
        _truncate(ark)
        match = rf"key '{utts[3]}' \(record 4, byte \d+\): truncated or corrupt matrix"
    else:
        blob = bytearray(ark.read_bytes())
        second = blob.index(utts[1].encode()) + len(utts[1]) + 1
        blob[second: second + 6] = b"\x00B\x07XYZ"  # a header that is no Kaldi matrix type
        ark.write_bytes(bytes(blob))
        match = rf"key '{utts[1]}' \(record 2, byte \d+\)"
    with pytest.raises(ArchiveError, match=match):
        list(read_ark(ark))


def test_copy_feats_reports_a_truncated_archive_in_one_line(corpus, tmp_path) -> None:
    data, _, utts = corpus
    _truncate(data / "feats.ark")
    proc = subprocess.run([bin_path("nghf-copy-feats"), str(data / "feats.ark"), str(tmp_path / "o.ark"),
                           str(tmp_path / "o.scp")], capture_output=True, text=True, env=env_one_thread(), timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"nghf-copy-feats: error: {data / 'feats.ark'}: key '{utts[3]}'" in proc.stderr
    assert not (tmp_path / "o.ark").exists()  # no partial output under the final name


@pytest.mark.parametrize("form", ["ark", "gz", "scp"])
def test_truncated_alignment_archive_names_the_utterance(corpus, form) -> None:
    _, ali, utts = corpus
    ark = ali / "ali_pdf.1.ark"
    assert len(read_alignments(ali, 4)) == 4
    if form == "gz":
        with gzip.open(ali / "pdf.1.gz", "wb") as handle:
            handle.write(ark.read_bytes()[:-7])
        ark.unlink()
        with pytest.raises(DataError, match=rf"pdf.1.gz: utterance {utts[3]}: truncated or corrupt record"):
            read_alignments(ali, 4)
    elif form == "ark":
        _truncate(ark, drop=7)
        with pytest.raises(DataError, match=rf"ali_pdf.1.ark: utterance {utts[3]}: truncated or corrupt record"):
            read_alignments(ali, 4)
    else:
        blob = ark.read_bytes()
        offsets, pos = [], 0
        for u in utts:
            pos = blob.index(u.encode(), pos)
            offsets.append(pos + len(u) + 1)
        (ali / "ali_pdf.scp").write_text("".join(f"{u} {ark}:{o}\n" for u, o in zip(utts, offsets, strict=True)))
        _truncate(ark, drop=7)
        with pytest.raises(DataError, match=rf"ali_pdf.scp:4: key '{utts[3]}': cannot read"):
            read_alignments(ali, 4)


def test_damaged_lattice_archive_names_file_and_utterance(tmp_path) -> None:
    lats = [random_lattice(s, 6, utt_id=f"u{s}") for s in range(3)]
    path = tmp_path / "lat.1.npz"
    save_lattice_archive(path, lats)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(LatticeError, match=rf"{path}: (cannot read|damaged) lattice archive"):
        LatticeStore(tmp_path)["u1"]
    path.write_bytes(good)
    with np.load(path) as npz:
        arrays = dict(npz)  # now damage the contents: arcs pointing past the states
    arrays["dst"] = arrays["dst"] + 1000
    np.savez(path, **arrays)
    with pytest.raises(LatticeError, match=rf"{path}: utterance u0: a state id is outside"):
        LatticeStore(tmp_path)["u0"]


def _tiny_model():
    config = ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=4, contexts=((-1, 0, 1),)))
    return config, build_model(config, 3, 4)


def test_truncated_checkpoint_and_model_file_are_named(tmp_path) -> None:
    config, model = _tiny_model()
    ckpt = save_checkpoint(tmp_path, {"model": model.state_dict()})
    _truncate(ckpt, keep_fraction=0.5)
    with pytest.raises(ValueError, match=rf"{ckpt}: unreadable checkpoint \(corrupt or truncated\?\)"):
        load_checkpoint(ckpt)
    mdl = tmp_path / "final.mdl"
    save_model(mdl, model, config, FeatureInfo(dim=3), torch.zeros(4))
    _truncate(mdl, keep_fraction=0.6)
    with pytest.raises(ModelFileError, match=rf"{mdl}: not a readable model file \(corrupt or truncated\?\)"):
        load_model(mdl)
