"""Process-group set-up from the environment that ``torchrun`` (or Slurm) gives each worker.

``torchrun`` exports ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT`` to every worker; ``DistEnv.from_env`` reads them (on Slurm,
``nghf.dist.launch`` starts one torchrun per node with a rendezvous taken from Slurm's
variables, so workers see the same variables there). ``distributed`` is the context every distributed command runs in: it
initialises the default process group (gloo on CPU, NCCL on CUDA) with a bounded timeout,
gives the worker its device (``cuda:LOCAL_RANK`` when asked for ``cuda``), a reducer and a
per-rank log file, and tears the group down on exit. Without ``WORLD_SIZE > 1`` it is a
no-op that yields the single-process ``LocalReducer``, so the same command runs either way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import torch
import torch.distributed as dist

from nghf.dist.reduce import LocalReducer, Reducer, TorchDistReducer
from nghf.utils.logging import DATE_FORMAT, LOG_FORMAT, get_logger

log = get_logger(__name__)

DEFAULT_TIMEOUT_S = 600.0
"""Bound on every collective (and the rendezvous): a rank that dies or hangs makes the others
fail after at most this long instead of waiting forever. ``NGHF_DIST_TIMEOUT`` overrides it."""

RANK_LOG_ENV = "NGHF_RANK_LOG"
"""Pattern of the per-rank log file, ``{rank}`` replaced (set by ``nghf-dist-launch``)."""
ERROR_DIR_ENV = "NGHF_DIST_ERROR_DIR"
"""Directory where a failing rank leaves ``rank.R.json`` for the launcher's report."""
TIMEOUT_ENV = "NGHF_DIST_TIMEOUT"


class DistSetupError(RuntimeError):
    """Inconsistent distributed environment (bad variables, unavailable backend or device)."""


@dataclasses.dataclass(frozen=True)
class DistEnv:
    """Where this process sits in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    rank_log: str | None = None
    error_dir: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @staticmethod
    def from_env(env: Mapping[str, str] | None = None) -> DistEnv:
        """Read torchrun's variables; a single process if they are not set."""
        env = os.environ if env is None else env

        def num(*names: str, default: int) -> int:
            for name in names:
                if env.get(name, "") != "":
                    try:
                        return int(env[name])
                    except ValueError:
                        raise DistSetupError(f"environment variable {name}={env[name]!r} is not an integer") from None
            return default

        if "WORLD_SIZE" in env or "RANK" in env:
            world = num("WORLD_SIZE", default=1)
            rank = num("RANK", default=0)
            local = num("LOCAL_RANK", default=rank)
        else:
            world, rank, local = 1, 0, 0
        if world < 1 or not 0 <= rank < world or local < 0:
            raise DistSetupError(f"inconsistent ranks: RANK={rank} WORLD_SIZE={world} LOCAL_RANK={local}")
        try:
            timeout = float(env.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S))
        except ValueError:
            raise DistSetupError(f"{TIMEOUT_ENV}={env[TIMEOUT_ENV]!r} is not a number of seconds") from None
        if timeout <= 0:
            raise DistSetupError(f"{TIMEOUT_ENV} must be positive, got {timeout}")
        return DistEnv(rank, world, local, env.get(RANK_LOG_ENV) or None, env.get(ERROR_DIR_ENV) or None, timeout)

    def log_path(self) -> Path | None:
        """This rank's own log file (``None`` if no pattern was given)."""
        return rank_log_path(self.rank_log, self.rank) if self.rank_log else None


def rank_log_path(pattern: str, rank: int) -> Path:
    """``pattern`` with ``{rank}`` replaced, e.g. ``exp/x/log/train.1.rank.{rank}.log``."""
    if "{rank}" not in pattern:
        raise DistSetupError(f"rank log pattern {pattern!r} must contain {{rank}}")
    return Path(pattern.replace("{rank}", str(rank)))


def rank_device(device: str | torch.device, env: DistEnv) -> torch.device:
    """The device of this rank: a bare ``cuda`` becomes ``cuda:LOCAL_RANK`` (one GPU per
    worker); an explicit ``cuda:N`` or ``cpu`` is kept."""
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DistSetupError(f"rank {env.rank}: device {device} asked for, but CUDA is not available")
        if device.index is None:
            if env.local_rank >= torch.cuda.device_count():
                raise DistSetupError(
                    f"rank {env.rank}: local rank {env.local_rank} but only {torch.cuda.device_count()} GPUs visible"
                )
            device = torch.device("cuda", env.local_rank)
        torch.cuda.set_device(device)
    return device


def backend_for(device: torch.device) -> str:
    """gloo on CPU; on CUDA NCCL for GPU tensors plus gloo for the few CPU tensors (frame
    counts, checksums) that the trainer reduces."""
    return "cpu:gloo,cuda:nccl" if device.type == "cuda" else "gloo"


def device_is_cuda(device: torch.device) -> bool:
    return device.type == "cuda"


@dataclasses.dataclass(frozen=True)
class DistContext:
    """What a worker needs: its place, device and reducer."""

    env: DistEnv
    device: torch.device
    reducer: Reducer

    @property
    def is_main(self) -> bool:
        return self.env.rank == 0


def add_rank_log(env: DistEnv) -> Path | None:
    """Send the ``nghf`` logger to this rank's own file; other ranks than 0 keep only warnings
    on stderr, so the job's main log is rank 0's story plus every rank's problems."""
    path = env.log_path()
    root = logging.getLogger("nghf")
    if env.rank != 0:
        for handler in root.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                handler.setLevel(logging.WARNING)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    if any(isinstance(h, logging.FileHandler) and Path(h.baseFilename) == path.resolve() for h in root.handlers):
        return path
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(logging.Formatter(f"[rank {env.rank}] {LOG_FORMAT}", DATE_FORMAT))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return path


@contextlib.contextmanager
def distributed(device: str | torch.device = "cpu", env: DistEnv | None = None,
                init_method: str | None = None) -> Iterator[DistContext]:
    """Run the body as one rank of the job described by ``env`` (default: the environment).

    Initialises the default process group (``init_method`` default ``env://``, i.e.
    ``MASTER_ADDR``/``MASTER_PORT`` from torchrun) with the env's timeout, adds the per-rank
    log file, and destroys the group when the body ends. Errors in the body propagate (wrap
    the command in ``nghf.dist.failure.rank_guard`` to report them).
    """
    env = env or DistEnv.from_env()
    if not env.distributed:
        yield DistContext(env, torch.device(device), LocalReducer())
        return
    add_rank_log(env)
    dev = rank_device(device, env)
    backend = backend_for(dev)
    if device_is_cuda(dev) and not dist.is_nccl_available():  # pragma: no cover - GPU builds only
        raise DistSetupError("NCCL is not available in this torch build")
    timeout = dt.timedelta(seconds=env.timeout_s)
    log.info("rank %d of %d (local rank %d): initialising %s process group on %s (timeout %.0f s)",
             env.rank, env.world_size, env.local_rank, backend, dev, env.timeout_s)
    kwargs = {"device_id": dev} if device_is_cuda(dev) else {}
    dist.init_process_group(backend, init_method=init_method or "env://", rank=env.rank,
                            world_size=env.world_size, timeout=timeout, **kwargs)
    yield DistContext(env, dev, TorchDistReducer())
    # Only after success: on an error the process exits (``rank_guard``) and a teardown
    # could block on peers that are still in a collective.
    if dist.is_initialized():
        dist.destroy_process_group()
