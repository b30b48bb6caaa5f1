"""Preconditioned linear conjugate gradient for the damped quadratic models of HF/NG/NGHF.

``conjugate_gradient`` minimises ``q(x) = ½ xᵀAx − bᵀx`` (i.e. solves ``A x = b``) for a
symmetric positive (semi-)definite ``A`` given only as a product ``v ↦ A v``, with

* a preconditioner ``z = M⁻¹ r`` (``precond``), and a warm start ``x0`` (dropped for
  ``x = 0`` when ``q(x0) > 0``: a stale previous solution must not cost iterations);
* Martens' relative-progress stopping rule: stop at iteration ``i`` when ``q_i < 0`` and
  ``(q_i − q_{i−k}) / q_i < k ε`` with ``k = max(min_window, window_frac · i)``;
* a maximum number of iterations, and a stop when ``pᵀAp`` is not positive and finite;
* the iterates at iterations ``⌈store_base^j⌉`` (and the last one) kept for backtracking;
* ``q_i`` logged for every iteration.

**The numerical fix** (``CGConfig.stable``, on by default; see ``docs/nghf.md`` for what was
measured): the CG scalars ``rᵀz``, ``pᵀAp``, ``α``, ``β`` and ``q`` are accumulated in float64
even when the vectors are float32; the residual is recomputed as ``b − A x`` every
``residual_refresh`` iterations (one extra product) so the recursively updated residual cannot
drift away from the true one; and ``q`` is evaluated in the residual form
``q(x) = −½ xᵀ(b + r)`` from the current residual rather than by a running sum of per-step
decrements. With ``stable=False`` the textbook float32 recurrences are used (the baseline the
benchmark compares against).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import torch

from nghf.utils.logging import get_logger

LOG = get_logger(__name__)

MatVec = Callable[[torch.Tensor], torch.Tensor]


@dataclasses.dataclass(frozen=True)
class CGConfig:
    """Options of one CG run.

    Attributes:
        max_iters: upper bound on iterations (products with ``A``).
        min_iters: never stop (by the progress rule) before this many iterations.
        progress_eps: ε of Martens' relative-progress rule (0 disables the rule).
        progress_min_window: smallest look-back ``k`` of the rule (Martens used 10 for runs of
            hundreds of iterations; 2 lets the rule stop CG within caps of 5-8, ours).
        progress_window_frac: look-back ``k`` as a fraction of the iteration number.
        store_base: iterates at ``⌈store_base^j⌉`` are kept for backtracking.
        stable: the numerical fix (float64 scalars, residual refresh, residual-form q).
        residual_refresh: with ``stable``, recompute ``r = b − A x`` every this many
            iterations (0: never).
    """

    max_iters: int = 50
    min_iters: int = 1
    progress_eps: float = 5e-4
    progress_min_window: int = 2
    progress_window_frac: float = 0.1
    store_base: float = 1.3
    stable: bool = True
    residual_refresh: int = 10

    def __post_init__(self) -> None:
        if self.max_iters < 1 or self.min_iters < 0:
            raise ValueError(f"max_iters must be >= 1 and min_iters >= 0, got {self.max_iters}, {self.min_iters}")
        if self.store_base <= 1.0:
            raise ValueError(f"store_base must be > 1, got {self.store_base}")
        if self.progress_eps < 0 or self.residual_refresh < 0:
            raise ValueError("progress_eps and residual_refresh must be >= 0")


@dataclasses.dataclass
class CGResult:
    """What a CG run produced: the final iterate, the kept iterates ``(iteration, x)`` in
    increasing order (the last one is ``x``), ``q`` after every iteration (``quadratic[0]``
    is ``q(x0)``), the number of iterations and why it stopped."""

    x: torch.Tensor
    stored: list[tuple[int, torch.Tensor]]
    quadratic: list[float]
    iterations: int
    stop_reason: str


def _dot(a: torch.Tensor, b: torch.Tensor, stable: bool) -> float:
    if stable:
        return float(torch.dot(a.to(torch.float64), b.to(torch.float64)))
    return float(torch.dot(a, b))


def store_schedule(max_iters: int, base: float) -> set[int]:
    """Iterations ``⌈base^j⌉`` (``j = 0, 1, ...``) up to ``max_iters``."""
    its: set[int] = set()
    j = 0
    while True:
        i = math.ceil(base**j)
        if i > max_iters:
            return its
        its.add(i)
        j += 1


def progress_stop(quadratic: list[float], i: int, config: CGConfig) -> bool:
    """Martens' relative-progress test at iteration ``i`` (``quadratic[i]`` is ``q_i``)."""
    if config.progress_eps <= 0 or i < max(config.min_iters, 1):
        return False
    k = max(config.progress_min_window, int(config.progress_window_frac * i))
    if i <= k:
        return False
    qi, qk = quadratic[i], quadratic[i - k]
    return qi < 0 and (qi - qk) / qi < k * config.progress_eps


