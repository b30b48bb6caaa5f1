"""``nghf-lattice-stats``: summarise a denominator-lattice directory.

Reads the ``stats.JOB.json`` files that ``nghf-make-denlats`` wrote, prints the totals
(lattices, failures by utterance id, arcs per frame before and after pruning, frames per
second, numerator coverage, oracle WER of the lattices against the transcripts) and writes them to ``<denlat-dir>/stats.json``. With
``--max-fail-share`` (or ``--config conf/denlats.yaml``: its ``max_fail_share``) it exits non-zero
when more utterances than that share got no lattice.
With ``--check`` it also loads every stored lattice (a damaged archive is an error naming it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nghf.bin._cli_common import CliParser, report_error
from nghf.utils.logging import setup_logging


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="nghf-lattice-stats", description=__doc__)
    p.add_argument("denlat_dir", help="lattice directory (lat.*.npz and stats.*.json)")
    p.add_argument("--max-fail-share", type=float, default=None,
                   help="exit 1 if the share of utterances without a lattice is larger (default: --config's)")
    p.add_argument("--config", default=None,
                   help="denominator-lattice YAML (conf/denlats.yaml) whose max_fail_share applies")
    p.add_argument("--check", action="store_true", help="load every lattice of the store")
    args = p.parse_args(argv)
    setup_logging()
    from nghf.lattice.stats import read_job_stats, summarise_jobs
    from nghf.lattice.store import LatticeStore
    from nghf.utils.atomic import atomic_write_text

    try:
        if args.max_fail_share is None and args.config is not None:
            from nghf.decode.denlats import DenlatConfig
            from nghf.utils.config import load_config

            args.max_fail_share = load_config(DenlatConfig, args.config).max_fail_share
        summary = summarise_jobs(read_job_stats(args.denlat_dir))
        if args.check:
            store = LatticeStore(args.denlat_dir)
            for utt in store:
                store[utt]
            summary["checked_lattices"] = len(store)
        atomic_write_text(Path(args.denlat_dir) / "stats.json", json.dumps(summary, indent=1) + "\n")
    except (ValueError, OSError) as err:
        return report_error("nghf-lattice-stats", err)
    print(json.dumps({k: v for k, v in summary.items() if k != "failed_examples"}, indent=1))
    if summary["failed"]:
        for utt, reason in summary["failed_examples"].items():
            print(f"failed: {utt}: {reason}")
    if args.max_fail_share is not None and summary["failed_share"] > args.max_fail_share:
        return report_error("nghf-lattice-stats", (
            f"{args.denlat_dir}: {summary['failed']} of {summary['utterances']} utterances "
            f"({100 * summary['failed_share']:.1f}%) got no lattice, more than {100 * args.max_fail_share:.1f}%"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
