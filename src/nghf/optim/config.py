"""Frozen configs of the second-order optimisers (``conf/optim_{hf,ng,nghf}.yaml``).

Which config class a ``kind`` key selects, and which updater a config builds, is decided in one
place: ``nghf.optim.factory``.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Literal

from nghf.optim.cg import CGConfig
from nghf.utils.logging import get_logger

LOG = get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class DampingConfig:
    """Levenberg-Marquardt (Tikhonov) damping ``λ``.

    Attributes:
        initial: starting ``λ``.
        relative: ``λ`` is in units of the mean Gauss-Newton diagonal (Hutchinson estimate on
            one probe per update), so the same value suits any model, criterion and loss
            scale (part of the CG fix, see ``docs/nghf.md``); ``false``: absolute.
        min, max: bounds on ``λ``.
        rho_low, rho_high: reduction-ratio thresholds.
        increase, decrease: ``λ`` factors when ``ρ < rho_low`` / ``ρ > rho_high``.
        reject_factor: extra factor on ``λ`` when a step is rejected (loss up, NaN/Inf).
        max_retries: re-solves with raised ``λ`` after a rejected step.
    """

    initial: float = 1.0
    relative: bool = True
    min: float = 1e-4
    max: float = 1e6
    rho_low: float = 0.25
    rho_high: float = 0.75
    increase: float = 1.5
    decrease: float = 2.0 / 3.0
    reject_factor: float = 4.0
    max_retries: int = 2

    def __post_init__(self) -> None:
        if not (0 < self.min <= self.initial <= self.max):
            raise ValueError(f"damping needs 0 < min <= initial <= max, got {self.min}, {self.initial}, {self.max}")
        if not (self.increase > 1 and 0 < self.decrease < 1 and self.reject_factor >= 1):
            raise ValueError("damping needs increase > 1, 0 < decrease < 1, reject_factor >= 1")
        if not self.rho_low < self.rho_high or self.max_retries < 0:
            raise ValueError("damping needs rho_low < rho_high and max_retries >= 0")


@dataclasses.dataclass(frozen=True)
class FisherDampingConfig:
    """Damping ``λ_F = μ_F · s_F`` of the empirical Fisher, on the Fisher's own scale and
    separate from the Gauss-Newton ``λ``.

    ``s_F = tr(F) / n`` is the mean eigenvalue of ``F`` on its span (``n`` curvature
    utterances), re-computed exactly from the Fisher rows at every update. Outside the span
    (``P − n`` of ``P`` directions) ``F + λ_F I`` is ``λ_F``; on this scale the natural gradient
    ``s_F (F + λ_F I)⁻¹ g`` equals ``g / μ_F`` there and whitens ``g`` inside the span, whatever
    the loss scale. With one ``λ`` measured on the Gauss-Newton scale for both matrices, the
    Fisher's damping was unrelated to the Fisher and formulation A's steps grew as ``1/λ``.

    Attributes:
        initial: starting ``μ_F``.
        adapt: Levenberg-Marquardt rule on ``μ_F`` when the method's quadratic model uses the
            Fisher (``ng``: ``ρ`` measures that model); the NGHF formulations keep ``μ_F`` fixed,
            because their ``ρ`` measures the Gauss-Newton model, which ``λ`` already adapts to.
        min, max: bounds on ``μ_F``.
    """

    initial: float = 1.0
    adapt: bool = True
    min: float = 1e-4
    max: float = 1e6

    def __post_init__(self) -> None:
        if not (0 < self.min <= self.initial <= self.max):
            raise ValueError(f"fisher_damping needs 0 < min <= initial <= max, got {self.min}, {self.initial}, {self.max}")


@dataclasses.dataclass(frozen=True)
class LineSearchConfig:
    """Armijo backtracking on the final step: shrink ``α`` by ``shrink`` until
    ``L(θ + αΔ) ≤ L(θ) + c α gᵀΔ``, at most ``max_steps`` times."""

    enabled: bool = True
    armijo_c: float = 1e-2
    shrink: float = 0.8
    max_steps: int = 8

    def __post_init__(self) -> None:
        if not (0 < self.shrink < 1 and 0 <= self.armijo_c < 1 and self.max_steps >= 0):
            raise ValueError(f"invalid line search settings: {self}")


@dataclasses.dataclass(frozen=True)
class SecondOrderConfig:
    """HF / NG / NGHF settings.

    Attributes:
        kind: ``hf`` (CG on ``G+λI``), ``ng`` (CG on ``F+λ_F I``) or ``nghf``.
        formulation: NGHF variant ``A`` (the natural gradient as the linear term of the
            Gauss-Newton quadratic), ``B`` (Fisher-preconditioned HF) or ``C`` (Fisher CG
            directions, Gauss-Newton step sizes).
        cg: CG options.
        damping: Gauss-Newton damping ``λ``; fisher_damping: the Fisher's ``μ_F``.
        line_search: see its class.
        preconditioner: ``none``, ``diagonal`` (``(diag F + λ)^α``) or ``shared`` (the
            shared-parameter preconditioner: the CG matrix's diagonal shared per output unit,
            ``nghf.optim.precondition``); every method uses it (B through the Fisher inverse's
            diagonal damping).
        precond_exponent: ``α``.
        jvp_method: ``jvp`` (forward mode) or ``double_vjp``.
        warm_start_decay: CG starts from this × the previous solution (0: cold start).
        backtracking: choose the best stored CG iterate on the gradient-batch loss.
        natural_gradient: how formulation A gets ``(F+λI)⁻¹g``: ``woodbury`` or ``cg``.
        natural_gradient_iters: CG iterations of the ``cg`` way.
        seed: seed of the optimiser's own RNG (probe vectors).
    """

    family: ClassVar[str] = "second"

    kind: Literal["hf", "ng", "nghf"] = "nghf"
    formulation: Literal["A", "B", "C"] = "A"
    cg: CGConfig = dataclasses.field(default_factory=CGConfig)
    damping: DampingConfig = dataclasses.field(default_factory=DampingConfig)
    fisher_damping: FisherDampingConfig = dataclasses.field(default_factory=FisherDampingConfig)
    line_search: LineSearchConfig = dataclasses.field(default_factory=LineSearchConfig)
    preconditioner: Literal["none", "diagonal", "shared"] = "none"
    precond_exponent: float = 0.75
    jvp_method: Literal["jvp", "double_vjp"] = "jvp"
    warm_start_decay: float = 0.95
    backtracking: bool = True
    natural_gradient: Literal["woodbury", "cg"] = "woodbury"
    natural_gradient_iters: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.warm_start_decay <= 1.0:
            raise ValueError(f"warm_start_decay must be in [0, 1], got {self.warm_start_decay}")
        if self.precond_exponent < 0 or self.natural_gradient_iters < 1:
            raise ValueError("precond_exponent must be >= 0 and natural_gradient_iters >= 1")
        cg = self.cg
        if cg.progress_eps > 0 and cg.progress_min_window >= cg.max_iters:
            LOG.warning(
                "cg.progress_min_window (%d) >= cg.max_iters (%d): the progress rule can never stop CG; "
                "lower the window (e.g. 2) or set progress_eps: 0 for a fixed iteration count",
                cg.progress_min_window, cg.max_iters,
            )


