"""Failure handling of distributed runs: failure records, a clear report.

A worker runs inside ``rank_guard``: an exception is logged to the rank's own log with its
traceback, recorded as ``rank.R.json`` (rank, time, error, log file) in the launcher's
error directory, and turned into exit status 1 -- without waiting for the other ranks.
Ranks blocked in a collective then fail too (the peer's connection closes, or the
process-group timeout expires), and ``torchrun`` stops the remaining workers. The launcher
reads the records with ``failure_report`` and names the rank that failed first (the root
cause), its error and its log; ranks that failed only because a peer went away are listed
as such. Nothing waits longer than the process-group timeout. (Each rank's own log file is
set up by ``nghf.dist.setup.add_rank_log``.)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

from nghf.dist.setup import DistEnv
from nghf.utils.logging import get_logger

log = get_logger(__name__)

_PEER_HINTS = ("connection closed by peer", "connection reset", "broken pipe", "timed out", "timeout",
               "socket", "nccl", "gloo", "process group", "rendezvous")


def write_failure(env: DistEnv, err: BaseException) -> Path | None:
    """Record this rank's failure for the launcher (no-op without an error directory)."""
    if not env.error_dir:
        return None
    record = {
        "rank": env.rank, "world_size": env.world_size, "time": time.time(), "pid": os.getpid(),
        "error": f"{type(err).__name__}: {err}", "log": str(env.log_path() or ""),
        "traceback": "".join(traceback.format_exception(err)),
    }
    path = Path(env.error_dir) / f"rank.{env.rank}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    tmp.replace(path)
    return path


@contextlib.contextmanager
def rank_guard(env: DistEnv | None = None) -> Iterator[DistEnv]:
    """Run the body as one rank; on any exception log it (with the rank and its log file),
    record it and exit with status 1 at once, so peers are not left waiting on us."""
    env = env or DistEnv.from_env()
    try:
        yield env
    except SystemExit as err:
        if err.code in (0, None) or not env.distributed:
            raise
        _fail(env, RuntimeError(f"exited with status {err.code}"))
    except BaseException as err:  # noqa: BLE001 - every failure must be reported, then exit
        if not env.distributed:
            raise
        _fail(env, err)


def _fail(env: DistEnv, err: BaseException) -> None:
    where = env.log_path()
    log.error("rank %d of %d failed: %s: %s%s", env.rank, env.world_size, type(err).__name__, err,
              f" (log: {where})" if where else "")
    log.debug("%s", "".join(traceback.format_exception(err)))
    if where is not None:
        with open(where, "a", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(err)))
    write_failure(env, err)
    for handler in logging.getLogger("nghf").handlers:
        handler.flush()
    sys.stderr.flush()
    # Exit now: destroying the process group or running atexit hooks could block on peers.
    os._exit(1)


def read_failures(error_dir: str | Path) -> list[dict]:
    """The failure records of a run, earliest first."""
    records = []
    for path in sorted(Path(error_dir).glob("rank.*.json")):
        try:
            records.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            records.append({"rank": path.name, "time": float("inf"), "error": f"unreadable record {path}", "log": ""})
    return sorted(records, key=lambda r: (r.get("time", 0.0), r.get("rank", 0)))


def _is_peer_failure(error: str) -> bool:
    low = error.lower()
    return any(h in low for h in _PEER_HINTS)


def failure_report(error_dir: str | Path, world_size: int, exit_code: int, log_pattern: str | None = None,
                   tail: int = 10) -> str:
    """A human-readable account of a failed run: the root-cause rank, its error and log
    (with its last lines), the other ranks' records, and ranks that left no record."""
    records = read_failures(error_dir)
    lines = [f"distributed run failed (exit {exit_code}, {world_size} ranks)"]
    if not records:
        lines.append("no rank recorded an error: a rank was killed (signal, out of memory) or the launcher "
                     "failed; see torchrun's summary above" + (f" and the rank logs {log_pattern}" if log_pattern else ""))
        return "\n".join(lines)
    own = [r for r in records if not _is_peer_failure(str(r.get("error", "")))]
    seen = {r.get("rank") for r in records}
    silent = [r for r in range(world_size) if r not in seen]
    root = own[0] if own else None
    if root is None and silent:
        # every record is a peer/timeout error: the culprits are the ranks that left none
        lines.append(f"root cause: rank(s) {', '.join(map(str, silent))} never reached the collective the others "
                     "waited in (hung, or killed without a record)")
        if log_pattern:
            for r in silent:
                lines.append(f"  log: {log_pattern.replace('{rank}', str(r))}")
                lines += [f"  | {x}" for x in _tail(Path(log_pattern.replace("{rank}", str(r))), tail)]
    else:
        root = root or records[0]
        lines.append(f"root cause: rank {root['rank']} failed: {root['error']}")
        if root.get("log"):
            lines.append(f"  log: {root['log']}")
            lines += [f"  | {x}" for x in _tail(Path(root["log"]), tail)]
    for rec in records:
        if rec is root:
            continue
        kind = "after a peer failed or timed out" if _is_peer_failure(str(rec.get("error", ""))) else "also failed"
        lines.append(f"rank {rec['rank']} {kind}: {rec['error']}" + (f" (log: {rec['log']})" if rec.get("log") else ""))
    if silent and root is not None:
        lines.append(f"rank(s) {', '.join(map(str, silent))} left no record (stopped by torchrun after the failure)")
    return "\n".join(lines)


def _tail(path: Path, n: int) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:]
    except OSError:
        return [f"(cannot read {path})"]
