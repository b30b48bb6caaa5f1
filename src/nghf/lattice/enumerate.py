"""Brute-force path enumeration: the reference that the recursions are tested against.

Exponential in the lattice size: only for small lattices (tests, debugging). Each path is
returned as its list of arc indices (in the lattice's arc order) plus its final cost.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from nghf.lattice.types import Lattice


def enumerate_paths(lat: Lattice, limit: int = 100_000) -> list[tuple[list[int], float]]:
    """All start-to-final paths of ``lat`` as ``(arc indices, final cost)``."""
    out_arcs: dict[int, list[int]] = {}
    for a, s in enumerate(lat.src.tolist()):
        out_arcs.setdefault(s, []).append(a)
    finals = dict(zip(lat.final_states.tolist(), lat.final_costs.tolist(), strict=True))
    dst = lat.dst.tolist()
    paths: list[tuple[list[int], float]] = []

    def walk(state: int, prefix: list[int]) -> Iterator[tuple[list[int], float]]:
        if len(prefix) == lat.num_frames:
            if state in finals:
                yield list(prefix), finals[state]
            return
        for a in out_arcs.get(state, ()):
            prefix.append(a)
            yield from walk(dst[a], prefix)
            prefix.pop()

    for item in walk(lat.start, []):
        paths.append(item)
        if len(paths) > limit:
            raise ValueError(f"utterance {lat.utt_id}: more than {limit} paths; too large to enumerate")
    return paths


def path_scores(
    lat: Lattice,
    scores: torch.Tensor,
    graph_scale: float = 1.0,
    arc_extra: torch.Tensor | None = None,
) -> tuple[list[list[int]], torch.Tensor]:
    """Paths and their total scores (``scores`` is ``(T, D)`` for this utterance; differentiable)."""
    paths = enumerate_paths(lat)
    totals = []
    for arcs, final_cost in paths:
        idx = torch.tensor(arcs, dtype=torch.long)
        s = scores[lat.frame[idx], lat.pdf[idx]].sum() - graph_scale * (
            lat.graph_cost[idx].sum().to(scores.dtype) + final_cost
        )
        if arc_extra is not None:
            s = s + arc_extra[idx].sum()
        totals.append(s)
    return [p for p, _ in paths], torch.stack(totals)


def path_count_covariance(lat: Lattice, scores: torch.Tensor, graph_scale: float = 1.0) -> torch.Tensor:
    """``(T·D, T·D)`` covariance of a path's per-frame pdf-count features under the posterior
    (``scores`` ``(T, D)``): the Hessian of ``log Z`` with respect to the scores, explicitly."""
    paths, totals = path_scores(lat, scores, graph_scale)
    probs = torch.softmax(totals.detach(), 0)
    feats = torch.zeros(len(paths), scores.numel(), dtype=scores.dtype)
    for i, path in enumerate(paths):
        for a in path:
            feats[i, int(lat.frame[a]) * scores.shape[1] + int(lat.pdf[a])] += 1
    mean = probs @ feats
    return (feats * probs[:, None]).T @ feats - torch.outer(mean, mean)
