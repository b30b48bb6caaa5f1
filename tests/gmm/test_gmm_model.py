"""GMM scoring and statistics against per-pdf / per-utterance brute force."""

from __future__ import annotations

import numpy as np

from nghf.gmm.estimate import GmmStats, accumulate_many
from nghf.gmm.model import DiagGaussians, StackedGaussians


def _random_gmms(rng: np.random.Generator, num_pdfs: int, dim: int) -> list[DiagGaussians]:
    gmms = []
    for _ in range(num_pdfs):
        g = int(rng.integers(1, 6))
        w = rng.random(g) + 0.1
        gmms.append(DiagGaussians(w / w.sum(), rng.normal(size=(g, dim)), rng.random((g, dim)) + 0.2))
    return gmms


def test_stacked_pdf_loglikes_match_each_gmm() -> None:
    rng = np.random.default_rng(3)
    gmms = _random_gmms(rng, 17, 5)
    x = rng.normal(size=(23, 5)) * 3
    expected = np.stack([g.loglikes(x) for g in gmms], axis=1)
    got = StackedGaussians.of(gmms).pdf_loglikes(x, block=7)  # blocks that do not divide T
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    assert got.dtype == np.float32 and got.shape == (23, 17)


class _Model:
    """The two attributes accumulation reads from a GmmHmm."""

    def __init__(self, gmms: list[DiagGaussians]) -> None:
        self.gmms = gmms


def _brute_force_stats(gmms: list[DiagGaussians], utts: list[tuple[np.ndarray, np.ndarray]],
                       tid2pdf: np.ndarray, stats: GmmStats) -> float:
    """Frame by frame: Gaussian posteriors within the aligned pdf."""
    off = stats.offsets
    like = 0.0
    for x, tids in utts:
        for t, tid in enumerate(tids):
            p = tid2pdf[tid]
            c = gmms[p].component_loglikes(x[t : t + 1])[0]
            post = np.exp(c - np.logaddexp.reduce(c))
            like += float(np.logaddexp.reduce(c))
            stats.occ[off[p] : off[p + 1]] += post
            stats.x[off[p] : off[p + 1]] += post[:, None] * x[t]
            stats.x2[off[p] : off[p + 1]] += post[:, None] * x[t] ** 2
            stats.trans[tid] += 1
    return like


def test_pooled_accumulation_matches_frame_by_frame() -> None:
    rng = np.random.default_rng(4)
    gmms = _random_gmms(rng, 6, 3)
    tid2pdf = np.array([-1, 0, 1, 2, 3, 4, 5, 0, 2])
    utts = [(rng.normal(size=(n, 3)), rng.integers(1, len(tid2pdf), size=n)) for n in (5, 9, 1)]
    ng = np.array([g.num_gauss for g in gmms])

    def zeros() -> GmmStats:
        return GmmStats(ng, np.zeros(ng.sum()), np.zeros((ng.sum(), 3)), np.zeros((ng.sum(), 3)),
                        np.zeros(len(tid2pdf)))

    pooled, brute = zeros(), zeros()
    like = accumulate_many(_Model(gmms), pooled, [(f"u{i}", x, a) for i, (x, a) in enumerate(utts)], tid2pdf)
    expected = _brute_force_stats(gmms, utts, tid2pdf, brute)
    assert np.isclose(like, expected) and np.isclose(pooled.tot_like, expected)
    assert pooled.frames == 15
    for name in ("occ", "x", "x2", "trans"):
        np.testing.assert_allclose(getattr(pooled, name), getattr(brute, name), rtol=1e-10, atol=1e-12)


def test_accumulation_names_the_utterance_on_length_mismatch() -> None:
    rng = np.random.default_rng(5)
    gmms = _random_gmms(rng, 2, 3)
    ng = np.array([g.num_gauss for g in gmms])
    stats = GmmStats(ng, np.zeros(ng.sum()), np.zeros((ng.sum(), 3)), np.zeros((ng.sum(), 3)), np.zeros(3))
    try:
        accumulate_many(_Model(gmms), stats, [("spk1-utt7", rng.normal(size=(4, 3)), np.array([1, 2]))],
                        np.array([-1, 0, 1]))
    except ValueError as err:
        assert "spk1-utt7" in str(err)
    else:
        raise AssertionError("a length mismatch must raise")
