"""The second-order methods as small strategy objects: HF, NG and NGHF formulations A, B, C.

``SecondOrderOptimizer`` runs the same update for every method (gradient, curvature scale,
Fisher rows, CG, backtracking, reduction ratio, damping); what differs is held here, so the
update itself carries no branches on the method:

* which system CG solves (``solve``),
* whether the method needs the empirical Fisher's rows (``needs_fisher``),
* which matrix CG iterates on (``cg_matrix``: the shared-parameter preconditioner estimates
  that matrix's diagonal),
* which curvature the quadratic model of the reduction ratio uses (``model_matrix``), and so
  which damping the Levenberg-Marquardt rule adapts.

With ``G_λ = G + λI``, ``F_λ = F + λ_F I`` (``λ_F = μ_F s_F``, ``s_F = tr F / n``):

=========  ==========================================  ==========  =========
method     CG solves                                   CG matrix   ρ's model
=========  ==========================================  ==========  =========
hf         ``G_λ Δ = −g``                               G           G
ng         ``F_λ Δ = −g``                               F           F
nghf-A     ``G_λ Δ = −s_F F_λ⁻¹ g`` (natural gradient)  G           G
nghf-B     ``G_λ Δ = −g``, preconditioned by ``F_λ``    G           G
nghf-C     Fisher-CG directions, GN step lengths        F           G
=========  ==========================================  ==========  =========

``METHODS`` maps ``(kind, formulation)`` to the strategy; ``method_for`` is the one place that
reads those two fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Literal

import torch

from nghf.optim.cg import CGConfig, CGResult, conjugate_gradient, fisher_directions_gn_steps
from nghf.optim.config import SecondOrderConfig
from nghf.optim.precondition import FisherFactor, WoodburyInverse

MatVec = Callable[[torch.Tensor], torch.Tensor]
Matrix = Literal["gn", "fisher"]


@dataclasses.dataclass(frozen=True)
class SolveInputs:
    """What one CG solve of an update sees.

    Attributes:
        grad: the gradient ``g``.
        gn: ``v ↦ (G + λI) v`` (damped Gauss-Newton product).
        fisher: ``v ↦ (F + λ_F I) v`` (damped Fisher product; ``None`` when not needed).
        factor: the Fisher rows (``None`` when not needed).
        fisher_damping: ``λ_F`` (absolute).
        fisher_scale: ``s_F``.
        precond: the CG preconditioner ``r ↦ M⁻¹ r`` (``None``: none).
        precond_diagonal: ``m`` of a diagonal preconditioner, or ``None``.
        x0: warm start, or ``None``.
        cg: CG options.
        natural_gradient: formulation A's way to ``F_λ⁻¹ g`` (``woodbury`` or ``cg``).
        natural_gradient_iters: CG iterations of the ``cg`` way.
    """

    grad: torch.Tensor
    gn: MatVec
    fisher: MatVec | None
    factor: FisherFactor | None
    fisher_damping: float
    fisher_scale: float
    precond: MatVec | None
    precond_diagonal: torch.Tensor | None
    x0: torch.Tensor | None
    cg: CGConfig
    natural_gradient: str = "woodbury"
    natural_gradient_iters: int = 10


@dataclasses.dataclass(frozen=True)
class Method:
    """One second-order method (see the module docstring): its name, whether it needs the
    Fisher, the matrices of its CG and of its model; each method's values are in :data:`METHODS`."""

    name: str
    needs_fisher: bool
    cg_matrix: Matrix
    model_matrix: Matrix

    def solve(self, inputs: SolveInputs) -> CGResult:
        raise NotImplementedError


class HessianFree(Method):
    """Martens' HF: CG on the damped Gauss-Newton system."""

    def solve(self, inputs: SolveInputs) -> CGResult:
        return conjugate_gradient(inputs.gn, -inputs.grad, inputs.x0, inputs.precond, inputs.cg)