def _next_direction(
    quadratic: list[float], i: int, config: CGConfig, r: torch.Tensor, p: torch.Tensor, rz: float,
    precond: MatVec | None, stable: bool,
) -> tuple[str | None, torch.Tensor, float]:
    """The end of CG iteration ``i``: Martens' progress test, then the preconditioned residual
    ``z = M⁻¹ r`` and the next conjugate direction ``z + (rᵀz / rz) p``. Returns ``(stop reason
    or None, direction, rᵀz)`` (on a stop, ``p`` and ``rz`` unchanged)."""
    if progress_stop(quadratic, i, config):
        return "progress", p, rz
    z = precond(r) if precond is not None else r
    rz_new = _dot(r, z, stable)
    if rz_new <= 0.0:
        return "zero_residual", p, rz
    return None, z + (rz_new / rz) * p, rz_new


def conjugate_gradient(
    matvec: MatVec,
    b: torch.Tensor,
    x0: torch.Tensor | None = None,
    precond: MatVec | None = None,
    config: CGConfig | None = None,
    on_iteration: Callable[[int, torch.Tensor, float], None] | None = None,
) -> CGResult:
    """Minimise ``½ xᵀAx − bᵀx`` by preconditioned CG (see the module docstring)."""
    config = config or CGConfig()
    stable = config.stable
    x = torch.zeros_like(b) if x0 is None else x0.clone()
    r = b.clone() if x0 is None or not bool(x.any()) else b - matvec(x)
    b_dot = _dot(b, b, stable)
    quadratic = [-0.5 * _dot(x, b + r, stable)]
    if not quadratic[0] <= 0.0:
        # A warm start worse than x = 0 (the previous update's solution no longer suits this
        # quadratic): start from zero, as the first CG step from zero is the steepest descent.
        LOG.debug("CG: warm start has q = %.4g > 0; starting from zero", quadratic[0])
        x, r, quadratic = torch.zeros_like(b), b.clone(), [0.0]
    running_q = quadratic[0]
    z = precond(r) if precond is not None else r
    p = z.clone()
    rz = _dot(r, z, stable)
    keep = store_schedule(config.max_iters, config.store_base)
    stored: list[tuple[int, torch.Tensor]] = []
    reason = "max_iters"
    i = 0
    if b_dot == 0.0 or rz == 0.0:
        return CGResult(x, [(0, x.clone())], quadratic, 0, "zero_residual")
    for i in range(1, config.max_iters + 1):
        ap = matvec(p)
        pap = _dot(p, ap, stable)
        if not math.isfinite(pap) or pap <= 1e-30 * max(_dot(p, p, stable), 1e-300):
            reason = "nonpositive_curvature"
            i -= 1
            break
        alpha = rz / pap
        x.add_(p, alpha=alpha)
        if stable and config.residual_refresh and i % config.residual_refresh == 0:
            r = b - matvec(x)
        else:
            r.add_(ap, alpha=-alpha)
        if stable:
            q = -0.5 * _dot(x, b + r, True)
        else:
            # textbook recurrence: q decreases by ½ α rᵀz per step (exact in exact arithmetic)
            running_q -= 0.5 * alpha * rz
            q = running_q
        quadratic.append(q)
        if on_iteration is not None:
            on_iteration(i, x, q)
        if i in keep:
            stored.append((i, x.clone()))
        if not math.isfinite(q):
            reason = "nonfinite"
            break
        stop, p, rz = _next_direction(quadratic, i, config, r, p, rz, precond, stable)
        if stop:
            reason = stop
            break
    if not stored or stored[-1][0] != i:
        stored.append((i, x.clone()))
    LOG.debug("CG: %d iterations (%s), q %.4g -> %.4g", i, reason, quadratic[0], quadratic[-1])
    return CGResult(x, stored, quadratic, i, reason)


