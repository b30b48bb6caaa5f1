"""Cheap checks that all ranks hold the same model and see the same data.

Every rank applies the same all-reduced update, so parameters must stay bit-identical.
``param_checksum`` hashes the exact bit patterns of every parameter and buffer (a
position-weighted sum modulo the prime 2³¹−1, exact in integer arithmetic, a few element
operations per parameter); ``check_identical`` gathers the hashes of all ranks through the
reducer (each rank fills its own row of a zero matrix, the sum is exact) and raises
``DivergenceError`` on every rank, naming the ranks that differ from rank 0, if any do.
``check_same_value`` does the same for any integer a run must agree on (e.g. a hash of the
utterance list), and ``broadcast_module_`` / ``average_buffers_`` make ranks equal in the
first place (start-up, batch-norm running statistics).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import torch
from torch import nn

from nghf.dist.reduce import Reducer

PRIME = 2**31 - 1
_BITS = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


class DivergenceError(RuntimeError):
    """Ranks disagree on something they must share (parameters, data, config)."""


def tensor_hash(t: torch.Tensor) -> int:
    """Exact hash of ``t``'s bit pattern (and shape), in ``[0, 2³¹−1)``."""
    flat = t.detach().contiguous().reshape(-1)
    if flat.is_floating_point() or flat.is_complex():
        flat = flat.view(_BITS[flat.element_size()]) if flat.numel() else flat.to(torch.int64)
    bits = torch.remainder(flat.to(torch.int64), PRIME)
    weights = torch.arange(1, flat.numel() + 1, dtype=torch.int64, device=flat.device).remainder_(65521).add_(1)
    h = int(torch.remainder(bits * weights, PRIME).sum()) % PRIME
    for dim in t.shape:
        h = (h * 31 + dim + 1) % PRIME
    return h


def param_checksum(tensors: Iterable[torch.Tensor] | nn.Module) -> int:
    """Hash of all parameters and buffers of a module (or of a list of tensors), in order."""
    if isinstance(tensors, nn.Module):
        tensors = [t for _, t in sorted(tensors.state_dict(keep_vars=True).items())]
    h = 0
    for i, t in enumerate(tensors):
        h = (h * 1000003 + tensor_hash(t) * (i + 1)) % PRIME
    return h


def gather_ints(reducer: Reducer, value: int, device: torch.device | str = "cpu") -> list[int]:
    """``value`` of every rank, in rank order (values must be in ``[0, 2⁵³)``)."""
    world, rank = int(reducer.world_size), int(reducer.rank)
    buf = torch.zeros(world, dtype=torch.float64, device=device)
    buf[rank] = float(value)
    return [int(v) for v in reducer.sum_(buf).tolist()]


def check_same_value(reducer: Reducer, value: int, what: str, device: torch.device | str = "cpu") -> None:
    """Raise ``DivergenceError`` (on every rank) unless all ranks pass the same ``value``."""
    if reducer.world_size == 1:
        return
    values = gather_ints(reducer, value % PRIME, device)
    bad = [r for r, v in enumerate(values) if v != values[0]]
    if bad:
        raise DivergenceError(
            f"{what} differs between ranks: rank(s) {', '.join(map(str, bad))} disagree with rank 0 "
            f"(hashes {values})"
        )


def check_identical(reducer: Reducer, model: nn.Module, when: str = "") -> int:
    """Check that every rank holds bit-identical parameters and buffers; returns the hash."""
    h = param_checksum(model)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    check_same_value(reducer, h, f"model parameters{' ' + when if when else ''}", device)
    return h


def text_hash(items: Iterable[str]) -> int:
    """Stable hash of a sequence of strings (utterance lists, config text)."""
    digest = hashlib.blake2b(digest_size=8)
    for item in items:
        digest.update(item.encode())
        digest.update(b"\x00")
    return int.from_bytes(digest.digest(), "big") % PRIME


@torch.no_grad()
def broadcast_module_(reducer: Reducer, model: nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank (zeros elsewhere, then a sum:
    exact, and it needs only ``reducer.sum_``)."""
    if reducer.world_size == 1:
        return
    for t in model.state_dict().values():
        if t.is_floating_point():
            buf = t.clone() if reducer.rank == 0 else torch.zeros_like(t)
            t.copy_(reducer.sum_(buf))
        else:
            buf = t.to(torch.float64) if reducer.rank == 0 else torch.zeros_like(t, dtype=torch.float64)
            t.copy_(reducer.sum_(buf).to(t.dtype))


@torch.no_grad()
def average_buffers_(reducer: Reducer, model: nn.Module) -> None:
    """Average the floating-point buffers (batch-norm running statistics) over ranks, so
    every rank evaluates and saves the same model."""
    if reducer.world_size == 1:
        return
    for buf in model.buffers():
        if buf.is_floating_point():
            reducer.sum_(buf).div_(reducer.world_size)
