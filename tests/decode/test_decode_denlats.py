"""Denominator lattice generation on a tiny hand-built word-loop HCLG."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nghf._kaldi import kaldifst
from nghf.decode.decoder import Decoder, DecoderConfig
from nghf.decode.denlats import (
    DenlatConfig,
    DenlatError,
    DenominatorGenerator,
    arc_scores,
    best_path_arcs,
    make_denlats_job,
)
from nghf.decode.graph import DecodingGraph
from nghf.lattice.enumerate import enumerate_paths
from nghf.lattice.fb import forward_backward
from nghf.lattice.numerator import TransitionMaps
from nghf.lattice.stats import numerator_coverage, read_job_stats, summarise_jobs
from nghf.lattice.store import LatticeStore
from nghf.lattice.synthetic import random_lattice
from nghf.lattice.types import LatticeBatch, LatticeError

# Three words; word w is two HMM states (transition-ids 2w-1, 2w with self-loops), pdf = tid - 1
# except that word 3 reuses word 1's pdfs (a non-identity map).
WORD_TIDS = {1: (1, 2), 2: (3, 4), 3: (5, 6)}
TID2PDF = np.array([-1, 0, 1, 2, 3, 0, 1])
TID2PHONE = np.array([0, 1, 1, 2, 2, 3, 3])
NUM_PDFS = 4


def _graph(costs=(1.0, 1.5, 2.0)) -> DecodingGraph:
    fst = kaldifst.StdVectorFst()
    loop = fst.add_state()
    fst.start = loop
    fst.set_final(loop, 0.0)
    for word, tids in WORD_TIDS.items():
        prev = loop
        for i, tid in enumerate(tids):
            state = fst.add_state()
            fst.add_arc(prev, kaldifst.StdArc(tid, word if i == 0 else 0, costs[word - 1] if i == 0 else 0.0, state))
            fst.add_arc(state, kaldifst.StdArc(tid, 0, 0.7, state))
            prev = state
        fst.add_arc(prev, kaldifst.StdArc(0, 0, 0.0, loop))
    return DecodingGraph(fst, {1: "a", 2: "b", 3: "c"}, TID2PDF, "tiny")


def _maps() -> TransitionMaps:
    return TransitionMaps(np.where(TID2PDF < 0, 0, TID2PDF), TID2PHONE)


def _logliks(tids: list[int], seed: int, sharp: float = 2.0) -> np.ndarray:
    """Log-likelihoods favouring the pdfs of ``tids`` (one frame each), plus noise."""
    rng = np.random.default_rng(seed)
    ll = rng.normal(size=(len(tids), NUM_PDFS)) - 3.0
    ll[np.arange(len(tids)), TID2PDF[tids]] += sharp
    return ll.astype(np.float32)


REF_TIDS = [3, 3, 4, 1, 1, 2, 2, 5, 6, 6]  # words b a c


@pytest.mark.parametrize("min_post,max_arcs", [(0.0, 0), (1e-3, 3)])
def test_lattices_normalise_and_contain_the_best_path(min_post, max_arcs):
    graph = _graph()
    cfg = DenlatConfig(acoustic_scale=0.5, beam=30, lattice_beam=12, min_posterior=min_post,
                       max_arcs_per_frame=max_arcs)
    gen = DenominatorGenerator(graph, _maps(), cfg)
    full = DenominatorGenerator(graph, _maps(), DenlatConfig(acoustic_scale=0.5, beam=30, lattice_beam=12))
    for seed in range(3):
        ll = _logliks(REF_TIDS, seed, sharp=1.0)
        made = gen.generate(f"u{seed}", ll)
        lat = made.lattice
        assert lat.num_frames == len(ll)
        scores = torch.tensor(0.5 * ll, dtype=torch.float64)
        gamma = forward_backward(LatticeBatch.from_lattices([lat]), scores[None], 1.0).gamma[0]
        torch.testing.assert_close(gamma.sum(-1), torch.ones(len(ll), dtype=torch.float64))
        # The best path of the unpruned lattice, by brute force, survives pruning with its score.
        ref = full.generate(f"u{seed}", ll).lattice
        s_ref = arc_scores(ref, 0.5 * ll)
        paths = enumerate_paths(ref)
        assert len(paths) > 10  # competing hypotheses, not just the best path
        brute = max(s_ref[p].sum() - fc for p, fc in paths)
        best = best_path_arcs(lat, 0.5 * ll)
        s = arc_scores(lat, 0.5 * ll)
        final_cost = dict(zip(lat.final_states.tolist(), lat.final_costs.tolist(), strict=True))
        assert s[best].sum() - final_cost[int(lat.dst[best[-1]])] == pytest.approx(brute, abs=1e-6)
        # ... and its words are the decoder's best path.
        words = Decoder(graph, DecoderConfig(acoustic_scale=0.5, beam=30, lattices=False)).decode("u", ll).word_ids
        assert [w for w in lat.word[torch.from_numpy(best)].tolist() if w] == words
        if max_arcs:
            assert lat.num_arcs < made.arcs_before_pruning
            assert np.bincount(lat.frame.numpy()).max() <= max_arcs + 1  # + the forced best path


def test_generate_many_equals_one_at_a_time():
    """The batched pruning forward-backward of generate_many gives each utterance the lattice
    generate gives it alone; a failure in the middle stays in its place."""
    gen = DenominatorGenerator(_graph(), _maps(), DenlatConfig(acoustic_scale=0.5, beam=30, min_posterior=1e-3,
                                                                max_arcs_per_frame=3))
    items = [("a", _logliks(REF_TIDS, 5, 1.0)), ("short", _logliks([1], 1)), ("b", _logliks(REF_TIDS[:6], 6, 1.0))]
    many = gen.generate_many(items)
    assert isinstance(many[1], LatticeError) and "utterance short" in str(many[1])
    for (utt, ll), made in zip(items[::2], many[::2], strict=True):
        one = gen.generate(utt, ll)
        assert made.arcs_before_pruning == one.arcs_before_pruning
        assert made.lattice.arc_rows() == one.lattice.arc_rows()


def test_numerator_coverage_against_enumeration():
    for seed in range(4):
        lat = random_lattice(seed, 4, states_per_frame=2, arcs_per_frame=4, num_pdfs=3)
        pdf_paths = {tuple(lat.pdf[torch.tensor(p)].tolist()) for p, _ in enumerate_paths(lat)}
        for ref in ([0, 1, 2, 0], [1, 1, 1, 1], next(iter(pdf_paths))):
            share, in_lat = numerator_coverage(lat, np.array(ref))
            assert in_lat == (tuple(ref) in pdf_paths)
            per_frame = [ref[t] in lat.pdf[lat.frame == t].tolist() for t in range(4)]
            assert share == pytest.approx(np.mean(per_frame))


def test_job_reports_failures_by_utterance_and_stores_the_rest(tmp_path):
    gen = DenominatorGenerator(_graph(), _maps(), DenlatConfig(acoustic_scale=0.5, beam=30, max_fail_share=0.4))
    logliks = [("good1", _logliks(REF_TIDS, 0)), ("short", _logliks([1], 1)), ("good2", _logliks(REF_TIDS[:6], 2))]
    refs = {"good1": TID2PDF[REF_TIDS], "good2": TID2PDF[REF_TIDS[:6]]}
    ref_words = {"good1": np.array([-1, -1])}  # words the graph does not know: every one an error
    stats = make_denlats_job(gen, iter(logliks), tmp_path, 1, refs, ref_words=ref_words)
    assert stats["oracle_utts"] == 1 and stats["oracle_ref_words"] == 2 and stats["oracle_errors"] >= 2
    assert stats["lattices"] == 2 and list(stats["failed"]) == ["short"]
    assert "no final state" in stats["failed"]["short"]
    assert (tmp_path / "failed.1").read_text().startswith("short ")
    assert stats["num_utts_checked"] == 2 and stats["num_paths_in_lattice"] == 2
    store = LatticeStore(tmp_path)
    assert sorted(store) == ["good1", "good2"] and store["good2"].num_frames == 6
    summary = summarise_jobs(read_job_stats(tmp_path))
    assert summary["failed"] == 1 and summary["num_path_in_lattice_share"] == 1.0
    assert summary["oracle_wer"] == stats["oracle_errors"] / 2
    assert json.loads((tmp_path / "stats.1.json").read_text())["job"] == 1
    # The same job with a stricter failure share fails, naming the utterance.
    strict = DenominatorGenerator(_graph(), _maps(), DenlatConfig(acoustic_scale=0.5, max_fail_share=0.1))
    with pytest.raises(DenlatError, match="1 of 3 utterances got no lattice.*short"):
        make_denlats_job(strict, iter(logliks), tmp_path / "strict", 1)
    assert not (tmp_path / "strict" / "lat.1.npz.done").exists()


def test_mismatched_inputs_are_clear_errors():
    with pytest.raises(DenlatError, match="different systems"):
        DenominatorGenerator(_graph(), TransitionMaps(np.array([0, 0, 1]), np.array([0, 1, 1])), DenlatConfig())
    gen = DenominatorGenerator(_graph(), _maps(), DenlatConfig())
    with pytest.raises(LatticeError, match="utterance x: log-likelihood matrix has 3 pdf columns"):
        gen.generate("x", np.zeros((5, 3), dtype=np.float32))
