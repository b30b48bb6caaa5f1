"""HCLG from the toy lang dir and a triphone tree accepts the right transition-ids."""

from __future__ import annotations

import numpy as np
import pytest

from nghf._kaldi import kaldifst
from nghf.gmm.align import AlignConfig, GraphCompiler, equal_alignment, tid_info
from nghf.gmm.estimate import UpdateConfig
from nghf.gmm.feats import FeatureConfig, load_features
from nghf.gmm.jobs import InProcessSchedule, train_in_process
from nghf.gmm.lang import load_lang
from nghf.gmm.mono import init_mono
from nghf.gmm.synthetic import make_corpus
from nghf.gmm.tree import (
    TreeConfig,
    accumulate_tree_stats,
    build_tree,
    make_questions,
    pdf_class_of_tid,
)
from nghf.gmm.tri import AlignmentConverter, init_tri
from nghf.graph.hclg import make_graph, output_words

FEATS = FeatureConfig(cmvn_scp="", delta_order=0)


@pytest.fixture(scope="module")
def tri(tmp_path_factory):
    root = tmp_path_factory.mktemp("tri")
    corpus = make_corpus(root / "toy", num_utts=18)
    lang = load_lang(corpus.lang)
    mono = init_mono(lang, (f for _, f in load_features(corpus.data, FEATS)))
    sched = InProcessSchedule(num_iters=5, tot_gauss=15, max_iter_inc=1, realign_iters=(1, 2, 3))
    upd = UpdateConfig(min_gaussian_occupancy=3, split_min_count=5)
    mono, _, alis = train_in_process(mono, lang, corpus.data, FEATS, sched, AlignConfig(), upd,
                                     root / "mono")
    info = tid_info(mono)
    topo = mono.topology()
    pc = pdf_class_of_tid(info, {p: topo.topology_for_phone(p) for p in topo.phones})
    feats = dict(load_features(corpus.data, FEATS))
    stats = accumulate_tree_stats(((feats[u], a) for u, a in alis.items()), info, pc)
    cfg = TreeConfig(num_leaves=25, min_count=10)
    tree = build_tree(stats, lang.roots, make_questions(stats, lang.sets, lang.extra_questions, cfg),
                      {p: 3 for p in topo.phones}, cfg)
    model = init_tri(lang.topo_text, tree, stats)
    conv = AlignmentConverter(mono, model)
    tri_alis = {u: conv.convert(a) for u, a in alis.items()}
    return corpus, lang, mono, model, tree, alis, tri_alis, root


def test_tree_has_context_and_converted_alignments_keep_phones(tri):
    _, _, mono, model, tree, alis, tri_alis, _ = tri
    assert model.tree.context_width == 3 and model.num_pdfs == tree.num_leaves > 15
    old, new = tid_info(mono), tid_info(model)
    for u in alis:
        assert np.array_equal(old.phone[alis[u]], new.phone[tri_alis[u]])
        assert np.array_equal(old.hmm_state[alis[u]], new.hmm_state[tri_alis[u]])


def test_hclg_accepts_expected_transition_ids(tri):
    corpus, lang, _, model, _, _, tri_alis, root = tri
    info = make_graph(model, lang, root / "graph")
    assert info.num_states > 0
    hclg = kaldifst.StdVectorFst.read(str(root / "graph" / "HCLG.fst"))
    words = lang.words
    for utt, ref in list(corpus.utt_words.items())[:6]:
        assert output_words(hclg, tri_alis[utt]) == [words[w] for w in ref], utt
    # a path of the training graph for a known word string is accepted with those words
    compiler = GraphCompiler(model, lang, AlignConfig())
    ids = [words["cad"], words["ab"]]
    path = equal_alignment(compiler.compile(ids), 40)
    assert path is not None and output_words(hclg, path) == ids
    # an utterance cut short is not a complete path
    first = next(iter(tri_alis.values()))
    assert output_words(hclg, first[: len(first) // 2]) is None
    tid2pdf = dict(line.split() for line in (root / "graph" / "tid2pdf").read_text().splitlines())
    assert len(tid2pdf) == model.trans.num_transition_ids
    assert int((root / "graph" / "num_pdfs").read_text()) == model.num_pdfs


def test_weak_lm_variant(tri):
    """A graph built with another G (here one that only allows repetitions of "ab") accepts
    exactly that language: in-language paths give their words, every corpus utterance (each
    holds another word) and an out-of-language path are rejected."""
    corpus, lang, _, model, _, _, tri_alis, root = tri
    g = kaldifst.compile(f"0 0 {lang.words['ab']} {lang.words['ab']}\n0\n")
    g.write(str(root / "G_ab.fst"))
    make_graph(model, lang, root / "graph_ab", root / "G_ab.fst")
    hclg = kaldifst.StdVectorFst.read(str(root / "graph_ab" / "HCLG.fst"))
    compiler = GraphCompiler(model, lang, AlignConfig())
    ab = lang.words["ab"]
    for ids, frames in (([ab], 20), ([ab, ab], 40), ([ab, ab, ab], 60)):  # in the language
        path = equal_alignment(compiler.compile(ids), frames)
        assert path is not None and output_words(hclg, path) == ids, ids
    outside = equal_alignment(compiler.compile([lang.words["cad"], ab]), 40)
    assert outside is not None and output_words(hclg, outside) is None
    rejected = 0
    for utt, ref in corpus.utt_words.items():
        out = output_words(hclg, tri_alis[utt])
        assert (out is not None) == all(w == "ab" for w in ref), utt
        rejected += out is None
    assert rejected > 0
