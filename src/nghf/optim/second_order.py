"""HF, NG and NGHF: one damped second-order update per ``step``.

Every update (``SecondOrderOptimizer.step``):

1. loss ``L₀`` and gradient ``g`` on the gradient batches (all ranks);
2. curvature scale ``s`` (mean Gauss-Newton diagonal, Hutchinson on one Rademacher probe from
   the optimiser's own generator) when damping is relative or the preconditioner is
   ``shared``; Fisher rows ``U`` (``F = UᵀU``) when the Woodbury inverse or the diagonal
   preconditioner needs them;
3. the method's CG run, warm-started from ``warm_start_decay ×`` the previous solution:
   ``hf``: ``(G+λI)Δ = −g``; ``ng``: ``(F+λI)Δ = −g``; ``nghf`` formulation ``A``:
   ``(G+λI)Δ = −(F+λI)⁻¹g``; ``B``: ``(G+λI)Δ = −g`` preconditioned by ``(F+λI)``;
   ``C``: Fisher-CG directions with Gauss-Newton step lengths;
4. backtracking over the stored CG iterates (Martens: walk back from the last iterate while
   the loss keeps falling) on the *judging loss*: the validation set's loss when the problem
   has one (training utterances outside the gradient batch, as Kingsbury et al. 2012 use
   held-out data), else the gradient-batch loss. Judging on other data is what stops a large
   step fitted to one gradient batch from being accepted when it does not generalise;
5. reduction ratio ``ρ = (L(θ+Δ) − L₀) / M(Δ)`` (``L`` the judging loss) with the undamped model
   ``M(Δ) = gᵀΔ + ½ΔᵀCΔ`` (``C = F`` for ``ng``, ``G`` otherwise) and the Levenberg-Marquardt
   rule for ``λ``; Armijo line search on the chosen step;
6. a step that raises the loss or gives NaN/Inf is rejected: ``λ`` is raised by
   ``reject_factor`` and the CG run is repeated (at most ``max_retries`` times), each
   rejection logged. Nothing changes the parameters unless a step is accepted.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import torch

from nghf.optim.base import UpdateProblem, UpdateStats
from nghf.optim.cg import CGConfig, CGResult, conjugate_gradient, fisher_directions_gn_steps
from nghf.optim.config import SecondOrderConfig
from nghf.optim.curvature import ModelCurvature
from nghf.optim.params import ParamSpace
from nghf.optim.precondition import (
    WoodburyInverse,
    block_curvature_scales,
    diagonal_preconditioner,
    rademacher,
    shared_preconditioner,
)
from nghf.utils.logging import get_logger

LOG = get_logger(__name__)

Oracle = ModelCurvature
"""Anything with ``space``, ``loss_and_gradient``, ``loss_at``, ``gauss_newton``, ``fisher``,
``fisher_factor`` and ``products`` (``ModelCurvature`` or a test double)."""


class SecondOrderOptimizer(torch.optim.Optimizer):
    """HF / NG / NGHF with the ``Updater`` interface and a ``torch.optim`` facade.

    Args:
        params: parameters or parameter groups (dicts with ``params``; the second-order
            methods solve one system over all groups, so groups carry no other options).
        config: the method's settings.

    ``step(problem)`` takes an ``UpdateProblem``; ``step(closure)`` takes a callable that
    returns an oracle (e.g. a ``ModelCurvature``) supplying loss, gradient and curvature
    products at the current parameters.
    """

    def __init__(self, params: Iterable[Any], config: SecondOrderConfig) -> None:
        super().__init__(params, defaults={})
        for group in self.param_groups:
            extra = set(group) - {"params"}
            if extra:
                raise ValueError(f"second-order parameter groups take no options, got {sorted(extra)}")
        self.config = config
        self.damping = config.damping.initial
        self.prev_solution: torch.Tensor | None = None
        self.updates = 0
        self.rejections = 0
        self.generator = torch.Generator().manual_seed(config.seed)
        self.last_quadratic: list[float] = []
        self.last_result: CGResult | None = None

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:  # type: ignore[override]
        return {
            "kind": self.config.kind,
            "damping": self.damping,
            "prev_solution": None if self.prev_solution is None else self.prev_solution.clone(),
            "updates": self.updates,
            "rejections": self.rejections,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:  # type: ignore[override]
        if state.get("kind") != self.config.kind:
            raise ValueError(f"state dict is for optimiser {state.get('kind')!r}, not {self.config.kind!r}")
        self.damping = float(state["damping"])
        prev = state["prev_solution"]
        self.prev_solution = None if prev is None else prev.clone()
        self.updates = int(state["updates"])
        self.rejections = int(state["rejections"])
        self.generator.set_state(state["generator"])

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Nothing to do: gradients are computed functionally, never stored in ``.grad``."""

    # ------------------------------------------------------------------ entry points
    def _params(self) -> list[torch.Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def step(self, problem: UpdateProblem | Callable[[], Oracle]) -> UpdateStats:  # type: ignore[override]
        """One parameter update; see the module docstring."""
        if isinstance(problem, UpdateProblem):
            space = ParamSpace(problem.model, self._params())
            oracle = ModelCurvature(
                problem.model, problem.criterion, space, problem.grad_batches, problem.curvature_batches,
                problem.num_frames, problem.curvature_frames, problem.reducer, self.config.jvp_method,
                problem.validation_batches, problem.validation_frames,
            )
        elif callable(problem):
            oracle = problem()
        else:
            raise TypeError(f"step() takes an UpdateProblem or a closure, got {type(problem).__name__}")
        return self._update(oracle)

    # ------------------------------------------------------------------ the update
    def _needs_fisher_rows(self) -> bool:
        cfg = self.config
        if cfg.kind == "nghf" and cfg.formulation == "B":
            return True
        if cfg.kind == "nghf" and cfg.formulation == "A" and cfg.natural_gradient == "woodbury":
            return True
        return cfg.preconditioner == "diagonal"

    def _update(self, oracle: Oracle) -> UpdateStats:
        cfg = self.config
        space = oracle.space
        t_start = time.perf_counter()
        loss0, grad = oracle.loss_and_gradient()
        time_grad = time.perf_counter() - t_start
        extras: dict[str, float] = {"loss_before": loss0, "damping": self.damping, "accepted": 0.0}
        validated = bool(getattr(oracle, "has_validation", False))
        t_val = time.perf_counter()
        if validated:
            ref0 = oracle.reference_loss()
            extras["validation_before"] = ref0
        else:
            ref0 = loss0
        time_validation = time.perf_counter() - t_val
        if not math.isfinite(loss0) or not math.isfinite(ref0) or not bool(torch.isfinite(grad).all()):
            LOG.warning("update %d: non-finite loss or gradient (loss %s); no step taken", self.updates, loss0)
            self.rejections += 1
            extras.update(time_grad=time_grad, rejected=1.0)
            return UpdateStats(loss=loss0, extras=extras)

        t_curv = time.perf_counter()
        products0 = oracle.products
        scale = 1.0
        block_scales = None
        if cfg.damping.relative or cfg.preconditioner == "shared":
            probe = rademacher(space.numel, self.generator, space.dtype, space.device)
            g_probe = oracle.gauss_newton(probe)
            if cfg.damping.relative:
                scale = max(float(torch.dot(probe.double(), g_probe.double())) / space.numel, 1e-12)
            if cfg.preconditioner == "shared":
                block_scales = block_curvature_scales(space, probe, g_probe)
        t_rows = time.perf_counter()
        rows = oracle.fisher_factor() if self._needs_fisher_rows() else None
        phase = {"time_scale": t_rows - t_curv, "time_fisher_rows": time.perf_counter() - t_rows,
                 "time_cg": 0.0, "time_backtrack": 0.0, "time_line_search": 0.0}

        cg_total = 0
        accepted = False
        loss_new = loss0
        step = torch.zeros_like(grad)
        rho = float("nan")
        for attempt in range(cfg.damping.max_retries + 1):
            lam = self.damping * scale
            x0 = None
            if attempt == 0 and self.prev_solution is not None and cfg.warm_start_decay > 0:
                x0 = self.prev_solution.to(grad) * cfg.warm_start_decay
            t0 = time.perf_counter()
            result = self._solve(oracle, grad, lam, x0, rows, block_scales)
            t1 = time.perf_counter()
            cg_total += result.iterations
            self.last_result = result
            self.last_quadratic = list(result.quadratic)
            delta, loss_try, chosen_it = self._backtrack(oracle, result)
            t2 = time.perf_counter()
            model_red = self._model_reduction(oracle, grad, delta)
            t3 = time.perf_counter()
            actual = loss_try - ref0
            rho = actual / model_red if model_red < 0 and math.isfinite(loss_try) else float("-inf")
            alpha, loss_new = self._line_search(oracle, grad, delta, ref0, loss_try)
            phase["time_cg"] += (t1 - t0) + (t3 - t2)  # CG products and the model reduction's
            phase["time_backtrack"] += t2 - t1
            phase["time_line_search"] += time.perf_counter() - t3
            ok = math.isfinite(loss_new) and loss_new < ref0 and alpha > 0
            self._adapt_damping(rho)
            extras.update(
                cg_iterations=float(result.iterations), cg_q_initial=result.quadratic[0],
                cg_q_final=result.quadratic[-1], cg_chosen_iteration=float(chosen_it),
                q_model=model_red, rho=rho, step_alpha=alpha, damping_abs=lam,
            )
            if ok:
                step = delta * alpha
                accepted = True
                self.prev_solution = result.x.detach().clone()
                break
            self.rejections += 1
            self.prev_solution = None
            self.damping = min(self.damping * cfg.damping.reject_factor, cfg.damping.max)
            LOG.warning(
                "update %d attempt %d: step rejected (%s loss %.6g -> %.6g, rho %.3g); damping raised to %.4g",
                self.updates, attempt, "validation" if validated else "batch", ref0, loss_try, rho, self.damping,
            )
        time_curvature = time.perf_counter() - t_curv
        if accepted:
            space.add_(step)
        else:
            loss_new = ref0
        extras["validation_after" if validated else "loss_after"] = loss_new
        self.updates += 1
        extras.update(
            accepted=float(accepted), damping=self.damping, step_norm=float(step.norm()),
            cg_iterations_total=float(cg_total), retries=float(attempt), products=float(oracle.products - products0),
            time_grad=time_grad, time_curvature=time_curvature, time_total=time.perf_counter() - t_start,
            time_validation=time_validation, **phase,
        )
        LOG.debug("update %d: %s", self.updates, extras)
        return UpdateStats(loss=loss0, extras=extras)

    def _solve(self, oracle: Oracle, grad: torch.Tensor, lam: float, x0: torch.Tensor | None,
               rows: torch.Tensor | None, block_scales: torch.Tensor | None) -> CGResult:
        cfg = self.config

        def gn(v: torch.Tensor) -> torch.Tensor:
            return oracle.gauss_newton(v).add_(v, alpha=lam)

        def fi(v: torch.Tensor) -> torch.Tensor:
            return oracle.fisher(v).add_(v, alpha=lam)

        precond = None
        if cfg.preconditioner == "diagonal":
            assert rows is not None
            m = diagonal_preconditioner(rows, lam, cfg.precond_exponent)
            precond = lambda r, m=m: r / m  # noqa: E731
        elif cfg.preconditioner == "shared":
            assert block_scales is not None
            m = shared_preconditioner(block_scales, lam, cfg.precond_exponent, grad.dtype)
            precond = lambda r, m=m: r / m  # noqa: E731
        if cfg.kind == "hf":
            return conjugate_gradient(gn, -grad, x0, precond, cfg.cg)
        if cfg.kind == "ng":
            return conjugate_gradient(fi, -grad, x0, precond, cfg.cg)
        if cfg.formulation == "A":
            if cfg.natural_gradient == "woodbury":
                assert rows is not None
                nat = WoodburyInverse(rows, lam)(grad)
            else:
                nat = conjugate_gradient(fi, grad, None, precond, _short(cfg)).x
            return conjugate_gradient(gn, -nat, x0, precond, cfg.cg)
        if cfg.formulation == "B":
            assert rows is not None
            return conjugate_gradient(gn, -grad, x0, WoodburyInverse(rows, lam), cfg.cg)
        return fisher_directions_gn_steps(fi, gn, grad, x0, cfg.cg)

    def _backtrack(self, oracle: Oracle, result: CGResult) -> tuple[torch.Tensor, float, int]:
        return backtrack_iterates(oracle.loss_at, result.stored, self.config.backtracking)

    def _model_reduction(self, oracle: Oracle, grad: torch.Tensor, delta: torch.Tensor) -> float:
        """Undamped quadratic model ``gᵀΔ + ½ΔᵀCΔ`` of the method's curvature ``C``."""
        cv = oracle.fisher(delta) if self.config.kind == "ng" else oracle.gauss_newton(delta)
        d64 = delta.double()
        return float(torch.dot(grad.double(), d64) + 0.5 * torch.dot(d64, cv.double()))

    def _line_search(self, oracle: Oracle, grad: torch.Tensor, delta: torch.Tensor, loss0: float,
                     loss_full: float) -> tuple[float, float]:
        """Armijo backtracking on ``α`` (``α = 1`` already evaluated as ``loss_full``)."""
        ls = self.config.line_search
        slope = float(torch.dot(grad.double(), delta.double()))
        if slope >= 0:
            return 0.0, loss0
        alpha, loss_a = 1.0, loss_full
        if not ls.enabled:
            return alpha, loss_a
        for _ in range(ls.max_steps):
            if math.isfinite(loss_a) and loss_a <= loss0 + ls.armijo_c * alpha * slope:
                return alpha, loss_a
            alpha *= ls.shrink
            loss_a = oracle.loss_at(delta * alpha)
        if math.isfinite(loss_a) and loss_a <= loss0 + ls.armijo_c * alpha * slope:
            return alpha, loss_a
        return 0.0, loss0 if not math.isfinite(loss_a) else loss_a

    def _adapt_damping(self, rho: float) -> None:
        d = self.config.damping
        if not rho >= d.rho_low:  # also NaN / -inf
            self.damping *= d.increase
        elif rho > d.rho_high:
            self.damping *= d.decrease
        self.damping = min(max(self.damping, d.min), d.max)


def backtrack_iterates(
    loss_at: Callable[[torch.Tensor], float], stored: list[tuple[int, torch.Tensor]], enabled: bool = True
) -> tuple[torch.Tensor, float, int]:
    """Martens' backtracking: starting from the last stored CG iterate, step back to the
    previous one while that lowers the loss. Returns ``(iterate, its loss, its iteration)``."""
    it, best = stored[-1]
    best_loss = loss_at(best)
    if not enabled:
        return best, best_loss, it
    for j in range(len(stored) - 2, -1, -1):
        cand_it, cand = stored[j]
        cand_loss = loss_at(cand)
        if math.isfinite(best_loss) and not cand_loss < best_loss:
            break
        it, best, best_loss = cand_it, cand, cand_loss
    return best, best_loss, it


def _short(cfg: SecondOrderConfig) -> CGConfig:
    """The fixed-length CG of formulation A's natural-gradient solve."""
    return dataclasses.replace(cfg.cg, max_iters=cfg.natural_gradient_iters, progress_eps=0.0)


def build_updater(config: Any, params: Iterable[Any]) -> Any:
    """The updater for ``config``: ``SecondOrderOptimizer`` for ``hf``/``ng``/``nghf``; SGD and
    Adam configs are delegated to ``nghf.optim.first_order.build_first_order``."""
    kind = getattr(config, "kind", None)
    if isinstance(config, SecondOrderConfig):
        return SecondOrderOptimizer(params, config)
    if kind in ("sgd", "adam"):
        try:
            from nghf.optim.first_order import build_first_order
        except ImportError as err:  # pragma: no cover - depends on the other module
            raise ImportError(
                f"optimiser kind {kind!r} needs nghf.optim.first_order.build_first_order ({err})"
            ) from err
        return build_first_order(config, params)
    raise ValueError(f"no optimiser for config {type(config).__name__} with kind {kind!r}")
