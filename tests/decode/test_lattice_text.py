"""``lattice_from_text`` (array parser of OpenFst lattice text) against a line-by-line reading."""

from __future__ import annotations

import numpy as np
import pytest
from decode_tiny_graph import logliks_for

from nghf._kaldi import kaldi_decoder
from nghf.decode.decoder import Decoder, DecoderConfig, expand_to_tids
from nghf.decode.lattice_arrays import lattice_from_text
from nghf.lattice.raw import RawLattice
from nghf.lattice.types import LatticeError


def _read_line_by_line(text: str, acoustic_scale: float) -> dict[str, list]:
    """The plain reading of the format: one line at a time, missing weights are (0, 0)."""
    arcs: dict[str, list] = {k: [] for k in ("src", "dst", "ilabel", "olabel", "graph_cost", "ac_cost")}
    finals: dict[str, list] = {k: [] for k in ("final_state", "final_graph", "final_ac")}
    start, states = None, [-1]
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        weight = (0.0, 0.0)
        if len(fields) in (2, 5):
            graph, ac = fields[-1].split(",")
            weight = (float(graph), float(ac) / acoustic_scale)
        if len(fields) >= 4:
            for key, value in zip(("src", "dst", "ilabel", "olabel"), fields[:4], strict=True):
                arcs[key].append(int(value))
            arcs["graph_cost"].append(weight[0])
            arcs["ac_cost"].append(weight[1])
            states += [int(fields[0]), int(fields[1])]
        else:
            finals["final_state"].append(int(fields[0]))
            finals["final_graph"].append(weight[0])
            finals["final_ac"].append(weight[1])
            states.append(int(fields[0]))
        start = int(fields[0]) if start is None else start
    return {**arcs, **finals, "start": 0 if start is None else start, "num_states": max(states) + 1}


def _assert_matches(lat: RawLattice, expected: dict[str, list]) -> None:
    assert lat.num_states == expected["num_states"]
    assert lat.start == expected["start"]
    for key in ("src", "dst", "ilabel", "olabel", "final_state"):
        assert getattr(lat, key).dtype == np.int32
        np.testing.assert_array_equal(getattr(lat, key), np.asarray(expected[key], dtype=np.int32), err_msg=key)
    for key in ("graph_cost", "ac_cost", "final_graph", "final_ac"):
        assert getattr(lat, key).dtype == np.float32
        np.testing.assert_array_equal(getattr(lat, key), np.asarray(expected[key], dtype=np.float32), err_msg=key)


def _decoder_lattice_text(graph, loglik: np.ndarray, acoustic_scale: float) -> str:
    opts = kaldi_decoder.LatticeSimpleDecoderConfig(beam=30.0, lattice_beam=30.0)
    decoder = kaldi_decoder.LatticeSimpleDecoder(graph.fst, opts)
    decoder.decode(kaldi_decoder.DecodableCtc(expand_to_tids(loglik, graph.tid2pdf, acoustic_scale)))
    ok, raw = decoder.get_raw_lattice(use_final_probs=True)
    assert ok
    return raw.to_str()


@pytest.mark.parametrize("acoustic_scale", [0.1, 0.5])
def test_decoder_lattices_parse_as_read_line_by_line(tiny_graph, acoustic_scale):
    rng = np.random.default_rng(3)
    for words in ([2, 1, 3], [3, 3], [1]):
        loglik = logliks_for(words, bad=-2.0) + rng.normal(0, 0.5, size=(6 * len(words), 6)).astype(np.float32)
        text = _decoder_lattice_text(tiny_graph.graph, loglik, acoustic_scale)
        lat = lattice_from_text(text, acoustic_scale)
        assert lat.num_arcs > 6 * len(words)  # a lattice, not only the best path
        _assert_matches(lat, _read_line_by_line(text, acoustic_scale))
        # The decoder's own best path is the lattice's best path at LM weight 1/acoustic_scale.
        decoded = Decoder(tiny_graph.graph, DecoderConfig(acoustic_scale=acoustic_scale, beam=30.0, lattice_beam=30.0))
        assert lat.best_path(1.0 / acoustic_scale)[0] == decoded.decode("u", loglik).word_ids


def test_missing_weights_blank_lines_and_unsorted_states():
    text = "4\t2\t7\t0\t1.5,-2.25\n\n4\t3\t0\t9\n2\t1\t3\t3\t0,1e-3\n3\t0.5,4\n1\n"
    lat = lattice_from_text(text, 0.5)
    _assert_matches(lat, _read_line_by_line(text, 0.5))
    assert lat.start == 4 and lat.num_states == 5
    np.testing.assert_array_equal(lat.graph_cost, [1.5, 0.0, 0.0])
    np.testing.assert_array_equal(lat.final_ac, [8.0, 0.0])


def test_empty_text_is_an_empty_lattice():
    lat = lattice_from_text("", 0.1)
    assert lat.num_states == 0 and lat.num_arcs == 0 and lat.final_state.size == 0


@pytest.mark.parametrize(("text", "line"), [
    ("0\t1\t2\t3\t0,0\n1\t2\t5\n", 2),        # three fields: neither an arc nor a final state
    ("0\t1\t2\t3\t0,0\n1\t2\tx\t3\n", 2),     # a label that is not a number
    ("0\t1\t2\t3\t0,0,1\n", 1),               # a weight with three parts
    ("0\t1\t2,3\t0\n", 1),                   # a comma that is not in the weight
    ("0\t1\t2\t3\t0,0\n1\t2\t5.5\t3\n", 2),    # a label that is not a whole number
    ("0\t1\t2\t3\t0,0\n-1\n", 2),             # a negative state
    ("0\t1\t2\t3\t0,\n", 1),                 # half a weight
])
def test_malformed_line_is_an_error_naming_it(text, line):
    with pytest.raises(LatticeError, match=f"line {line}"):
        lattice_from_text(text, 0.1)
