"""Benchmark: GMM alignment speed (frames/s) and HCLG build time on the synthetic setup.

Runs a short monophone training on ``nghf.gmm.synthetic`` data, then times Viterbi
alignment of the whole corpus and building HCLG from the toy lang dir, for the monophone
model and a triphone model from our tree. Prints a table; writes bench/results/bench_gmm.json.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from nghf.gmm.align import AlignConfig, tid_info
from nghf.gmm.estimate import UpdateConfig
from nghf.gmm.feats import FeatureConfig, load_features, split_utterances
from nghf.gmm.jobs import InProcessSchedule, align_job, train_in_process
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
from nghf.gmm.tri import init_tri
from nghf.graph.hclg import make_graph

FEATS = FeatureConfig(cmvn_scp="", delta_order=0)


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        corpus = make_corpus(root / "toy", num_utts=200, num_speakers=4, dim=13)
        lang = load_lang(corpus.lang)
        mono = init_mono(lang, (f for _, f in load_features(corpus.data, FEATS)))
        sched = InProcessSchedule(num_iters=4, tot_gauss=60, max_iter_inc=3, realign_iters=(1, 2, 3))
        mono, _, alis = train_in_process(mono, lang, corpus.data, FEATS, sched, AlignConfig(),
                                         UpdateConfig(), root / "mono")
        info = tid_info(mono)
        topo = mono.topology()
        pc = pdf_class_of_tid(info, {p: topo.topology_for_phone(p) for p in topo.phones})
        feats = dict(load_features(corpus.data, FEATS))
        stats = accumulate_tree_stats(((feats[u], a) for u, a in alis.items()), info, pc)
        cfg = TreeConfig(num_leaves=60, min_count=20)
        t = time.monotonic()
        tree = build_tree(stats, lang.roots, make_questions(stats, lang.sets, lang.extra_questions, cfg),
                          {p: 3 for p in topo.phones}, cfg)
        tree_s = time.monotonic() - t
        tri = init_tri(lang.topo_text, tree, stats)
        utts = split_utterances(corpus.data, 1, 1)
        for name, model in (("mono", mono), ("tri", tri)):
            t = time.monotonic()
            res = align_job(model, lang, corpus.data, FEATS, utts, AlignConfig())
            align_s = time.monotonic() - t
            frames = sum(len(a) for a in res.alignments.values())
            g = make_graph(model, lang, root / f"graph_{name}")
            rows.append({"model": name, "pdfs": model.num_pdfs, "frames": frames,
                         "align_frames_per_s": frames / align_s, "hclg_states": g.num_states,
                         "hclg_arcs": g.num_arcs, "hclg_build_s": g.seconds,
                         "tree_build_s": tree_s if name == "tri" else 0.0})
    print(f"{'model':6s} {'pdfs':>5s} {'frames':>7s} {'align fr/s':>11s} {'HCLG states':>12s} "
          f"{'arcs':>6s} {'HCLG s':>7s} {'tree s':>7s}")
    for r in rows:
        print(f"{r['model']:6s} {r['pdfs']:5d} {r['frames']:7d} {r['align_frames_per_s']:11.0f} "
              f"{r['hclg_states']:12d} {r['hclg_arcs']:6d} {r['hclg_build_s']:7.3f} {r['tree_build_s']:7.3f}")
    out = Path(__file__).resolve().parent / "results" / "bench_gmm.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
