"""Shared bits of ``nghf-decode`` and ``nghf-make-denlats``: the job arguments, this job's
utterances and log-likelihoods, and logging with clean one-line errors."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from nghf.utils.logging import get_logger, setup_logging

if TYPE_CHECKING:
    import numpy as np


def add_positionals(p: argparse.ArgumentParser, out_dir: str) -> None:
    """``<graph-dir> <data-dir> <loglik-source> <out_dir>``."""
    p.add_argument("graph_dir")
    p.add_argument("data_dir")
    p.add_argument("loglik_source")
    p.add_argument(out_dir)


def add_job_options(p: argparse.ArgumentParser, batch_size_help: str | None = None) -> None:
    """``--nj --job --device --batch-size --force --log``."""
    p.add_argument("--nj", type=int, default=1)
    p.add_argument("--job", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=16, help=batch_size_help)
    p.add_argument("--force", action="store_true", help="redo a finished job")
    p.add_argument("--log", default=None, help="also log to this file")


def job_utterances(args: argparse.Namespace) -> list[str]:
    """This job's share (``--nj``, ``--job``) of the data directory's utterances."""
    from nghf.decode.job import data_utterances, job_share

    return job_share(data_utterances(args.data_dir), args.nj, args.job)


def job_logliks(args: argparse.Namespace, utts: Sequence[str]) -> Iterator[tuple[str, np.ndarray]]:
    """Log-likelihoods of ``utts`` from a model (``*.mdl``) or a Kaldi matrix archive/script."""
    from nghf.decode.loglik import ark_logliks, model_logliks

    src = args.loglik_source
    if src.endswith(".mdl"):
        return model_logliks(src, args.data_dir, utts, args.device, args.batch_size)
    return ark_logliks(src, utts)


def run_job(args: argparse.Namespace, logger: str, body: Callable[[], None]) -> int:
    """Set up logging (``--log``) and run ``body``; a ``ValueError``/``OSError`` is logged, exit 1."""
    setup_logging(args.log)
    log = get_logger(logger)
    try:
        body()
    except (ValueError, OSError) as err:
        log.error("%s", err)
        return 1
    return 0
