"""nghf-dist-launch: run a command as N torch.distributed ranks (torchrun; srun across Slurm nodes).

Examples::

    nghf-dist-launch --num-workers 2 --rank-log exp/tdnn/log/train.1.rank.{rank}.log -- nghf-train ...
    srun/sbatch --nodes 2 ...: nghf-dist-launch --num-workers 4 -- nghf-train ...   (8 ranks)

Each rank writes its own log (--rank-log); if a rank fails, all ranks stop within --timeout
seconds and the exit status is non-zero, with the failing rank, its error and its log named.
"""

from __future__ import annotations

import argparse
import sys

from nghf.bin._cli_common import CliParser, report_error
from nghf.dist.launch import LaunchConfig, LaunchError, launch
from nghf.dist.setup import DEFAULT_TIMEOUT_S
from nghf.utils.logging import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = CliParser(prog="nghf-dist-launch", description=__doc__)
    parser.add_argument("--num-workers", type=int, default=1, help="ranks per node (1: run the command as is)")
    parser.add_argument("--rank-log", default=None,
                        help="per-rank log file pattern with {rank}, e.g. exp/x/log/train.1.rank.{rank}.log")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help="seconds a rank waits in a collective (or the rendezvous) before failing")
    parser.add_argument("--slurm", choices=("auto", "yes", "no"), default="auto",
                        help="auto: one torchrun per node through srun when the Slurm allocation has several nodes")
    parser.add_argument("--port-base", type=int, default=29500, help="Slurm rendezvous port = base + job id %% 1000")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- command [args...]")
    args = parser.parse_args(argv)
    setup_logging()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        config = LaunchConfig(num_workers=args.num_workers, rank_log=args.rank_log, timeout_s=args.timeout,
                              slurm=args.slurm, port_base=args.port_base)
        return launch(command, config)
    except (LaunchError, ValueError, OSError) as err:
        return report_error("nghf-dist-launch", err)


if __name__ == "__main__":
    sys.exit(main())
