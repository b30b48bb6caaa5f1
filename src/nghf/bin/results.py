"""``nghf-results``: render ``RESULTS.md`` and the training-curve plots from ``exp/results.jsonl``.

Usage::

    nghf-results --results exp/results.jsonl --out RESULTS.md --plots-dir exp/plots
    nghf-results --expected-systems conf/paper_systems.yaml ...   # rows of "–" for systems not run yet
    nghf-results --results exp/results.jsonl --archive-to docs/results/default   # keep a finished run

With ``--expected-systems`` a missing results file is an empty one: the table is then the
skeleton of the experiment.

Every WER gets a confidence interval (bootstrap over speakers) and every system with a CE
system of the same model a matched-pair test against it (MAPSSWE with SCTK's sc_stats, else
a paired speaker bootstrap), from the per-utterance scores the records name; the numbers also
go to significance.json beside --out (nghf.score.significance). With --train-data (the
training data dir) a second table gives them per condition: the utterances by seen voices
(speakers of the training data) and by unseen voices.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nghf.bin._cli_common import CliParser, report_error
from nghf.score.archive import archive_run
from nghf.score.expected import load_expected_systems
from nghf.score.results import write_results
from nghf.score.results_log import read_records
from nghf.score.significance import BootstrapConfig, SignificanceConfig
from nghf.utils.logging import get_logger, setup_logging


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="nghf-results", description=__doc__)
    p.add_argument("--results", default="exp/results.jsonl", help="results file the table is made from")
    p.add_argument("--out", default="RESULTS.md", help="output Markdown table")
    p.add_argument("--plots-dir", default="exp/plots", help="'' to skip the plots")
    p.add_argument("--dev-name", default="dev", help="name of the development set in the records")
    p.add_argument("--eval-name", default="eval", help="name of the evaluation set in the records")
    p.add_argument("--expected-systems", default="",
                   help="YAML of the systems the table must list (nghf.score.expected); unscored ones show '–'")
    p.add_argument("--base-dir", default=None,
                   help="directory the records' relative train_log and utt_scores paths are relative to (default: here)")
    p.add_argument("--archive-to", default="",
                   help="copy the run's results, training logs, metas, best WERs, stage and part times and "
                        "denlat statistics here (relative paths kept) and render RESULTS.md and plots there "
                        "(with --expected-systems: its rows, and the file kept)")
    p.add_argument("--bootstrap-replicates", type=int, default=BootstrapConfig.replicates,
                   help="replicates of the speaker-block bootstrap (confidence intervals, paired test)")
    p.add_argument("--seed", type=int, default=BootstrapConfig.seed,
                   help="seed of the bootstrap's random generator (same seed, same intervals)")
    p.add_argument("--train-data", default="",
                   help="training data dir (its utt2spk or spk2utt): also give WERs, intervals and tests on the "
                        "utterances by seen voices (speakers of it) and by unseen voices; '' for no breakdown "
                        "(with --archive-to its spk2utt is archived too)")
    args = p.parse_args(argv)
    setup_logging()
    log = get_logger("nghf.bin.results")
    try:
        significance = SignificanceConfig(BootstrapConfig(args.bootstrap_replicates, args.seed))
        if args.archive_to:
            files = archive_run(args.results, args.archive_to, ".", args.dev_name, args.eval_name,
                                significance, args.train_data or None, args.expected_systems or None)
            log.info("archived %d files in %s", len(files), args.archive_to)
            return 0
        expected = load_expected_systems(args.expected_systems) if args.expected_systems else []
        records = read_records(args.results) if not expected or Path(args.results).exists() else []
        plots = write_results(records, args.out, args.plots_dir or None, args.results, args.dev_name,
                              args.eval_name, expected, args.base_dir, significance, args.train_data or None)
    except (ValueError, OSError) as err:  # ArchiveError, TrainLogError ... are ValueErrors
        return report_error("nghf-results", err)
    log.info("wrote %s and %d plots", args.out, len(plots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
