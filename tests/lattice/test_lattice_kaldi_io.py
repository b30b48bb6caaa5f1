"""Kaldi lattice archives: round trips, compact lattices, cross-check with kaldifst, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nghf.lattice.fb import forward_backward
from nghf.lattice.kaldi_io import (
    KaldiFormatError,
    lattice_to_raw,
    raw_from_fst_text,
    read_frame_lattices,
    read_lattice_archive,
    write_lattice_archive,
)
from nghf.lattice.raw import RawLattice
from nghf.lattice.synthetic import random_lattice, random_transition_table
from nghf.lattice.types import LatticeBatch

RAW = RawLattice.from_arcs(
    4, 0, {3: (0.5, 0.0)},
    [(0, 1, 3, 7, 1.5, 2.25), (0, 2, 4, 9, 0.125, 0.25), (1, 2, 0, 0, 0.0, 0.0), (2, 3, 5, 0, 0.25, 1.0)],
)


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("compact", [True, False])
def test_frame_lattices_round_trip(tmp_path, binary, compact):
    rng = np.random.default_rng(0)
    table = random_transition_table(rng, 6, 3)
    lats = [random_lattice(rng, t, 2, 4, table=table, utt_id=f"spk-{i}") for i, t in enumerate([3, 5])]
    ark = tmp_path / "lat.ark"
    n = write_lattice_archive(f"ark:{ark}", [(lat.utt_id, lattice_to_raw(lat)) for lat in lats], binary, compact)
    assert n == 2 and ark.read_bytes().startswith(b"spk-0 " + (b"\0B" if binary else b"\n"))
    back = list(read_frame_lattices(ark, table.tid_to_pdf, table.tid_to_phone, {"spk-0": 3, "spk-1": 5}))
    scores = torch.randn(2, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ref = forward_backward(LatticeBatch.from_lattices(lats), scores)
    got = forward_backward(LatticeBatch.from_lattices(back), scores)
    tol = 1e-6 if binary else 1e-8  # binary weights are float32
    torch.testing.assert_close(got.log_z, ref.log_z, atol=tol, rtol=0)
    torch.testing.assert_close(got.gamma, ref.gamma, atol=tol, rtol=0)
    for a, b in zip(lats, back, strict=True):
        # Same arcs, except that reading merges parallel duplicate arcs (log-adding their weights).
        assert a.utt_id == b.utt_id and a.num_frames == b.num_frames
        key = lambda lat: {(s, d, tid, w) for s, d, _, tid, _, _, w in lat.arc_rows()}  # noqa: E731
        assert key(a) == key(b)


def test_binary_matches_kaldifst(tmp_path):
    from nghf._kaldi import kaldifst

    write_lattice_archive(tmp_path / "a.ark", [("u1", RAW)])
    data = (tmp_path / "a.ark").read_bytes()
    (tmp_path / "one.fst").write_bytes(data[len(b"u1 \0B"):])
    fst = kaldifst.Lattice.read(str(tmp_path / "one.fst"))
    assert raw_from_fst_text(fst.to_str(), "u1") == RAW  # kaldifst reads what we write
    fst.write(str(tmp_path / "k.fst"))  # ... and we read what kaldifst writes
    (tmp_path / "k.ark").write_bytes(b"u1 \0B" + (tmp_path / "k.fst").read_bytes())
    ((utt, raw),) = read_lattice_archive(tmp_path / "k.ark")
    assert utt == "u1" and raw == RAW


def test_compact_strings_become_arc_chains(tmp_path):
    text = "u9 \n0\t1\t7\t1.5,2,3_3_4\n1\t2\t0\t0.5,0,\n2\t0,0,6\n\n"
    (tmp_path / "c.ark").write_text(text)
    ((utt, raw),) = read_lattice_archive(tmp_path / "c.ark")
    lat = next(read_frame_lattices(tmp_path / "c.ark", np.arange(8), np.arange(8) // 2))
    assert utt == "u9" and lat.num_frames == 4
    assert lat.tid.tolist() == [3, 3, 4, 6] and lat.word.tolist() == [7, 0, 0, 0]
    assert lat.graph_cost.sum().item() == pytest.approx(2.0)


def test_format_errors_name_file_line_and_utterance(tmp_path):
    bad = tmp_path / "bad.ark"
    bad.write_text("u1 \n0\t1\t3\t7\t1.5,2.25\n1\tx,y\n\n")
    with pytest.raises(KaldiFormatError, match=r"bad.ark:3: utterance u1: bad lattice weight"):
        list(read_lattice_archive(bad))
    write_lattice_archive(bad, [("u2", RAW)])
    bad.write_bytes(bad.read_bytes()[:-10])
    with pytest.raises(KaldiFormatError, match="bad.ark: utterance u2: binary lattice is truncated"):
        list(read_lattice_archive(bad))
    write_lattice_archive(bad, [("u3", RAW)], binary=False)
    with pytest.raises(KaldiFormatError, match="bad.ark: utterance u3: .*features have 9"):
        list(read_frame_lattices(bad, np.arange(8), np.arange(8), {"u3": 9}))
    with pytest.raises(KaldiFormatError, match="only ark"):
        list(read_lattice_archive(f"scp:{bad}"))
    with pytest.raises(KaldiFormatError, match="cannot open"):
        list(read_lattice_archive(tmp_path / "missing.ark"))
