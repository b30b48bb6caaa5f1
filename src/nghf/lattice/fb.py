"""Batched log-semiring forward-backward over frame-synchronous lattices.

Score of an arc ``a`` of row ``b`` at frame ``t`` with pdf ``d``::

    s_a = scores[b, t, d] - graph_scale * graph_cost_a (+ arc_extra_a)

where ``scores`` are per-frame pdf scores that are already acoustically scaled
(``κ · log-likelihood``). ``log Z_b = log Σ_paths exp(Σ_a s_a - graph_scale · final_cost)``.

The recursion loops over frames only; at each frame all arcs of all utterances are handled at
once: ``index_select`` of the source forward scores, ``exp``, ``index_add`` into the
destination states, ``log``. It is kept stable by normalisation instead of a per-state max
shift: arc scores are shifted by their (frame, row) maximum once before the loop and each new
slice by its per-row maximum (``segment_reduce`` over the row's contiguous states), so all
exponents are ``<= 0``; the shifts are added back after the loop with one cumulative sum.
Everything is written with ordinary differentiable torch ops and without in-place updates of
tensors that autograd needs, so:

* ``∂ log Z / ∂ scores = γ`` (the per-frame pdf occupancies) by ordinary autograd, and
* second derivatives work by double backward or forward-over-reverse (``torch.func.jvp`` of
  ``torch.func.grad``) for curvature products (see :func:`log_partition_hvp`).

The shifts are detached: the result does not depend on them, so treating them as constants is
exact for every derivative order.

:func:`forward_backward` also runs the backward (β) recursion explicitly to return arc
posteriors and γ without autograd. :func:`expected_arc_sum` computes ``E[Σ_a v_a]`` under the
lattice posterior with the (normalised) expectation semiring — the quantity MPFE/sMBR maximise —
again with differentiable ops so autograd gives its exact gradient.

Index work that does not depend on the scores (per-frame views of the arc index tensors, the
flattened (row, frame, pdf) index of every arc, row chunks) is computed once per batch and
cached on it (:mod:`nghf.lattice.fbplan`); all arc scores are gathered with one
``index_select`` before the frame loop.

Very long batches are processed in contiguous chunks of rows of at most ``max_arcs`` arcs
(utterances are independent), which bounds the memory of the per-frame temporaries and of the
autograd graph.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import torch

from nghf.lattice.fbplan import plain_tensors
from nghf.lattice.types import Lattice, LatticeBatch, LatticeError


@dataclasses.dataclass(frozen=True, eq=False)
class FBResult:
    """Forward-backward outputs: ``log_z`` ``(B,)``, ``arc_post`` ``(A,)`` in the batch's arc
    order, and ``gamma`` ``(B, T, D)`` per-frame pdf occupancies (zero on padded frames).

    ``gamma`` is built on first access (then cached): it is a dense scatter of the arc
    posteriors whose cost is writing ``B·T·D`` numbers, which callers that only need arc
    posteriors (pruning, statistics) should not pay.
    """

    log_z: torch.Tensor
    arc_post: torch.Tensor
    batch: LatticeBatch = dataclasses.field(repr=False)
    shape: tuple[int, int, int] = dataclasses.field(repr=False)

    @functools.cached_property
    def gamma(self) -> torch.Tensor:
        b, t, d = self.shape
        flat = self.batch.plan.flat_index(self.batch, t, d)
        post = self.arc_post
        out = torch.zeros(b * t * d, dtype=post.dtype, device=post.device).index_add_(0, flat, post)
        return out.view(b, t, d)


def arc_scores(
    batch: LatticeBatch,
    scores: torch.Tensor,
    graph_scale: float = 1.0,
    arc_extra: torch.Tensor | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """``(A,)`` arc scores ``scores[row, frame, pdf] - graph_scale * graph_cost (+ arc_extra)``."""
    if scores.dim() != 3 or scores.shape[0] != batch.size:
        raise LatticeError(
            f"scores must be (B={batch.size}, T, D), got {tuple(scores.shape)} for {batch.utt_ids[:3]}..."
        )
    b, t, d = scores.shape
    if t < batch.max_frames:
        raise LatticeError(f"scores have {t} frames but the lattices need {batch.max_frames} ({batch.utt_ids[:3]}...)")
    if batch.num_arcs and batch.max_pdf >= d:
        raise LatticeError(f"lattices use pdf-id {batch.max_pdf} but scores have only {d} columns")
    if batch.device != scores.device:
        raise LatticeError(
            f"lattices are on {batch.device} but scores on {scores.device}; move them with batch.to(device)"
        )
    dtype = dtype or scores.dtype
    flat = batch.plan.flat_index(batch, t, d)
    ac = scores.reshape(-1).index_select(0, flat).to(dtype)
    out = ac - batch.plan.scaled_graph_cost(batch, graph_scale, dtype)
    if arc_extra is not None:
        out = out + arc_extra.to(dtype)
    return out


def _scatter_logsumexp(values: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    """``out[i] = log Σ_{j: index[j]=i} exp(values[j])``; every ``i`` must receive a value
    (true after trimming: every state has an incoming and an outgoing arc)."""
    # In-place updates of freshly created tensors: no copies, and still fine for autograd.
    # ``include_self=False``: every output receives at least one value, so ``empty`` is safe.
    shift = torch.empty(size, dtype=values.dtype, device=values.device)
    shift.scatter_reduce_(0, index, values.detach(), reduce="amax", include_self=False)
    summed = torch.zeros(size, dtype=values.dtype, device=values.device).index_add_(
        0, index, torch.exp(values - shift.index_select(0, index))
    )
    return shift + torch.log(summed)


def _row_max(values: torch.Tensor, rows: torch.Tensor, size: int) -> torch.Tensor:
    """Detached per-row maximum of ``values`` (rows that get no value: 0)."""
    return torch.zeros(size, dtype=values.dtype, device=values.device).scatter_reduce_(
        0, rows, values.detach(), reduce="amax", include_self=False
    )


def _segment_max(values: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Detached maximum of each contiguous segment of ``values`` (``lengths`` (B,) may hold
    zeros: those segments give ``-inf``, only ever read through :func:`_finite_shifts`)."""
    return torch.segment_reduce(values.detach(), "max", lengths=lengths, unsafe=True)


