"""``nghf-decode``: decode one job's share of a data directory with an HCLG graph.

Usage::

    nghf-decode [options] <graph-dir> <data-dir> <loglik-source> <decode-dir>

``<loglik-source>`` is a Kaldi matrix archive/script of pdf log-likelihoods (``ark:x``,
``scp:x``, ``*.ark``, ``*.scp``: GMM systems) or a hybrid model file (``*.mdl``: the
log-likelihoods are computed in batches on ``--device`` from the data dir's features).
Writes ``tra.JOB``, ``lat.JOB.npz``, ``lat.JOB.gz`` (Kaldi lattice archive) and ``stats.JOB.json``
in ``<decode-dir>``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nghf.bin import _decode_common as common
from nghf.bin._cli_common import CliParser
from nghf.decode.decoder import Decoder, DecoderConfig
from nghf.decode.graph import load_graph
from nghf.decode.job import decode_job
from nghf.utils.config import dump_config, load_config


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(prog="nghf-decode", description=__doc__)
    common.add_positionals(p, "decode_dir")
    p.add_argument("--config", default=None, help="decoder YAML (conf/decode.yaml)")
    p.add_argument("--beam", type=float, default=None, help="decoding beam (default: the decode config's)")
    p.add_argument("--lattice-beam", type=float, default=None, help="lattice pruning beam (default: the decode config's)")
    p.add_argument("--max-active", type=int, default=None, help="most active states per frame (default: the decode config's)")
    p.add_argument("--acwt", type=float, default=None, help="acoustic scale during search")
    p.add_argument("--lattices", choices=("true", "false"), default=None,
                   help="keep raw lattices for LM-weight sweeps (false: best path only, honours max-active)")
    p.add_argument("--tid2pdf", default=None, help="transition-id to pdf-id map (default <graph-dir>/tid2pdf[.npy])")
    p.add_argument("--num-pdfs", type=int, default=None, help="expected pdf columns (default: from tid2pdf)")
    common.add_job_options(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = [f"{k}={v}" for k, v in (("beam", args.beam), ("lattice_beam", args.lattice_beam),
                                         ("max_active", args.max_active), ("acoustic_scale", args.acwt),
                                         ("lattices", args.lattices)) if v is not None]

    def body() -> None:
        config = load_config(DecoderConfig, args.config, overrides)
        graph = load_graph(args.graph_dir, args.tid2pdf)
        logliks = common.job_logliks(args, common.job_utterances(args))
        dump_config(config, Path(args.decode_dir) / "decode_config.yaml")
        decode_job(Decoder(graph, config, args.num_pdfs), logliks, args.decode_dir, args.job, args.force)

    return common.run_job(args, "nghf.bin.decode", body)


if __name__ == "__main__":
    sys.exit(main())
