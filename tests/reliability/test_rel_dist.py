"""Fault class **distributed**: a rank that dies or hangs makes every rank exit, with a clear
report naming the culprit, within a bounded time (the process-group timeout).

| fault                                  | test                                                           | observed                                             |
|----------------------------------------|----------------------------------------------------------------|------------------------------------------------------|
| a rank raises                          | ``tests/dist/test_dist_launch.py::test_a_rank_that_raises_...`` | exit != 0 at once; ``root cause: rank 1 failed: ...`` |
| a rank hangs                           | ``tests/dist/test_dist_launch.py::test_a_hung_rank_...``        | peers time out after ``--timeout``; rank 1 named      |
| a rank is killed (SIGKILL, no record)  | ``test_rel_dist.py`` (here)                                    | exit != 0 in ~5 s; ``root cause: rank(s) 1 never reached the collective ... (hung, or killed without a record)``, its log, rank 0 listed as follower |

The first two are tested in ``tests/dist`` (not repeated here: each start of a
two-rank ``torchrun`` costs seconds).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rel_helpers import bin_path, env_one_thread

WORKER = Path(__file__).with_name("rel_dist_worker.py")


def test_a_killed_rank_stops_every_rank_within_the_timeout(tmp_path) -> None:
    start = time.monotonic()
    proc = subprocess.run(
        [bin_path("nghf-dist-launch"), "--num-workers", "2", "--timeout", "10",
         "--rank-log", str(tmp_path / "log" / "die.rank.{rank}.log"), "--", sys.executable, str(WORKER)],
        capture_output=True, text=True, timeout=120, env=env_one_thread(),
    )
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    assert elapsed < 45, f"took {elapsed:.0f} s"
    report = proc.stderr
    assert "distributed run failed" in report, report
    # rank 1 left no record: the report names it as the culprit, with its log, and rank 0 as a follower
    assert "root cause: rank(s) 1 never reached the collective the others waited in (hung, or killed" in report
    assert f"log: {tmp_path / 'log' / 'die.rank.1.log'}" in report
    assert "rank 0 after a peer failed or timed out" in report
