"""A worker for the failure tests, started by ``nghf-dist-launch``: ``raise`` makes rank 1
raise while rank 0 waits in an all-reduce; ``hang`` makes rank 1 sleep instead (rank 0's
collective must time out); ``ok`` all-reduces once and exits 0."""

from __future__ import annotations

import sys
import time

import torch

from nghf.dist.failure import rank_guard
from nghf.dist.setup import distributed
from nghf.utils.logging import get_logger, setup_logging


def main(mode: str) -> int:
    setup_logging()
    log = get_logger("nghf.tests.worker")
    with rank_guard() as env, distributed("cpu", env) as ctx:
        log.info("rank %d ready", env.rank)
        if env.rank == 1 and mode == "raise":
            raise ValueError("utterance u7 has no lattice (simulated failure)")
        if env.rank == 1 and mode == "hang":
            time.sleep(300)
        total = ctx.reducer.sum_(torch.ones(1))
        log.info("sum %s", float(total))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
