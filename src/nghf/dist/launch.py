"""Start a command as N ranks with ``torchrun``, locally or across Slurm nodes.

``launch(command, LaunchConfig(num_workers=N, ...))`` is what ``nghf-dist-launch`` (and so
``steps/train_ce.sh --num-workers N``) runs:

* one worker (and one node): the command itself, no process group;
* locally: ``python -m torch.distributed.run --standalone --nproc-per-node N --no-python
  <command>`` (a free port on this host);
* inside a Slurm allocation of several nodes: ``srun --ntasks-per-node 1`` starts one
  torchrun per node, which meet at a c10d rendezvous on the allocation's first node
  (``SLURM_JOB_NODELIST``), port derived from ``SLURM_JOB_ID``, id ``SLURM_JOB_ID``.

Workers get ``NGHF_RANK_LOG`` (their own log file), ``NGHF_DIST_ERROR_DIR`` and
``NGHF_DIST_TIMEOUT``; torchrun runs with ``--max-restarts 0`` and stops all workers when
one fails. On failure the launcher prints ``failure_report``: the failing rank, its error
and its log.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from nghf.dist.failure import failure_report
from nghf.dist.setup import (
    DEFAULT_TIMEOUT_S,
    ERROR_DIR_ENV,
    RANK_LOG_ENV,
    TIMEOUT_ENV,
    rank_log_path,
)
from nghf.utils.logging import get_logger

log = get_logger(__name__)


class LaunchError(ValueError):
    """Bad launch settings (counts, patterns, missing Slurm variables)."""


@dataclasses.dataclass(frozen=True)
class LaunchConfig:
    """How to start the ranks. ``num_workers`` is per node; ``rank_log`` a pattern with
    ``{rank}`` (e.g. ``exp/x/log/train.1.rank.{rank}.log``); ``slurm``: ``auto`` uses srun
    when the Slurm allocation spans several nodes."""

    num_workers: int = 1
    rank_log: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    slurm: str = "auto"
    port_base: int = 29500
    error_dir: str | None = None

    def __post_init__(self) -> None:
        if self.num_workers < 1:
            raise LaunchError(f"--num-workers must be >= 1, got {self.num_workers}")
        if self.timeout_s <= 0:
            raise LaunchError(f"timeout must be positive, got {self.timeout_s}")
        if self.slurm not in ("auto", "yes", "no"):
            raise LaunchError(f"slurm must be auto, yes or no, got {self.slurm!r}")
        if self.rank_log is not None:
            rank_log_path(self.rank_log, 0)  # checks the {rank} placeholder


@dataclasses.dataclass(frozen=True)
class SlurmRendezvous:
    """Where the torchrun agents of a multi-node Slurm job meet."""

    nnodes: int
    host: str
    port: int
    run_id: str


def expand_nodelist(nodelist: str) -> list[str]:
    """Host names of a Slurm node list such as ``gpu[01-03,07],login1`` (what
    ``scontrol show hostnames`` prints; used when scontrol is not on PATH)."""
    hosts: list[str] = []
    for part in re.findall(r"[^,\[]+(?:\[[^\]]*\])?", nodelist):
        m = re.fullmatch(r"([^\[]+)\[([^\]]*)\]", part)
        if not m:
            hosts.append(part)
            continue
        prefix, ranges = m.groups()
        for rng in ranges.split(","):
            lo, _, hi = rng.partition("-")
            for i in range(int(lo), int(hi or lo) + 1):
                hosts.append(f"{prefix}{str(i).zfill(len(lo))}")
    return hosts


def first_host(nodelist: str) -> str:
    """The first host of a node list, through ``scontrol`` when available."""
    if shutil.which("scontrol"):
        out = subprocess.run(["scontrol", "show", "hostnames", nodelist], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.split():
            return out.stdout.split()[0]
    hosts = expand_nodelist(nodelist)
    if not hosts:
        raise LaunchError(f"empty Slurm node list {nodelist!r}")
    return hosts[0]


def slurm_rendezvous(env: Mapping[str, str], port_base: int = 29500) -> SlurmRendezvous | None:
    """The rendezvous of the current Slurm allocation, or ``None`` outside Slurm."""
    job = env.get("SLURM_JOB_ID")
    if not job:
        return None
    nodes = env.get("SLURM_JOB_NUM_NODES") or env.get("SLURM_NNODES") or "1"
    nodelist = env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST")
    if not nodelist:
        raise LaunchError("SLURM_JOB_ID is set but SLURM_JOB_NODELIST is not")
    try:
        port = port_base + int(job) % 1000
    except ValueError:
        raise LaunchError(f"SLURM_JOB_ID={job!r} is not a number") from None
    return SlurmRendezvous(int(nodes), first_host(nodelist), port, job)


def torchrun_command(command: Sequence[str], config: LaunchConfig, rdzv: SlurmRendezvous | None = None) -> list[str]:
    """The torchrun command line that runs ``command`` as ``num_workers`` ranks per node."""
    base = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={config.num_workers}",
            "--max-restarts=0", "--monitor-interval=1"]
    if rdzv is None:
        base += ["--standalone"]
    else:
        base += [f"--nnodes={rdzv.nnodes}", "--rdzv-backend=c10d", f"--rdzv-endpoint={rdzv.host}:{rdzv.port}",
                 f"--rdzv-id={rdzv.run_id}", f"--rdzv-conf=timeout={int(config.timeout_s)}"]
    return [*base, "--no-python", *command]


def srun_command(torchrun: Sequence[str], rdzv: SlurmRendezvous) -> list[str]:
    """One torchrun per node of the allocation; ``--kill-on-bad-exit`` stops the other nodes
    when one fails."""
    return ["srun", f"--nodes={rdzv.nnodes}", f"--ntasks={rdzv.nnodes}", "--ntasks-per-node=1",
            "--kill-on-bad-exit=1", *torchrun]


def plan(command: Sequence[str], config: LaunchConfig, env: Mapping[str, str] | None = None) -> tuple[list[str], int]:
    """``(argv, world_size)`` that ``launch`` would run (no side effects)."""
    env = os.environ if env is None else env
    if not command:
        raise LaunchError("no command to launch")
    rdzv = None
    if config.slurm != "no":
        rdzv = slurm_rendezvous(env, config.port_base)
        if rdzv is None and config.slurm == "yes":
            raise LaunchError("--slurm yes but not inside a Slurm allocation (SLURM_JOB_ID unset)")
        if rdzv is not None and rdzv.nnodes <= 1 and config.slurm == "auto":
            rdzv = None
    if rdzv is None:
        if config.num_workers == 1:
            return list(command), 1
        return torchrun_command(command, config), config.num_workers
    return srun_command(torchrun_command(command, config, rdzv), rdzv), config.num_workers * rdzv.nnodes


def launch(command: Sequence[str], config: LaunchConfig, env: Mapping[str, str] | None = None) -> int:
    """Run ``command`` as ``num_workers`` ranks (per node); returns the exit status and, on
    failure, logs which rank failed first, its error and its log."""
    env = dict(os.environ if env is None else env)
    argv, world = plan(command, config, env)
    tmp = None
    error_dir = config.error_dir
    if error_dir is None and config.rank_log:
        # beside the rank logs: shared by all nodes of a cluster job
        error_dir = str(rank_log_path(config.rank_log, 0).parent / _error_dir_name(config.rank_log))
    if error_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="nghf-dist-")
        error_dir = tmp.name
    stale = Path(error_dir)
    if stale.is_dir():
        for old in stale.glob("rank.*.json"):
            old.unlink()
    env[TIMEOUT_ENV] = str(config.timeout_s)
    env[ERROR_DIR_ENV] = str(error_dir)
    if config.rank_log:
        env[RANK_LOG_ENV] = config.rank_log
        for rank in range(world):  # one log per rank and run, like the dispatcher's job logs
            path = rank_log_path(config.rank_log, rank)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("", encoding="utf-8")
    if world > 1:
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // config.num_workers)))
        log.info("starting %d ranks: %s", world, " ".join(argv))
    try:
        rc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL).returncode
        if rc != 0 and world > 1:
            log.error("%s", failure_report(error_dir, world, rc, config.rank_log))
        return rc
    finally:
        if tmp is not None:
            tmp.cleanup()


def _error_dir_name(pattern: str) -> str:
    """``train.1.rank.{rank}.log`` gives ``train.1.rank.errors``."""
    return Path(pattern).name.replace("{rank}", "errors").removesuffix(".log")
