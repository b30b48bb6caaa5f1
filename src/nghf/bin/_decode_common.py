"""Shared bits of ``nghf-decode`` and ``nghf-make-denlats``: the job arguments, this job's
utterances and log-likelihoods, and logging with clean one-line errors."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from nghf.bin._cli_common import report_error
from nghf.utils.logging import setup_logging

if TYPE_CHECKING:
    import numpy as np


def add_positionals(p: argparse.ArgumentParser, out_dir: str) -> None:
    """``<graph-dir> <data-dir> <loglik-source> <out_dir>``."""
    p.add_argument("graph_dir", help="graph directory (HCLG.fst, words.txt, tid2pdf, num_pdfs)")
    p.add_argument("data_dir", help="Kaldi data directory whose utterances are processed")
    p.add_argument("loglik_source", help="hybrid model file (*.mdl), or a Kaldi archive/script of pdf log-likelihoods (GMM systems)")
    p.add_argument(out_dir, help="output directory (lattices, logs, stats)")


def add_job_options(p: argparse.ArgumentParser,
                    batch_size_help: str = "utterances per forward pass of the model") -> None:
    """``--nj --job --device --batch-size --force --log``."""
    p.add_argument("--nj", type=int, default=1, help="number of jobs the data is split into")
    p.add_argument("--job", type=int, default=1, help="this job's number (1-based)")
    p.add_argument("--device", default="cpu", help="torch device for the network's forward pass (cpu, cuda)")
    p.add_argument("--batch-size", type=int, default=16, help=batch_size_help)
    p.add_argument("--force", action="store_true", help="redo a finished job")
    p.add_argument("--log", default=None, help="also log to this file")


def job_utterances(args: argparse.Namespace) -> list[str]:
    """This job's share (``--nj``, ``--job``) of the data directory's utterances, dealt round
    robin in sorted order (:func:`nghf.data.split.job_utterances`)."""
    from pathlib import Path

    from nghf.data.split import job_utterances as split_job
    from nghf.data.text import read_utt2spk

    utt2spk = read_utt2spk(Path(args.data_dir) / "utt2spk")
    return split_job(utt2spk, args.nj, args.job, "round_robin", args.data_dir)


def job_logliks(args: argparse.Namespace, utts: Sequence[str]) -> Iterator[tuple[str, np.ndarray]]:
    """Log-likelihoods of ``utts`` from a model (``*.mdl``) or a Kaldi matrix archive/script."""
    from nghf.decode.loglik import ark_logliks, model_logliks

    src = args.loglik_source
    if src.endswith(".mdl"):
        return model_logliks(src, args.data_dir, utts, args.device, args.batch_size)
    return ark_logliks(src, utts)


def run_job(args: argparse.Namespace, logger: str, body: Callable[[], None]) -> int:
    """Set up logging (``--log``) and run ``body``; a ``ValueError``/``OSError`` becomes
    ``nghf-x: error: message`` (``x`` from the logger name ``nghf.bin.x``), exit 1."""
    setup_logging(args.log)
    try:
        body()
    except (ValueError, OSError) as err:
        return report_error(logger.replace("nghf.bin.", "nghf-").replace("_", "-"), err)
    return 0