def _finite_shifts(shifts: list[torch.Tensor]) -> torch.Tensor:
    """``(T, B)`` per-step row shifts with the ``-inf`` of rows without states set to 0."""
    stacked = torch.stack(shifts)
    return torch.where(torch.isinf(stacked), torch.zeros_like(stacked), stacked)


def _normalised_scores(batch: LatticeBatch, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(m, s - m[cell])``: ``m`` the detached max arc score of each (frame, row) cell, flat
    ``((T + 1) * B,)``; the normalised scores are all ``<= 0``."""
    plan = batch.plan
    m = _row_max(s, plan.arc_cell, (batch.max_frames + 1) * batch.size)
    return m, s - m.index_select(0, plan.arc_cell)


def _forward(
    batch: LatticeBatch, s: torch.Tensor, graph_scale: float, values: torch.Tensor | None = None,
    shares: list[torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Forward recursion: ``(log_z, alpha_all, expected)``.

    With ``values`` (per-arc quantities) it also carries the normalised expectation
    ``val[j] = E[Σ v over the partial path | the path reaches j]`` and returns
    ``expected[b] = E[Σ_a v_a]`` under the posterior of row ``b``. A ``shares`` list receives,
    frame by frame, each arc's share of its destination state's forward mass.

    Normalised recursion: arc scores are shifted by their (frame, row) maximum (once, before
    the loop) and each new α slice by its per-row maximum, so every exponent is ``<= 0`` and
    one ``exp``/``index_add``/``log`` per frame is a stable log-sum-exp; the shifts (detached
    constants, so every derivative order stays exact) are added back after the loop with one
    cumulative sum. A state whose every incoming path is ``e^-87`` (float32) below the best of
    its row would get ``log(tiny)`` instead of its value: such a state carries no posterior.
    """
    dev, dtype = s.device, s.dtype
    b, t_max, plan = batch.size, batch.max_frames, batch.plan
    tiny = torch.finfo(dtype).tiny
    m, s_hat = _normalised_scores(batch, s)
    s_t = s_hat.split(plan.arc_counts)
    v_t = values.split(plan.arc_counts) if values is not None else None
    sp = batch.state_ptr
    alpha = torch.zeros(b, dtype=dtype, device=dev)  # time-0 slice = the start states
    alphas, shifts = [alpha], []
    val = torch.zeros_like(alpha)
    vals = [val]
    for t in range(t_max):
        src, dst = plan.src[t], plan.dst[t]
        through = alpha.index_select(0, src) + s_t[t]
        summed = torch.zeros(sp[t + 2] - sp[t + 1], dtype=dtype, device=dev).index_add_(0, dst, torch.exp(through))
        la = torch.log(summed.clamp_min(tiny))
        if v_t is not None or shares is not None:
            weight = torch.exp(through - la.index_select(0, dst))
            if shares is not None:
                shares.append(weight)
        if v_t is not None:
            contrib = weight * (val.index_select(0, src) + v_t[t])
            val = torch.zeros_like(la).index_add_(0, dst, contrib)
            vals.append(val)
        shift = _segment_max(la, plan.row_counts[t + 1])
        alpha = la - shift.index_select(0, plan.state_row[t + 1])
        alphas.append(alpha)
        shifts.append(shift)
    inc = m.view(t_max + 1, b)[:t_max] + _finite_shifts(shifts)
    cum = torch.cat([torch.zeros(1, b, dtype=dtype, device=dev), torch.cumsum(inc, 0)])
    alpha_all = torch.cat(alphas) + cum.reshape(-1).index_select(0, plan.state_cell)
    fin = alpha_all.index_select(0, batch.final_state) - graph_scale * batch.final_cost.to(dtype)
    log_z = _scatter_logsumexp(fin, batch.final_row, batch.size)
    expected = None
    if values is not None:
        val_all = torch.cat(vals)
        weight = torch.exp(fin - log_z.index_select(0, batch.final_row))
        expected = torch.zeros(batch.size, dtype=dtype, device=dev).index_add_(
            0, batch.final_row, weight * val_all.index_select(0, batch.final_state)
        )
    return log_z, alpha_all, expected


def _backward(batch: LatticeBatch, s: torch.Tensor, graph_scale: float,
              shares: list[torch.Tensor] | None = None) -> torch.Tensor:
    """Backward recursion: ``beta_all`` over the global states (time-major), normalised per
    row like :func:`_forward`. A final state (no outgoing arcs after trimming) takes its final
    value directly; its row has no later arcs, so no shift applies to it. A ``shares`` list
    receives, frame by frame from the last, each arc's share of its source state's backward mass."""
    dev, dtype = s.device, s.dtype
    b, t_max, plan = batch.size, batch.max_frames, batch.plan
    tiny = torch.finfo(dtype).tiny
    sp, fp = batch.state_ptr, batch.final_ptr
    m, s_hat = _normalised_scores(batch, s)
    s_t = s_hat.split(plan.arc_counts)
    fin_val = -graph_scale * batch.final_cost.to(device=dev, dtype=dtype)
    betas: list[torch.Tensor] = [fin_val[:0]] * (t_max + 1)
    shifts: list[torch.Tensor] = [fin_val[:0]] * t_max
    beta = fin_val[fp[t_max]:fp[t_max + 1]]  # every state of the last time is final
    betas[t_max] = beta
    for t in range(t_max - 1, -1, -1):
        through = s_t[t] + beta.index_select(0, plan.dst[t])
        summed = torch.zeros(sp[t + 1] - sp[t], dtype=dtype, device=dev).index_add_(
            0, plan.src[t], torch.exp(through)
        )
        lb = torch.log(summed.clamp_min(tiny))
        if shares is not None:
            shares.append(torch.exp(through - lb.index_select(0, plan.src[t])))
        if fp[t + 1] > fp[t]:  # rows that end at time t
            lb = lb.index_put((plan.final_local[t],), fin_val[fp[t]:fp[t + 1]])
        shift = _segment_max(lb, plan.row_counts[t])
        beta = lb - shift.index_select(0, plan.state_row[t])
        betas[t] = beta
        shifts[t] = shift
    inc = m.view(t_max + 1, b)[:t_max] + _finite_shifts(shifts)
    cum = torch.cat([torch.flip(torch.cumsum(torch.flip(inc, (0,)), 0), (0,)),
                     torch.zeros(1, b, dtype=dtype, device=dev)])
    return torch.cat(betas) + cum.reshape(-1).index_select(0, plan.state_cell)


ChunkFn = Callable[..., tuple[torch.Tensor, ...]]


def _row_chunks(batch: LatticeBatch, max_arcs: int | None) -> list[tuple[int, int]]:
    if max_arcs is None or batch.num_arcs <= max_arcs:
        return [(0, batch.size)]
    chunks, start, acc = [], 0, 0
    for r, lat in enumerate(batch.lattices):
        if acc and acc + lat.num_arcs > max_arcs:
            chunks.append((start, r))
            start, acc = r, 0
        acc += lat.num_arcs
    chunks.append((start, batch.size))
    return chunks


def _chunked(
    batch: LatticeBatch,
    scores: torch.Tensor,
    arc_inputs: tuple[torch.Tensor | None, ...],
    max_arcs: int | None,
    fn: ChunkFn,
    per_arc: tuple[bool, ...],
) -> tuple[torch.Tensor, ...]:
    """Run ``fn(sub_batch, sub_scores, *sub_arc_inputs)`` on contiguous row chunks.

    A contiguous row range keeps the batch's (frame, row) arc order, so a chunk's arcs are the
    batch arcs of those rows in the same order: per-arc inputs are sliced and per-arc outputs
    scattered back with one boolean mask. Per-row outputs are concatenated.
    """
    key = ("chunks", max_arcs)
    cache = batch.plan.cache
    if key not in cache:
        with plain_tensors():
            cache[key] = [
                (r0, r1, batch.select(list(range(r0, r1))), (batch.arc_row >= r0) & (batch.arc_row < r1))
                for r0, r1 in _row_chunks(batch, max_arcs)
            ]
    chunks = cache[key]
    if len(chunks) == 1:
        return fn(batch, scores, *arc_inputs)
    parts: list[tuple[torch.Tensor, ...]] = []
    masks = []
    for r0, r1, sub, mask in chunks:
        masks.append(mask)
        sub_inputs = tuple(None if x is None else x[mask] for x in arc_inputs)
        parts.append(fn(sub, scores[r0:r1], *sub_inputs))
    out = []
    for k, is_arc in enumerate(per_arc):
        if not is_arc:
            out.append(torch.cat([p[k] for p in parts]))
            continue
        full = parts[0][k].new_zeros(batch.num_arcs)
        for mask, p in zip(masks, parts, strict=True):
            full = full.masked_scatter(mask, p[k])
        out.append(full)
    return tuple(out)


def log_partition(
    batch: LatticeBatch,
    scores: torch.Tensor,
    graph_scale: float = 1.0,
    arc_extra: torch.Tensor | None = None,
    dtype: torch.dtype | None = None,
    max_arcs: int | None = None,
) -> torch.Tensor:
    """``(B,)`` log Z of each lattice; differentiable (any order) in ``scores`` and ``arc_extra``.

    ``dtype`` is the computation precision (default: that of ``scores``); ``max_arcs`` bounds
    the arcs processed at once (row chunks).
    """

    def run(sub: LatticeBatch, sc: torch.Tensor, extra: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        return (_forward(sub, arc_scores(sub, sc, graph_scale, extra, dtype), graph_scale)[0],)

    return _chunked(batch, scores, (arc_extra,), max_arcs, run, (False,))[0]


def forward_backward(
    batch: LatticeBatch,
    scores: torch.Tensor,
    graph_scale: float = 1.0,
    arc_extra: torch.Tensor | None = None,
    dtype: torch.dtype | None = None,
    max_arcs: int | None = None,
) -> FBResult:
    """Forward and backward recursions: log Z, arc posteriors and γ (see :class:`FBResult`)."""
    b, t, d = scores.shape

    def run(sub: LatticeBatch, sc: torch.Tensor, extra: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        return arc_posteriors(sub, arc_scores(sub, sc, graph_scale, extra, dtype), graph_scale)

    log_z, post = _chunked(batch, scores, (arc_extra,), max_arcs, run, (False, True))
    return FBResult(log_z=log_z, arc_post=post, batch=batch, shape=(b, t, d))


def arc_posteriors(batch: LatticeBatch, s: torch.Tensor, graph_scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log_z (B,), arc posteriors (A,))`` for total arc scores ``s`` given per arc in the
    batch's arc order (acoustic + graph, e.g. from :func:`arc_scores`; final costs are scaled
    by ``graph_scale``). The form for callers that have arc scores but no ``(B, T, D)`` matrix."""
    log_z, alpha_all, _ = _forward(batch, s, graph_scale)
    beta_all = _backward(batch, s, graph_scale)
    post = torch.exp(
        alpha_all.index_select(0, batch.src) + s + beta_all.index_select(0, batch.dst)
        - log_z.index_select(0, batch.arc_row)
    )
    return log_z, post


def expected_arc_sum(
    batch: LatticeBatch,
    scores: torch.Tensor,
    arc_values: torch.Tensor,
    graph_scale: float = 1.0,
    arc_extra: torch.Tensor | None = None,
    dtype: torch.dtype | None = None,
    max_arcs: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log_z, E[Σ_a arc_values_a])`` per row under the lattice posterior; differentiable.

    Uses the normalised expectation semiring in the forward direction (the ``alpha_smbr``
    recursion of Kaldi's MPE code), so autograd through it gives the exact gradient
    ``γ_a (c_a − E[A])`` that the MPE-family criteria need.
    """

    def run(
        sub: LatticeBatch, sc: torch.Tensor, values: torch.Tensor, extra: torch.Tensor | None
    ) -> tuple[torch.Tensor, ...]:
        s = arc_scores(sub, sc, graph_scale, extra, dtype)
        log_z, _, expected = _forward(sub, s, graph_scale, values.to(s.dtype))
        assert expected is not None
        return log_z, expected

    log_z, expected = _chunked(batch, scores, (arc_values, arc_extra), max_arcs, run, (False, False))
    return log_z, expected


def log_partition_hvp(
    batch: LatticeBatch,
    scores: torch.Tensor,
    v: torch.Tensor,
    graph_scale: float = 1.0,
    arc_extra: torch.Tensor | None = None,
    dtype: torch.dtype | None = None,
    max_arcs: int | None = None,
) -> torch.Tensor:
    """``(∇² Σ_b log Z_b) v`` with respect to ``scores`` (forward-over-reverse AD, no matrix).

    This Hessian is the covariance of the per-frame pdf-count features of a path under the
    lattice posterior (PSD). Returns a tensor shaped like ``scores``.
    """
    extra = None if arc_extra is None else arc_extra.detach()

    def total(sc: torch.Tensor) -> torch.Tensor:
        return log_partition(batch, sc, graph_scale, extra, dtype, max_arcs).sum()

    _, hv = torch.func.jvp(torch.func.grad(total), (scores.detach(),), (v.to(scores.dtype),))
    return hv


def prune_by_posterior(batch: LatticeBatch, arc_post: torch.Tensor, threshold: float) -> list[Lattice]:
    """Per-utterance lattices without the arcs whose posterior is below ``threshold``.

    The path with the largest sum of arc posteriors is always kept and the result is trimmed,
    so every pruned lattice stays connected from the start to a final state.
    """
    post = arc_post.detach().to("cpu", torch.float64)
    rows = batch.arc_row.cpu()
    out = []
    for r, lat in enumerate(batch.lattices):
        # Within a row, the batch's arc order is the lattice's own order (both sort by frame, stably).
        row_post = post[rows == r]
        keep = row_post >= threshold
        keep[_max_posterior_path(lat, row_post)] = True
        out.append(lat.subset_arcs(keep))
    return out


def _max_posterior_path(lat: Lattice, post: torch.Tensor) -> torch.Tensor:
    """Arc indices of the start-to-final path that maximises the sum of arc posteriors."""
    best = torch.full((lat.num_states,), float("-inf"), dtype=torch.float64)
    best[lat.start] = 0.0
    back = torch.full((lat.num_states,), -1, dtype=torch.int64)
    for t in range(lat.num_frames):
        arcs = (lat.frame == t).nonzero().flatten()
        cand = best[lat.src[arcs]] + post[arcs]
        for a, c in zip(arcs.tolist(), cand.tolist(), strict=True):
            d = int(lat.dst[a])
            if c > best[d]:
                best[d] = c
                back[d] = a
    finals = lat.final_states
    state = int(finals[torch.argmax(best[finals])])
    path = []
    while state != lat.start:
        a = int(back[state])
        path.append(a)
        state = int(lat.src[a])
    return torch.tensor(path[::-1], dtype=torch.int64)
