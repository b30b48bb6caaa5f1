"""The GMM-HMM acoustic model: topology, tree, transition model and diagonal GMMs.

The GMM parameters live in numpy (one ``DiagGaussians`` per pdf) so that accumulation and
re-estimation are vectorised and exactly checkable; ``to_kaldi_am`` builds the binding's
``AmDiagGmm`` when Kaldi's aligner/decodable needs it.

Files: the tree is written in Kaldi's binary ``ContextDependency`` format (``\\0B`` header,
readable by Kaldi's own tools) and loaded through the binding. ``final.mdl`` is nghf's own
format -- a pickle of the binding's ``TransitionModel`` state (exact, including transition
probabilities), the topology text, the tree bytes and the GMM arrays -- because the pip
bindings cannot read or write Kaldi's ``.mdl`` files. ``write_kaldi_text_model`` exports
Kaldi's text ``.mdl`` (TransitionModel + AmDiagGmm) for inspection and interoperability.
"""

from __future__ import annotations

import dataclasses
import math
import pickle
import struct
from pathlib import Path

import numpy as np

from nghf._kaldi import kaldi_hmm_gmm
from nghf.utils.atomic import atomic_path

MODEL_MAGIC = b"NGHF-GMM-HMM v1\n"
LOG_2PI = math.log(2.0 * math.pi)


class ModelError(ValueError):
    """A model or tree file that cannot be read (message names the file)."""


@dataclasses.dataclass
class DiagGaussians:
    """A diagonal-covariance GMM: weights [G], means [G, D], variances [G, D] (float64)."""

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    @property
    def num_gauss(self) -> int:
        return int(self.weights.shape[0])

    def component_loglikes(self, x: np.ndarray) -> np.ndarray:
        """log w_g + log N(x_t; mu_g, diag var_g) for frames x [T, D]: returns [T, G]."""
        inv = 1.0 / self.variances
        const = np.log(self.weights) - 0.5 * (
            x.shape[1] * LOG_2PI + np.log(self.variances).sum(1) + (self.means**2 * inv).sum(1)
        )
        return const[None, :] + x @ (self.means * inv).T - 0.5 * (x**2) @ inv.T

    def loglikes(self, x: np.ndarray) -> np.ndarray:
        """Per-frame log-likelihood [T]."""
        c = self.component_loglikes(x)
        m = c.max(1, keepdims=True)
        return (m + np.log(np.exp(c - m).sum(1, keepdims=True)))[:, 0]


@dataclasses.dataclass(frozen=True)
class StackedGaussians:
    """Every pdf's Gaussians in one matrix, so that all component log-likelihoods of a block
    of frames are two matrix products and the per-pdf log-sum-exp is a segmented reduction
    (one pass over the model per utterance instead of one small product per pdf)."""

    const: np.ndarray  # [sum G] log w - 0.5 (D log 2pi + sum log var + sum mu^2 / var)
    linear: np.ndarray  # [sum G, D] mu / var
    quadratic: np.ndarray  # [sum G, D] -0.5 / var
    starts: np.ndarray  # [P] index of each pdf's first Gaussian
    num_gauss: np.ndarray  # [P]

    @classmethod
    def of(cls, gmms: list[DiagGaussians]) -> StackedGaussians:
        means = np.concatenate([g.means for g in gmms])
        variances = np.concatenate([g.variances for g in gmms])
        weights = np.concatenate([g.weights for g in gmms])
        inv = 1.0 / variances
        const = np.log(weights) - 0.5 * (
            means.shape[1] * LOG_2PI + np.log(variances).sum(1) + (means**2 * inv).sum(1)
        )
        num_gauss = np.array([g.num_gauss for g in gmms], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(num_gauss)[:-1]]).astype(np.int64)
        return cls(const, means * inv, -0.5 * inv, starts, num_gauss)

    def pdf_loglikes(self, feats: np.ndarray, block: int = 512) -> np.ndarray:
        """[T, P] float32 log-likelihoods, computed ``block`` frames at a time (bounded memory)."""
        x = np.asarray(feats, dtype=np.float64)
        out = np.empty((x.shape[0], len(self.starts)), dtype=np.float32)
        for t0 in range(0, x.shape[0], block):
            xb = x[t0 : t0 + block]
            comp = self.const[None, :] + xb @ self.linear.T + (xb * xb) @ self.quadratic.T
            peak = np.maximum.reduceat(comp, self.starts, axis=1)
            comp -= np.repeat(peak, self.num_gauss, axis=1)
            np.exp(comp, out=comp)
            out[t0 : t0 + block] = peak + np.log(np.add.reduceat(comp, self.starts, axis=1))
        return out


