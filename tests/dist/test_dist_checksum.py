"""Parameter checksums (exact bit-pattern hashes) and the reducer-only broadcast/averaging,
checked in one process with a fake two-rank reducer that sums over simulated ranks."""

from __future__ import annotations

import contextlib

import pytest
import torch
from torch import nn

from nghf.dist.checksum import (
    DivergenceError,
    average_buffers_,
    broadcast_module_,
    check_same_value,
    gather_ints,
    param_checksum,
    tensor_hash,
    text_hash,
)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.int64])
def test_hash_sees_every_bit_and_the_shape(dtype) -> None:
    t = (torch.randn(5, 4, generator=torch.Generator().manual_seed(0)) * 100).to(dtype)
    assert tensor_hash(t) == tensor_hash(t.clone())
    assert tensor_hash(t) != tensor_hash(t.reshape(4, 5))
    for i in range(t.numel()):  # one ulp / one unit anywhere changes the hash
        u = t.clone().reshape(-1)
        if dtype.is_floating_point:
            u[i] = torch.nextafter(u[i], torch.tensor(float("inf"), dtype=dtype))
        else:
            u[i] += 1
        assert tensor_hash(u.reshape(5, 4)) != tensor_hash(t), i
    swapped = t.clone().reshape(-1)
    swapped[[0, 1]] = swapped[[1, 0]]
    assert swapped[0] == swapped[1] or tensor_hash(swapped.reshape(5, 4)) != tensor_hash(t)


def test_module_checksum_covers_buffers() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    h = param_checksum(model)
    with torch.no_grad():
        model[1].running_mean[2] += 1e-6
    assert param_checksum(model) != h
    assert param_checksum([torch.zeros(0)]) == param_checksum([torch.zeros(0)])
    assert text_hash(["a", "b"]) != text_hash(["ab"])


class _FakeRanks:
    """Simulate ``world`` ranks in one process: ``sum_`` of rank r returns the sum of the
    tensors the ranks submitted at the same call index (ranks are run one after another)."""

    def __init__(self, world: int) -> None:
        self.world_size = world
        self.calls: list[list[torch.Tensor]] = []

    def rank_view(self, rank: int, phase: str):
        outer = self

        class View:
            world_size, calls = outer.world_size, 0

            def __init__(self) -> None:
                self.rank = rank

            def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
                i = View.calls
                View.calls += 1
                if phase == "submit":
                    if len(outer.calls) <= i:
                        outer.calls.append([])
                    outer.calls[i].append(tensor.clone())
                    return tensor
                tensor.copy_(torch.stack(outer.calls[i]).sum(0))
                return tensor

        return View()


def _run(world: int, fn):
    """Run ``fn(reducer)`` for each rank twice: collect submissions, then replay with sums."""
    fake = _FakeRanks(world)
    for r in range(world):
        with contextlib.suppress(DivergenceError):  # unsummed values in the submit pass
            fn(fake.rank_view(r, "submit"), r)
    return [fn(fake.rank_view(r, "replay"), r) for r in range(world)]


def test_gather_and_check_same_value() -> None:
    assert _run(3, lambda red, r: gather_ints(red, 10 + r)) == [[10, 11, 12]] * 3

    def agree(red, r):
        check_same_value(red, 7, "the utterance list")
        return True

    assert _run(2, agree) == [True, True]

    def disagree(red, r):
        try:
            check_same_value(red, 7 + (r == 2), "the utterance list")
        except DivergenceError as err:
            return str(err)
        return "no error"

    for msg in _run(3, disagree):
        assert msg.startswith("the utterance list differs between ranks: rank(s) 2 disagree with rank 0")


def test_broadcast_and_average_buffers() -> None:
    def models(r):
        torch.manual_seed(r)
        m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
        m[1].running_mean.fill_(float(r + 1))
        m[1].num_batches_tracked.fill_(5)
        return m

    def bcast(red, r):
        m = models(r)
        broadcast_module_(red, m)
        return m.state_dict()

    states = _run(2, bcast)
    ref = models(0).state_dict()
    for state in states:
        for k in ref:
            assert torch.equal(state[k], ref[k]), k

    def avg(red, r):
        m = models(r)
        average_buffers_(red, m)
        return m[1].running_mean.clone(), int(m[1].num_batches_tracked)

    for mean, tracked in _run(2, avg):
        assert torch.equal(mean, torch.full((3,), 1.5)) and tracked == 5
