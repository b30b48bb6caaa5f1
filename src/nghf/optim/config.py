"""Frozen configs of the second-order optimisers (``conf/optim_{hf,ng,nghf}.yaml``).

``load_optim_config`` reads the ``kind`` key of a YAML file and builds either
``SecondOrderConfig`` (``hf``, ``ng``, ``nghf``) or the first-order config of
``nghf.optim.first_order`` (``sgd``, ``adam``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml

from nghf.optim.cg import CGConfig
from nghf.utils.config import ConfigError, load_config


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
        kind: ``hf`` (CG on ``G+λI``), ``ng`` (CG on ``F+λI``) or ``nghf``.
        formulation: NGHF variant ``A`` (NG as linear term), ``B`` (Fisher-preconditioned HF)
            or ``C`` (Fisher CG directions, Gauss-Newton step sizes).
        cg: CG options.
        damping, line_search: see their classes.
        preconditioner: ``none``, ``diagonal`` (``(diag F + λ)^α``) or ``shared`` (per-block
            Gauss-Newton scale); not used by formulation B (its preconditioner is the Fisher).
        precond_exponent: ``α``.
        jvp_method: ``jvp`` (forward mode) or ``double_vjp``.
        warm_start_decay: CG starts from this × the previous solution (0: cold start).
        backtracking: choose the best stored CG iterate on the gradient-batch loss.
        natural_gradient: how formulation A gets ``(F+λI)⁻¹g``: ``woodbury`` or ``cg``.
        natural_gradient_iters: CG iterations of the ``cg`` way.
        seed: seed of the optimiser's own RNG (probe vectors).
    """

    kind: Literal["hf", "ng", "nghf"] = "nghf"
    formulation: Literal["A", "B", "C"] = "B"
    cg: CGConfig = dataclasses.field(default_factory=CGConfig)
    damping: DampingConfig = dataclasses.field(default_factory=DampingConfig)
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


FIRST_ORDER_KINDS = ("sgd", "adam")
SECOND_ORDER_KINDS = ("hf", "ng", "nghf")


def load_optim_config(path: str | Path, overrides: Sequence[str] = ()) -> Any:
    """Load an optimiser config, choosing the dataclass from its ``kind`` key (overrides may
    set ``kind`` too)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read optimiser config: {err}") from None
    kind = data.get("kind", "nghf") if isinstance(data, dict) else None
    for item in overrides:
        if item.split("=", 1)[0].strip() == "kind":
            kind = yaml.safe_load(item.split("=", 1)[1])
    if kind in SECOND_ORDER_KINDS:
        return load_config(SecondOrderConfig, path, overrides)
    if kind in FIRST_ORDER_KINDS:
        from nghf.optim.first_order import FirstOrderConfig

        return load_config(FirstOrderConfig, path, overrides)
    raise ConfigError(f"{path}: kind: {kind!r} is not one of {', '.join(SECOND_ORDER_KINDS + FIRST_ORDER_KINDS)}")
