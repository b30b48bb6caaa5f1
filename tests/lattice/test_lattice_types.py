"""Lattice constructors, validation errors and batching."""

from __future__ import annotations

import math

import pytest
import torch

from nghf.lattice.synthetic import random_alignment_path, random_lattice
from nghf.lattice.types import Lattice, LatticeBatch, LatticeError, SequenceLattices


def test_from_alignment_is_single_path():
    lat = Lattice.from_alignment("a1", [3, 3, 1], tids=[7, 7, 2], phones=[1, 1, 2])
    assert lat.is_single_path() and lat.num_frames == 3
    assert lat.pdf.tolist() == [3, 3, 1] and lat.frame.tolist() == [0, 1, 2]
    with pytest.raises(LatticeError, match="a1.*lengths"):
        Lattice.from_alignment("a1", [3, 3, 1], tids=[7, 7])


def test_from_arcs_trims_dead_arcs_and_renumbers():
    arcs = [
        (10, 11, 0, 1, 1, 0.5), (10, 12, 1, 2, 1, 0.1),
        (11, 13, 2, 3, 2, 0.0), (12, 13, 3, 4, 2, 0.2),
        (12, 14, 4, 5, 2, 0.0),  # 14 is not final: dead end
    ]
    lat = Lattice.from_arcs("u", 2, 10, {13: 0.0}, arcs)
    assert lat.num_arcs == 4 and lat.num_states == 4
    assert lat.start == 0 and lat.state_times.tolist() == [0, 1, 1, 2]


@pytest.mark.parametrize(
    ("arcs", "finals", "frames", "message"),
    [
        ([(0, 1, 0, 1, 1, 0.0)], {2: 0.0}, 1, "no path"),
        ([(0, 1, 0, 1, 1, 0.0), (1, 2, 0, 1, 1, 0.0), (0, 2, 0, 1, 1, 0.0)], {2: 0.0}, 2, "frame-synchronous"),
        ([(0, 1, 0, 1, 1, math.nan)], {1: 0.0}, 1, "NaN/Inf"),
        ([(0, 1, 0, 1, 1, 0.0)], {1: math.inf}, 1, "NaN/Inf"),
        ([(0, 1, 0, 1, 1, 0.0)], {1: 0.0}, 2, "no path of 2 frames"),
    ],
)
def test_bad_lattices_name_the_utterance(arcs, finals, frames, message):
    with pytest.raises(LatticeError, match=f"utterance bad-utt-7: .*{message}"):
        Lattice.from_arcs("bad-utt-7", frames, 0, finals, arcs)


def test_feature_length_mismatch():
    with pytest.raises(LatticeError, match="spk1-utt2.*3 frames but the features have 4"):
        Lattice.from_alignment("spk1-utt2", [1, 2, 3], expected_frames=4)
    lat = random_lattice(0, 3, utt_id="x9")
    batch = LatticeBatch.from_lattices([lat])
    with pytest.raises(LatticeError, match="x9.*network output has 5"):
        batch.check_frames(torch.tensor([5]))
    batch.check_frames(torch.tensor([3]))


def test_batch_layout_is_time_major():
    lats = [random_lattice(i, t, utt_id=f"u{i}") for i, t in enumerate([3, 1, 2])]
    batch = LatticeBatch.from_lattices(lats)
    assert batch.max_frames == 3 and batch.num_arcs == sum(lat.num_arcs for lat in lats)
    assert torch.all(batch.frame[1:] >= batch.frame[:-1])
    for t in range(3):
        a0, a1 = batch.arc_ptr[t], batch.arc_ptr[t + 1]
        assert torch.all(batch.frame[a0:a1] == t)
        assert torch.all(batch.src[a0:a1] - batch.state_ptr[t] == batch.src_local[a0:a1])
        assert torch.all(batch.dst[a0:a1] - batch.state_ptr[t + 1] == batch.dst_local[a0:a1])
    # Final states are grouped by the time their utterance ends.
    for t in range(4):
        rows = batch.final_row[batch.final_ptr[t] : batch.final_ptr[t + 1]]
        assert all(lats[r].num_frames == t for r in rows.tolist())


def test_sequence_lattices_reference_and_checks():
    den = [random_lattice(i, 4, utt_id=f"u{i}") for i in range(2)]
    num = [random_alignment_path(i, lat) for i, lat in enumerate(den)]
    pair = SequenceLattices.from_lattices(num, den)
    pdfs, phones = pair.reference(5)
    assert pdfs.shape == (2, 5) and torch.all(pdfs[:, 4] == -1)
    assert pdfs[0, :4].tolist() == num[0].pdf.tolist()
    assert pair.select([1]).num.utt_ids == ("u1",)
    with pytest.raises(LatticeError, match="different utterances"):
        SequenceLattices.from_lattices(num[::-1], den)
    with pytest.raises(LatticeError, match="u0: accuracy-based criteria need a single-path"):
        SequenceLattices.from_lattices(den, den).reference(4)


def test_sequence_lattices_from_alignments():
    import numpy as np

    den = {f"u{i}": random_lattice(i, 3, utt_id=f"u{i}") for i in range(2)}
    tid_to_pdf, tid_to_phone = np.array([0, 0, 1, 2, 3]), np.array([0, 1, 1, 2, 2])
    pair = SequenceLattices.from_alignments(["u1", "u0"], den, {"u0": [1, 2, 3], "u1": [4, 4, 1]}, tid_to_pdf, tid_to_phone)
    assert pair.num.utt_ids == ("u1", "u0")
    assert pair.num.lattices[0].pdf.tolist() == [3, 3, 0] and pair.num.lattices[0].phone.tolist() == [2, 2, 1]
    with pytest.raises(LatticeError, match="u0: lattice has 2 frames but the features have 3"):
        SequenceLattices.from_alignments(["u0"], den, {"u0": [1, 2]}, tid_to_pdf, tid_to_phone)
    with pytest.raises(LatticeError, match="u0: no alignment"):
        SequenceLattices.from_alignments(["u0"], den, {}, tid_to_pdf, tid_to_phone)
    with pytest.raises(LatticeError, match="u0: alignment has transition-ids outside"):
        SequenceLattices.from_alignments(["u0"], den, {"u0": [1, 2, 9]}, tid_to_pdf, tid_to_phone)
