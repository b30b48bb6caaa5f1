"""``nghf-queue``: run ``[JOB=1:N] log command...`` locally or on Slurm (Kaldi's run.pl/slurm.pl).

Examples::

    nghf-queue --backend local --max-jobs-run 2 JOB=1:4 exp/log/feats.JOB.log nghf-feats --job JOB
    nghf-queue --backend slurm --mem 4G --gpu 1 exp/log/train.log nghf-train ...

Exit status is 0 only if every job succeeded; failures are reported with each job's log.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from nghf.bin._cli_common import CliParser
from nghf.jobs.dispatch import (
    DispatchError,
    Resources,
    parse_job_args,
    report_failures,
    run_local,
    run_slurm,
)


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(
        prog="nghf-queue",
        description=__doc__,
        usage="nghf-queue [options] [JOB=1:N] <log-file> <command> [<args>...]",
    )
    parser.add_argument("--backend", choices=("local", "slurm"), default="local", help="where the jobs run: local processes or Slurm")
    parser.add_argument("--launcher", choices=("sbatch", "srun"), default="sbatch",
                        help="Slurm only: one sbatch --array --wait, or one srun per job")
    parser.add_argument("--max-jobs-run", type=int, default=0,
                        help="at most this many jobs at once (0: number of CPUs locally, unlimited on Slurm)")
    parser.add_argument("--mem", default=None, help="memory per job, e.g. 4G (Slurm)")
    parser.add_argument("--gpu", type=int, default=0, help="GPUs per job (Slurm: --gres=gpu:N)")
    parser.add_argument("--num-threads", type=int, default=1, help="CPUs per job (Slurm: --cpus-per-task; locally: OMP_NUM_THREADS of the job)")
    parser.add_argument("--time", default=None, help="time limit per job (Slurm: --time)")
    parser.add_argument("--partition", default=None, help="Slurm partition")
    parser.add_argument("--slurm-opts", default=os.environ.get("NGHF_SLURM_OPTS", ""),
                        help="extra sbatch/srun options, e.g. '--account=speech' (default: $NGHF_SLURM_OPTS)")
    parser.add_argument("job", nargs=argparse.REMAINDER, help="[JOB=1:N] <log-file> <command> ...")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        spec = parse_job_args(args.job)
    except DispatchError as err:
        parser.print_usage(sys.stderr)
        print(f"nghf-queue: error: {err}", file=sys.stderr)
        return 2
    resources = Resources(
        max_jobs_run=args.max_jobs_run, mem=args.mem, gpu=args.gpu, num_threads=args.num_threads,
        time=args.time, partition=args.partition, extra=tuple(shlex.split(args.slurm_opts)),
    )
    try:
        if args.backend == "local":
            results = run_local(spec, resources)
        else:
            results = run_slurm(spec, resources, args.launcher)
    except (RuntimeError, DispatchError, OSError) as err:
        print(f"nghf-queue: error: {err}", file=sys.stderr)
        return 1
    return 1 if report_failures(results) else 0


if __name__ == "__main__":
    sys.exit(main())
