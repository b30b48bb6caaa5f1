"""A worker for the dead-rank test, started by ``nghf-dist-launch``: rank 1 kills itself with
SIGKILL (no Python cleanup, no failure record: an out-of-memory kill or a lost node) while
rank 0 waits for it in an all-reduce."""

from __future__ import annotations

import os
import signal
import sys

import torch

from nghf.dist.failure import rank_guard
from nghf.dist.setup import distributed
from nghf.utils.logging import get_logger, setup_logging


def main() -> int:
    setup_logging()
    log = get_logger("nghf.tests.rel_worker")
    with rank_guard() as env, distributed("cpu", env) as ctx:
        log.info("rank %d ready", env.rank)
        if env.rank == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        ctx.reducer.sum_(torch.ones(1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
