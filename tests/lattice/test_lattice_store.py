"""Lattice archives (round trip, lookup by utterance, damaged input) and numerator lattices."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nghf.lattice.enumerate import enumerate_paths
from nghf.lattice.fb import log_partition
from nghf.lattice.numerator import (
    FrameAlignment,
    TransitionMaps,
    alignment_from_tids,
    numerator_lattice,
    read_frame_alignments,
)
from nghf.lattice.store import LatticeStore, load_lattice_archive, save_lattice_archive
from nghf.lattice.synthetic import random_lattice, random_scores
from nghf.lattice.types import LatticeBatch, LatticeError

INT_FIELDS = ("state_times", "final_states", "frame", "src", "dst", "pdf", "tid", "phone", "word")


def _lattices(seed: int, n: int = 3) -> list:
    return [random_lattice(seed * 10 + i, 3 + i, states_per_frame=2 + i % 2, arcs_per_frame=5, utt_id=f"s{seed}u{i}")
            for i in range(n)]


def test_archive_round_trip_keeps_every_field(tmp_path):
    lats = _lattices(1)
    size = save_lattice_archive(tmp_path / "lat.1.npz", lats)
    assert size == (tmp_path / "lat.1.npz").stat().st_size > 0
    back = load_lattice_archive(tmp_path / "lat.1.npz")
    assert list(back) == [lat.utt_id for lat in lats]
    for lat in lats:
        got = back[lat.utt_id]
        assert (got.num_frames, got.num_states, got.start) == (lat.num_frames, lat.num_states, lat.start)
        for name in INT_FIELDS:
            assert torch.equal(getattr(got, name), getattr(lat, name)), name
        torch.testing.assert_close(got.graph_cost, lat.graph_cost, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(got.final_costs, lat.final_costs, rtol=1e-6, atol=1e-6)
    scores = random_scores(0, len(lats), max(lat.num_frames for lat in lats), 5)
    z0 = log_partition(LatticeBatch.from_lattices(lats), scores)
    z1 = log_partition(LatticeBatch.from_lattices([back[lat.utt_id] for lat in lats]), scores)
    torch.testing.assert_close(z0, z1, rtol=1e-6, atol=1e-5)


def test_store_finds_utterances_across_archives(tmp_path):
    save_lattice_archive(tmp_path / "lat.1.npz", _lattices(1))
    save_lattice_archive(tmp_path / "lat.2.npz", _lattices(2, 2))
    save_lattice_archive(tmp_path / "lat.3.npz", [])  # a job whose utterances all failed
    store = LatticeStore(tmp_path)
    assert len(store) == 5 and "s2u1" in store and "nope" not in store
    assert store.num_frames("s1u2") == 5
    assert store["s2u1"].num_frames == 4
    with pytest.raises(LatticeError, match="utterance nope: no lattice"):
        store["nope"]


def test_store_rejects_duplicates_and_damaged_files(tmp_path):
    save_lattice_archive(tmp_path / "lat.1.npz", _lattices(1))
    save_lattice_archive(tmp_path / "lat.2.npz", _lattices(1)[:1])
    with pytest.raises(LatticeError, match="s1u0 is in both"):
        LatticeStore(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "lat.1.npz").write_bytes(b"not a zip file")
    with pytest.raises(LatticeError, match="lat.1.npz: cannot read"):
        LatticeStore(bad)
    (tmp_path / "empty").mkdir()
    with pytest.raises(LatticeError, match="no lattice archives"):
        LatticeStore(tmp_path / "empty")
    with pytest.raises(LatticeError, match="no such lattice directory"):
        LatticeStore(tmp_path / "missing")


def test_store_detects_arcs_that_are_not_frame_synchronous(tmp_path):
    path = tmp_path / "lat.1.npz"
    save_lattice_archive(path, _lattices(3, 1))
    data = dict(np.load(path))
    data["dst"] = data["src"].copy()  # every arc now loops within its frame
    np.savez(path, **data)
    with pytest.raises(LatticeError, match="utterance s3u0: arcs are not frame-synchronous"):
        LatticeStore(path)["s3u0"]


@pytest.mark.parametrize("field", ["graph_cost", "final_costs"])
def test_store_refuses_nan_or_inf_costs_on_load(tmp_path, field):
    path = tmp_path / "lat.1.npz"
    save_lattice_archive(path, _lattices(4, 2))
    data = dict(np.load(path))
    data[field][-1] = np.nan if field == "graph_cost" else np.inf  # the last utterance's
    np.savez(path, **data)
    store = LatticeStore(path)
    store["s4u0"]  # the other utterance still loads
    with pytest.raises(LatticeError, match=f"utterance s4u1: {field}\\[[0-9]+\\] is (nan|inf)"):
        store["s4u1"]


def test_numerator_has_exactly_the_alignment_as_its_one_path():
    maps = TransitionMaps(np.array([0, 0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 1, 1, 2, 2]))
    tids = np.array([1, 2, 2, 3, 4, 5, 5, 6])
    ali = alignment_from_tids("u", tids, maps)
    lat = numerator_lattice(ali, expected_frames=8)
    paths = enumerate_paths(lat)
    assert len(paths) == 1
    arcs, final_cost = paths[0]
    idx = torch.tensor(arcs)
    assert lat.tid[idx].tolist() == tids.tolist()
    assert lat.pdf[idx].tolist() == maps.tid2pdf[tids].tolist()
    assert lat.phone[idx].tolist() == maps.tid2phone[tids].tolist()
    assert float(lat.graph_cost.sum()) == 0.0 and final_cost == 0.0
    with pytest.raises(LatticeError, match="utterance u: lattice has 8 frames but the features have 9"):
        numerator_lattice(ali, expected_frames=9)
    with pytest.raises(LatticeError, match="utterance v: transition-id 7 outside 1..6"):
        alignment_from_tids("v", np.array([1, 7]), maps)


def test_frame_alignments_from_pdf_and_phone_archives(tmp_path):
    from nghf.gmm.align import write_alignments

    write_alignments(tmp_path / "pdf.1.gz", {"a": np.array([0, 0, 1]), "b": np.array([2, 2])})
    write_alignments(tmp_path / "phone.1.gz", {"a": np.array([1, 1, 2]), "b": np.array([3, 3])})
    alis = read_frame_alignments(tmp_path)
    assert sorted(alis) == ["a", "b"]
    assert alis["a"].pdf.tolist() == [0, 0, 1] and alis["a"].phone.tolist() == [1, 1, 2]
    assert alis["b"].subsample(2).pdf.tolist() == [2]
    write_alignments(tmp_path / "phone.1.gz", {"a": np.array([1, 1, 2])})
    with pytest.raises(LatticeError, match="no phone alignment for utterance b"):
        read_frame_alignments(tmp_path)
    with pytest.raises(LatticeError, match="lengths 3, 2, 3"):
        FrameAlignment("c", np.zeros(3), np.zeros(2), np.zeros(3))
