"""Repeated Hessian-vector products of ``Σ_b log Z_b`` from cached posterior statistics.

The Hessian of ``log Z`` with respect to the arc scores is the covariance of the arc indicator
features under the lattice's path posterior. For arc values ``a`` (a direction in arc-score
space) and ``A = Σ_{arcs on the path} a`` its product is, per arc::

    (H a)_arc = Cov(1[arc on path], A) = γ_arc · (E[A | arc on path] − E[A])
              = γ_arc · (f(src) + a_arc + r(dst) − E[A])

with ``f(q) = E[Σ a over the path before q | the path passes q]`` and ``r(q)`` the same for
the part after ``q`` (the Markov property of the lattice posterior). Both are linear
recursions over frames with fixed weights: ``f`` mixes the predecessors of a state with the
share of the state's forward mass that each incoming arc carries, ``r`` the successors with
the share of the backward mass of each outgoing arc -- Kaldi's MPE ``alpha_smbr``/``beta_smbr``
recursions with ``a`` in place of the accuracies.

The weights and the arc posteriors depend on the scores only, so a curvature product inside
one second-order update (the scores are fixed while CG runs) costs two cheap passes of
``index_select``/``index_add`` per frame, no log-sum-exp and no automatic differentiation
(:func:`nghf.lattice.fb.log_partition_hvp` computes the same product by forward-over-reverse
AD through the forward recursion, about an order of magnitude more work per product).

The statistics take ``O(arcs)`` memory, so no row chunking is needed.
"""

from __future__ import annotations

import dataclasses

import torch

from nghf.lattice.fb import _backward, _forward, arc_scores
from nghf.lattice.types import LatticeBatch


@dataclasses.dataclass(frozen=True, eq=False)
class PathCovariance:
    """Posterior statistics of one lattice batch at fixed scores.

    ``w_in[t]`` (arcs of frame ``t``): the share of the destination state's forward mass that
    comes through the arc; ``w_out[t]``: the share of the source state's backward mass that
    leaves through it; ``arc_post`` ``(A,)``: arc posteriors; ``shape``: the ``(B, T, D)`` of
    the score matrix the statistics were computed for.
    """

    batch: LatticeBatch = dataclasses.field(repr=False)
    w_in: tuple[torch.Tensor, ...]
    w_out: tuple[torch.Tensor, ...]
    arc_post: torch.Tensor
    shape: tuple[int, int, int]

    def arc_product(self, arc_values: torch.Tensor) -> torch.Tensor:
        """``(A,)`` Hessian-vector product of ``Σ_b log Z_b`` in arc-score space."""
        batch, plan = self.batch, self.batch.plan
        dtype = self.arc_post.dtype
        if batch.max_frames == 0:
            return torch.zeros(0, dtype=dtype, device=batch.device)
        a_t = arc_values.to(dtype).split(plan.arc_counts)
        sp = batch.state_ptr
        forward = torch.zeros(batch.size, dtype=dtype, device=batch.device)
        before: list[torch.Tensor] = []  # f(src) + a per arc, frame by frame
        for t, (src, dst) in enumerate(zip(plan.src, plan.dst, strict=True)):
            through = forward.index_select(0, src) + a_t[t]
            before.append(through)
            forward = torch.zeros(sp[t + 2] - sp[t + 1], dtype=dtype, device=batch.device).index_add_(
                0, dst, self.w_in[t] * through)
        backward = torch.zeros(sp[-1] - sp[-2], dtype=dtype, device=batch.device)
        total = list(before)  # becomes E[A | arc on path], per frame
        for t in range(len(before) - 1, -1, -1):
            after = backward.index_select(0, plan.dst[t])
            total[t] = before[t] + after
            backward = torch.zeros(sp[t + 1] - sp[t], dtype=dtype, device=batch.device).index_add_(
                0, plan.src[t], self.w_out[t] * (a_t[t] + after))
        # The time-0 slice holds one start state per row: its r is E[A] of the row.
        mean = backward.index_select(0, batch.arc_row)
        return self.arc_post * (torch.cat(total) - mean)

    def product(self, v: torch.Tensor) -> torch.Tensor:
        """``(B, T, D)`` Hessian-vector product of ``Σ_b log Z_b`` with respect to the scores."""
        if tuple(v.shape) != self.shape:
            raise ValueError(f"direction has shape {tuple(v.shape)}, the statistics are for {self.shape}")
        b, t, d = self.shape
        flat = self.batch.plan.flat_index(self.batch, t, d)
        h = self.arc_product(v.reshape(-1).index_select(0, flat))
        out = torch.zeros(b * t * d, dtype=h.dtype, device=h.device).index_add_(0, flat, h)
        return out.view(b, t, d)


@torch.no_grad()
def path_covariance(
    batch: LatticeBatch,
    scores: torch.Tensor,
    graph_scale: float = 1.0,
    arc_extra: torch.Tensor | None = None,
    dtype: torch.dtype | None = None,
) -> PathCovariance:
    """The statistics of ``batch`` at ``scores`` ``(B, T, D)`` (arc scores as in
    :func:`nghf.lattice.fb.arc_scores`, including ``arc_extra``, e.g. bMMI's boost)."""
    s = arc_scores(batch, scores.detach(), graph_scale, None if arc_extra is None else arc_extra.detach(), dtype)
    w_in, w_out, post = _transition_shares(batch, s, graph_scale)
    return PathCovariance(batch=batch, w_in=w_in, w_out=w_out, arc_post=post, shape=tuple(scores.shape))


def _transition_shares(
    batch: LatticeBatch, s: torch.Tensor, graph_scale: float
) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...], torch.Tensor]:
    """The forward and backward recursions of :mod:`nghf.lattice.fb`, keeping each arc's share
    of its destination's forward and its source's backward mass; the arc posteriors follow
    from the backward shares and the state occupancies."""
    w_in: list[torch.Tensor] = []
    w_out: list[torch.Tensor] = []
    _forward(batch, s, graph_scale, shares=w_in)
    _backward(batch, s, graph_scale, shares=w_out)
    w_out.reverse()  # collected from the last frame
    plan, sp = batch.plan, batch.state_ptr
    occupancy = torch.ones(batch.size, dtype=s.dtype, device=s.device)  # the start states
    posts: list[torch.Tensor] = []
    for t in range(batch.max_frames):
        post = occupancy.index_select(0, plan.src[t]) * w_out[t]
        posts.append(post)
        occupancy = torch.zeros(sp[t + 2] - sp[t + 1], dtype=s.dtype, device=s.device).index_add_(0, plan.dst[t], post)
    arc_post = torch.cat(posts) if posts else s[:0]
    return tuple(w_in), tuple(w_out), arc_post
