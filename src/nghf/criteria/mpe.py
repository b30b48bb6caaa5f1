"""Minimum phone frame error (MPFE, Kaldi's "MPE") and state-level MBR (sMBR).

Loss of an utterance = −E[A], the expected frame accuracy of a denominator-lattice path under
the lattice posterior with scores ``κ · ll`` (see :mod:`.seqbase`); ``A(path) = Σ_t acc_t`` with
the per-frame accuracy of :mod:`.accuracy` against the reference alignment (phone level for
MPFE, pdf level for sMBR; silence handling and ``one_silence_class`` as in Kaldi). E[A] is
computed exactly with the expectation semiring (:func:`~nghf.lattice.fb.expected_arc_sum`)
written in differentiable torch ops, so its gradient is exact: with respect to the score of
arc ``a`` it is ``γ_a (c_a − E[A])`` (``c_a``: expected accuracy of the paths through ``a``).

How this differs from HTK-style MPE: HTK's MPE (Povey & Woodland 2002) works on word/phone
lattices whose arcs are whole phones with time boundaries, and uses an *approximate phone
accuracy* per arc — for a hypothesis phone q overlapping reference phones z by a fraction
e(q, z) of z's length, ``max_z (−1 + 2e if same phone else −1 + e)`` — so a phone arc earns
up to +1 and the objective counts phones, with the approximation needed because exact
phone-level Levenshtein accuracy does not factor over arcs. Kaldi's MPFE replaces that with an
exact *frame*-level count: every frame whose hypothesised phone equals the reference
alignment's phone scores 1, which factors over frame-synchronous arcs, needs no overlap
heuristics, weights long phones by their duration and (with the default silence handling)
does not reward silence frames. sMBR is the same at the level of tied states (pdf-ids).

Curvature: −E[A] has an indefinite Hessian, so a PSD surrogate is configured (``curvature``;
default ``mmi_den_covariance``, the Fisher information of the denominator path distribution;
see :mod:`.seqbase`).
"""

from __future__ import annotations

import torch

from nghf.criteria.accuracy import frame_accuracy
from nghf.criteria.seqbase import LatticeCriterion, SequenceCriterionConfig
from nghf.lattice.fb import expected_arc_sum
from nghf.lattice.types import SequenceLattices


class _ExpectedAccuracy(LatticeCriterion):
    level: str = "phone"

    def arc_accuracy(self, lats: SequenceLattices, num_frames: int) -> torch.Tensor:
        ref_pdfs, ref_phones = lats.reference(num_frames)
        return frame_accuracy(
            lats.den, ref_pdfs, ref_phones, self.level,  # type: ignore[arg-type]
            self.config.silence_phones, self.config.one_silence_class,
        )

    def expected_accuracy(self, outputs: torch.Tensor, lats: SequenceLattices) -> torch.Tensor:
        """``(B,)`` E[A] per utterance (differentiable in ``outputs``)."""
        acc = self.arc_accuracy(lats, outputs.shape[1])
        s = self.scaled_loglik(outputs)
        _, expected = expected_arc_sum(lats.den, s, acc, self.config.graph_scale, max_arcs=self._max_arcs)
        return expected

    def _sequence_losses(self, outputs: torch.Tensor, lats: SequenceLattices) -> torch.Tensor:
        return -self.expected_accuracy(outputs, lats)


class MPFE(_ExpectedAccuracy):
    """Minimum phone frame error (``name: mpfe``): maximise expected frame phone accuracy."""

    level = "phone"

    def __init__(self, config: SequenceCriterionConfig, log_priors: torch.Tensor) -> None:
        if config.name != "mpfe":
            raise ValueError(f"MPFE built with config name {config.name!r}")
        super().__init__(config, log_priors)


class SMBR(_ExpectedAccuracy):
    """State-level minimum Bayes risk (``name: smbr``): expected frame pdf accuracy."""

    level = "pdf"

    def __init__(self, config: SequenceCriterionConfig, log_priors: torch.Tensor) -> None:
        if config.name != "smbr":
            raise ValueError(f"SMBR built with config name {config.name!r}")
        super().__init__(config, log_priors)
