"""Data loading: features with CMVN, alignment formats, length checks, chunking, determinism."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from nghf_synth_data import synth_corpus, write_data_dir, write_int_ark

from nghf.data.alignments import read_alignments
from nghf.data.batch import IGNORE_TARGET
from nghf.data.nnfeats import DataError, read_features
from nghf.models.factory import ModelConfig, build_model
from nghf.models.lstm import LstmConfig
from nghf.models.tdnn import TdnnConfig
from nghf.train.data import (
    ChunkedData,
    DataConfig,
    pair_features_alignments,
    split_heldout,
    utterance_batches,
)


@pytest.fixture()
def corpus(tmp_path):
    feats, alis = synth_corpus(num_utts=9, dim=3, min_len=20, max_len=40)
    data, ali = write_data_dir(tmp_path, feats, alis)
    return feats, alis, data, ali


def test_features_with_speaker_cmvn(corpus) -> None:
    feats, _, data, _ = corpus
    got = read_features(data)
    assert sorted(got) == sorted(feats)
    for spk in ("spk0", "spk1", "spk2"):
        x = np.concatenate([got[u] for u in sorted(got) if u.startswith(spk)])
        np.testing.assert_allclose(x.mean(0), 0.0, atol=1e-4)  # per-speaker means removed
    got_vars = read_features(data, norm_vars=True)
    x = np.concatenate([got_vars[u] for u in sorted(got_vars) if u.startswith("spk1")])
    np.testing.assert_allclose(x.std(0), 1.0, atol=1e-3)
    raw = read_features(data, use_cmvn=False)
    np.testing.assert_array_equal(raw["spk0-utt000"], feats["spk0-utt000"])


def test_alignment_formats_agree(corpus, tmp_path) -> None:
    _, alis, _, ali_dir = corpus
    binary = read_alignments(ali_dir, num_pdfs=4)
    text = tmp_path / "ali.txt"
    text.write_text("".join(f"{u} {' '.join(map(str, a))}\n" for u, a in alis.items()))
    from_text = read_alignments(text, num_pdfs=4)
    for u in alis:
        np.testing.assert_array_equal(binary[u], alis[u])
        np.testing.assert_array_equal(from_text[u], alis[u])
    with pytest.raises(DataError, match=r"ali\.txt.*spk0-utt000.*pdf-id"):
        read_alignments(text, num_pdfs=2)
    with pytest.raises(DataError, match="no ali_pdf"):
        read_alignments(tmp_path / "data")


def test_alignment_length_mismatch_names_utterance(corpus, tmp_path) -> None:
    feats, alis, _, _ = corpus
    bad = dict(alis)
    bad["spk1-utt004"] = bad["spk1-utt004"][:-5]
    with pytest.raises(DataError, match=r"spk1-utt004.*alignment frames"):
        pair_features_alignments(feats, bad, tolerance=2, ali_source="exp/ali")
    ok = dict(alis)
    ok["spk1-utt004"] = ok["spk1-utt004"][:-2]
    f, a = pair_features_alignments(feats, ok, tolerance=2)
    assert len(f["spk1-utt004"]) == len(a["spk1-utt004"]) == len(feats["spk1-utt004"]) - 2


def test_missing_alignments_counted(corpus, caplog) -> None:
    feats, alis, _, _ = corpus
    partial = {u: a for i, (u, a) in enumerate(sorted(alis.items())) if i % 3}
    with caplog.at_level(logging.WARNING, logger="nghf"):
        f, _ = pair_features_alignments(feats, partial, tolerance=0)
    assert len(f) == 6
    assert "3 of 9 utterances have no alignment" in caplog.text


def chunk_model(kind: str):
    torch.manual_seed(0)
    if kind == "tdnn":
        return build_model(ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=4, contexts=((-2, 0, 2), (-1, 0, 1)))), 3, 4)
    return build_model(ModelConfig(kind="lstm", lstm=LstmConfig(hidden_dim=4, num_layers=1, proj_dim=2)), 3, 4)


@pytest.mark.parametrize(("kind", "extra_left"), [("tdnn", 0), ("lstm", 7)])
def test_every_frame_trained_once_with_context(corpus, kind, extra_left) -> None:
    feats, alis, _, _ = corpus
    model = chunk_model(kind)
    data = ChunkedData(feats, alis, DataConfig(chunk_width=8, batch_size=5, extra_left_context=extra_left), model)
    seen = {u: np.zeros(len(a), dtype=int) for u, a in alis.items()}
    left = model.left_context + extra_left
    for group in data.epoch_order(0):
        batch = data.make_batch(group)
        for row, c in enumerate(group):
            t = batch.targets[row]
            valid = (t != IGNORE_TARGET).nonzero().flatten()
            frames = c.start + valid.numpy()
            seen[c.utt][frames] += 1
            np.testing.assert_array_equal(t[valid].numpy(), alis[c.utt][frames])
            np.testing.assert_array_equal(batch.features[row, : c.end - c.start].numpy(), feats[c.utt][c.start : c.end])
            first, last = frames.min(), frames.max()
            assert c.start <= max(0, first - left)  # real left context up to the utterance start
            assert c.end - c.start <= 8 + left + model.right_context
            assert c.end == min(len(feats[c.utt]), last + 1 + model.right_context)
    assert all((s == 1).all() for s in seen.values())
    assert data.num_frames() == sum(len(a) for a in alis.values())


def test_chunked_outputs_equal_full_utterance_for_tdnn(corpus) -> None:
    feats, alis, _, _ = corpus
    model = chunk_model("tdnn").eval()
    data = ChunkedData(feats, alis, DataConfig(chunk_width=6, batch_size=50), model)
    batch = data.make_batch(data.chunks)
    with torch.no_grad():
        out, _ = model(batch.features, batch.feature_lengths)
        for row, c in enumerate(data.chunks):
            full, _ = model(torch.from_numpy(feats[c.utt])[None], torch.tensor([len(feats[c.utt])]))
            sel = (batch.targets[row] != IGNORE_TARGET).nonzero().flatten()
            torch.testing.assert_close(out[row, sel], full[0, c.start + sel], rtol=1e-5, atol=1e-5)


def test_order_is_deterministic_and_changes_with_epoch(corpus) -> None:
    feats, alis, _, _ = corpus
    model = chunk_model("tdnn")
    a = ChunkedData(feats, alis, DataConfig(chunk_width=8, batch_size=4, seed=5), model)
    b = ChunkedData(dict(reversed(list(feats.items()))), alis, DataConfig(chunk_width=8, batch_size=4, seed=5), model)
    assert a.epoch_order(1) == b.epoch_order(1)
    assert a.epoch_order(1) != a.epoch_order(2)
    shards = [a.epoch_batches(1, r, 2) for r in range(2)]
    assert len(shards[0]) == len(shards[1]) and not set(map(id, shards[0])) & set(map(id, shards[1]))


def test_heldout_split_and_batches(corpus) -> None:
    feats, alis, _, _ = corpus
    train, held = split_heldout(list(feats), DataConfig(heldout_fraction=0.25, seed=1))
    assert len(held) == 2 and not set(train) & set(held) and sorted(train + held) == sorted(feats)
    assert split_heldout(list(feats), DataConfig(heldout_fraction=0.25, seed=1)) == (train, held)
    batches = utterance_batches(feats, alis, held, max_frames=50)
    assert sorted(u for b in batches for u in b.utt_ids) == sorted(held)
    with pytest.raises(DataError, match="too few"):
        split_heldout(["a"], DataConfig(heldout_fraction=0.5))


def test_missing_cmvn_speaker_names_utterance(tmp_path) -> None:
    feats, alis = synth_corpus(num_utts=4, dim=3)
    data, _ = write_data_dir(tmp_path, feats, alis)
    (data / "utt2spk").write_text("".join(f"{u} other\n" for u in sorted(feats)))
    with pytest.raises(DataError, match=r"speaker other \(utterance spk0-utt000\)"):
        read_features(data)


def test_text_and_binary_ali_files_in_dir(tmp_path) -> None:
    write_int_ark(tmp_path / "ali_pdf.2.ark", {"b": np.array([1, 2])})
    write_int_ark(tmp_path / "ali_pdf.10.ark", {"c": np.array([0])})
    write_int_ark(tmp_path / "ali_pdf.1.ark", {"a": np.array([3])})
    assert list(read_alignments(tmp_path)) == ["a", "b", "c"]
    write_int_ark(tmp_path / "ali_pdf.3.ark", {"a": np.array([3])})
    with pytest.raises(DataError, match="appears twice"):
        read_alignments(tmp_path)


def test_gzipped_pdf_archives_of_ali_to_pdf(tmp_path) -> None:
    """The ``pdf.JOB.gz`` archives written by nghf-ali-to-pdf (binary) or gzipped text."""
    import gzip

    write_int_ark(tmp_path / "plain.ark", {"u1": np.array([1, 2, 3]), "u2": np.array([], dtype=int)})
    with gzip.open(tmp_path / "pdf.1.gz", "wb") as handle:
        handle.write((tmp_path / "plain.ark").read_bytes())
    with gzip.open(tmp_path / "pdf.2.gz", "wt") as handle:
        handle.write("u3 4 0\n")
    (tmp_path / "plain.ark").unlink()
    alis = read_alignments(tmp_path, num_pdfs=5)
    assert {u: a.tolist() for u, a in alis.items()} == {"u1": [1, 2, 3], "u2": [], "u3": [4, 0]}
    with gzip.open(tmp_path / "pdf.3.gz", "wb") as handle:
        handle.write(b"u4 \0Bjunk")
    with pytest.raises(DataError, match=r"pdf\.3\.gz"):
        read_alignments(tmp_path)
