"""``nghf-results``: render ``RESULTS.md`` and the training-curve plots from ``exp/results.jsonl``.

Usage::

    nghf-results --results exp/results.jsonl --out RESULTS.md --plots-dir exp/plots
"""

from __future__ import annotations

import argparse
import sys

from nghf.score.results import write_results
from nghf.score.results_log import read_records
from nghf.utils.logging import get_logger, setup_logging


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="nghf-results", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", default="exp/results.jsonl")
    p.add_argument("--out", default="RESULTS.md")
    p.add_argument("--plots-dir", default="exp/plots", help="'' to skip the plots")
    p.add_argument("--dev-name", default="dev")
    p.add_argument("--eval-name", default="eval")
    args = p.parse_args(argv)
    setup_logging()
    log = get_logger("nghf.bin.results")
    try:
        records = read_records(args.results)
        plots = write_results(records, args.out, args.plots_dir or None, args.results, args.dev_name, args.eval_name)
    except (ValueError, OSError) as err:
        log.error("%s", err)
        return 1
    log.info("wrote %s and %d plots", args.out, len(plots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
