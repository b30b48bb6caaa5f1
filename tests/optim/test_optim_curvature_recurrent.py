"""Curvature products through the recurrent layers against explicit matrices (float64).

Tiny LSTM (projection, spliced input layer = left context, output delay) and Elman RNNs
(bidirectional; uni-directional with left context) of ``nghf.models``, random lattices
(:func:`nghf.optim.toy.make_sequence_batch`). For the sequence criteria (MMI, bMMI, MPFE,
F-smoothed MMI) the explicit Gauss-Newton matrix is ``Jᵀ H_out J / N_c`` with ``J`` the
Jacobian of all outputs with respect to all parameters (autograd, one row per output) and
``H_out`` built by enumerating the denominator paths: per utterance
``Jlsᵀ κ² Cov_den Jls`` (``Jls`` the Jacobian of log_softmax, ``Cov_den`` the covariance of
a path's pdf-count features under the -- boosted, for bMMI -- denominator posterior), plus
``w (diag p − p pᵀ)`` on frames with a target for F-smoothing. The Fisher is built from the
per-utterance gradients. Whole utterances are padded in a batch: the product must equal the
sum of the explicit matrices of each utterance alone and unpadded. Lattice row chunks
(``max_arcs``) and chunked cross-entropy examples with extra left context (frames whose
outputs carry no target but whose inputs drive the recurrence) are checked the same way.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch.func import functional_call

from nghf.criteria.ce import CrossEntropy
from nghf.criteria.factory import build_sequence_criterion
from nghf.criteria.seqbase import SequenceCriterionConfig
from nghf.data.batch import IGNORE_TARGET, SequenceBatch
from nghf.lattice.enumerate import enumerate_paths
from nghf.models.factory import ModelConfig, build_model
from nghf.models.lstm import LstmConfig
from nghf.models.rnn import RnnConfig
from nghf.optim.curvature import ModelCurvature, effective_jvp_method, forward_ad_context
from nghf.optim.params import ParamSpace
from nghf.optim.toy import make_sequence_batch
from nghf.train.data import ChunkedData, DataConfig
from nghf.train.sequence_run import freeze_norm_layers

D64 = torch.float64
FEAT, PDFS, SIL = 3, 4, (1,)

MODELS = {
    # left context 1 (spliced input layer, batch-norm frozen), right context 1 (output delay)
    "lstm": ModelConfig(kind="lstm", lstm=LstmConfig(hidden_dim=4, num_layers=1, proj_dim=2, output_delay=1,
                                                     input_context=(-1, 0, 1), input_dim=3)),
    "rnn_bi": ModelConfig(kind="rnn", rnn=RnnConfig(hidden_dim=3, num_layers=2, bidirectional=True)),
    "rnn_ctx": ModelConfig(kind="rnn", rnn=RnnConfig(hidden_dim=3, num_layers=1, nonlinearity="relu",
                                                     input_context=(-2, 0), input_dim=3)),
}

CRITERIA = {
    "mmi": {},
    "bmmi": {"boost": 0.5, "silence_phones": SIL, "max_silence_error": 0.5},
    "mpfe": {"silence_phones": SIL},  # curvature auto = mmi_den_covariance
    "mmi+xent": {"xent_weight": 0.25},
}


def _model(kind: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_model(MODELS[kind], FEAT, PDFS).to(D64)
    model.train()
    freeze_norm_layers(model)
    with torch.no_grad():  # non-trivial frozen statistics of the input layer's batch-norm
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return model


def _criterion(name: str, **extra):
    kw = dict(CRITERIA[name])
    kw.update(extra)
    config = SequenceCriterionConfig(name=name.split("+")[0], acoustic_scale=0.7, graph_scale=0.5,
                                     prior_scale=0.8, precision="float64", **kw)
    priors = torch.log_softmax(torch.randn(PDFS, dtype=D64, generator=torch.Generator().manual_seed(9)), 0)
    return build_sequence_criterion(config, priors)


def _batch(seed: int = 1, utts: int = 3, frames: int = 5) -> SequenceBatch:
    batch = make_sequence_batch(utts, frames, FEAT, PDFS, seed=seed, states_per_frame=2, arcs_per_frame=4,
                                num_phones=3, dtype=D64)
    assert len(set(batch.feature_lengths.tolist())) > 1  # padded rows
    return batch


def _alone(batch: SequenceBatch, row: int) -> SequenceBatch:
    """Utterance ``row`` as a batch of its own, without padding."""
    one = batch.select([row])
    t = int(one.feature_lengths[0])
    return dataclasses.replace(one, features=one.features[:, :t], targets=one.targets[:, :t])


def _oracle(model, crit, batch: SequenceBatch, frames: int, jvp_method: str = "jvp") -> ModelCurvature:
    return ModelCurvature(model, crit, ParamSpace(model), [batch], [batch], frames, frames, jvp_method=jvp_method)


# --------------------------------------------------------------------------- explicit matrices
def _jacobian(model, batch: SequenceBatch, space: ParamSpace) -> torch.Tensor:
    """``(B·T·D, P)`` Jacobian of all outputs with respect to all parameters."""
    theta = space.get_flat()

    def outputs(flat: torch.Tensor) -> torch.Tensor:
        return functional_call(model, space.as_dict(flat), (batch.features, batch.feature_lengths))[0].reshape(-1)

    with forward_ad_context(model, theta.device):
        return torch.autograd.functional.jacobian(outputs, theta)


def _logits(model, batch: SequenceBatch) -> torch.Tensor:
    with torch.no_grad(), forward_ad_context(model, batch.features.device):
        return model(batch.features, batch.feature_lengths)[0]


def _den_covariance(crit, z: torch.Tensor, batch: SequenceBatch, row: int) -> torch.Tensor:
    """``(T·D, T·D)`` covariance of the pdf counts of a denominator path of utterance ``row``
    under its posterior at logits ``z`` (``(T, D)``), by enumerating the paths."""
    cfg = crit.config
    den, num = batch.lattices.den.lattices[row], batch.lattices.num.lattices[row]
    t, d = den.num_frames, z.shape[-1]
    s = cfg.acoustic_scale * (torch.log_softmax(z[:t], -1) - cfg.prior_scale * crit.log_priors)
    ref_phone = dict(zip(num.frame.tolist(), num.phone.tolist(), strict=True))
    totals, feats = [], []
    for arcs, final_cost in enumerate_paths(den):
        total = -cfg.graph_scale * final_cost
        f = torch.zeros(t * d, dtype=D64)
        for a in arcs:
            frame, pdf, phone = int(den.frame[a]), int(den.pdf[a]), int(den.phone[a])
            total = total + s[frame, pdf] - cfg.graph_scale * float(den.graph_cost[a])
            if cfg.boost and phone != ref_phone[frame]:
                total = total + cfg.boost * (cfg.max_silence_error if phone in cfg.silence_phones else 1.0)
            f[frame * d + pdf] += 1
        totals.append(total)
        feats.append(f)
    probs = torch.softmax(torch.stack(totals), 0)
    f = torch.stack(feats)
    mean = probs @ f
    return (f * probs[:, None]).T @ f - torch.outer(mean, mean)


def _explicit_h_out(crit, z: torch.Tensor, batch: SequenceBatch) -> torch.Tensor:
    """Block-diagonal ``(B·T·D)²`` output-layer curvature of the summed utterance losses."""
    b, t_max, d = z.shape
    w = crit.config.xent_weight
    kappa2 = crit.config.acoustic_scale ** 2
    blocks = []
    for row in range(b):
        t = int(batch.feature_lengths[row])
        p = torch.softmax(z[row], -1)
        jls = torch.block_diag(*[torch.eye(d, dtype=D64) - torch.ones(d, 1, dtype=D64) * p[i] for i in range(t)])
        h = (1 - w) * (jls.T @ (kappa2 * _den_covariance(crit, z[row], batch, row)) @ jls)
        if w:
            has_target = batch.targets[row, :t] != IGNORE_TARGET
            h = h + w * torch.block_diag(*[(torch.diag(p[i]) - torch.outer(p[i], p[i])) * has_target[i]
                                          for i in range(t)])
        blocks.append(torch.block_diag(h, torch.zeros((t_max - t) * d, (t_max - t) * d, dtype=D64)))
    return torch.block_diag(*blocks)


def _explicit_gauss_newton(model, crit, batch: SequenceBatch, frames: int) -> torch.Tensor:
    space = ParamSpace(model)
    jac = _jacobian(model, batch, space)
    return jac.T @ _explicit_h_out(crit, _logits(model, batch), batch) @ jac / frames


def _explicit_fisher(model, crit, batch: SequenceBatch, frames: int) -> torch.Tensor:
    """``Σ_u g_u g_uᵀ / (T_u N_c)`` from the per-utterance gradients (one Jacobian row each)."""
    space = ParamSpace(model)
    theta = space.get_flat()

    def losses(flat: torch.Tensor) -> torch.Tensor:
        out, lengths = functional_call(model, space.as_dict(flat), (batch.features, batch.feature_lengths))
        return crit.utterance_losses(out, lengths, batch)

    with forward_ad_context(model, theta.device):
        rows = torch.autograd.functional.jacobian(losses, theta)
    lengths = batch.feature_lengths.to(D64)
    return sum(torch.outer(rows[u], rows[u]) / (lengths[u] * frames) for u in range(rows.shape[0]))


def _vector(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, dtype=D64, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("crit_name", sorted(CRITERIA))
def test_gauss_newton_equals_explicit_jt_h_j(kind: str, crit_name: str) -> None:
    model, crit, batch = _model(kind), _criterion(crit_name), _batch()
    frames = int(batch.feature_lengths.sum())
    g = _explicit_gauss_newton(model, crit, batch, frames)
    torch.testing.assert_close(g, g.T, rtol=1e-10, atol=1e-13)
    assert torch.linalg.eigvalsh(g).min() > -1e-10  # PSD, as every curvature choice must be
    v = _vector(ParamSpace(model).numel, 3)
    for method in ("jvp", "double_vjp"):
        product = _oracle(model, crit, batch, frames, method).gauss_newton(v)
        torch.testing.assert_close(product, g @ v, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("crit_name", ["mmi", "mpfe"])
@pytest.mark.parametrize("max_arcs", [0, 5])
def test_fisher_equals_explicit_per_utterance_outer_products(kind: str, crit_name: str, max_arcs: int) -> None:
    """``max_arcs = 5``: the lattice recursions run in row chunks (one utterance each)."""
    model, crit, batch = _model(kind), _criterion(crit_name, max_arcs=max_arcs), _batch()
    frames = int(batch.feature_lengths.sum())
    fisher = _explicit_fisher(model, crit, batch, frames)
    v = _vector(fisher.shape[0], 4)
    for method in ("jvp", "double_vjp"):
        torch.testing.assert_close(_oracle(model, crit, batch, frames, method).fisher(v), fisher @ v,
                                   rtol=1e-9, atol=1e-12)
    rows = _oracle(model, crit, batch, frames).fisher_factor()
    assert rows.shape[0] == batch.size
    torch.testing.assert_close(rows.T @ rows, fisher, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_padded_whole_utterances_equal_each_utterance_alone(kind: str) -> None:
    """G·v and F·v of a padded batch are the sums of the explicit matrices of each utterance
    run alone without padding: padding reaches no valid output through the recurrences, the
    edge replication of the left context or the output delay."""
    model, crit, batch = _model(kind), _criterion("bmmi"), _batch(seed=2, utts=3, frames=6)
    frames = int(batch.feature_lengths.sum())
    alone = [_alone(batch, row) for row in range(batch.size)]
    g = sum(_explicit_gauss_newton(model, crit, one, frames) for one in alone)
    f = sum(_explicit_fisher(model, crit, one, frames) for one in alone)
    oracle = _oracle(model, crit, batch, frames)
    v = _vector(g.shape[0], 5)
    torch.testing.assert_close(oracle.gauss_newton(v), g @ v, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(oracle.fisher(v), f @ v, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_chunks_with_extra_left_context_equal_explicit_matrix(kind: str) -> None:
    """Cross-entropy chunks (``ChunkedData``): the extra left-context frames drive the
    recurrence (they are in ``J``) but carry no target, so no curvature (``H_out = 0`` there),
    and ``N_c`` counts target frames only."""
    model = _model(kind)
    rng = np.random.default_rng(0)
    feats = {f"u{i}": rng.standard_normal((n, FEAT)) for i, n in enumerate((9, 7))}
    alis = {u: rng.integers(0, PDFS, len(x)) for u, x in feats.items()}
    data = ChunkedData(feats, alis, DataConfig(chunk_width=3, extra_left_context=2, extra_right_context=0,
                                               heldout_fraction=0.0), model)
    chunks = [c for c in data.chunks if c.start > 0][:3]
    assert chunks and all(c.target_start * data.subsampling - c.start > model.left_context for c in chunks)
    batch = data.make_batch(chunks)
    assert batch.features.dtype == D64
    targets = batch.targets != IGNORE_TARGET
    frames = int(targets.sum())
    assert frames < int(batch.feature_lengths.sum())  # context frames without targets
    ce = CrossEntropy()
    z = _logits(model, batch)
    p = torch.softmax(z, -1)
    h = torch.block_diag(*[(torch.diag(p[b, t]) - torch.outer(p[b, t], p[b, t])) * targets[b, t]
                           for b in range(z.shape[0]) for t in range(z.shape[1])])
    jac = _jacobian(model, batch, ParamSpace(model))
    g = jac.T @ h @ jac / frames
    v = _vector(g.shape[0], 6)
    torch.testing.assert_close(_oracle(model, ce, batch, frames).gauss_newton(v), g @ v, rtol=1e-9, atol=1e-12)
    fisher = _explicit_fisher(model, ce, batch, frames)
    torch.testing.assert_close(_oracle(model, ce, batch, frames).fisher(v), fisher @ v, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- CUDA kernel choice
def test_recurrent_kernels_for_the_products_are_chosen_per_device() -> None:
    """cuDNN's RNN has no forward AD and no double backward, the CUDA LSTM cell no forward AD:
    on CUDA the products turn cuDNN off for recurrent models and use double-vjp for LSTMs
    (checked without a GPU: only flags and the method choice)."""
    lstm, rnn = _model("lstm"), _model("rnn_bi")
    tdnn = build_model(ModelConfig(kind="tdnn"), FEAT, PDFS)
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert effective_jvp_method(lstm, cuda, "jvp") == "double_vjp"
    assert effective_jvp_method(rnn, cuda, "jvp") == "jvp"
    assert effective_jvp_method(lstm, cpu, "jvp") == "jvp"
    assert effective_jvp_method(tdnn, cuda, "jvp") == "jvp"
    assert effective_jvp_method(lstm, cuda, "nonsense") == "nonsense"  # still rejected at the first product
    before = torch.backends.cudnn.enabled
    with forward_ad_context(rnn, cuda):
        assert not torch.backends.cudnn.enabled
    assert torch.backends.cudnn.enabled == before
    with forward_ad_context(tdnn, cuda):
        assert torch.backends.cudnn.enabled == before
    with forward_ad_context(rnn, cpu):
        assert torch.backends.cudnn.enabled == before and not torch.backends.mkldnn.enabled
