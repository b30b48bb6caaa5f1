"""``nghf-make-denlats``: denominator lattices for one job's share of a data directory.

Usage::

    nghf-make-denlats [options] <graph-dir> <data-dir> <loglik-source> <denlat-dir>

``<graph-dir>`` holds a weak-LM ``HCLG.fst``, ``words.txt`` and ``tid2pdf``;
``<loglik-source>`` is the cross-entropy model (``*.mdl``: log-likelihoods computed from the
data dir's features on ``--device``) or a Kaldi matrix archive/script of log-likelihoods.
Search and pruning options come from ``--config`` (``conf/denlats.yaml``), each overridden by
its option (``--beam``, ``--lattice-beam``, ``--acwt``, ...). Phones of lattice arcs come from the transition model (``--trans-model``, default
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
    p.add_argument("--config", default=None,
                   help="denominator-lattice YAML (conf/denlats.yaml; default: DenlatConfig's defaults, the same)")
    p.add_argument("--beam", type=float, default=None, help="decoding beam (default: the config's)")
    p.add_argument("--lattice-beam", type=float, default=None, help="the decoder's lattice beam (default: the config's)")
    p.add_argument("--acwt", type=float, default=None, help="acoustic scale (default: the config's)")
    p.add_argument("--prune-interval", type=int, default=None,
                   help="prune the lattice being built every this many frames (default: the config's)")
    p.add_argument("--min-posterior", type=float, default=None,
                   help="drop arcs with a lower posterior (default: the config's)")
    p.add_argument("--max-arcs-per-frame", type=int, default=None,
                   help="keep at most K arcs per frame, 0: all (default: the config's)")
    p.add_argument("--max-fail-share", type=float, default=None,
                   help="fail the job if a larger share of its utterances gets no lattice (default: the config's)")
    p.add_argument("--trans-model", default=None, help="GMM final.mdl with the transition model")
    p.add_argument("--tid2phone", default=None, help="'tid phone' lines instead of --trans-model")
    p.add_argument("--ali-dir", default=None, help="reference alignments: numerator coverage statistics")
    common.add_job_options(p)
    return p


# Command-line options that override one key of the config each (option dest -> config key).
OVERRIDES = {"beam": "beam", "lattice_beam": "lattice_beam", "acwt": "acoustic_scale",
             "prune_interval": "prune_interval", "min_posterior": "min_posterior",
             "max_arcs_per_frame": "max_arcs_per_frame", "max_fail_share": "max_fail_share"}


def denlat_config(args: argparse.Namespace):  # -> DenlatConfig
    """``--config`` (or the defaults) with the options given on the command line laid over it
    (values as parsed, so ``--min-posterior 1e-5`` stays the float it was)."""
    import dataclasses

    from nghf.decode.denlats import DenlatConfig
    from nghf.utils.config import load_config

    given = {key: getattr(args, dest) for dest, key in OVERRIDES.items() if getattr(args, dest) is not None}
    return dataclasses.replace(load_config(DenlatConfig, args.config), **given)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return common.run_job(args, "nghf.bin.make_denlats", lambda: _make_denlats(args))


def _make_denlats(args: argparse.Namespace) -> None:
    from nghf.decode.denlats import DenominatorGenerator, make_denlats_job
    from nghf.decode.graph import load_graph, read_tid2pdf
    from nghf.lattice.numerator import TransitionMaps, load_transition_maps, read_frame_alignments

    config = denlat_config(args)
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
