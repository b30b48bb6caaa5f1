"""``nghf-make-denlats``: denominator lattices for one job's share of a data directory.

Usage::

    nghf-make-denlats [options] <graph-dir> <data-dir> <loglik-source> <denlat-dir>

``<graph-dir>`` holds a weak-LM ``HCLG.fst``, ``words.txt`` and ``tid2pdf``;
``<loglik-source>`` is the cross-entropy model (``*.mdl``: log-likelihoods computed from the
data dir's features on ``--device``) or a Kaldi matrix archive/script of log-likelihoods.
Phones of lattice arcs come from the transition model (``--trans-model``, default
``<graph-dir>/../final.mdl``) or a ``--tid2phone`` map. Writes ``lat.JOB.npz``,
``lat.JOB.gz`` (Kaldi lattice archive), ``stats.JOB.json`` and ``failed.JOB`` in
``<denlat-dir>`` (see ``nghf.decode.denlats``); with a ``text`` file in the data dir the job statistics include the lattices' oracle WER.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nghf.bin import _decode_common as common
from nghf.bin._cli_common import CliParser


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(prog="nghf-make-denlats", description=__doc__)
    common.add_positionals(p, "denlat_dir")
    p.add_argument("--beam", type=float, default=10.0, help="decoding beam")
    p.add_argument("--lattice-beam", type=float, default=7.0, help="the decoder's lattice beam")
    p.add_argument("--acwt", type=float, default=0.1, help="acoustic scale")
    p.add_argument("--prune-interval", type=int, default=25, help="prune the lattice being built every this many frames")
    p.add_argument("--min-posterior", type=float, default=1e-5, help="drop arcs with a lower posterior")
    p.add_argument("--max-arcs-per-frame", type=int, default=0, help="keep at most K arcs per frame (0: all)")
    p.add_argument("--max-fail-share", type=float, default=0.05,
                   help="fail the job if a larger share of its utterances gets no lattice")
    p.add_argument("--trans-model", default=None, help="GMM final.mdl with the transition model")
    p.add_argument("--tid2phone", default=None, help="'tid phone' lines instead of --trans-model")
    p.add_argument("--ali-dir", default=None, help="reference alignments: numerator coverage statistics")
    common.add_job_options(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return common.run_job(args, "nghf.bin.make_denlats", lambda: _make_denlats(args))


def _make_denlats(args: argparse.Namespace) -> None:
    from nghf.decode.denlats import DenlatConfig, DenominatorGenerator, make_denlats_job
    from nghf.decode.graph import load_graph, read_tid2pdf
    from nghf.lattice.numerator import TransitionMaps, load_transition_maps, read_frame_alignments

    config = DenlatConfig(beam=args.beam, lattice_beam=args.lattice_beam, acoustic_scale=args.acwt,
                          prune_interval=args.prune_interval, min_posterior=args.min_posterior,
                          max_arcs_per_frame=args.max_arcs_per_frame, max_fail_share=args.max_fail_share)
    graph = load_graph(args.graph_dir)
    if args.tid2phone:
        phones = read_tid2pdf(args.tid2phone)
        pdfs = graph.tid2pdf.copy()
        pdfs[0], phones[0] = 0, 0
        maps = TransitionMaps(pdfs, phones)
    else:
        trans = Path(args.trans_model) if args.trans_model else Path(args.graph_dir).resolve().parent / "final.mdl"
        if not trans.is_file():
            raise FileNotFoundError(f"{trans}: no transition model (give --trans-model or --tid2phone)")
        maps = load_transition_maps(trans)
    utts = common.job_utterances(args)
    subsampling = 1
    num_pdfs = None
    if args.loglik_source.endswith(".mdl"):
        from nghf.models.io import load_model

        loaded = load_model(args.loglik_source, "cpu")
        subsampling = loaded.model.subsampling
        num_pdfs = loaded.model.num_pdfs
    logliks = common.job_logliks(args, utts)
    references = None
    if args.ali_dir:
        alis = read_frame_alignments(args.ali_dir, args.trans_model)
        references = {u: alis[u].pdf[::subsampling] for u in utts if u in alis}
    ref_words = None
    text = Path(args.data_dir) / "text"
    if text.is_file():
        from nghf.data.text import read_text
        from nghf.lattice.stats import reference_word_ids

        ref_words = reference_word_ids(read_text(text), graph.id2word, utts)
    generator = DenominatorGenerator(graph, maps, config, num_pdfs)
    make_denlats_job(generator, logliks, args.denlat_dir, args.job, references, args.force, ref_words=ref_words)


if __name__ == "__main__":
    sys.exit(main())
