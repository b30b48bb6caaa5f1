"""``nghf-make-corpus``: build the embedded broadcast-style corpus (called by local/make_corpus.sh).

Steps (run in this order; ``render`` once per parallel job)::

    nghf-make-corpus prepare --config conf/corpus.yaml --size default OUT
    nghf-make-corpus render  --job JOB --nj 4 OUT
    nghf-make-corpus merge   OUT

``prepare`` takes the config (``--seed`` and ``--set key=value`` override it; ``--hours N`` sets
the training hours) and saves the resolved one as OUT/data/local/corpus_config.yaml, which
``render`` uses, so that every job renders with exactly the config the plan was made with.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nghf.bin._cli_common import CliParser, report_error
from nghf.corpus.config import CorpusConfig
from nghf.corpus.pipeline import merge, prepare, render
from nghf.utils.config import ConfigError, load_config
from nghf.utils.logging import setup_logging


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(prog="nghf-make-corpus", description=__doc__)
    sub = parser.add_subparsers(dest="step", required=True)
    for name, help_text in (("prepare", "text, speakers, plan, LM text"),
                            ("render", "synthesise one job's recordings"),
                            ("merge", "write the Kaldi data dirs and corpus_info.json")):
        p = sub.add_parser(name, help=help_text)
        if name == "prepare":
            p.add_argument("--config", default="conf/corpus.yaml", help="corpus YAML (CorpusConfig)")
            p.add_argument("--seed", type=int, default=None, help="override the config's seed")
            p.add_argument("--set", dest="overrides", action="append", default=[],
                           metavar="KEY=VALUE", help="config override, e.g. voices.espeak_max_share=0.3")
        if name == "prepare":
            p.add_argument("--size", choices=("tiny", "default"), default="default", help="corpus size: tiny (tests) or default (the recipe)")
            p.add_argument("--hours", type=float, default=None, help="training hours (overrides the size's)")
        if name == "render":
            p.add_argument("--job", type=int, required=True, help="this job's number, 1..nj")
            p.add_argument("--nj", type=int, required=True, help="number of render jobs")
        p.add_argument("--log", default=None, help="also log to this file")
        p.add_argument("out_dir", type=Path, help="corpus directory")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log)
    try:
        if args.step == "merge":
            merge(args.out_dir)
            return 0
        if args.step == "render":
            if not 1 <= args.job <= args.nj:
                raise ValueError(f"--job {args.job} is outside 1..{args.nj}")
            render(args.out_dir, args.job, args.nj)
            return 0
        overrides = list(args.overrides)
        if args.seed is not None:
            overrides.append(f"seed={args.seed}")
        config = load_config(CorpusConfig, args.config, overrides)
        if args.hours is not None and args.hours <= 0:
            raise ValueError(f"--hours must be positive, got {args.hours}")
        prepare(config, args.out_dir, args.size, args.hours)
    except (ConfigError, ValueError, FileNotFoundError, RuntimeError, OSError) as err:
        return report_error("nghf-make-corpus", err)
    return 0


if __name__ == "__main__":
    sys.exit(main())
