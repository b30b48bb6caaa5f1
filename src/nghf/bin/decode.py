"""``nghf-decode``: decode one job's share of a data directory with an HCLG graph.

Usage::

    nghf-decode [options] <graph-dir> <data-dir> <loglik-source> <decode-dir>

``<loglik-source>`` is a Kaldi matrix archive/script of pdf log-likelihoods (``ark:x``,
``scp:x``, ``*.ark``, ``*.scp``: GMM systems) or a hybrid model file (``*.mdl``: the
log-likelihoods are computed in batches on ``--device`` from the data dir's features).
Writes ``tra.JOB``, ``lat.JOB.npz`` and ``stats.JOB.json`` in ``<decode-dir>``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nghf.decode.decoder import Decoder, DecoderConfig
from nghf.decode.graph import load_graph
from nghf.decode.job import data_utterances, decode_job, job_share
from nghf.decode.loglik import ark_logliks, model_logliks
from nghf.utils.config import dump_config, load_config
from nghf.utils.logging import get_logger, setup_logging


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nghf-decode", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("graph_dir")
    p.add_argument("data_dir")
    p.add_argument("loglik_source")
    p.add_argument("decode_dir")
    p.add_argument("--config", default=None, help="decoder YAML (conf/decode.yaml)")
    p.add_argument("--beam", type=float, default=None)
    p.add_argument("--lattice-beam", type=float, default=None)
    p.add_argument("--max-active", type=int, default=None)
    p.add_argument("--acwt", type=float, default=None, help="acoustic scale during search")
    p.add_argument("--lattices", choices=("true", "false"), default=None,
                   help="keep raw lattices for LM-weight sweeps (false: best path only, honours max-active)")
    p.add_argument("--tid2pdf", default=None, help="transition-id to pdf-id map (default <graph-dir>/tid2pdf[.npy])")
    p.add_argument("--num-pdfs", type=int, default=None, help="expected pdf columns (default: from tid2pdf)")
    p.add_argument("--nj", type=int, default=1)
    p.add_argument("--job", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--force", action="store_true", help="redo a finished job")
    p.add_argument("--log", default=None, help="also log to this file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log)
    log = get_logger("nghf.bin.decode")
    overrides = [f"{k}={v}" for k, v in (("beam", args.beam), ("lattice_beam", args.lattice_beam),
                                         ("max_active", args.max_active), ("acoustic_scale", args.acwt),
                                         ("lattices", args.lattices)) if v is not None]
    try:
        config = load_config(DecoderConfig, args.config, overrides)
        graph = load_graph(args.graph_dir, args.tid2pdf)
        utts = job_share(data_utterances(args.data_dir), args.nj, args.job)
        src = args.loglik_source
        if src.endswith(".mdl"):
            logliks = model_logliks(src, args.data_dir, utts, args.device, args.batch_size)
        else:
            logliks = ark_logliks(src, utts)
        dump_config(config, Path(args.decode_dir) / "decode_config.yaml")
        decode_job(Decoder(graph, config, args.num_pdfs), logliks, args.decode_dir, args.job, args.force)
    except (ValueError, OSError) as err:
        log.error("%s", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
