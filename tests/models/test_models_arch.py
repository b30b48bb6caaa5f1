"""Acoustic models: output shapes, declared context (by perturbing input frames), padding and
chunk-boundary behaviour, and forward-mode AD through each model."""

from __future__ import annotations

import pytest
import torch

from nghf.models.factory import ModelConfig, build_model
from nghf.models.lstm import LstmConfig
from nghf.models.rnn import RnnConfig
from nghf.models.tdnn import TdnnConfig, splice_geometry

FEAT, PDFS = 5, 7

CONFIGS = {
    "tdnn": ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=12, contexts=((-2, -1, 0, 1, 2), (-1, 0, 1), (-3, 0, 3), (0,)))),
    "tdnn_ln": ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=12, contexts=((-1, 0, 1), (-4, -2, 0)), norm="layer")),
    "lstm": ModelConfig(kind="lstm", lstm=LstmConfig(hidden_dim=12, num_layers=2, proj_dim=6)),
    "lstm_delay": ModelConfig(kind="lstm", lstm=LstmConfig(hidden_dim=12, num_layers=1, proj_dim=0, output_delay=3)),
    "blstm": ModelConfig(kind="lstm", lstm=LstmConfig(hidden_dim=12, num_layers=2, proj_dim=6, bidirectional=True)),
    "rnn": ModelConfig(kind="rnn", rnn=RnnConfig(hidden_dim=12, num_layers=2)),
    "rnn_relu_delay": ModelConfig(kind="rnn", rnn=RnnConfig(hidden_dim=12, num_layers=1, nonlinearity="relu", output_delay=2)),
    "lstm_input": ModelConfig(kind="lstm", lstm=LstmConfig(hidden_dim=12, num_layers=1, proj_dim=6, output_delay=2,
                                                          input_context=(-2, -1, 0, 1, 2), input_dim=8)),
    "rnn_input": ModelConfig(kind="rnn", rnn=RnnConfig(hidden_dim=12, num_layers=1, input_context=(-2, 0, 2), input_dim=8)),
}


