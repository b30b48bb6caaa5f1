"""HF, NG and NGHF: one damped second-order update per ``step``.

Every update (``SecondOrderOptimizer.step``), the same for every method; what differs between
HF, NG and the NGHF formulations is a strategy object (``nghf.optim.methods``):

1. loss ``L₀`` and gradient ``g`` on the gradient batches (all ranks);
2. when the method uses the Gauss-Newton matrix and damping is relative, or the shared
   preconditioner runs on ``G``: one product ``G z`` on a Rademacher probe from the optimiser's
   own generator gives the curvature scale ``s = zᵀGz / P`` and the Hutchinson diagonal
   ``z ⊙ G z``; when the method uses the Fisher: its rows ``U`` (``F = UᵀU``), its scale
   ``s_F = tr F / n`` and ``λ_F = μ_F s_F`` (separate from ``λ = μ s``);
3. the method's CG run (preconditioned when asked), warm-started from
   ``warm_start_decay ×`` the previous solution;
4. backtracking over the stored CG iterates (Martens: walk back from the last iterate while
   the loss keeps falling) on the *judging loss*: the validation set's loss when the problem
   has one (training utterances outside the gradient batch, as Kingsbury et al. 2012 use
   held-out data), else the gradient-batch loss;
5. reduction ratio ``ρ = (L(θ+Δ) − L₀) / M(Δ)`` with the undamped model
   ``M(Δ) = gᵀΔ + ½ΔᵀCΔ`` of the method's model matrix ``C`` (``F`` for ng, ``G`` otherwise);
   the Levenberg-Marquardt rule adapts that matrix's damping (``μ`` or, for ng, ``μ_F``);
   Armijo line search on the chosen step;
6. a step that raises the loss or gives NaN/Inf is rejected: the model matrix's damping is
   raised by ``reject_factor`` and the CG run repeated (at most ``max_retries`` times), each
   rejection logged. Nothing changes the parameters unless a step is accepted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import torch

from nghf.optim.base import UpdateProblem, UpdateStats
from nghf.optim.cg import CGResult
from nghf.optim.config import SecondOrderConfig
from nghf.optim.curvature import ModelCurvature
from nghf.optim.methods import SolveInputs, method_for
from nghf.optim.params import ParamSpace
from nghf.optim.precondition import (
    FisherFactor,
    diagonal_preconditioner,
    parameter_groups,
    rademacher,
    shared_curvature_diagonal,
    shared_preconditioner,
)
from nghf.utils.logging import get_logger

LOG = get_logger(__name__)

Oracle = ModelCurvature
"""Anything with ``space``, ``loss_and_gradient``, ``loss_at``, ``gauss_newton``,
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
        self.method = method_for(config)
        self.damping = config.damping.initial
        self.fisher_damping = config.fisher_damping.initial
        self._groups: torch.Tensor | None = None
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
            "formulation": self.method.name,
            "damping": self.damping,
            "fisher_damping": self.fisher_damping,
            "prev_solution": None if self.prev_solution is None else self.prev_solution.clone(),
            "updates": self.updates,
            "rejections": self.rejections,
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:  # type: ignore[override]
        if state.get("kind") != self.config.kind:
            raise ValueError(f"state dict is for optimiser {state.get('kind')!r}, not {self.config.kind!r}")
        if state.get("formulation", self.method.name) != self.method.name:
            raise ValueError(f"state dict is for method {state['formulation']!r}, not {self.method.name!r}")
        self.damping = float(state["damping"])
        self.fisher_damping = float(state.get("fisher_damping", self.config.fisher_damping.initial))
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
    def _curvature_probe(self, oracle: Oracle) -> tuple[float, torch.Tensor | None]:
        """``(s, z ⊙ G z)``: the Gauss-Newton scale for relative damping and the Hutchinson
        diagonal for the shared preconditioner, from one probe, when either is needed."""
        cfg, method, space = self.config, self.method, oracle.space
        uses_gn = method.cg_matrix == "gn" or method.model_matrix == "gn"
        want_scale = cfg.damping.relative and uses_gn
        want_diag = cfg.preconditioner == "shared" and method.cg_matrix == "gn"
        if not (want_scale or want_diag):
            return 1.0, None
        probe = rademacher(space.numel, self.generator, space.dtype, space.device)
        g_probe = oracle.gauss_newton(probe)
        scale = max(float(torch.dot(probe.double(), g_probe.double())) / space.numel, 1e-12) if want_scale else 1.0
        return scale, (probe * g_probe if want_diag else None)

    def _preconditioner(self, oracle: Oracle, factor: FisherFactor | None, gn_diag: torch.Tensor | None,
                        lam_cg: float, dtype: torch.dtype) -> torch.Tensor | None:
        """The diagonal ``m`` of the CG preconditioner (``None``: no preconditioner)."""
        cfg = self.config
        if cfg.preconditioner == "diagonal":
            assert factor is not None
            return diagonal_preconditioner(factor.rows, lam_cg, cfg.precond_exponent)
        if cfg.preconditioner == "shared":
            diag = gn_diag if self.method.cg_matrix == "gn" else (factor.diagonal() if factor is not None else None)
            assert diag is not None
            if self._groups is None or self._groups.numel() != oracle.space.numel:
                self._groups = parameter_groups(oracle.space)
            return shared_preconditioner(shared_curvature_diagonal(self._groups, diag), lam_cg,
                                         cfg.precond_exponent, dtype)
        return None

    def _update(self, oracle: Oracle) -> UpdateStats:
        cfg, method = self.config, self.method
        space = oracle.space
        t_start = time.perf_counter()
        loss0, grad = oracle.loss_and_gradient()
        time_grad = time.perf_counter() - t_start
        extras: dict[str, float] = {"loss_before": loss0, "damping": self.damping,
                                    "fisher_damping": self.fisher_damping, "accepted": 0.0}
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
        scale, gn_diag = self._curvature_probe(oracle)
        t_rows = time.perf_counter()
        needs_rows = method.needs_fisher or cfg.preconditioner == "diagonal"
        factor = FisherFactor(oracle.fisher_factor()) if needs_rows else None
        fisher_scale = factor.scale() if factor is not None else 1.0
        phase = {"time_scale": t_rows - t_curv, "time_fisher_rows": time.perf_counter() - t_rows,
                 "time_cg": 0.0, "time_backtrack": 0.0, "time_line_search": 0.0}

        cg_total = 0
        accepted = False
        loss_new = loss0
        step = torch.zeros_like(grad)
        rho = float("nan")
        for attempt in range(cfg.damping.max_retries + 1):
            lam = self.damping * scale
            lam_f = self.fisher_damping * fisher_scale
            x0 = None
            if attempt == 0 and self.prev_solution is not None and cfg.warm_start_decay > 0:
                x0 = self.prev_solution.to(grad) * cfg.warm_start_decay
            t0 = time.perf_counter()
            result = method.solve(self._solve_inputs(oracle, grad, lam, lam_f, fisher_scale, factor, gn_diag, x0))
            t1 = time.perf_counter()
            cg_total += result.iterations
            self.last_result = result
            self.last_quadratic = list(result.quadratic)
            delta, loss_try, chosen_it = self._backtrack(oracle, result)
            t2 = time.perf_counter()
            model_red = self._model_reduction(oracle, factor, grad, delta)
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
                q_model=model_red, rho=rho, step_alpha=alpha, damping_abs=lam, fisher_damping_abs=lam_f,
                fisher_scale=fisher_scale,
            )
            if ok:
                step = delta * alpha
                accepted = True
                self.prev_solution = result.x.detach().clone()
                break
            self.rejections += 1
            self.prev_solution = None
            self._reject()
            LOG.warning(
                "update %d attempt %d: step rejected (%s loss %.6g -> %.6g, rho %.3g); damping raised to %.4g "
                "(Fisher %.4g)", self.updates, attempt, "validation" if validated else "batch", ref0, loss_try, rho,
                self.damping, self.fisher_damping,
            )
        time_curvature = time.perf_counter() - t_curv
        if accepted:
            space.add_(step)
        else:
            loss_new = ref0
        extras["validation_after" if validated else "loss_after"] = loss_new
        self.updates += 1
        extras.update(
            accepted=float(accepted), damping=self.damping, fisher_damping=self.fisher_damping,
            step_norm=float(step.norm()), cg_iterations_total=float(cg_total), retries=float(attempt),
            products=float(oracle.products - products0), time_grad=time_grad, time_curvature=time_curvature,
            time_total=time.perf_counter() - t_start, time_validation=time_validation, **phase,
        )
        LOG.debug("update %d: %s", self.updates, extras)
        return UpdateStats(loss=loss0, extras=extras)

    def _solve_inputs(self, oracle: Oracle, grad: torch.Tensor, lam: float, lam_f: float, fisher_scale: float,
                      factor: FisherFactor | None, gn_diag: torch.Tensor | None,
                      x0: torch.Tensor | None) -> SolveInputs:
        cfg = self.config

        def gn(v: torch.Tensor) -> torch.Tensor:
            return oracle.gauss_newton(v).add_(v, alpha=lam)

        fisher = None
        if factor is not None:
            def fisher(v: torch.Tensor) -> torch.Tensor:
                return factor.matvec(v).add_(v, alpha=lam_f)

        lam_cg = lam if self.method.cg_matrix == "gn" else lam_f
        m = self._preconditioner(oracle, factor, gn_diag, lam_cg, grad.dtype)
        precond = None if m is None else (lambda r, m=m: r / m)
        return SolveInputs(grad=grad, gn=gn, fisher=fisher, factor=factor, fisher_damping=lam_f,
                           fisher_scale=fisher_scale, precond=precond, precond_diagonal=m, x0=x0, cg=cfg.cg,
                           natural_gradient=cfg.natural_gradient, natural_gradient_iters=cfg.natural_gradient_iters)

    def _backtrack(self, oracle: Oracle, result: CGResult) -> tuple[torch.Tensor, float, int]:
        return backtrack_iterates(oracle.loss_at, result.stored, self.config.backtracking)

    def _model_reduction(self, oracle: Oracle, factor: FisherFactor | None, grad: torch.Tensor,
                         delta: torch.Tensor) -> float:
        """Undamped quadratic model ``gᵀΔ + ½ΔᵀCΔ`` of the method's model matrix ``C``."""
        if self.method.model_matrix == "fisher":
            assert factor is not None
            cv = factor.matvec(delta)
        else:
            cv = oracle.gauss_newton(delta)
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
        """Levenberg-Marquardt on the damping of the method's model matrix (``μ`` for the
        Gauss-Newton model, ``μ_F`` for ng's Fisher model when ``fisher_damping.adapt``)."""
        d = self.config.damping
        factor = 1.0
        if not rho >= d.rho_low:  # also NaN / -inf
            factor = d.increase
        elif rho > d.rho_high:
            factor = d.decrease
        if self.method.model_matrix == "fisher":
            fd = self.config.fisher_damping
            if fd.adapt:
                self.fisher_damping = min(max(self.fisher_damping * factor, fd.min), fd.max)
        else:
            self.damping = min(max(self.damping * factor, d.min), d.max)

    def _reject(self) -> None:
        """Raise the model matrix's damping after a rejected step."""
        if self.method.model_matrix == "fisher":
            fd = self.config.fisher_damping
            self.fisher_damping = min(self.fisher_damping * self.config.damping.reject_factor, fd.max)
        else:
            self.damping = min(self.damping * self.config.damping.reject_factor, self.config.damping.max)


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
