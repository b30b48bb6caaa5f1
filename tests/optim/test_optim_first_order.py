"""SGD/Adam updaters against plain torch.optim and the explicit SGD formula; reduction,
clipping and the non-finite guard."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from nghf.criteria.ce import CrossEntropy
from nghf.data.batch import IGNORE_TARGET, SequenceBatch
from nghf.models.factory import ModelConfig, build_model
from nghf.models.tdnn import TdnnConfig
from nghf.optim.base import UpdateProblem
from nghf.optim.first_order import FirstOrderConfig, build_first_order


def tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=6, contexts=((-1, 0, 1),), norm="none")), 4, 3).double()


def batches(n: int = 4) -> list[SequenceBatch]:
    g = torch.Generator().manual_seed(3)
    out = []
    for i in range(n):
        x = torch.randn(2, 9, 4, generator=g, dtype=torch.float64)
        y = torch.randint(0, 3, (2, 9), generator=g)
        y[1, 6:] = IGNORE_TARGET
        out.append(SequenceBatch((f"a{i}", f"b{i}"), x, torch.tensor([9, 6]), y))
    return out


def frames(batch: SequenceBatch) -> int:
    return int((batch.targets != IGNORE_TARGET).sum())


def reference_loss(model, batch) -> torch.Tensor:
    logits, _ = model(batch.features, batch.feature_lengths)
    return torch.nn.functional.cross_entropy(logits.transpose(1, 2), batch.targets, ignore_index=IGNORE_TARGET)


@pytest.mark.parametrize(
    "config",
    [
        FirstOrderConfig(kind="sgd", lr=0.1, momentum=0.9, weight_decay=1e-3),
        FirstOrderConfig(kind="sgd", lr=0.1, momentum=0.5, nesterov=True),
        FirstOrderConfig(kind="adam", lr=0.01, betas=(0.8, 0.99), weight_decay=1e-2),
    ],
)
def test_updater_equals_torch_optim(config: FirstOrderConfig) -> None:
    model = tiny_model()
    ref = copy.deepcopy(model)
    updater = build_first_order(config, model.parameters())
    if config.kind == "sgd":
        opt = torch.optim.SGD(ref.parameters(), lr=config.lr, momentum=config.momentum,
                              nesterov=config.nesterov, weight_decay=config.weight_decay)
    else:
        opt = torch.optim.Adam(ref.parameters(), lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
    for batch in batches():
        stats = updater.step(UpdateProblem(model, CrossEntropy(), [batch], [], frames(batch), 0))
        opt.zero_grad()
        loss = reference_loss(ref, batch)
        loss.backward()
        opt.step()
        assert stats.loss == pytest.approx(loss.item(), rel=1e-12)
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)


def test_sgd_momentum_explicit_formula_over_two_gradient_batches() -> None:
    """v <- mu v + g; w <- w - lr v with g the gradient of the frame-averaged loss over both batches."""
    model = tiny_model()
    w = [p.detach().clone() for p in model.parameters()]
    v = [torch.zeros_like(p) for p in w]
    updater = build_first_order(FirstOrderConfig(kind="sgd", lr=0.05, momentum=0.7), model.parameters())
    data = batches(4)
    for k in range(2):
        pair = data[2 * k : 2 * k + 2]
        n = sum(frames(b) for b in pair)
        probe = tiny_model()
        with torch.no_grad():
            for p, wi in zip(probe.parameters(), w, strict=True):
                p.copy_(wi)
        total = sum(reference_loss(probe, b) * frames(b) for b in pair) / n
        grads = torch.autograd.grad(total, list(probe.parameters()))
        v = [0.7 * vi + g for vi, g in zip(v, grads, strict=True)]
        w = [wi - 0.05 * vi for wi, vi in zip(w, v, strict=True)]
        updater.step(UpdateProblem(model, CrossEntropy(), pair, [], n, 0))
    for p, wi in zip(model.parameters(), w, strict=True):
        torch.testing.assert_close(p.detach(), wi, rtol=1e-10, atol=1e-12)


class DoublingReducer:
    """Pretends a second rank holds an identical copy of the data."""

    world_size, rank = 2, 0

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.mul_(2)


def test_reducer_sums_gradients_over_ranks() -> None:
    """Two identical ranks with global frames 2n give the single-rank update."""
    a, b = tiny_model(), tiny_model()
    batch = batches(1)[0]
    ua = build_first_order(FirstOrderConfig(kind="sgd", lr=0.1), a.parameters())
    ub = build_first_order(FirstOrderConfig(kind="sgd", lr=0.1), b.parameters())
    sa = ua.step(UpdateProblem(a, CrossEntropy(), [batch], [], frames(batch), 0))
    sb = ub.step(UpdateProblem(b, CrossEntropy(), [batch], [], 2 * frames(batch), 0, reducer=DoublingReducer()))
    assert sa.loss == pytest.approx(sb.loss)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q)


def test_clipping_and_nonfinite_guard() -> None:
    model = tiny_model()
    before = [p.detach().clone() for p in model.parameters()]
    batch = batches(1)[0]
    updater = build_first_order(FirstOrderConfig(kind="sgd", lr=1.0, clip_norm=1e-3), model.parameters())
    stats = updater.step(UpdateProblem(model, CrossEntropy(), [batch], [], frames(batch), 0))
    step = torch.sqrt(sum(((p.detach() - q) ** 2).sum() for p, q in zip(model.parameters(), before, strict=True)))
    assert stats.extras["grad_norm"] > 1e-3
    assert float(step) == pytest.approx(1e-3, rel=1e-6)

    bad = SequenceBatch(batch.utt_ids, batch.features.clone(), batch.feature_lengths, batch.targets)
    bad.features[0, 0, 0] = math.nan
    before = [p.detach().clone() for p in model.parameters()]
    stats = updater.step(UpdateProblem(model, CrossEntropy(), [bad], [], frames(bad), 0))
    assert stats.extras["skipped"] == 1.0 and updater.skipped == 1
    for p, q in zip(model.parameters(), before, strict=True):
        assert torch.equal(p.detach(), q)


def test_state_dict_round_trip() -> None:
    model = tiny_model()
    updater = build_first_order(FirstOrderConfig(kind="adam", lr=0.01), model.parameters())
    data = batches(3)
    updater.step(UpdateProblem(model, CrossEntropy(), [data[0]], [], frames(data[0]), 0))
    clone = copy.deepcopy(model)
    other = build_first_order(FirstOrderConfig(kind="adam", lr=0.01), clone.parameters())
    other.load_state_dict(copy.deepcopy(updater.state_dict()))
    for b in data[1:]:
        updater.step(UpdateProblem(model, CrossEntropy(), [b], [], frames(b), 0))
        other.step(UpdateProblem(clone, CrossEntropy(), [b], [], frames(b), 0))
    for p, q in zip(model.parameters(), clone.parameters(), strict=True):
        assert torch.equal(p, q)


def test_bad_config() -> None:
    with pytest.raises(ValueError, match="nesterov"):
        FirstOrderConfig(kind="adam", nesterov=True)
