"""``nghf-lattice-stats``: summarise a denominator-lattice directory.

Reads the ``stats.JOB.json`` files that ``nghf-make-denlats`` wrote, prints the totals
(lattices, failures by utterance id, arcs per frame before and after pruning, frames per
second, numerator coverage, oracle WER of the lattices against the transcripts) and writes them to ``<denlat-dir>/stats.json``. With
``--max-fail-share`` it exits non-zero when more utterances than that share got no lattice.
With ``--check`` it also loads every stored lattice (a damaged archive is an error naming it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nghf.utils.logging import get_logger, setup_logging


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="nghf-lattice-stats", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("denlat_dir")
    p.add_argument("--max-fail-share", type=float, default=None,
                   help="exit 1 if the share of utterances without a lattice is larger")
    p.add_argument("--check", action="store_true", help="load every lattice of the store")
    args = p.parse_args(argv)
    setup_logging()
    log = get_logger("nghf.bin.lattice_stats")
    from nghf.lattice.stats import read_job_stats, summarise_jobs
    from nghf.lattice.store import LatticeStore
    from nghf.utils.atomic import atomic_write_text

    try:
        summary = summarise_jobs(read_job_stats(args.denlat_dir))
        if args.check:
            store = LatticeStore(args.denlat_dir)
            for utt in store:
                store[utt]
            summary["checked_lattices"] = len(store)
        atomic_write_text(Path(args.denlat_dir) / "stats.json", json.dumps(summary, indent=1) + "\n")
    except (ValueError, OSError) as err:
        log.error("%s", err)
        return 1
    print(json.dumps({k: v for k, v in summary.items() if k != "failed_examples"}, indent=1))
    if summary["failed"]:
        for utt, reason in summary["failed_examples"].items():
            print(f"failed: {utt}: {reason}")
    if args.max_fail_share is not None and summary["failed_share"] > args.max_fail_share:
        log.error("%s: %d of %d utterances (%.1f%%) got no lattice, more than %.1f%%", args.denlat_dir,
                  summary["failed"], summary["utterances"], 100 * summary["failed_share"], 100 * args.max_fail_share)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
