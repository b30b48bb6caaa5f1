"""Loss, gradient and curvature-vector products of a model on a list of batches.

All vectors are flat (see ``params.py``). With per-utterance losses ``ℓ_u`` (sums over the
``T_u`` output frames of utterance ``u``) the optimised loss is ``L = Σ_u ℓ_u / N`` with ``N``
the gradient batches' frame count over all ranks. On the curvature batches (``N_c`` frames):

* **Gauss-Newton** ``G v = (1/N_c) Σ_batches Jᵀ H_out J v`` (``H_out`` from the criterion's
  ``curvature_operator``, built once per curvature batch and parameter value), ``J v`` by ``torch.func.jvp``
  through ``functional_call`` (whose primal output keeps its autograd graph, so ``Jᵀ`` is one
  backward of the same forward), or -- option ``jvp_method="double_vjp"`` -- by the double-vjp
  trick (``J v = ∂/∂u [(Jᵀu)ᵀ v]``), which works for every module but costs more (and is
  used for LSTMs on CUDA, see :func:`effective_jvp_method`).
* **Empirical Fisher** ``F v = Σ_u (1/(T_u N_c)) g_u (g_uᵀ v)`` with ``g_u = ∇ℓ_u``: the
  frame-weighted mean (weights ``T_u/N_c``) of the outer products of the per-utterance
  *per-frame* gradients ``g_u / T_u``; with equal lengths this is exactly the mean over
  utterances. It is computed without per-utterance gradients: one jvp gives all ``g_uᵀ v``,
  one backward of ``Σ_u c_u ℓ_u`` (``c_u`` detached) gives ``Σ_u c_u g_u``.
* ``fisher_factor`` returns the rows ``g_u / sqrt(T_u N_c)`` of all ranks (``F = UᵀU``), for
  Woodbury inverses and diagonal preconditioners (one forward and backward per utterance, on
  the utterance alone: about the cost of one batch gradient). With batch-norm layers in
  training mode an utterance alone is normalised by its own statistics, so sequence training
  freezes them (``TrainSeqConfig.freeze_norm``) and the rows are then exact.

Every rank-local share is summed with ``reducer.sum_`` so all ranks see identical vectors.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Literal

import torch
from torch import nn
from torch.func import functional_call, jvp

from nghf.criteria.base import Criterion, CurvatureOperator, curvature_operator
from nghf.data.batch import SequenceBatch
from nghf.dist.reduce import LocalReducer, Reducer
from nghf.optim.params import ParamSpace

JvpMethod = Literal["jvp", "double_vjp"]


def _has_rnn(model: nn.Module, kind: type[nn.Module] = nn.RNNBase) -> bool:
    return any(isinstance(m, kind) for m in model.modules())


@contextlib.contextmanager
def forward_ad_context(model: nn.Module, device: torch.device) -> Iterator[None]:
    """For models with recurrent layers, the fused recurrent kernels that lack the derivatives
    of the curvature products are disabled: oneDNN on CPU (forward AD through
    ``mkldnn_rnn_layer`` is not implemented), cuDNN on CUDA (``_cudnn_rnn`` has neither forward
    AD nor a double backward). A no-op for other models."""
    if not _has_rnn(model):
        yield
        return
    if device.type == "cuda":
        previous = torch.backends.cudnn.enabled
        torch.backends.cudnn.enabled = False
        try:
            yield
        finally:
            torch.backends.cudnn.enabled = previous
        return
    if device.type != "cpu":
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with torch.backends.mkldnn.flags(enabled=False):
            yield


def _double_backward_context(model: nn.Module, device: torch.device) -> contextlib.AbstractContextManager:
    """cuDNN off for recurrent models on CUDA (its RNN backward is not differentiable); the
    CPU kernels are left as they are."""
    return forward_ad_context(model, device) if device.type == "cuda" else contextlib.nullcontext()


def effective_jvp_method(model: nn.Module, device: torch.device, jvp_method: str) -> str:
    """``jvp_method``, except ``double_vjp`` for an LSTM on CUDA: without cuDNN its cells run
    the fused ``_thnn_fused_lstm_cell`` kernel, which has no forward-mode derivative (its
    backward is twice differentiable, so the double-vjp products work; on the CPU they equal
    the jvp ones, ``tests/optim/test_optim_curvature.py``)."""
    if jvp_method == "jvp" and device.type == "cuda" and _has_rnn(model, nn.LSTM):
        return "double_vjp"
    return jvp_method


def _on(batch: SequenceBatch, device: torch.device) -> SequenceBatch:
    return batch if batch.features.device == device else batch.to(device)


def _frames(out_lengths: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return out_lengths.to(dtype).clamp(min=1.0)


class ModelCurvature:
    """Loss, gradient and curvature products of one update problem (the "oracle" of the
    second-order methods). The model's parameters are read live, so ``loss_at`` and the
    products always refer to the current parameter values."""

    def __init__(
        self,
        model: nn.Module,
        criterion: Criterion,
        space: ParamSpace,
        grad_batches: Sequence[SequenceBatch],
        curvature_batches: Sequence[SequenceBatch],
        num_frames: int,
        curvature_frames: int,
        reducer: Reducer | None = None,
        jvp_method: JvpMethod = "jvp",
        validation_batches: Sequence[SequenceBatch] = (),
        validation_frames: int = 0,
    ) -> None:
        if num_frames <= 0 or curvature_frames <= 0:
            raise ValueError(f"frame counts must be positive (num_frames={num_frames}, curvature_frames={curvature_frames})")
        if not curvature_batches:
            raise ValueError("second-order methods need at least one curvature batch")
        self.model = model
        self.criterion = criterion
        self.space = space
        self.device = space.device
        self.grad_batches = [_on(b, self.device) for b in grad_batches]
        self.curvature_batches = [_on(b, self.device) for b in curvature_batches]
        self.num_frames = num_frames
        self.curvature_frames = curvature_frames
        self.reducer = reducer or LocalReducer()
        self.jvp_method = effective_jvp_method(model, self.device, jvp_method)
        self.validation_batches = [_on(b, self.device) for b in validation_batches]
        self.validation_frames = validation_frames
        self.products = 0  # curvature-vector products evaluated (for statistics)
        self._operators: dict[int, CurvatureOperator] = {}
        self._operator_params: torch.Tensor | None = None

    # ----------------------------------------------------------------- loss and gradient
    def _forward(self, batch: SequenceBatch) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(batch.features, batch.feature_lengths)

    def _reduce_scalar(self, value: torch.Tensor) -> float:
        total = value.detach().to(torch.float64).reshape(1).clone()
        return float(self.reducer.sum_(total).item())

    def loss_and_gradient(self) -> tuple[float, torch.Tensor]:
        """``(L, ∇L)`` on the gradient batches, summed over ranks."""
        grad = self.space.zeros()
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        for batch in self.grad_batches:
            logits, out_lengths = self._forward(batch)
            loss_sum = self.criterion.utterance_losses(logits, out_lengths, batch).sum()
            grads = torch.autograd.grad(loss_sum, self.space.params, allow_unused=True)
            grad += self.space.flatten(grads)
            total += loss_sum.detach().to(torch.float64)
        self.reducer.sum_(grad)
        grad /= self.num_frames
        return self._reduce_scalar(total) / self.num_frames, grad

    @torch.no_grad()
    def _mean_loss(self, batches: Sequence[SequenceBatch], frames: int) -> float:
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        for batch in batches:
            logits, out_lengths = self._forward(batch)
            total += self.criterion.utterance_losses(logits, out_lengths, batch).sum().to(torch.float64)
        return self._reduce_scalar(total) / frames

    @property
    def has_validation(self) -> bool:
        """Whether a validation set judges the steps (see ``UpdateProblem.validation_batches``)."""
        return self.validation_frames > 0

    def loss(self) -> float:
        """``L`` at the current parameters (gradient batches, all ranks)."""
        return self._mean_loss(self.grad_batches, self.num_frames)

    def reference_loss(self) -> float:
        """The loss that judges steps: the validation loss when there is a validation set,
        else the gradient-batch loss."""
        if self.has_validation:
            return self._mean_loss(self.validation_batches, self.validation_frames)
        return self.loss()

    def loss_at(self, delta: torch.Tensor) -> float:
        """The judging loss (``reference_loss``) at ``θ + delta``; parameters are restored."""
        saved = self.space.get_flat()
        try:
            self.space.add_(delta)
            return self.reference_loss()
        finally:
            self.space.set_flat(saved)

    # ----------------------------------------------------------------- curvature products
    def _functional_outputs(self, batch: SequenceBatch):
        def f(p: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
            logits, out_lengths = functional_call(self.model, p, (batch.features, batch.feature_lengths))
            return logits, out_lengths

        return f

    def _jv(self, batch: SequenceBatch, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(logits with graph, out_lengths, J v)`` for one batch."""
        if self.jvp_method == "jvp":
            with forward_ad_context(self.model, self.device):
                logits, jv, out_lengths = jvp(
                    self._functional_outputs(batch), (self.space.param_dict(),), (self.space.as_dict(v),), has_aux=True
                )
            return logits, out_lengths, jv.detach()
        if self.jvp_method == "double_vjp":
            with _double_backward_context(self.model, self.device):
                logits, out_lengths = self._forward(batch)
            u = torch.zeros_like(logits, requires_grad=True)
            jtu = torch.autograd.grad(logits, self.space.params, grad_outputs=u, create_graph=True, allow_unused=True)
            pairs = [(g, t) for g, t in zip(jtu, self.space.unflatten(v), strict=True) if g is not None]
            (jv,) = torch.autograd.grad([g for g, _ in pairs], u, grad_outputs=[t for _, t in pairs])
            return logits, out_lengths, jv.detach()
        raise ValueError(f"unknown jvp_method {self.jvp_method!r} (expected 'jvp' or 'double_vjp')")

    def jacobian_vector(self, batch: SequenceBatch, v: torch.Tensor) -> torch.Tensor:
        """``J v`` at the logits of one batch (for tests and diagnostics)."""
        return self._jv(_on(batch, self.device), v)[2]

    def _output_operators(self) -> dict[int, CurvatureOperator]:
        """The cache of each curvature batch's ``H_out`` operator, emptied when the parameters
        differ from those it was built at (``loss_at`` moves them and puts them back)."""
        current = self.space.get_flat()
        if self._operator_params is None or not torch.equal(self._operator_params, current):
            self._operators = {}
            self._operator_params = current
        return self._operators

    def gauss_newton(self, v: torch.Tensor) -> torch.Tensor:
        """``G v`` on the curvature batches, summed over ranks, normalised by ``N_c``. The
        output-layer operators (softmax and lattice posterior statistics) are built at the first
        product at given parameters and reused by the following ones (every CG iteration)."""
        out = self.space.zeros()
        operators = self._output_operators()
        for index, batch in enumerate(self.curvature_batches):
            logits, out_lengths, jv = self._jv(batch, v)
            if index not in operators:
                operators[index] = curvature_operator(self.criterion, logits, out_lengths, batch)
            hjv = operators[index](jv)
            grads = torch.autograd.grad(logits, self.space.params, grad_outputs=hjv, allow_unused=True)
            out += self.space.flatten(grads)
        self.reducer.sum_(out)
        self.products += 1
        return out.div_(self.curvature_frames)

    def fisher(self, v: torch.Tensor) -> torch.Tensor:
        """``F v`` (empirical Fisher over utterances, see module docstring), summed over ranks."""
        out = self.space.zeros()
        for batch in self.curvature_batches:
            def f(p: dict[str, torch.Tensor], batch: SequenceBatch = batch) -> tuple[torch.Tensor, torch.Tensor]:
                logits, out_lengths = functional_call(self.model, p, (batch.features, batch.feature_lengths))
                return self.criterion.utterance_losses(logits, out_lengths, batch), out_lengths

            if self.jvp_method == "jvp":
                with forward_ad_context(self.model, self.device):
                    losses, dl, out_lengths = jvp(f, (self.space.param_dict(),), (self.space.as_dict(v),), has_aux=True)
            else:
                with _double_backward_context(self.model, self.device):
                    logits, out_lengths = self._forward(batch)
                losses = self.criterion.utterance_losses(logits, out_lengths, batch)
                u = torch.zeros_like(losses, requires_grad=True)
                jtu = torch.autograd.grad(losses, self.space.params, grad_outputs=u, create_graph=True, allow_unused=True)
                pairs = [(g, t) for g, t in zip(jtu, self.space.unflatten(v), strict=True) if g is not None]
                (dl,) = torch.autograd.grad([g for g, _ in pairs], u, grad_outputs=[t for _, t in pairs])
            coef = dl.detach() / (_frames(out_lengths, dl.dtype) * self.curvature_frames)
            grads = torch.autograd.grad(losses, self.space.params, grad_outputs=coef, allow_unused=True)
            out += self.space.flatten(grads)
        self.reducer.sum_(out)
        self.products += 1
        return out

    def fisher_factor(self) -> torch.Tensor:
        """``U`` with rows ``g_u / sqrt(T_u N_c)`` of every curvature utterance of every rank,
        so that ``F = UᵀU``. Costs one backward per utterance; rows of other ranks are
        gathered through ``reducer.sum_`` of a zero-padded matrix."""
        rows: list[torch.Tensor] = []
        for batch in self.curvature_batches:
            for u in range(len(batch.utt_ids)):
                # One utterance at a time: a backward of ``losses[u]`` through the whole batch's
                # graph would cost a full batch backward per utterance (quadratic in the batch).
                # The padding is kept, so the utterance sees exactly what it sees in the batch.
                one = batch.select([u])
                logits, out_lengths = self._forward(one)
                loss = self.criterion.utterance_losses(logits, out_lengths, one).sum()
                grads = torch.autograd.grad(loss, self.space.params, allow_unused=True)
                scale = (_frames(out_lengths, torch.float64)[0] * self.curvature_frames).rsqrt()
                rows.append(self.space.flatten(grads) * scale.to(self.space.dtype))
        local = torch.stack(rows) if rows else torch.zeros(0, self.space.numel, dtype=self.space.dtype, device=self.device)
        return gather_rows(self.reducer, local)


def gather_rows(reducer: Reducer, local: torch.Tensor) -> torch.Tensor:
    """All ranks' rows stacked in rank order, using only ``reducer.sum_`` (zero padding)."""
    world, rank = int(getattr(reducer, "world_size", 1)), int(getattr(reducer, "rank", 0))
    if world == 1:
        return local
    counts = torch.zeros(world, dtype=torch.float64, device=local.device)
    counts[rank] = local.shape[0]
    counts = reducer.sum_(counts).long().tolist()
    buf = torch.zeros(sum(counts), local.shape[1], dtype=local.dtype, device=local.device)
    start = sum(counts[:rank])
    buf[start:start + local.shape[0]] = local
    return reducer.sum_(buf)
