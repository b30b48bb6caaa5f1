"""On-the-fly denominator lattices from an in-memory model (nghf.decode.onthefly)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nghf.decode.denlats import DenlatConfig, DenominatorGenerator
from nghf.decode.onthefly import regenerate_denlats
from nghf.decode.synthetic import word_loop_graph, word_loop_logliks
from nghf.lattice.numerator import TransitionMaps
from nghf.lattice.types import LatticeError


class _LinearModel(torch.nn.Module):
    """logits = features @ W (an AcousticModel in miniature: no context, no subsampling)."""

    subsampling = 1

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.eye(dim))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x @ self.weight, lengths


def _arc_multiset(lat):
    return sorted(zip(lat.frame.tolist(), lat.tid.tolist(), lat.phone.tolist(), lat.word.tolist(),
                      np.round(lat.graph_cost.numpy(), 4).tolist(), strict=True))


def _setup():
    rng = np.random.default_rng(0)
    graph, word_tids = word_loop_graph(6, 24, 8, rng, 2, 4, "tiny")
    pdfs = graph.tid2pdf.copy()
    pdfs[0] = 0
    maps = TransitionMaps(pdfs.astype(np.int64), (pdfs % 3 + 1).astype(np.int64) * (np.arange(len(pdfs)) > 0))
    cfg = DenlatConfig(beam=15.0, lattice_beam=6.0, acoustic_scale=0.5, max_fail_share=1.0)
    feats = {f"u{i}": word_loop_logliks(graph, word_tids, 30 + 7 * i, rng, noise=1.0) for i in range(3)}
    feats["short"] = feats["u0"][:1]  # one frame: no word fits, decoding reaches no final state
    return DenominatorGenerator(graph, maps, cfg), feats


def test_regeneration_follows_the_make_denlats_path_and_the_model():
    gen, feats = _setup()
    model = _LinearModel(feats["u0"].shape[1])
    model.train()
    log_priors = torch.full((feats["u0"].shape[1],), -2.0)
    utts = ["u0", "u1", "u2", "short"]
    out = regenerate_denlats(gen, model, log_priors, feats, utts, prior_scale=0.5, batch_size=2)
    assert model.training  # mode restored
    assert list(out.failed) == ["short"] and "no final state" in out.failed["short"]
    for utt in ("u0", "u1", "u2"):  # the same lattices as generating from the log-likelihoods directly
        ll = torch.log_softmax(torch.from_numpy(feats[utt]), -1).numpy() + 1.0
        ref = gen.generate(utt, ll).lattice
        got = out.lattices[utt]
        assert got.num_frames == feats[utt].shape[0]
        assert (got.num_states, got.num_arcs) == (ref.num_states, ref.num_arcs)
        assert _arc_multiset(got) == _arc_multiset(ref)  # state numbering may differ, arcs may not
    assert out.frames == sum(feats[u].shape[0] for u in ("u0", "u1", "u2"))
    # A different model gives different lattices: they follow the model.
    with torch.no_grad():
        model.weight.copy_(torch.eye(model.weight.shape[0]).flip(0))
    moved = regenerate_denlats(gen, model, log_priors, feats, ["u1"])
    assert moved.lattices["u1"].arc_rows() != out.lattices["u1"].arc_rows()
    # The batch for training: failed utterances take a fallback lattice or are an error naming them.
    batch = out.batch(["u2", "short"], fallback={"short": out.lattices["u0"]})
    assert batch.utt_ids == ("u2", "u0") and batch.size == 2
    with pytest.raises(LatticeError, match="utterance short: no regenerated"):
        out.batch(["short"])
    with pytest.raises(LatticeError, match="utterance nope: no features"):
        regenerate_denlats(gen, model, log_priors, feats, ["nope"])
