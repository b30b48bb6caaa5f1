"""``nghf-make-denlats``: denominator lattices for one job's share of a data directory.

Usage::

    nghf-make-denlats [options] <graph-dir> <data-dir> <loglik-source> <denlat-dir>

``<graph-dir>`` holds a weak-LM ``HCLG.fst``, ``words.txt`` and ``tid2pdf``;
``<loglik-source>`` is the cross-entropy model (``*.mdl``: log-likelihoods computed from the
data dir's features on ``--device``) or a Kaldi matrix archive/script of log-likelihoods.
Phones of lattice arcs come from the transition model (``--trans-model``, default
``<graph-dir>/../final.mdl``) or a ``--tid2phone`` map. Writes ``lat.JOB.npz``,
``stats.JOB.json`` and ``failed.JOB`` in ``<denlat-dir>`` (see ``nghf.lattice.generate``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nghf.utils.logging import get_logger, setup_logging


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nghf-make-denlats", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("graph_dir")
    p.add_argument("data_dir")
    p.add_argument("loglik_source")
    p.add_argument("denlat_dir")
    p.add_argument("--beam", type=float, default=13.0, help="decoding beam")
    p.add_argument("--lattice-beam", type=float, default=7.0, help="the decoder's lattice beam")
    p.add_argument("--acwt", type=float, default=0.1, help="acoustic scale")
    p.add_argument("--prune-interval", type=int, default=25)
    p.add_argument("--min-posterior", type=float, default=1e-5, help="drop arcs with a lower posterior")
    p.add_argument("--max-arcs-per-frame", type=int, default=0, help="keep at most K arcs per frame (0: all)")
    p.add_argument("--max-fail-share", type=float, default=0.05,
                   help="fail the job if a larger share of its utterances gets no lattice")
    p.add_argument("--trans-model", default=None, help="GMM final.mdl with the transition model")
    p.add_argument("--tid2phone", default=None, help="'tid phone' lines instead of --trans-model")
    p.add_argument("--ali-dir", default=None, help="reference alignments: numerator coverage statistics")
    p.add_argument("--nj", type=int, default=1)
    p.add_argument("--job", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=16, help="utterances per forward pass of the model")
    p.add_argument("--force", action="store_true", help="redo a finished job")
    p.add_argument("--log", default=None, help="also log to this file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log)
    log = get_logger("nghf.bin.make_denlats")
    from nghf.decode.graph import load_graph, read_tid2pdf
    from nghf.decode.job import data_utterances, job_share
    from nghf.decode.loglik import ark_logliks, model_logliks
    from nghf.lattice.generate import DenlatConfig, DenominatorGenerator, make_denlats_job
    from nghf.lattice.numerator import TransitionMaps, load_transition_maps, read_frame_alignments

    try:
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
        utts = job_share(data_utterances(args.data_dir), args.nj, args.job)
        src = args.loglik_source
        subsampling = 1
        if src.endswith(".mdl"):
            from nghf.models.io import load_model

            loaded = load_model(src, "cpu")
            subsampling = loaded.model.subsampling
            num_pdfs = loaded.model.num_pdfs
            logliks = model_logliks(src, args.data_dir, utts, args.device, args.batch_size)
        else:
            num_pdfs = None
            logliks = ark_logliks(src, utts)
        references = None
        if args.ali_dir:
            alis = read_frame_alignments(args.ali_dir, args.trans_model)
            references = {u: alis[u].pdf[::subsampling] for u in utts if u in alis}
        generator = DenominatorGenerator(graph, maps, config, num_pdfs)
        make_denlats_job(generator, logliks, args.denlat_dir, args.job, references, args.force)
    except (ValueError, OSError) as err:
        log.error("%s", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
