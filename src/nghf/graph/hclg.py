"""HCLG decoding graphs with the Kaldi bindings (Kaldi's ``mkgraph.sh`` recipe).

LG = min(det(L_disambig o G)); CLG = C o LG with the context FST generated on the fly from
the tree's context width and central position; H from the tree and transition model
(transition-scale 1.0 on non-self-loop arcs); HCLGa = min(rmeps(rmsymbols(det(H o CLG))))
with the transition-id disambiguation symbols removed; HCLG = HCLGa with self-loops added
(self-loop-scale 0.1, reordered) -- Kaldi's default scales. Determinisation uses
``determinize_star`` (epsilon-removing, tropical semiring as in Kaldi's fstdeterminizestar).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import numpy as np

from nghf._kaldi import kaldi_hmm_gmm, kaldifst
from nghf.gmm.lang import Lang
from nghf.gmm.model import GmmHmm
from nghf.lang.fst import read_fst
from nghf.utils.atomic import atomic_path, atomic_write_text
from nghf.utils.logging import get_logger

log = get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class GraphConfig:
    transition_scale: float = 1.0
    self_loop_scale: float = 0.1


@dataclasses.dataclass(frozen=True)
class GraphInfo:
    num_states: int
    num_arcs: int
    seconds: float


def num_arcs(fst: kaldifst.StdVectorFst) -> int:
    return sum(fst.num_arcs(s) for s in range(fst.num_states))


def relabel_input(fst: kaldifst.StdVectorFst, drop: set[int]) -> kaldifst.StdVectorFst:
    """A copy of ``fst`` with the input labels in ``drop`` replaced by epsilon (fstrmsymbols)."""
    out = kaldifst.StdVectorFst()
    for _ in range(fst.num_states):
        out.add_state()
    out.start = fst.start
    for s in range(fst.num_states):
        final = fst.final(s)
        if final != kaldifst.TropicalWeight.zero:
            out.set_final(s, final)
        for arc in kaldifst.ArcIterator(fst, s):
            il = 0 if arc.ilabel in drop else arc.ilabel
            out.add_arc(s, kaldifst.StdArc(il, arc.olabel, arc.weight, arc.nextstate))
    return out


def build_hclg(model: GmmHmm, lang: Lang, grammar: kaldifst.StdVectorFst,
               cfg: GraphConfig) -> tuple[kaldifst.StdVectorFst, GraphInfo]:
    """HCLG for ``model`` with lexicon ``lang`` and grammar ``grammar`` (see module doc)."""
    start = time.monotonic()
    lex = lang.lexicon_fst(disambig=True)
    kaldifst.arcsort(grammar, sort_type="ilabel")
    lg = _to_vector(kaldifst.compose(lex, grammar))
    kaldifst.determinize_star(lg)
    kaldifst.minimize_encoded(lg)
    kaldifst.arcsort(lg, sort_type="ilabel")
    tree = model.tree
    clg, ilabels = kaldifst.compose_context(list(lang.disambig), tree.context_width,
                                            tree.central_position, lg)
    kaldifst.arcsort(clg, sort_type="ilabel")
    h, disambig_tids = kaldi_hmm_gmm.get_h_transducer(
        ilabels, tree, model.trans, kaldi_hmm_gmm.HTransducerConfig(transition_scale=cfg.transition_scale)
    )
    kaldifst.arcsort(h, sort_type="olabel")
    hclga = _to_vector(kaldifst.compose(h, clg))
    kaldifst.determinize_star(hclga)
    hclga = relabel_input(hclga, set(disambig_tids))
    kaldifst.rmepsilon(hclga)
    kaldifst.minimize_encoded(hclga)
    hclg = kaldi_hmm_gmm.add_self_loops(self_loop_scale=cfg.self_loop_scale, disambig_syms=[],
                                        reorder=True, trans_model=model.trans, ifst=hclga)
    kaldifst.arcsort(hclg, sort_type="ilabel")
    info = GraphInfo(hclg.num_states, num_arcs(hclg), time.monotonic() - start)
    log.info("HCLG: %d states, %d arcs, built in %.2f s", info.num_states, info.num_arcs, info.seconds)
    return hclg, info


def _to_vector(fst) -> kaldifst.StdVectorFst:
    return fst if isinstance(fst, kaldifst.StdVectorFst) else kaldifst.StdVectorFst(fst)


def write_tid2pdf(model: GmmHmm, out_dir: Path) -> None:
    """``num_pdfs`` and ``tid2pdf`` (one ``tid pdf`` line per transition-id from 1)."""
    tid2pdf = model.tid2pdf()
    atomic_write_text(out_dir / "num_pdfs", f"{model.num_pdfs}\n")
    atomic_write_text(out_dir / "tid2pdf", "".join(f"{t} {tid2pdf[t]}\n" for t in range(1, len(tid2pdf))))


def make_graph(model: GmmHmm, lang: Lang, out_dir: str | Path, grammar_path: str | Path | None = None,
               cfg: GraphConfig | None = None) -> GraphInfo:
    """Write ``HCLG.fst``, ``words.txt``, ``phones.txt``, ``phones/word_boundary.int``,
    ``num_pdfs`` and ``tid2pdf`` to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    grammar = read_fst(grammar_path if grammar_path is not None else lang.path / "G.fst")
    hclg, info = build_hclg(model, lang, grammar, cfg or GraphConfig())
    with atomic_path(out / "HCLG.fst") as tmp:
        hclg.write(str(tmp))
    for name in ("words.txt", "phones.txt"):
        shutil.copyfile(lang.path / name, out / name)
    wb = lang.path / "phones" / "word_boundary.int"
    if wb.exists():
        (out / "phones").mkdir(exist_ok=True)
        shutil.copyfile(wb, out / "phones" / "word_boundary.int")
    write_tid2pdf(model, out)
    atomic_write_text(out / "graph_info.txt",
                      f"states {info.num_states}\narcs {info.num_arcs}\nseconds {info.seconds:.3f}\n")
    return info


def output_words(hclg: kaldifst.StdVectorFst, tids: np.ndarray | list[int]) -> list[int] | None:
    """Best word sequence HCLG outputs for an input transition-id sequence (None if HCLG
    rejects it): compose the linear acceptor of ``tids`` with HCLG, take the best path."""
    acc = kaldifst.make_linear_acceptor([int(t) for t in tids])
    kaldifst.arcsort(hclg, sort_type="ilabel")
    composed = _to_vector(kaldifst.compose(acc, hclg))
    if composed.num_states == 0:
        return None
    best = kaldifst.shortest_path(composed)
    ok, _, words, _ = kaldifst.get_linear_symbol_sequence(best)
    return list(words) if ok else None
