"""Preconditioners for CG, the Fisher factor, and the Woodbury inverse of the damped Fisher.

A CG preconditioner here is a vector ``m > 0`` (``M = diag(m)``; CG applies ``z = r / m``) or,
for NGHF formulation B, the operator ``(F + Λ)⁻¹``.

* ``diagonal``: Martens' ``m = (diag F + λ)^α`` with ``α = 0.75`` and ``diag F`` from the
  per-utterance gradient rows of the empirical Fisher.
* ``shared`` (the shared-parameter preconditioner, ``shared_curvature_diagonal``): parameters
  applied at many time steps -- TDNN kernels, recurrent matrices -- collect curvature from every
  application, and the curvature scale differs by orders of magnitude between, e.g., the first
  layer's kernel (large inputs, every frame), a recurrent matrix and an output bias. The
  preconditioner estimates the diagonal of the matrix that CG runs on (``G`` or ``F``) and
  **shares one value across each group of parameters that are applied together**: one group per
  output unit of a weight matrix or kernel (its fan-in row: for a TDNN kernel every tap and input
  channel of one output channel, for an LSTM matrix one gate unit), one group per bias or other
  1-D block. ``m_i = (d_group(i) + λ)^α``. Averaging over a group removes the noise of a
  one-probe Hutchinson estimate (``z ⊙ G z``) while keeping the spread across layers and units
  that makes the damped system ill-conditioned; the Fisher's diagonal is exact (from the rows).
* ``WoodburyInverse``: ``(UᵀU + Λ)⁻¹ v`` for a wide ``U`` (``n × P``, ``n ≪ P``) and a scalar or
  diagonal ``Λ``, through a Cholesky factor of the small ``n × n`` matrix ``I + U Λ⁻¹ Uᵀ``, in
  float64.
* ``FisherFactor``: the empirical Fisher ``F = UᵀU`` held as its rows; ``F v = Uᵀ(U v)`` costs
  two thin matrix products instead of a pass through the network, and its own scale
  ``s_F = tr(F) / n`` (the mean non-zero eigenvalue, i.e. of the Gram matrix ``UUᵀ``) is what the
  Fisher damping is measured in (``docs/nghf.md``).
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


def parameter_groups(space: ParamSpace) -> torch.Tensor:
    """Group index of every element of the flat vector: one group per output unit (first
    dimension) of each block with two or more dimensions, one group per 1-D block."""
    ids: list[torch.Tensor] = []
    next_id = 0
    for shape, numel in zip(space.shapes, space.numels, strict=True):
        if len(shape) >= 2 and shape[0] > 0:
            rows = int(shape[0])
            ids.append(torch.arange(next_id, next_id + rows).repeat_interleave(numel // rows))
            next_id += rows
        else:
            ids.append(torch.full((numel,), next_id, dtype=torch.int64))
            next_id += 1
    return torch.cat(ids).to(space.device)


def group_mean(values: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Every element replaced by the mean of its group (float64)."""
    v64 = values.to(torch.float64)
    num = int(groups.max()) + 1 if groups.numel() else 0
    sums = torch.zeros(num, dtype=torch.float64, device=v64.device).index_add_(0, groups, v64)
    counts = torch.bincount(groups, minlength=num).to(torch.float64).clamp(min=1.0)
    return (sums / counts)[groups]


def shared_curvature_diagonal(groups: torch.Tensor, diagonal: torch.Tensor) -> torch.Tensor:
    """Group means of the positive part of a (possibly noisy, e.g. Hutchinson ``z ⊙ C z``)
    diagonal estimate: the ``d`` of the shared-parameter preconditioner (float64). The positive
    part is taken before the mean: a group whose one-probe estimate averages near zero would
    otherwise get ``m ≈ λ^α`` and its coordinates would be amplified by orders of magnitude
    (measured: CG then needs twice the iterations of no preconditioner on a toy TDNN)."""
    return group_mean(diagonal.clamp(min=0.0), groups)


def shared_preconditioner(diagonal: torch.Tensor, damping: float, exponent: float = 0.75,
                          dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``(d + λ)^α`` for the per-element shared diagonal ``d``."""
    return (diagonal.to(torch.float64) + damping).pow(exponent).to(dtype)


class FisherFactor:
    """The empirical Fisher ``F = UᵀU`` held as its rows ``U`` (``n × P``)."""

    def __init__(self, rows: torch.Tensor) -> None:
        self.rows = rows
        self._rows64 = rows.to(torch.float64)

    @property
    def num_rows(self) -> int:
        return int(self.rows.shape[0])

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        """``F v = Uᵀ (U v)`` (float64 inside, returned in ``v``'s dtype)."""
        if self.num_rows == 0:
            return torch.zeros_like(v)
        return (self._rows64.T @ (self._rows64 @ v.to(torch.float64))).to(v.dtype)

    def diagonal(self) -> torch.Tensor:
        """``diag F = Σ_u U_u²`` (float64)."""
        return self._rows64.pow(2).sum(dim=0)

    def scale(self) -> float:
        """``s_F = tr(F) / n``: the mean eigenvalue of ``F`` on its span (``tr(UUᵀ) / n``);
        a tiny positive floor when ``F`` is zero."""
        if self.num_rows == 0:
            return 1e-30
        return max(float(self._rows64.pow(2).sum()) / self.num_rows, 1e-30)


class WoodburyInverse:
    """``v ↦ (UᵀU + Λ)⁻¹ v`` for a wide ``U`` (``n × P``, ``n ≪ P``) and ``Λ = λI`` (a float) or
    ``Λ = diag(λ)`` (a positive vector):
    ``(Λ + UᵀU)⁻¹ = Λ⁻¹ − Λ⁻¹Uᵀ (I + U Λ⁻¹ Uᵀ)⁻¹ U Λ⁻¹``."""

    def __init__(self, rows: torch.Tensor, damping: float | torch.Tensor) -> None:
        lam = torch.as_tensor(damping, dtype=torch.float64, device=rows.device)
        if not bool((lam > 0).all()):
            raise ValueError(f"Woodbury inverse needs damping > 0, got min {float(lam.min())}")
        self.rows = rows
        self.damping = damping
        self._rows64 = rows.to(torch.float64)
        self._inv_lam = 1.0 / lam
        scaled = self._rows64 * self._inv_lam  # U Λ⁻¹ (broadcast over columns)
        inner = scaled @ self._rows64.T
        inner.diagonal().add_(1.0)
        self.chol = torch.linalg.cholesky(inner)
        self._scaled = scaled

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        v64 = v.to(torch.float64)
        out = v64 * self._inv_lam
        if self.rows.shape[0] == 0:
            return out.to(v.dtype)
        coef = torch.cholesky_solve((self._scaled @ v64).unsqueeze(1), self.chol).squeeze(1)
        out = out - self._scaled.T @ coef
        return out.to(v.dtype)
