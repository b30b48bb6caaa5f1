"""Tiny synthetic Kaldi data dirs for the training tests (written with kaldi-io).

Each utterance is a sequence of runs of pdf classes; a frame's features are its class's mean
vector plus noise, so a model can learn the frame labels from features.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

# kaldi-io prints a banner unless KALDI_ROOT names an existing directory.
os.environ.setdefault("KALDI_ROOT", tempfile.gettempdir())


def _kaldi_io():
    import kaldi_io

    return kaldi_io


def write_matrices(ark: Path, scp: Path, mats: dict[str, np.ndarray]) -> None:
    """Binary ark + scp with byte offsets (Kaldi's ``ark,scp:``)."""
    kaldi_io = _kaldi_io()
    lines = []
    with open(ark, "wb") as fd:
        for key, mat in mats.items():
            offset = fd.tell() + len(key) + 1
            kaldi_io.write_mat(fd, mat, key=key)
            lines.append(f"{key} {ark}:{offset}\n")
    scp.write_text("".join(lines))


def write_int_ark(path: Path, vecs: dict[str, np.ndarray]) -> None:
    """Binary ark of int32 vectors."""
    kaldi_io = _kaldi_io()
    with open(path, "wb") as fd:
        for key, vec in vecs.items():
            kaldi_io.write_vec_int(fd, np.asarray(vec, dtype=np.int32), key=key)


def synth_corpus(num_utts: int = 24, num_pdfs: int = 4, dim: int = 8, seed: int = 0,
                 min_len: int = 30, max_len: int = 60) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(feats, alis)`` with learnable labels."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(num_pdfs, dim)) * 1.5
    feats, alis = {}, {}
    for i in range(num_utts):
        n = int(rng.integers(min_len, max_len + 1))
        labels = []
        while len(labels) < n:
            labels += [int(rng.integers(num_pdfs))] * int(rng.integers(3, 9))
        ali = np.array(labels[:n], dtype=np.int64)
        utt = f"spk{i % 3}-utt{i:03d}"
        feats[utt] = (means[ali] + rng.normal(size=(n, dim)) + 5.0).astype(np.float32)
        alis[utt] = ali
    return feats, alis


def write_data_dir(root: Path, feats: dict[str, np.ndarray], alis: dict[str, np.ndarray] | None,
                   cmvn: bool = True) -> tuple[Path, Path]:
    """``root/data`` (feats.scp, utt2spk, cmvn.scp) and ``root/ali/ali_pdf.1.ark``."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    write_matrices(data / "feats.ark", data / "feats.scp", feats)
    spk_of = {u: u.split("-")[0] for u in feats}
    (data / "utt2spk").write_text("".join(f"{u} {spk_of[u]}\n" for u in sorted(feats)))
    if cmvn:
        stats = {}
        for spk in sorted(set(spk_of.values())):
            x = np.concatenate([feats[u] for u in feats if spk_of[u] == spk]).astype(np.float64)
            s = np.zeros((2, x.shape[1] + 1))
            s[0, :-1], s[1, :-1], s[0, -1] = x.sum(0), (x * x).sum(0), len(x)
            stats[spk] = s
        write_matrices(data / "cmvn.ark", data / "cmvn.scp", stats)
    ali_dir = root / "ali"
    ali_dir.mkdir(exist_ok=True)
    if alis is not None:
        write_int_ark(ali_dir / "ali_pdf.1.ark", alis)
    return data, ali_dir