def make(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(CONFIGS[name], FEAT, PDFS).double()
    return model.eval()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_output_shape_and_lengths(name: str) -> None:
    model = make(name)
    x = torch.randn(3, 40, FEAT, dtype=torch.float64)
    lengths = torch.tensor([40, 25, 1])
    logits, out_lengths = model(x, lengths)
    assert logits.shape == (3, 40, PDFS)
    assert out_lengths.tolist() == [40, 25, 1]


def test_declared_contexts() -> None:
    assert (make("tdnn").left_context, make("tdnn").right_context) == (6, 6)
    assert (make("tdnn_ln").left_context, make("tdnn_ln").right_context) == (5, 1)
    assert make("lstm_delay").right_context == 3 and make("lstm_delay").unbounded_left
    assert make("blstm").unbounded_right and not make("lstm").unbounded_right
    # The spliced input layer adds its offsets to the recurrence's own context.
    assert (make("lstm_input").left_context, make("lstm_input").right_context) == (2, 4)
    assert (make("rnn_input").left_context, make("rnn_input").right_context) == (2, 2)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_context_by_perturbation(name: str) -> None:
    """Output frame t changes when input frame t+k changes iff k is inside the declared context."""
    model = make(name)
    t_len, t = 30, 15
    x = torch.randn(1, t_len, FEAT, dtype=torch.float64)
    lengths = torch.tensor([t_len])
    base = model(x, lengths)[0][0, t]
    lo = -t if model.unbounded_left else -model.left_context
    hi = t_len - 1 - t if model.unbounded_right else model.right_context
    for k in range(-t, t_len - t):
        y = x.clone()
        y[0, t + k] += 1.0
        changed = not torch.allclose(model(y, lengths)[0][0, t], base, atol=1e-12, rtol=0)
        assert changed == (lo <= k <= hi), f"{name}: offset {k} changed={changed}, context [{lo}, {hi}]"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_padding_does_not_leak(name: str) -> None:
    """An utterance gives the same outputs alone and padded in a batch with a longer one."""
    model = make(name)
    a = torch.randn(1, 17, FEAT, dtype=torch.float64)
    b = torch.randn(1, 29, FEAT, dtype=torch.float64)
    alone = model(a, torch.tensor([17]))[0]
    batch = torch.cat([torch.cat([a, torch.randn(1, 12, FEAT, dtype=torch.float64)], 1), b])
    together = model(batch, torch.tensor([17, 29]))[0]
    torch.testing.assert_close(together[0, :17], alone[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(together[1], model(b, torch.tensor([29]))[0][0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["tdnn", "tdnn_ln"])
def test_tdnn_chunk_with_context_is_exact(name: str) -> None:
    """A chunk carrying the declared context gives the full utterance's outputs inside it."""
    model = make(name)
    x = torch.randn(1, 50, FEAT, dtype=torch.float64)
    full = model(x, torch.tensor([50]))[0]
    lc, rc = model.left_context, model.right_context
    a, b = 20, 30
    chunk = x[:, a - lc : b + rc]
    out = model(chunk, torch.tensor([chunk.shape[1]]))[0]
    torch.testing.assert_close(out[0, lc : lc + b - a], full[0, a:b], rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["lstm", "rnn", "lstm_delay", "lstm_input", "rnn_input"])
def test_recurrent_chunk_boundary(name: str) -> None:
    """Uni-directional: a chunk starting at the utterance start reproduces the full outputs
    (causality); a chunk starting later differs at its first frames (fresh state) and
    approaches the full outputs as extra left context grows."""
    model = make(name)
    x = torch.randn(1, 60, FEAT, dtype=torch.float64)
    full = model(x, torch.tensor([60]))[0].detach()
    d = model.right_context
    head = model(x[:, : 30 + d], torch.tensor([30 + d]))[0]
    torch.testing.assert_close(head[0, :30], full[0, :30], rtol=0, atol=1e-12)
    errors = []
    for extra in (0, 10, 30):
        start = 40 - extra
        out = model(x[:, start:], torch.tensor([60 - start]))[0]
        errors.append(float((out[0, extra : extra + 5] - full[0, 40:45]).abs().max().detach()))
    assert errors[0] > 1e-6
    assert errors[-1] <= errors[0]


def test_bidirectional_chunk_boundary() -> None:
    model = make("blstm")
    x = torch.randn(1, 40, FEAT, dtype=torch.float64)
    full = model(x, torch.tensor([40]))[0]
    head = model(x[:, :20], torch.tensor([20]))[0]
    assert not torch.allclose(head[0, 19], full[0, 19])  # the backward direction saw less


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_jvp_matches_finite_difference(name: str) -> None:
    """Forward-mode AD (used by the Gauss-Newton products) works and is right."""
    model = make(name)
    params = {k: v.detach() for k, v in model.named_parameters()}
    tangent = {k: torch.randn_like(v) for k, v in params.items()}
    x = torch.randn(2, 12, FEAT, dtype=torch.float64)
    lengths = torch.tensor([12, 9])

    def f(p):
        return torch.func.functional_call(model, p, (x, lengths))[0]

    _, jv = torch.func.jvp(f, (params,), (tangent,))
    eps = 1e-6
    plus = f({k: params[k] + eps * tangent[k] for k in params})
    minus = f({k: params[k] - eps * tangent[k] for k in params})
    torch.testing.assert_close(jv, (plus - minus) / (2 * eps), rtol=1e-5, atol=1e-6)


def test_bad_configs() -> None:
    with pytest.raises(ValueError, match="evenly spaced"):
        splice_geometry((-3, 0, 1))
    with pytest.raises(ValueError, match="increasing"):
        TdnnConfig(contexts=((1, 0),))
    with pytest.raises(ValueError, match="proj_dim"):
        LstmConfig(hidden_dim=8, proj_dim=8)
    with pytest.raises(ValueError, match="input_dim"):
        RnnConfig(input_context=(-1, 0, 1))
    with pytest.raises(ValueError, match="input_context"):
        LstmConfig(input_dim=16)


def test_subsampling_output_frames() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=8, contexts=((-1, 0, 1),), subsampling=3)), FEAT, PDFS).eval()
    x = torch.randn(2, 10, FEAT)
    logits, lengths = model(x, torch.tensor([10, 7]))
    assert logits.shape == (2, 4, PDFS) and lengths.tolist() == [4, 3]
    full = build_model(ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=8, contexts=((-1, 0, 1),))), FEAT, PDFS).eval()
    full.load_state_dict(model.state_dict())
    torch.testing.assert_close(logits, full(x, torch.tensor([10, 7]))[0][:, ::3])


def test_batchnorm_in_training_mode_is_pure_under_jvp() -> None:
    """Gauss-Newton products run the model in training mode: batch statistics, no buffer writes."""
    model = make("tdnn").train()
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    params = {k: v.detach() for k, v in model.named_parameters()}
    tangent = {k: torch.randn_like(v) for k, v in params.items()}
    x = torch.randn(2, 12, FEAT, dtype=torch.float64)
    lengths = torch.tensor([12, 12])

    def f(p):
        return torch.func.functional_call(model, p, (x, lengths))[0]

    out, jv = torch.func.jvp(f, (params,), (tangent,))
    for k, v in model.named_buffers():
        assert torch.equal(v, buffers[k]), k
    torch.testing.assert_close(out, model(x, lengths)[0].detach())  # same batch-statistics output
    eps = 1e-6
    fd = (f({k: params[k] + eps * tangent[k] for k in params}) - f({k: params[k] - eps * tangent[k] for k in params})) / (2 * eps)
    torch.testing.assert_close(jv, fd, rtol=1e-5, atol=1e-6)
