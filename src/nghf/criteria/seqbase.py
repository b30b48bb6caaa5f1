"""Shared parts of the lattice sequence criteria: the config and the common machinery.

All sequence criteria see the network's pre-softmax logits ``z`` ``(B, T, D)``. The scaled
log-likelihood of pdf ``d`` at frame ``t`` is::

    s[b, t, d] = κ · (log_softmax(z[b, t])[d] − prior_scale · log_prior[d])

(κ = ``acoustic_scale``), and a path's score adds ``−graph_scale ×`` its graph cost. Losses are
per utterance, summed over frames, to be minimised. ``xent_weight`` = w > 0 gives F-smoothing:
``(1 − w) · sequence loss + w · frame cross-entropy`` (against ``batch.targets``), and the same
interpolation of the curvature products.

Curvature choices (``curvature``), all positive semi-definite and computed as products,
never as matrices:

* ``exact`` (MMI, bMMI): the exact Hessian of the loss at the logits (see :mod:`.mmi`).
* ``mmi_den_covariance``: ``Jᵀ κ² Cov_den J`` — the covariance of a path's per-frame pdf-count
  features under the (unboosted) denominator posterior, i.e. the Fisher information of the
  lattice's path distribution with respect to the scores; ``J`` is the Jacobian of log_softmax.
* ``ce_at_lattice_posteriors``: ``Jᵀ κ² (diag γ_t − γ_t γ_tᵀ) J`` per frame, with γ the
  denominator occupancies: the previous choice with paths treated as independent across frames.
* ``ce_at_model_posteriors``: ``diag p_t − p_t p_tᵀ`` with p = softmax(z): the cross-entropy
  Gauss-Newton matrix (no lattice involved).

``auto`` means ``exact`` for MMI/bMMI and ``mmi_den_covariance`` for MPFE/sMBR.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal

import torch

from nghf.criteria.base import OperatorCurvature, frame_mask
from nghf.criteria.ce import CrossEntropy
from nghf.data.batch import SequenceBatch
from nghf.lattice.covariance import path_covariance
from nghf.lattice.fb import forward_backward
from nghf.lattice.types import LatticeBatch, LatticeError, SequenceLattices

CurvatureKind = Literal["auto", "exact", "mmi_den_covariance", "ce_at_lattice_posteriors", "ce_at_model_posteriors"]


@dataclasses.dataclass(frozen=True)
class SequenceCriterionConfig:
    """Options of the lattice sequence criteria (``conf/criterion_*.yaml``).

    Attributes:
        name: ``mmi``, ``bmmi``, ``mpfe`` (Kaldi's MPE) or ``smbr``.
        acoustic_scale: κ applied to the log-likelihoods.
        graph_scale: scale of the lattices' graph (LM + transition + pronunciation) costs.
        prior_scale: scale of the log priors subtracted from the log-posteriors.
        boost: bMMI boosting factor b (only for ``bmmi``).
        max_silence_error: bMMI error of a wrong arc whose phone is silence (Kaldi's option).
        drop_frames: MMI/bMMI: zero the gradient of frames whose numerator pdf is absent from
            the denominator lattice at that frame (Kaldi's ``--drop-frames``).
        silence_phones: phone ids treated as silence by the accuracies and boosting.
        one_silence_class: MPFE/sMBR: all silence phones form one class (Kaldi's option).
        xent_weight: F-smoothing weight w of the frame cross-entropy, in [0, 1).
        curvature: output-layer curvature (see the module docstring).
        precision: arithmetic of the lattice computations.
        max_arcs: process at most this many arcs at once (row chunks; 0 = no limit).
    """

    name: Literal["mmi", "bmmi", "mpfe", "smbr"] = "mmi"
    acoustic_scale: float = 0.1
    graph_scale: float = 1.0
    prior_scale: float = 1.0
    boost: float = 0.0
    max_silence_error: float = 1.0
    drop_frames: bool = False
    silence_phones: tuple[int, ...] = ()
    one_silence_class: bool = False
    xent_weight: float = 0.0
    curvature: CurvatureKind = "auto"
    precision: Literal["float32", "float64"] = "float32"
    max_arcs: int = 0

    def __post_init__(self) -> None:
        is_mmi = self.name in ("mmi", "bmmi")
        if self.acoustic_scale <= 0 or self.graph_scale < 0 or self.prior_scale < 0:
            raise ValueError("acoustic_scale must be > 0, graph_scale and prior_scale >= 0")
        if self.boost != 0 and self.name != "bmmi":
            raise ValueError(f"boost applies to bmmi only, not {self.name}")
        if self.boost < 0:
            raise ValueError(f"boost must be >= 0, got {self.boost}")
        if self.drop_frames and not is_mmi:
            raise ValueError(f"drop_frames applies to mmi/bmmi only, not {self.name}")
        if self.one_silence_class and is_mmi:
            raise ValueError(f"one_silence_class applies to mpfe/smbr only, not {self.name}")
        if not 0.0 <= self.xent_weight < 1.0:
            raise ValueError(f"xent_weight must be in [0, 1), got {self.xent_weight}")
        if self.curvature == "exact" and not is_mmi:
            raise ValueError(
                f"{self.name} has no PSD exact curvature; choose mmi_den_covariance, "
                "ce_at_lattice_posteriors or ce_at_model_posteriors"
            )
        if self.max_arcs < 0:
            raise ValueError(f"max_arcs must be >= 0, got {self.max_arcs}")

    @property
    def curvature_kind(self) -> str:
        if self.curvature != "auto":
            return self.curvature
        return "exact" if self.name in ("mmi", "bmmi") else "mmi_den_covariance"

    @property
    def dtype(self) -> torch.dtype:
        return torch.float64 if self.precision == "float64" else torch.float32


class LatticeCriterion(OperatorCurvature):
    """Base of the sequence criteria: scores, lattice checks, F-smoothing, curvature choices.

    Subclasses implement ``_sequence_losses`` and, for ``exact``, ``_exact_curvature``.
    """

    def __init__(self, config: SequenceCriterionConfig, log_priors: torch.Tensor) -> None:
        if log_priors.dim() != 1:
            raise ValueError(f"log_priors must be a (D,) vector, got shape {tuple(log_priors.shape)}")
        if not torch.all(torch.isfinite(log_priors)):
            raise ValueError("log_priors contain NaN/Inf (a pdf with zero count? floor the priors)")
        self.config = config
        self.name = config.name
        self.log_priors = log_priors.detach()
        self._ce = CrossEntropy()

    # ------------------------------------------------------------------ helpers
    @property
    def _max_arcs(self) -> int | None:
        return self.config.max_arcs or None

    def lattices(self, outputs: torch.Tensor, out_lengths: torch.Tensor, batch: SequenceBatch) -> SequenceLattices:
        lats = batch.lattices
        if not isinstance(lats, SequenceLattices):
            raise LatticeError(
                f"criterion {self.name} needs batch.lattices = SequenceLattices, got {type(lats).__name__} "
                f"(batch {batch.utt_ids[:3]}...)"
            )
        if lats.den.utt_ids != batch.utt_ids:
            raise LatticeError(f"lattices are for {lats.den.utt_ids[:3]}... but the batch is {batch.utt_ids[:3]}...")
        if outputs.shape[-1] != self.log_priors.shape[0]:
            raise LatticeError(f"outputs have {outputs.shape[-1]} pdfs but the priors {self.log_priors.shape[0]}")
        lats.den.check_frames(out_lengths)
        return lats.to(outputs.device) if lats.den.device != outputs.device else lats

    def scaled_loglik(self, outputs: torch.Tensor) -> torch.Tensor:
        """``κ (log_softmax(z) − prior_scale · log_prior)`` in the configured precision."""
        z = outputs.to(self.config.dtype)
        prior = self.log_priors.to(device=z.device, dtype=z.dtype)
        return self.config.acoustic_scale * (torch.log_softmax(z, dim=-1) - self.config.prior_scale * prior)

    # ------------------------------------------------------------------ protocol
    def utterance_losses(self, outputs: torch.Tensor, out_lengths: torch.Tensor, batch: SequenceBatch) -> torch.Tensor:
        lats = self.lattices(outputs, out_lengths, batch)
        seq = self._sequence_losses(outputs, lats).to(outputs.dtype)
        w = self.config.xent_weight
        if w == 0:
            return seq
        return (1 - w) * seq + w * self._ce.utterance_losses(outputs, out_lengths, batch)

    def curvature_operator(
        self, outputs: torch.Tensor, out_lengths: torch.Tensor, batch: SequenceBatch
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """``v ↦ H_out v`` at these outputs. The softmax probabilities and the lattice posterior
        statistics (:func:`~nghf.lattice.covariance.path_covariance`) are computed here, once,
        so each product costs two linear passes over the lattice arcs."""
        lats = self.lattices(outputs, out_lengths, batch)
        z = outputs.detach()
        mask = frame_mask(out_lengths.to(z.device), z.shape[1]).unsqueeze(-1)
        kind = self.config.curvature_kind
        p = self._softmax_probs(z)
        score_product: Callable[[torch.Tensor], torch.Tensor] | None = None  # in log-likelihood space
        if kind == "ce_at_lattice_posteriors":
            score_product = self._lattice_posterior_operator(z, lats.den)
        elif kind != "ce_at_model_posteriors":
            extra, keep = self._exact_terms(z, lats) if kind == "exact" else (None, None)
            score_product = self._den_covariance_operator(z, lats.den, extra, keep)
        ce = self._ce.curvature_operator(outputs, out_lengths, batch) if self.config.xent_weight else None

        def product(v: torch.Tensor) -> torch.Tensor:
            vv = v.to(self.config.dtype) * mask
            if score_product is None:
                hv = p * vv - p * (p * vv).sum(-1, keepdim=True)
            else:
                hv = self._vjp_log_softmax(p, score_product(self._jvp_log_softmax(p, vv)))
            hv = (hv * mask).to(outputs.dtype)
            if ce is None:
                return hv
            w = self.config.xent_weight
            return (1 - w) * hv + w * ce(v)

        return product

    # ------------------------------------------------------------------ curvature pieces
    def _softmax_probs(self, z: torch.Tensor) -> torch.Tensor:
        return torch.softmax(z.to(self.config.dtype), dim=-1)

    @staticmethod
    def _jvp_log_softmax(p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """J v for log_softmax at probabilities ``p``: ``v − (pᵀv) 1`` per frame."""
        return v - (p * v).sum(-1, keepdim=True)

    @staticmethod
    def _vjp_log_softmax(p: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Jᵀ w for log_softmax: ``w − p (1ᵀw)`` per frame."""
        return w - p * w.sum(-1, keepdim=True)

    def _den_covariance_operator(
        self, z: torch.Tensor, den: LatticeBatch, arc_extra: torch.Tensor | None = None,
        frame_keep: torch.Tensor | None = None,
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """``u ↦ M κ² Cov_den M u`` in log-likelihood space (M: optional frame mask of
        ``drop_frames``), from the den lattice's posterior statistics at ``z``."""
        k2 = self.config.acoustic_scale ** 2
        cov = path_covariance(den, self.scaled_loglik(z), self.config.graph_scale, arc_extra)

        def product(u: torch.Tensor) -> torch.Tensor:
            if frame_keep is None:
                return k2 * cov.product(u)
            return k2 * cov.product(u * frame_keep) * frame_keep

        return product

    def _lattice_posterior_operator(self, z: torch.Tensor, den: LatticeBatch) -> Callable[[torch.Tensor], torch.Tensor]:
        """``u ↦ κ² (diag γ − γγᵀ) u`` per frame with γ the den occupancies at ``z``."""
        k2 = self.config.acoustic_scale ** 2
        with torch.no_grad():
            gamma = forward_backward(den, self.scaled_loglik(z), self.config.graph_scale, max_arcs=self._max_arcs).gamma

        def product(u: torch.Tensor) -> torch.Tensor:
            return k2 * (gamma * u - gamma * (gamma * u).sum(-1, keepdim=True))

        return product

    # ------------------------------------------------------------------ subclass hooks
    def _sequence_losses(self, outputs: torch.Tensor, lats: SequenceLattices) -> torch.Tensor:
        raise NotImplementedError

    def _exact_terms(self, z: torch.Tensor, lats: SequenceLattices) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``exact`` curvature: the den arc-score extras (bMMI boost) and the frame mask
        (``drop_frames``) of ``Jᵀ M κ² Cov_den M J``."""
        raise NotImplementedError
