"""Preconditioners for CG and the Woodbury inverse of the damped empirical Fisher.

A preconditioner here is a vector ``m > 0`` (``M = diag(m)``; CG applies ``z = r / m``) or,
for NGHF formulation B, the operator ``(F + λI)⁻¹``.

* ``diagonal``: Martens' ``m = (diag(Σ_u ĝ_u²) + λ)^α`` with ``α = 0.75`` and ``ĝ_u`` the
  per-utterance gradient rows of the empirical Fisher (``diag F``).
* ``shared``: one scalar per parameter block (a weight matrix, a conv kernel, a bias),
  ``m_b = (h_b + λ)^α`` with ``h_b`` the block's mean Gauss-Newton diagonal, estimated by
  Hutchinson's ``z ⊙ G z`` on a Rademacher probe averaged over the block. Parameters applied
  at many time steps (recurrent matrices, convolution kernels) collect curvature from every
  application, so their curvature scale is many times that of, e.g., an output bias; a
  per-block scalar removes that spread (the dominant source of ill-conditioning across
  blocks) without the noise of a per-element estimate, and costs one product per update.
* ``WoodburyInverse``: ``(UᵀU + λI)⁻¹ v = (v − Uᵀ (UUᵀ + λI)⁻¹ U v) / λ`` through a Cholesky
  factor of the small ``n × n`` Gram matrix (``n`` = curvature utterances), in float64.
"""

from __future__ import annotations

import torch

from nghf.optim.params import ParamSpace


def rademacher(numel: int, generator: torch.Generator, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A ±1 probe vector drawn from ``generator`` (on CPU, so the stream is device-independent)."""
    bits = torch.randint(0, 2, (numel,), generator=generator, dtype=torch.int64)
    return (bits * 2 - 1).to(dtype=dtype, device=device)


def diagonal_preconditioner(fisher_rows: torch.Tensor, damping: float, exponent: float = 0.75) -> torch.Tensor:
    """``(Σ_u row_u² + λ)^α`` from the per-utterance gradient rows (``F = UᵀU``)."""
    diag = fisher_rows.to(torch.float64).pow(2).sum(dim=0)
    return (diag + damping).pow(exponent).to(fisher_rows.dtype)


def block_curvature_scales(space: ParamSpace, probe: torch.Tensor, g_probe: torch.Tensor) -> torch.Tensor:
    """Per-element vector holding, in each block, that block's Hutchinson estimate of the mean
    Gauss-Newton diagonal ``mean_b(z ⊙ G z)`` (clamped at 0)."""
    est = (probe * g_probe).to(torch.float64)
    out = torch.empty(space.numel, dtype=torch.float64, device=probe.device)
    for _, sl in space.slices():
        out[sl] = est[sl].mean().clamp(min=0.0)
    return out


def shared_preconditioner(block_scales: torch.Tensor, damping: float, exponent: float = 0.75,
                          dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(h_b + λ)^α`` for the per-element block scales of ``block_curvature_scales``."""
    return (block_scales + damping).pow(exponent).to(dtype)


class WoodburyInverse:
    """``v ↦ (UᵀU + λI)⁻¹ v`` for a wide ``U`` (``n × P``, ``n ≪ P``)."""

    def __init__(self, rows: torch.Tensor, damping: float) -> None:
        if damping <= 0:
            raise ValueError(f"Woodbury inverse needs damping > 0, got {damping}")
        self.rows = rows
        self.damping = damping
        u64 = rows.to(torch.float64)
        gram = u64 @ u64.T
        gram.diagonal().add_(damping)
        self.chol = torch.linalg.cholesky(gram)

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        if self.rows.shape[0] == 0:
            return v / self.damping
        uv = (self.rows.to(torch.float64) @ v.to(torch.float64)).unsqueeze(1)
        coef = torch.cholesky_solve(uv, self.chol).squeeze(1)
        out = (v.to(torch.float64) - self.rows.to(torch.float64).T @ coef) / self.damping
        return out.to(v.dtype)