class NaturalGradient(Method):
    """Natural gradient by CG on the damped empirical Fisher (its own quadratic model)."""

    def solve(self, inputs: SolveInputs) -> CGResult:
        assert inputs.fisher is not None
        return conjugate_gradient(inputs.fisher, -inputs.grad, inputs.x0, inputs.precond, inputs.cg)


def natural_gradient(inputs: SolveInputs) -> torch.Tensor:
    """``s_F (F + λ_F I)⁻¹ g``: the natural gradient on the Fisher's own scale (``g`` outside the
    Fisher's span when ``μ_F = 1``), by Woodbury or by a short Fisher CG."""
    assert inputs.factor is not None and inputs.fisher is not None
    if inputs.natural_gradient == "woodbury":
        nat = WoodburyInverse(inputs.factor.rows, inputs.fisher_damping)(inputs.grad)
    else:
        short = dataclasses.replace(inputs.cg, max_iters=inputs.natural_gradient_iters, progress_eps=0.0)
        nat = conjugate_gradient(inputs.fisher, inputs.grad, None, inputs.precond, short).x
    return nat * inputs.fisher_scale


class NghfA(Method):
    """NGHF as the paper describes it: the natural gradient is the linear term of the damped
    Gauss-Newton quadratic, ``min_Δ  (s_F F_λ⁻¹ g)ᵀΔ + ½ ΔᵀG_λΔ``."""

    def solve(self, inputs: SolveInputs) -> CGResult:
        return conjugate_gradient(inputs.gn, -natural_gradient(inputs), inputs.x0, inputs.precond, inputs.cg)


class NghfB(Method):
    """HF preconditioned by the damped Fisher ``F_λ`` (its inverse by Woodbury). With the
    shared-parameter preconditioner, the Fisher's damping is that preconditioner's diagonal
    (normalised to mean 1) times ``λ_F``, so both act."""

    def solve(self, inputs: SolveInputs) -> CGResult:
        assert inputs.factor is not None
        damping: float | torch.Tensor = inputs.fisher_damping
        if inputs.precond_diagonal is not None:
            m = inputs.precond_diagonal.to(torch.float64)
            damping = inputs.fisher_damping * m / m.mean()
        return conjugate_gradient(inputs.gn, -inputs.grad, inputs.x0, WoodburyInverse(inputs.factor.rows, damping),
                                  inputs.cg)


class NghfC(Method):
    """Directions of (preconditioned) CG on the Fisher system, each step length the exact
    minimum of the damped Gauss-Newton quadratic along it."""

    def solve(self, inputs: SolveInputs) -> CGResult:
        assert inputs.fisher is not None
        return fisher_directions_gn_steps(inputs.fisher, inputs.gn, inputs.grad, inputs.x0, inputs.cg, inputs.precond)


METHODS: dict[tuple[str, str | None], Method] = {
    ("hf", None): HessianFree("hf", needs_fisher=False, cg_matrix="gn", model_matrix="gn"),
    ("ng", None): NaturalGradient("ng", needs_fisher=True, cg_matrix="fisher", model_matrix="fisher"),
    ("nghf", "A"): NghfA("nghf-A", needs_fisher=True, cg_matrix="gn", model_matrix="gn"),
    ("nghf", "B"): NghfB("nghf-B", needs_fisher=True, cg_matrix="gn", model_matrix="gn"),
    ("nghf", "C"): NghfC("nghf-C", needs_fisher=True, cg_matrix="fisher", model_matrix="gn"),
}


def method_for(config: SecondOrderConfig) -> Method:
    """The strategy of ``config`` (``formulation`` matters for ``nghf`` only)."""
    key = (config.kind, config.formulation if config.kind == "nghf" else None)
    try:
        return METHODS[key]
    except KeyError:
        raise ValueError(f"no second-order method {config.kind!r} with formulation {config.formulation!r}") from None
