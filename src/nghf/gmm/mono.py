"""Monophone GMM-HMM: flat-start initialisation and the EM schedule (Kaldi's train_mono.sh).

``init_mono`` builds the monophone tree (phones of one ``sets.int`` line share pdfs, as
``gmm-init-mono --shared-phones``), the transition model and one Gaussian per pdf at the
global mean/variance. Training then alternates alignment (equal alignment first, Viterbi
re-alignment on the ``realign_iters``) with accumulation and ML update, splitting Gaussians
by a fixed increment per iteration until ``tot_gauss``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

from nghf._kaldi import kaldi_hmm_gmm
from nghf.gmm.estimate import init_gmms
from nghf.gmm.lang import Lang
from nghf.gmm.model import GmmHmm


@dataclasses.dataclass(frozen=True)
class MonoConfig:
    """``train_mono`` schedule (Kaldi defaults)."""

    num_iters: int = 40
    max_iter_inc: int = 30  # Gaussians are added until this iteration
    tot_gauss: int = 1000
    realign_iters: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 18, 20, 23, 26,
                                      29, 32, 35, 38)


def mono_tree(lang: Lang, topo: kaldi_hmm_gmm.HmmTopology) -> kaldi_hmm_gmm.ContextDependency:
    """The monophone tree: one pdf per pdf-class of each ``sets.int`` line."""
    sets = [list(s) for s in lang.sets] or [[p] for p in lang.real_phones]
    return kaldi_hmm_gmm.monophone_context_dependency_shared(sets, topo.get_phone_to_num_pdf_classes())


def init_mono(lang: Lang, feats: Iterable[np.ndarray]) -> GmmHmm:
    """Flat-start monophone model from the lang dir and a sample of features."""
    topo = lang.topology()
    tree = mono_tree(lang, topo)
    trans = kaldi_hmm_gmm.TransitionModel(tree, topo)
    return GmmHmm(lang.topo_text, tree, trans, init_gmms(trans.num_pdfs, feats))


def gauss_increment(cfg_tot: int, initial: int, max_iter_inc: int) -> int:
    """Gaussians added per iteration (Kaldi: (tot - initial) / max_iter_inc)."""
    return max(0, (cfg_tot - initial) // max(max_iter_inc, 1))
