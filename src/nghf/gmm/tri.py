"""Triphone models: initialisation from the tree's leaf statistics, alignment conversion.

``init_tri`` is Kaldi's ``gmm-init-model``: a transition model for the new tree and one
Gaussian per leaf from the summed statistics of the leaf's contexts. ``convert_alignment``
is ``convert-ali``: each phone of an old alignment keeps its frames and HMM-state path, and
its transition-ids are re-expressed in the new model using the new tree's pdf-ids for the
phone's actual left/right context.
"""

from __future__ import annotations

import numpy as np

from nghf._kaldi import kaldi_hmm_gmm
from nghf.gmm.align import TidInfo, split_phones, tid_info
from nghf.gmm.model import DiagGaussians, GmmHmm
from nghf.gmm.tree import DecisionTree, TreeStats, leaf_stats, to_kaldi
from nghf.utils.logging import get_logger

_LOG = get_logger(__name__)


def init_tri(topo_text: str, tree: DecisionTree, stats: TreeStats, min_variance: float = 1e-3
             ) -> GmmHmm:
    """Triphone model: Kaldi tree + transition model + one Gaussian per leaf."""
    topo = kaldi_hmm_gmm.HmmTopology()
    topo.read(topo_text)
    ktree = to_kaldi(tree)
    trans = kaldi_hmm_gmm.TransitionModel(ktree, topo)
    if trans.num_pdfs != tree.num_leaves:
        raise ValueError(f"transition model has {trans.num_pdfs} pdfs, tree {tree.num_leaves}")
    n, s, ss = leaf_stats(tree, stats)
    total_n, total_s, total_ss = n.sum(), s.sum(axis=0), ss.sum(axis=0)
    if total_n <= 0:
        raise ValueError("the tree statistics are empty: no aligned frames")
    gmms = []
    empty = []
    for p in range(tree.num_leaves):
        # A leaf of a phone never seen in training (every root is a leaf at least) gets the
        # global statistics, as Kaldi's gmm-init-model does, so it can still be trained later.
        cn, cs, css = (n[p], s[p], ss[p]) if n[p] > 0 else (total_n, total_s, total_ss)
        if n[p] <= 0:
            empty.append(p)
        mean = cs / cn
        var = np.maximum(css / cn - mean**2, min_variance)
        gmms.append(DiagGaussians(np.ones(1), mean[None, :], var[None, :]))
    if empty:
        _LOG.warning("%d of %d leaves have no statistics (unseen phones); initialised from global "
                     "statistics: %s", len(empty), tree.num_leaves, empty[:20])
    return GmmHmm(topo_text, ktree, trans, gmms)


class AlignmentConverter:
    """Re-expresses alignments of one model in another with the same topology."""

    def __init__(self, old: GmmHmm, new: GmmHmm) -> None:
        self.old_info: TidInfo = tid_info(old)
        self.new = new
        topo = new.topology()
        self.states = {p: topo.topology_for_phone(p) for p in topo.phones}
        tuples = [t.__getstate__() for t in new.trans.tuples]
        self.state_of = {tuple(t): i + 1 for i, t in enumerate(tuples)}
        self.state2id = new.trans.state2id

    def convert(self, tids: np.ndarray) -> np.ndarray:
        info = self.old_info
        segs = split_phones(tids, info)
        phones = [p for p, _ in segs]
        out = np.empty(len(tids), dtype=np.int32)
        t = 0
        for i, (phone, seg) in enumerate(segs):
            context = [phones[i - 1] if i > 0 else 0, phone, phones[i + 1] if i + 1 < len(phones) else 0]
            for tid in seg:
                hs = int(info.hmm_state[tid])
                st = self.states[phone][hs]
                fpdf = self._pdf(context, st.forward_pdf_class)
                spdf = self._pdf(context, st.self_loop_pdf_class)
                ts = self.state_of[(phone, hs, fpdf, spdf)]
                out[t] = self.state2id[ts] + int(info.trans_index[tid])
                t += 1
        return out

    def _pdf(self, context: list[int], pdf_class: int) -> int:
        ok, pdf = self.new.tree.compute(context, pdf_class)
        if not ok:
            raise ValueError(f"tree has no pdf for context {context} pdf-class {pdf_class}")
        return pdf