def fisher_directions_gn_steps(
    fisher_matvec: MatVec,
    gn_matvec: MatVec,
    grad: torch.Tensor,
    x0: torch.Tensor | None = None,
    config: CGConfig | None = None,
    precond: MatVec | None = None,
) -> CGResult:
    """NGHF formulation C: (preconditioned) CG directions of the Fisher system ``F_λ Δ = −g``
    (``fisher_matvec`` includes damping); each step length minimises the Gauss-Newton quadratic
    ``q(x) = gᵀx + ½ xᵀ G_λ x`` (``gn_matvec`` includes damping) along the direction.
    ``quadratic`` records the Gauss-Newton q; the Fisher recursion keeps its own residual.

    A warm start ``x0`` whose Gauss-Newton ``q(x0)`` is not below ``q(0) = 0`` is dropped, as in
    ``conjugate_gradient``: the previous update's solution must not cost this one iterations."""
    config = config or CGConfig()
    b = -grad
    x = torch.zeros_like(b) if x0 is None else x0.clone()
    warm = x0 is not None and bool(x.any())
    gx = gn_matvec(x) if warm else torch.zeros_like(b)
    rg = b - gx  # Gauss-Newton residual (−∇q): gives the step lengths and q
    quadratic = [-0.5 * _dot(x, b + rg, True)]
    if warm and not quadratic[0] <= 0.0:
        LOG.debug("formulation C: warm start has q = %.4g > 0; starting from zero", quadratic[0])
        x, rg, quadratic, warm = torch.zeros_like(b), b.clone(), [0.0], False
    rf = b - fisher_matvec(x) if warm else b.clone()  # Fisher residual: gives the directions
    z = precond(rf) if precond is not None else rf
    p = z.clone()
    rz = _dot(rf, z, True)
    keep = store_schedule(config.max_iters, config.store_base)
    stored: list[tuple[int, torch.Tensor]] = []
    reason = "max_iters"
    i = 0
    if rz == 0.0:
        return CGResult(x, [(0, x.clone())], quadratic, 0, "zero_residual")
    for i in range(1, config.max_iters + 1):
        fp = fisher_matvec(p)
        gp = gn_matvec(p)
        pfp, pgp = _dot(p, fp, True), _dot(p, gp, True)
        if not (math.isfinite(pfp) and math.isfinite(pgp)) or pfp <= 0 or pgp <= 0:
            reason = "nonpositive_curvature"
            i -= 1
            break
        pp = _dot(p, p, True)
        if pfp <= 1e-30 * pp or pgp <= 1e-30 * pp:
            reason = "nonpositive_curvature"
            i -= 1
            break
        alpha_f = rz / pfp
        alpha_g = _dot(rg, p, True) / pgp  # exact line minimum of the GN quadratic along p
        if not math.isfinite(alpha_g) or abs(alpha_g) > 1e30 or abs(alpha_g) * math.sqrt(pp) > 1e30:
            reason = "nonfinite"
            i -= 1
            break
        x.add_(p, alpha=alpha_g)
        rg.add_(gp, alpha=-alpha_g)
        rf.add_(fp, alpha=-alpha_f)  # Fisher CG recursion continues with its own step
        q = -0.5 * _dot(x, b + rg, True)
        quadratic.append(q)
        if i in keep:
            stored.append((i, x.clone()))
        stop, p, rz = _next_direction(quadratic, i, config, rf, p, rz, precond, True)
        if stop:
            reason = stop
            break
    if not stored or stored[-1][0] != i:
        stored.append((i, x.clone()))
    return CGResult(x, stored, quadratic, i, reason)