@dataclasses.dataclass
class GmmHmm:
    """Topology text, tree, transition model and one GMM per pdf-id."""

    topo_text: str
    tree: kaldi_hmm_gmm.ContextDependency
    trans: kaldi_hmm_gmm.TransitionModel
    gmms: list[DiagGaussians]

    @property
    def num_pdfs(self) -> int:
        return len(self.gmms)

    @property
    def dim(self) -> int:
        return int(self.gmms[0].means.shape[1])

    @property
    def num_gauss(self) -> int:
        return sum(g.num_gauss for g in self.gmms)

    @property
    def num_parameters(self) -> int:
        """Acoustic parameters: weight, mean and variance vector of every Gaussian (the
        transition probabilities, a few thousand, are not counted)."""
        return sum(g.weights.size + g.means.size + g.variances.size for g in self.gmms)

    def topology(self) -> kaldi_hmm_gmm.HmmTopology:
        topo = kaldi_hmm_gmm.HmmTopology()
        topo.read(self.topo_text)
        return topo

    def tid2pdf(self) -> np.ndarray:
        """pdf-id of each transition-id (index 0 is a dummy, -1)."""
        arr = np.array(self.trans.transition_id_to_pdf_array(), dtype=np.int64)
        arr[0] = -1
        return arr

    def pdf_loglikes(self, feats: np.ndarray) -> np.ndarray:
        """GMM log-likelihood of every frame under every pdf: [T, num_pdfs] float32.

        For many utterances build ``StackedGaussians.of(model.gmms)`` once and call its
        ``pdf_loglikes`` (this rebuilds it on every call)."""
        return StackedGaussians.of(self.gmms).pdf_loglikes(feats)

    def to_kaldi_am(self) -> kaldi_hmm_gmm.AmDiagGmm:
        """The binding's ``AmDiagGmm`` with the same parameters (for Kaldi's aligner)."""
        am = kaldi_hmm_gmm.AmDiagGmm()
        for g in self.gmms:
            k = kaldi_hmm_gmm.DiagGmm(g.num_gauss, g.means.shape[1])
            k.set_weights(g.weights.astype(np.float32))
            k.set_invvars_and_means(
                (1.0 / g.variances).astype(np.float32), g.means.astype(np.float32)
            )
            k.compute_gconsts()
            am.add_pdf(k)
        return am


def tree_bytes(tree: kaldi_hmm_gmm.ContextDependency) -> bytes:
    """Kaldi binary serialisation of a tree (without the ``\\0B`` file header)."""
    return struct.pack(f"{len(tree.__getstate__()[0])}b", *tree.__getstate__()[0])


def tree_from_bytes(data: bytes, where: str = "<bytes>") -> kaldi_hmm_gmm.ContextDependency:
    """Load a Kaldi binary ``ContextDependency`` (with or without the ``\\0B`` header)."""
    if data.startswith(b"\0B"):
        data = data[2:]
    if not data.startswith(b"ContextDependency "):
        raise ModelError(f"{where}: not a Kaldi binary tree (ContextDependency) file")
    tree = kaldi_hmm_gmm.ContextDependency.__new__(kaldi_hmm_gmm.ContextDependency)
    try:
        tree.__setstate__((list(struct.unpack(f"{len(data)}b", data)),))
    except Exception as err:
        raise ModelError(f"{where}: malformed Kaldi tree: {err}") from None
    return tree


def write_tree(tree: kaldi_hmm_gmm.ContextDependency, path: str | Path) -> None:
    """Write a tree as a Kaldi binary file (``\\0B`` + ContextDependency), atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(b"\0B" + tree_bytes(tree))


def read_tree(path: str | Path) -> kaldi_hmm_gmm.ContextDependency:
    """Read a Kaldi binary tree file."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise ModelError(f"{path}: cannot read tree: {err.strerror}") from None
    return tree_from_bytes(data, str(path))


def save_model(model: GmmHmm, path: str | Path) -> None:
    """Write ``final.mdl`` in nghf's format (see the module docstring), atomically."""
    payload = {
        "topo_text": model.topo_text,
        "tree": tree_bytes(model.tree),
        "trans": model.trans,
        "gmms": [(g.weights, g.means, g.variances) for g in model.gmms],
    }
    with atomic_path(path) as tmp:
        tmp.write_bytes(MODEL_MAGIC + pickle.dumps(payload, protocol=4))


def load_model(path: str | Path) -> GmmHmm:
    """Read a model written by ``save_model``."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise ModelError(f"{path}: cannot read model: {err.strerror}") from None
    if not data.startswith(MODEL_MAGIC):
        raise ModelError(f"{path}: not an nghf GMM-HMM model (bad header)")
    payload = pickle.loads(data[len(MODEL_MAGIC) :])
    return GmmHmm(
        topo_text=payload["topo_text"],
        tree=tree_from_bytes(payload["tree"], str(path)),
        trans=payload["trans"],
        gmms=[DiagGaussians(w, m, v) for w, m, v in payload["gmms"]],
    )


def write_kaldi_text_model(model: GmmHmm, path: str | Path) -> None:
    """Export Kaldi's text ``.mdl`` (TransitionModel then AmDiagGmm) for other tools."""
    lines = [str(model.trans).rstrip(), f"<DIMENSION> {model.dim} <NUMPDFS> {model.num_pdfs}"]

    def vec(a: np.ndarray) -> str:
        return " [ " + " ".join(f"{v:.7g}" for v in a) + " ]"

    def mat(a: np.ndarray) -> str:
        return " [\n" + "\n".join("  " + " ".join(f"{v:.7g}" for v in r) for r in a) + " ]"

    for g in model.gmms:
        inv = 1.0 / g.variances
        gconsts = (
            np.log(g.weights)
            - 0.5 * (g.means.shape[1] * LOG_2PI + np.log(g.variances).sum(1))
            - 0.5 * (g.means**2 * inv).sum(1)
        )
        lines.append(
            "<DiagGMM> \n<GCONSTS> " + vec(gconsts) + "\n<WEIGHTS> " + vec(g.weights)
            + "\n<MEANS_INVVARS> " + mat(g.means * inv) + "\n<INV_VARS> " + mat(inv)
            + "\n</DiagGMM> "
        )
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
