"""Decoding with Kaldi's decoders on a hand-built word loop, and LM-weight re-scoring."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from decode_tiny_graph import NUM_PDFS, TID2PDF, WORDS, build_fst, logliks_for

from nghf.decode.decoder import DecodeInputError, Decoder, DecoderConfig, expand_to_tids
from nghf.decode.graph import DecodingGraph, GraphError, load_graph, read_tid2pdf, read_words
from nghf.decode.lattice_arrays import load_lattices, save_lattices
from nghf.lattice.raw import RawLattice, sweep_best_paths
from nghf.lattice.types import LatticeError


@pytest.mark.parametrize("lattices", [True, False])
def test_decodes_the_favoured_sequence(tiny_graph, lattices):
    decoder = Decoder(tiny_graph.graph, DecoderConfig(lattices=lattices, acoustic_scale=0.5))
    for words in ([2, 1, 3], [3, 3], [1]):
        result = decoder.decode("utt1", logliks_for(words))
        assert result.word_ids == words
        assert result.reached_final
        assert (result.lattice is not None) == lattices


def test_expand_to_tids_maps_columns():
    ll = np.arange(12, dtype=np.float32).reshape(2, 6)
    tid2pdf = np.array([-1, 5, 0, 0, 2])
    out = expand_to_tids(ll, tid2pdf, 0.5)
    assert out.shape == (2, 4)
    np.testing.assert_allclose(out, 0.5 * ll[:, [5, 0, 0, 2]])


def _enumerate_best(lat: RawLattice, w: float) -> tuple[list[int], float]:
    """Brute force: every path from the start to a final state (the lattice is acyclic)."""
    arcs_from: dict[int, list[int]] = {}
    for a, s in enumerate(lat.src.tolist()):
        arcs_from.setdefault(int(s), []).append(a)
    finals = {int(s): w * float(g) + float(a) for s, g, a in zip(lat.final_state, lat.final_graph, lat.final_ac, strict=True)}
    best: tuple[float, list[int]] = (np.inf, [])

    def walk(state: int, cost: float, words: list[int]) -> None:
        nonlocal best
        if state in finals and cost + finals[state] < best[0]:
            best = (cost + finals[state], list(words))
        for a in arcs_from.get(state, []):
            step = w * float(lat.graph_cost[a]) + float(lat.ac_cost[a])
            lab = int(lat.olabel[a])
            walk(int(lat.dst[a]), cost + step, words + ([lab] if lab else []))

    walk(lat.start, 0.0, [])
    return best[1], best[0]


def _conflict():
    """Acoustics favour 'bravo' by 12 (unscaled) over 'alpha'; the graph favours 'alpha' by 3
    per word. Best path: 'bravo' for LM weight < 4, 'alpha' above."""
    fst = build_fst({1: 0.5, 2: 3.5, 3: 6.0})
    graph = DecodingGraph(fst, dict(WORDS), TID2PDF)
    ll = np.full((6, NUM_PDFS), -20.0, dtype=np.float32)
    ll[:3, 0] = -2.0  # alpha's pdfs
    ll[3:, 1] = -2.0
    ll[:3, 2] = 0.0   # bravo's pdfs: 6 frames x 2 better
    ll[3:, 3] = 0.0
    return graph, ll


def test_lm_weight_rescoring_equals_redecoding_and_brute_force():
    graph, ll = _conflict()
    lat = Decoder(graph, DecoderConfig(acoustic_scale=1.0, beam=50, lattice_beam=50)).decode("u", ll).lattice
    assert lat is not None
    seen = set()
    for w in (1.0, 2.0, 3.0, 3.5, 4.5, 6.0, 10.0):
        words, cost = lat.best_path(w)
        redecoded = Decoder(graph, DecoderConfig(acoustic_scale=1.0 / w, beam=50, lattice_beam=50)).decode("u", ll)
        fast = Decoder(graph, DecoderConfig(acoustic_scale=1.0 / w, beam=50, lattices=False)).decode("u", ll)
        assert words == redecoded.word_ids == fast.word_ids
        brute_words, brute_cost = _enumerate_best(lat, w)
        assert words == brute_words
        assert cost == pytest.approx(brute_cost, rel=1e-5, abs=1e-4)
        seen.add(tuple(words))
    assert seen == {(2,), (1,)}  # the weight really changes the answer


def test_lattice_cost_split_is_graph_and_unscaled_acoustic():
    graph, ll = _conflict()
    for acwt in (0.1, 1.0):
        lat = Decoder(graph, DecoderConfig(acoustic_scale=acwt, beam=60, lattice_beam=60)).decode("u", ll).lattice
        words, cost = lat.best_path(1.0)
        # lm weight 1: graph + unscaled acoustic cost of 'bravo' = 3.5 + 0 (ac) and of 'alpha' = 0.5 + 12
        assert words == [2]
        assert cost == pytest.approx(3.5, abs=1e-3)


def test_lattices_round_trip(tmp_path, tiny_graph):
    decoder = Decoder(tiny_graph.graph, DecoderConfig())
    lats = {u: decoder.decode(u, logliks_for(ws)).lattice for u, ws in (("b", [1, 2]), ("a", [3]))}
    save_lattices(tmp_path / "lat.1.npz", lats)
    back = load_lattices(tmp_path / "lat.1.npz")
    assert sorted(back) == ["a", "b"]
    for u in lats:
        for field in ("src", "dst", "ilabel", "olabel", "graph_cost", "ac_cost", "final_state"):
            np.testing.assert_array_equal(getattr(back[u], field), getattr(lats[u], field))
        assert back[u].best_path(10.0) == lats[u].best_path(10.0)


def test_wrong_pdf_count_names_utterance(tiny_graph):
    decoder = Decoder(tiny_graph.graph, DecoderConfig())
    with pytest.raises(DecodeInputError, match="utterance spk1-utt7.*5 pdf columns.*6 pdfs"):
        decoder.decode("spk1-utt7", np.zeros((4, 5), dtype=np.float32))
    bad = np.zeros((4, 6), dtype=np.float32)
    bad[2, 1] = np.nan
    with pytest.raises(DecodeInputError, match="utterance u9.*frame 2"):
        decoder.decode("u9", bad)


def test_word_missing_from_words_txt(tiny_graph):
    graph = DecodingGraph(tiny_graph.fst, {1: "alpha", 2: "bravo"}, TID2PDF, "g/HCLG.fst")
    result = Decoder(graph, DecoderConfig()).decode("u3", logliks_for([3]))
    with pytest.raises(GraphError, match="utterance u3: word id 3 .*not in words.txt"):
        graph.words(result.word_ids, "u3")


def test_missing_and_malformed_graph_files(tmp_path, tiny_graph):
    with pytest.raises(GraphError, match="HCLG.fst: decoding graph not found"):
        load_graph(tmp_path)
    (tmp_path / "words.txt").write_text("a 1\nb\n")
    with pytest.raises(GraphError, match=r"words.txt:2: expected"):
        read_words(tmp_path / "words.txt")
    (tmp_path / "t2p").write_text("1 0\n3 1\n")
    with pytest.raises(GraphError, match="transition-id 2 has no pdf-id"):
        read_tid2pdf(tmp_path / "t2p")
    (tmp_path / "t2p").write_text("1 0\n1 1\n")
    with pytest.raises(GraphError, match="t2p:2: transition-id 1 listed twice"):
        read_tid2pdf(tmp_path / "t2p")
    loaded = load_graph(tiny_graph.dir)
    np.testing.assert_array_equal(loaded.tid2pdf, TID2PDF)
    np.save(tmp_path / "t.npy", TID2PDF)
    np.testing.assert_array_equal(read_tid2pdf(tmp_path / "t.npy"), TID2PDF)


def test_topological_order_rejects_cycles():
    lat = RawLattice(2, 0, np.array([0, 1]), np.array([1, 0]), np.array([1, 1]), np.array([0, 0]),
                     np.zeros(2, np.float32), np.zeros(2, np.float32), np.array([1]), np.zeros(1, np.float32),
                     np.zeros(1, np.float32))
    with pytest.raises(ValueError, match="cycle"):
        lat.best_path(1.0)


def test_random_lattices_best_path_matches_enumeration():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = 6
        pairs = [(s, d) for s, d in itertools.combinations(range(n), 2) if rng.random() < 0.5] + [(0, 1)]
        src = np.array([p[0] for p in pairs], np.int32)
        dst = np.array([p[1] for p in pairs], np.int32)
        lat = RawLattice(n, 0, src, dst, np.ones(len(pairs), np.int32), rng.integers(0, 4, len(pairs)).astype(np.int32),
                         rng.random(len(pairs)).astype(np.float32), rng.random(len(pairs)).astype(np.float32) * 3,
                         np.array([n - 1, 1], np.int32), np.array([0.1, 2.0], np.float32), np.zeros(2, np.float32))
        for w in (0.5, 3.0):
            words, cost = lat.best_path(w)
            bw, bc = _enumerate_best(lat, w)
            assert cost == pytest.approx(bc, rel=1e-6)
            assert words == bw


def test_lm_weight_sweep_matches_enumeration_with_unsorted_states():
    # States numbered against the arc direction, arcs skipping layers and epsilon arcs: the
    # layer-wise sweep over several weights must equal per-weight brute force.
    rng = np.random.default_rng(1)
    weights = [0.3, 1.0, 2.5, 7.0]
    for _ in range(20):
        n = 8
        perm = rng.permutation(n)
        pairs = [(s, d) for s, d in itertools.combinations(range(n), 2) if rng.random() < 0.4] + [(0, n - 1)]
        src = perm[[p[0] for p in pairs]].astype(np.int32)
        dst = perm[[p[1] for p in pairs]].astype(np.int32)
        lat = RawLattice(n, int(perm[0]), src, dst, np.ones(len(pairs), np.int32),
                         rng.integers(0, 3, len(pairs)).astype(np.int32),
                         rng.random(len(pairs)).astype(np.float32), rng.random(len(pairs)).astype(np.float32) * 3,
                         perm[[n - 1, n - 2]].astype(np.int32), np.array([0.1, 0.7], np.float32),
                         np.array([0.0, 0.2], np.float32))
        swept = lat.best_paths(weights)
        for w, (words, cost) in zip(weights, swept, strict=True):
            bw, bc = _enumerate_best(lat, w)
            assert cost == pytest.approx(bc, rel=1e-6)
            assert words == bw
            assert (words, cost) == lat.best_path(w)


def test_cyclic_lattice_is_an_error():
    lat = RawLattice(2, 0, np.array([0, 1], np.int32), np.array([1, 0], np.int32), np.ones(2, np.int32),
                     np.zeros(2, np.int32), np.zeros(2, np.float32), np.zeros(2, np.float32),
                     np.array([1], np.int32), np.zeros(1, np.float32), np.zeros(1, np.float32))
    with pytest.raises(LatticeError, match="cycle"):
        lat.best_paths([1.0, 2.0])


@pytest.mark.parametrize("lattices", [True, False])
def test_partial_path_when_no_final_state_is_reached(lattices):
    # A graph without final states: no path can end properly. The decoders must return the
    # best partial path (Kaldi's lattice decoder finalises before the lattice is read, and then
    # refuses use_final_probs=false).
    fst = build_fst({1: 0.5, 2: 0.5, 3: 0.5})
    fst.set_final(fst.start, float("inf"))
    graph = DecodingGraph(fst, dict(WORDS), TID2PDF)
    result = Decoder(graph, DecoderConfig(lattices=lattices, acoustic_scale=0.5)).decode("u", logliks_for([2, 1]))
    assert not result.reached_final
    assert result.word_ids == [2, 1]


def _random_dag_lattice(rng: np.random.Generator, n: int) -> RawLattice:
    perm = rng.permutation(n)
    pairs = [(s, d) for s, d in itertools.combinations(range(n), 2) if rng.random() < 0.4] + [(0, n - 1)]
    src = perm[[p[0] for p in pairs]].astype(np.int32)
    dst = perm[[p[1] for p in pairs]].astype(np.int32)
    return RawLattice(n, int(perm[0]), src, dst, np.ones(len(pairs), np.int32),
                      rng.integers(0, 3, len(pairs)).astype(np.int32),
                      rng.random(len(pairs)).astype(np.float32), rng.random(len(pairs)).astype(np.float32) * 3,
                      perm[[n - 1, n - 2]].astype(np.int32), np.array([0.1, 0.7], np.float32),
                      np.array([0.0, 0.2], np.float32))


@pytest.mark.parametrize("max_states", [1, 20, 10_000])
def test_sweep_of_many_lattices_equals_each_alone(max_states: int):
    rng = np.random.default_rng(2)
    lats = [_random_dag_lattice(rng, int(rng.integers(3, 9))) for _ in range(15)]
    weights = [0.5, 2.0, 9.0]
    together = sweep_best_paths(lats, weights, max_states=max_states)
    for lat, swept in zip(lats, together, strict=True):
        for w, (words, cost) in zip(weights, swept, strict=True):
            bw, bc = _enumerate_best(lat, w)
            assert words == bw
            assert cost == pytest.approx(bc, rel=1e-6)


def test_sweep_names_the_cyclic_lattice():
    rng = np.random.default_rng(3)
    cyclic = RawLattice(2, 0, np.array([0, 1], np.int32), np.array([1, 0], np.int32), np.ones(2, np.int32),
                        np.zeros(2, np.int32), np.zeros(2, np.float32), np.zeros(2, np.float32),
                        np.array([1], np.int32), np.zeros(1, np.float32), np.zeros(1, np.float32))
    lats = [_random_dag_lattice(rng, 5), cyclic]
    with pytest.raises(LatticeError, match="utt-b: lattice has a cycle"):
        sweep_best_paths(lats, [1.0], names=["utt-a", "utt-b"])
