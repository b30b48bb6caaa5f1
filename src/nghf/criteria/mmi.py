"""MMI and boosted MMI over numerator and denominator lattices.

Per utterance, with scaled log-likelihoods ``s = κ · ll`` (see :mod:`.seqbase`)::

    loss = log Z_den(s + b · err) − log Z_num(s)

where ``Z`` sums path probabilities ``exp(Σ s − graph_scale · graph cost)`` over a lattice and
``err`` is the per-arc frame phone error of bMMI (:func:`~nghf.criteria.accuracy.boost_errors`;
b = 0 for plain MMI). The boost is added to the arc score directly, after the graph scale. The
gradient with respect to ``s`` is ``γ_den − γ_num``; autograd through the forward recursion
gives it exactly.

``drop_frames`` (Kaldi's option): frames where a numerator pdf does not occur among the
denominator arcs of that frame get zero gradient (the log-likelihood of such a frame is used
with its gradient stopped). The loss value is unchanged.

Curvature (``exact``): the Hessian of ``log Z_den`` with respect to ``s`` is the covariance of a
path's per-frame pdf-count features under the (boosted) denominator posterior, ``Cov_den``
(PSD). For a single-path numerator ``log Z_num`` is linear in ``s`` (zero Hessian). With
respect to the log-likelihoods that is ``κ² Cov_den``; at the logits the chain rule through
log_softmax adds ``Σ_d g_{t,d} ∇² ll_{t,d} = −(Σ_d g_{t,d}) (diag p_t − p_t p_tᵀ)``, and
``Σ_d g_{t,d} = κ (Σ_d γ_den − Σ_d γ_num) = 0`` on every frame, so the exact Hessian is
``Jᵀ κ² Cov_den J`` (J: Jacobian of log_softmax), PSD. It is applied from cached posterior statistics
(:mod:`nghf.lattice.covariance`). If the numerator lattice has several paths, its term
(``−κ² Cov_num``, negative semi-definite) is left out, which keeps the product PSD.
"""

from __future__ import annotations

import torch

from nghf.criteria.accuracy import boost_errors
from nghf.criteria.seqbase import LatticeCriterion, SequenceCriterionConfig
from nghf.lattice.fb import log_partition
from nghf.lattice.types import LatticeBatch, SequenceLattices


def drop_frame_mask(num: LatticeBatch, den: LatticeBatch, num_frames: int, num_pdfs: int) -> torch.Tensor:
    """``(B, T, 1)`` float mask: 0 on frames whose numerator pdf is absent from the den lattice."""
    b = num.size
    present = torch.zeros(b * num_frames * num_pdfs, dtype=torch.bool, device=den.device)
    present[(den.arc_row * num_frames + den.frame) * num_pdfs + den.pdf] = True
    num_key = (num.arc_row * num_frames + num.frame) * num_pdfs + num.pdf
    missing = ~present[num_key.to(den.device)]
    drop = torch.zeros(b * num_frames, dtype=torch.bool, device=den.device)
    drop[(num.arc_row * num_frames + num.frame).to(den.device)[missing]] = True
    return (~drop).view(b, num_frames, 1)


class MMI(LatticeCriterion):
    """Maximum mutual information (``name: mmi``), and the base of boosted MMI."""

    def __init__(self, config: SequenceCriterionConfig, log_priors: torch.Tensor) -> None:
        if config.name not in ("mmi", "bmmi"):
            raise ValueError(f"MMI criterion built with config name {config.name!r}")
        super().__init__(config, log_priors)

    def _boost(self, lats: SequenceLattices, num_frames: int) -> torch.Tensor | None:
        if self.config.boost == 0:
            return None
        _, ref_phones = lats.reference(num_frames)
        err = boost_errors(lats.den, ref_phones, self.config.silence_phones, self.config.max_silence_error)
        return self.config.boost * err

    def _keep_mask(self, z: torch.Tensor, lats: SequenceLattices) -> torch.Tensor | None:
        if not self.config.drop_frames:
            return None
        return drop_frame_mask(lats.num, lats.den, z.shape[1], z.shape[2]).to(self.config.dtype)

    def _sequence_losses(self, outputs: torch.Tensor, lats: SequenceLattices) -> torch.Tensor:
        s = self.scaled_loglik(outputs)
        keep = self._keep_mask(outputs, lats)
        if keep is not None:
            s = s * keep + s.detach() * (1 - keep)
        gs, chunk = self.config.graph_scale, self._max_arcs
        extra = self._boost(lats, outputs.shape[1])
        den = log_partition(lats.den, s, gs, extra, max_arcs=chunk)
        num = log_partition(lats.num, s, gs, max_arcs=chunk)
        return den - num

    def _exact_terms(self, z: torch.Tensor, lats: SequenceLattices) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        return self._boost(lats, z.shape[1]), self._keep_mask(z, lats)

    def statistics(self, outputs: torch.Tensor, lats: SequenceLattices) -> dict[str, float]:
        """Kaldi-style diagnostics: summed log Z of numerator and denominator (no gradient)."""
        with torch.no_grad():
            s = self.scaled_loglik(outputs)
            den = log_partition(lats.den, s, self.config.graph_scale, self._boost(lats, outputs.shape[1]))
            num = log_partition(lats.num, s, self.config.graph_scale)
        return {"num_log_z": float(num.sum()), "den_log_z": float(den.sum())}


class BoostedMMI(MMI):
    """Boosted MMI (``name: bmmi``): denominator paths are boosted by ``b`` per wrong frame."""

    def __init__(self, config: SequenceCriterionConfig, log_priors: torch.Tensor) -> None:
        if config.name != "bmmi":
            raise ValueError(f"BoostedMMI built with config name {config.name!r}")
        super().__init__(config, log_priors)
