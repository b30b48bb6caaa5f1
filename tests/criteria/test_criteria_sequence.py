"""Sequence criteria (MMI, bMMI, MPFE, sMBR) against path enumeration, gradcheck and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nghf.criteria.base import Criterion
from nghf.criteria.factory import build_sequence_criterion, load_sequence_criterion
from nghf.criteria.seqbase import SequenceCriterionConfig
from nghf.data.batch import IGNORE_TARGET, SequenceBatch
from nghf.lattice.enumerate import enumerate_paths
from nghf.lattice.synthetic import random_alignment_path, random_lattice, random_transition_table
from nghf.lattice.types import Lattice, LatticeError, SequenceLattices
from nghf.utils.config import ConfigError

D = 4
SIL = (1,)


def make_batch(seed: int = 0, lengths=(3, 2), off_path: bool = False):
    rng = np.random.default_rng(seed)
    table = random_transition_table(rng, D, 3)
    den = [random_lattice(rng, t, 2, 4, table=table, utt_id=f"utt{i}") for i, t in enumerate(lengths)]
    num = [random_alignment_path(rng, lat) for lat in den]
    if off_path:  # a numerator pdf that the denominator lacks at frame 0 of utterance 0
        used = set(den[0].pdf[den[0].frame == 0].tolist())
        missing = next(d for d in range(D) if d not in used)
        pdfs = num[0].pdf.clone()
        pdfs[0] = missing
        num[0] = Lattice.from_alignment("utt0", pdfs, num[0].tid, num[0].phone)
    t_max = max(lengths)
    targets = torch.full((len(lengths), t_max), IGNORE_TARGET)
    for r, n in enumerate(num):
        targets[r, : n.num_frames] = n.pdf
    batch = SequenceBatch(
        utt_ids=tuple(lat.utt_id for lat in den),
        features=torch.zeros(len(lengths), t_max, 1),
        feature_lengths=torch.tensor(lengths),
        targets=targets,
        lattices=SequenceLattices.from_lattices(num, den),
    )
    gen = torch.Generator().manual_seed(seed)
    outputs = torch.randn(len(lengths), t_max, D, dtype=torch.float64, generator=gen)
    log_priors = torch.log_softmax(torch.randn(D, dtype=torch.float64, generator=gen), 0)
    return batch, outputs, torch.tensor(lengths), log_priors, num, den


def criterion(name, log_priors, **kw):
    kw.setdefault("precision", "float64")
    kw.setdefault("acoustic_scale", 0.7)
    kw.setdefault("graph_scale", 0.5)
    kw.setdefault("prior_scale", 0.8)
    return build_sequence_criterion(SequenceCriterionConfig(name=name, **kw), log_priors)


# --------------------------------------------------------------------------- brute force
def ref_accuracy(phone, pdf, ref_phone, ref_pdf, level, one_class):
    same = (pdf == ref_pdf) if level == "pdf" else (phone == ref_phone)
    sil, ref_sil = phone in SIL, ref_phone in SIL
    if one_class:
        return float(same or (sil and ref_sil))
    return float(same and not sil)


def brute_force(lat, ref, scores, graph_scale, boost=0.0, level=None, one_class=False, max_sil_err=1.0):
    """(log Z, expected accuracy, path features, path probabilities) by enumeration."""
    totals, accs, feats = [], [], []
    for arcs, final_cost in enumerate_paths(lat):
        total = -graph_scale * final_cost
        acc = 0.0
        f = torch.zeros(scores.numel(), dtype=torch.float64)
        for a in arcs:
            t, d, q = int(lat.frame[a]), int(lat.pdf[a]), int(lat.phone[a])
            total = total + scores[t, d] - graph_scale * float(lat.graph_cost[a])
            r_phone, r_pdf = int(ref.phone[t]), int(ref.pdf[t])
            if boost:
                err = 0.0 if q == r_phone else (max_sil_err if q in SIL else 1.0)
                total = total + boost * err
            if level:
                acc += ref_accuracy(q, d, r_phone, r_pdf, level, one_class)
            f[t * scores.shape[1] + d] += 1
        totals.append(total)
        accs.append(acc)
        feats.append(f)
    totals_t = torch.stack(totals)
    probs = torch.softmax(totals_t, 0)
    return torch.logsumexp(totals_t, 0), (probs * torch.tensor(accs, dtype=torch.float64)).sum(), torch.stack(feats), probs


def scaled(crit, outputs):
    return crit.scaled_loglik(outputs)


# --------------------------------------------------------------------------- tests
CASES = [
    ("mmi", {}),
    ("mmi", {"xent_weight": 0.3}),
    ("bmmi", {"boost": 0.5, "silence_phones": SIL, "max_silence_error": 0.5}),
    ("mpfe", {"silence_phones": SIL}),
    ("mpfe", {"silence_phones": SIL, "one_silence_class": True}),
    ("smbr", {"silence_phones": SIL}),
    ("smbr", {"silence_phones": SIL, "one_silence_class": True, "xent_weight": 0.1}),
]


@pytest.mark.parametrize(("name", "kw"), CASES)
def test_loss_matches_enumeration(name, kw):
    batch, outputs, lengths, log_priors, num, den = make_batch(1)
    crit = criterion(name, log_priors, **kw)
    assert isinstance(crit, Criterion)
    losses = crit.utterance_losses(outputs, lengths, batch)
    s = scaled(crit, outputs)
    w = kw.get("xent_weight", 0.0)
    ce = torch.nn.functional.cross_entropy(outputs.transpose(1, 2), batch.targets, reduction="none").sum(1)
    for r in range(batch.size):
        t = den[r].num_frames
        level = {"mpfe": "phone", "smbr": "pdf"}.get(name)
        log_z, exp_acc, _, _ = brute_force(
            den[r], num[r], s[r, :t], 0.5, kw.get("boost", 0.0), level, kw.get("one_silence_class", False),
            kw.get("max_silence_error", 1.0),
        )
        if level:
            seq = -exp_acc
        else:
            num_score = s[r, num[r].frame, num[r].pdf].sum() - 0.5 * num[r].graph_cost.sum()
            seq = log_z - num_score
        expected = (1 - w) * seq + w * ce[r]
        assert losses[r].item() == pytest.approx(expected.item(), abs=1e-10)


@pytest.mark.parametrize(("name", "kw"), [*CASES, ("mmi", {"drop_frames": True})])
def test_gradients_gradcheck_and_finite_differences(name, kw):
    batch, outputs, lengths, log_priors, *_ = make_batch(2, off_path=kw.get("drop_frames", False))
    crit = criterion(name, log_priors, **kw)
    z = outputs.clone().requires_grad_()
    if not kw.get("drop_frames"):  # drop_frames deliberately stops part of the true gradient
        assert torch.autograd.gradcheck(lambda x: crit.utterance_losses(x, lengths, batch), (z,))
    loss = crit.utterance_losses(z, lengths, batch).sum()
    (grad,) = torch.autograd.grad(loss, z)
    v = torch.randn_like(outputs)
    if kw.get("drop_frames"):
        v[0, 0] = 0  # the dropped frame: its gradient is zero by design, not by the function
    eps = 1e-5
    plus = crit.utterance_losses(outputs + eps * v, lengths, batch).sum()
    minus = crit.utterance_losses(outputs - eps * v, lengths, batch).sum()
    assert ((plus - minus) / (2 * eps)).item() == pytest.approx((grad * v).sum().item(), rel=1e-6, abs=1e-8)
    assert torch.all(grad[1, 2:] == 0)  # padding of the shorter utterance


def test_drop_frames_zeroes_gradient_of_frames_missing_from_den():
    batch, outputs, lengths, log_priors, *_ = make_batch(3, off_path=True)
    plain = criterion("mmi", log_priors)
    drop = criterion("mmi", log_priors, drop_frames=True)
    z = outputs.clone().requires_grad_()
    l_drop = drop.utterance_losses(z, lengths, batch)
    (g_drop,) = torch.autograd.grad(l_drop.sum(), z)
    (g_plain,) = torch.autograd.grad(plain.utterance_losses(z, lengths, batch).sum(), z)
    torch.testing.assert_close(l_drop, plain.utterance_losses(outputs, lengths, batch))
    assert torch.all(g_drop[0, 0] == 0) and g_plain[0, 0].abs().sum() > 0
    torch.testing.assert_close(g_drop[0, 1:], g_plain[0, 1:])
    torch.testing.assert_close(g_drop[1], g_plain[1])
    # The curvature is restricted to the kept frames too.
    v = torch.randn_like(outputs)
    hv = drop.output_curvature_product(outputs, lengths, batch, v)
    assert torch.all(hv[0, 0] == 0)


def _explicit_mmi_hessian(crit, outputs, lengths, num, den, boost=0.0):
    """Jᵀ κ² Cov J per utterance from enumerated paths, as dense matrices."""
    kappa = crit.config.acoustic_scale
    s = scaled(crit, outputs)
    mats = []
    for r in range(len(den)):
        t = den[r].num_frames
        _, _, feats, probs = brute_force(den[r], num[r], s[r, :t], crit.config.graph_scale, boost)
        mean = probs @ feats
        cov = (feats * probs[:, None]).T @ feats - torch.outer(mean, mean)
        p = torch.softmax(outputs[r, :t], -1)
        jac = torch.block_diag(*[torch.eye(D, dtype=torch.float64) - torch.ones(D, 1, dtype=torch.float64) * p[i] for i in range(t)])
        mats.append(jac.T @ (kappa**2 * cov) @ jac)
    return mats


@pytest.mark.parametrize(("name", "kw"), [("mmi", {}), ("bmmi", {"boost": 0.7, "silence_phones": SIL})])
def test_mmi_curvature_is_exact_hessian(name, kw):
    batch, outputs, lengths, log_priors, num, den = make_batch(4)
    crit = criterion(name, log_priors, **kw)
    v = torch.randn_like(outputs)
    hv = crit.output_curvature_product(outputs, lengths, batch, v)
    # 1. the explicit covariance from enumeration
    for r, mat in enumerate(_explicit_mmi_hessian(crit, outputs, lengths, num, den, kw.get("boost", 0.0))):
        t = den[r].num_frames
        torch.testing.assert_close(hv[r, :t].reshape(-1), mat @ v[r, :t].reshape(-1))
        assert torch.linalg.eigvalsh(mat).min() > -1e-10
    assert torch.all(hv[1, 2:] == 0)
    # 2. autograd double backward through the loss
    z = outputs.clone().requires_grad_()
    (g,) = torch.autograd.grad(crit.utterance_losses(z, lengths, batch).sum(), z, create_graph=True)
    (hv_ad,) = torch.autograd.grad((g * v).sum(), z)
    torch.testing.assert_close(hv, hv_ad)
    # 3. PSD on random vectors
    for k in range(5):
        u = torch.randn(outputs.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(k))
        assert (u * crit.output_curvature_product(outputs, lengths, batch, u)).sum() >= -1e-12


@pytest.mark.parametrize("name", ["mpfe", "smbr"])
@pytest.mark.parametrize("kind", ["auto", "mmi_den_covariance", "ce_at_lattice_posteriors", "ce_at_model_posteriors"])
def test_surrogate_curvatures_are_psd_and_symmetric(name, kind):
    batch, outputs, lengths, log_priors, num, den = make_batch(5)
    crit = criterion(name, log_priors, silence_phones=SIL, curvature=kind)
    gen = torch.Generator().manual_seed(0)
    vs = [torch.randn(outputs.shape, dtype=torch.float64, generator=gen) for _ in range(4)]
    hvs = [crit.output_curvature_product(outputs, lengths, batch, v) for v in vs]
    for v, hv in zip(vs, hvs, strict=True):
        assert (v * hv).sum() >= -1e-12
        assert torch.all(hv[1, 2:] == 0)
    assert (vs[0] * hvs[1]).sum().item() == pytest.approx((vs[1] * hvs[0]).sum().item(), abs=1e-10)
    if kind in ("auto", "mmi_den_covariance"):  # equals the MMI den covariance (explicit)
        mmi = criterion("mmi", log_priors)
        for r, mat in enumerate(_explicit_mmi_hessian(mmi, outputs, lengths, num, den)):
            t = den[r].num_frames
            torch.testing.assert_close(hvs[0][r, :t].reshape(-1), mat @ vs[0][r, :t].reshape(-1))
    kappa = crit.config.acoustic_scale
    for r in range(batch.size):
        t = den[r].num_frames
        if kind == "ce_at_lattice_posteriors":  # Jᵀ κ² (diag γ − γγᵀ) J with γ from enumeration
            _, _, feats, probs = brute_force(den[r], num[r], scaled(crit, outputs)[r, :t], 0.5)
            gamma = (probs @ feats).view(t, D)
        for i in range(t):
            p = torch.softmax(outputs[r, i], -1)
            if kind == "ce_at_model_posteriors":
                mat = torch.diag(p) - torch.outer(p, p)
            elif kind == "ce_at_lattice_posteriors":
                jac = torch.eye(D, dtype=torch.float64) - torch.ones(D, 1, dtype=torch.float64) * p
                mat = jac.T @ (kappa**2 * (torch.diag(gamma[i]) - torch.outer(gamma[i], gamma[i]))) @ jac
            else:
                continue
            torch.testing.assert_close(hvs[0][r, i], mat @ vs[0][r, i])


def test_float32_agrees_with_float64():
    batch, outputs, lengths, log_priors, *_ = make_batch(6, lengths=(4, 3))
    for name, kw in CASES:
        c64 = criterion(name, log_priors, **kw)
        c32 = criterion(name, log_priors.float(), precision="float32", **kw)
        l64 = c64.utterance_losses(outputs, lengths, batch)
        l32 = c32.utterance_losses(outputs.float(), lengths, batch)
        assert l32.dtype == torch.float32
        torch.testing.assert_close(l32.double(), l64, atol=1e-4, rtol=1e-5)


def test_errors_name_the_utterance():
    batch, outputs, lengths, log_priors, *_ = make_batch(7)
    crit = criterion("mmi", log_priors)
    with pytest.raises(LatticeError, match="utt1: lattice has 2 frames but the network output has 3"):
        crit.utterance_losses(outputs, torch.tensor([3, 3]), batch)
    with pytest.raises(LatticeError, match="needs batch.lattices = SequenceLattices"):
        crit.utterance_losses(outputs, lengths, SequenceBatch(batch.utt_ids, batch.features, batch.feature_lengths))
    with pytest.raises(ValueError, match="NaN/Inf"):
        criterion("mmi", torch.tensor([0.0, -np.inf, 0.0, 0.0]))


def test_configs_load_and_validate(repo_root):
    _, _, _, log_priors, *_ = make_batch(8)
    for name in ("mmi", "bmmi", "mpfe", "smbr"):
        crit = load_sequence_criterion(repo_root / "conf" / f"criterion_{name}.yaml", log_priors)
        assert crit.name == name
    with pytest.raises(ValueError, match="boost applies to bmmi only"):
        SequenceCriterionConfig(name="mmi", boost=0.1)
    with pytest.raises(ValueError, match="no PSD exact curvature"):
        SequenceCriterionConfig(name="smbr", curvature="exact")
    with pytest.raises(ConfigError, match="unknown key"):
        load_sequence_criterion(repo_root / "conf" / "criterion_mmi.yaml", log_priors, ["kappa=0.1"])


def test_sequence_batch_select_and_to_carry_lattices():
    batch, outputs, lengths, log_priors, *_ = make_batch(9)
    crit = criterion("smbr", log_priors, silence_phones=SIL)
    full = crit.utterance_losses(outputs, lengths, batch)
    sub = batch.select([1]).to("cpu")
    assert sub.lattices.den.utt_ids == ("utt1",)
    part = crit.utterance_losses(outputs[1:, :2], lengths[1:], sub)
    torch.testing.assert_close(part, full[1:])
