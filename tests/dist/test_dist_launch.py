"""Launching: torchrun/srun command lines, Slurm rendezvous, environment parsing, and failure
handling with real processes (a rank that raises, a rank that hangs: the run exits non-zero
within the timeout and names the rank and its log)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nghf.dist import launch as launch_mod
from nghf.dist.launch import LaunchConfig, LaunchError, expand_nodelist, plan
from nghf.dist.setup import DistEnv, DistSetupError, rank_log_path

WORKER = Path(__file__).with_name("nghf_dist_failing_worker.py")


def test_plan_local() -> None:
    cmd = ["nghf-train", "--config", "x.yaml"]
    assert plan(cmd, LaunchConfig(num_workers=1), env={}) == (cmd, 1)
    argv, world = plan(cmd, LaunchConfig(num_workers=3), env={})
    assert world == 3
    assert argv[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--standalone" in argv and "--nproc-per-node=3" in argv and "--max-restarts=0" in argv
    assert argv[argv.index("--no-python") + 1:] == cmd
    with pytest.raises(LaunchError, match="no command"):
        plan([], LaunchConfig(num_workers=2), env={})


def test_plan_slurm_multi_node(monkeypatch) -> None:
    monkeypatch.setattr(launch_mod.shutil, "which", lambda name: None)  # no scontrol here
    env = {"SLURM_JOB_ID": "4242", "SLURM_JOB_NUM_NODES": "2", "SLURM_JOB_NODELIST": "gpu[07-08]"}
    argv, world = plan(["nghf-train", "a"], LaunchConfig(num_workers=4), env=env)
    assert world == 8
    assert argv[:5] == ["srun", "--nodes=2", "--ntasks=2", "--ntasks-per-node=1", "--kill-on-bad-exit=1"]
    assert "--rdzv-endpoint=gpu07:29742" in argv and "--rdzv-id=4242" in argv and "--nnodes=2" in argv
    assert "--standalone" not in argv
    # one node of Slurm: a plain local torchrun; --slurm no ignores Slurm; yes outside Slurm fails
    one = dict(env, SLURM_JOB_NUM_NODES="1", SLURM_JOB_NODELIST="gpu07")
    assert "--standalone" in plan(["x"], LaunchConfig(num_workers=2), env=one)[0]
    assert plan(["x"], LaunchConfig(num_workers=2, slurm="no"), env=env)[1] == 2
    with pytest.raises(LaunchError, match="not inside a Slurm allocation"):
        plan(["x"], LaunchConfig(num_workers=2, slurm="yes"), env={})


def test_expand_nodelist() -> None:
    assert expand_nodelist("gpu[01-03,07],login1") == ["gpu01", "gpu02", "gpu03", "gpu07", "login1"]
    assert expand_nodelist("a,b") == ["a", "b"]
    assert expand_nodelist("node[9-11]") == ["node9", "node10", "node11"]


def test_dist_env_from_env() -> None:
    assert not DistEnv.from_env({}).distributed
    env = DistEnv.from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "NGHF_DIST_TIMEOUT": "30",
                            "NGHF_RANK_LOG": "exp/log/train.1.rank.{rank}.log"})
    assert (env.rank, env.world_size, env.local_rank, env.timeout_s) == (3, 4, 1, 30.0)
    assert env.log_path() == Path("exp/log/train.1.rank.3.log")
    with pytest.raises(DistSetupError, match="inconsistent ranks"):
        DistEnv.from_env({"RANK": "4", "WORLD_SIZE": "4"})
    with pytest.raises(DistSetupError, match="WORLD_SIZE='two'"):
        DistEnv.from_env({"WORLD_SIZE": "two"})
    with pytest.raises(DistSetupError, match="must contain"):
        rank_log_path("exp/log/train.log", 0)
    with pytest.raises(LaunchError, match="num-workers"):
        LaunchConfig(num_workers=0)


def _launch(tmp_path: Path, mode: str, timeout: float) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    proc = subprocess.run(
        ["nghf-dist-launch", "--num-workers", "2", "--timeout", str(timeout),
         "--rank-log", str(tmp_path / "log" / f"{mode}.rank.{{rank}}.log"), "--",
         sys.executable, str(WORKER), mode],
        capture_output=True, text=True, timeout=120, env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    return proc, time.monotonic() - start


def test_a_rank_that_raises_stops_the_run_and_is_named(tmp_path) -> None:
    proc, elapsed = _launch(tmp_path, "raise", timeout=60)
    assert proc.returncode != 0
    assert elapsed < 45, f"took {elapsed:.0f} s"  # far below the 60 s collective timeout: no waiting
    log1 = tmp_path / "log" / "raise.rank.1.log"
    assert f"root cause: rank 1 failed: ValueError: utterance u7 has no lattice (simulated failure)\n  log: {log1}" \
        in proc.stderr
    assert "Traceback" in log1.read_text() and "rank 1 of 2 failed" in log1.read_text()
    assert (tmp_path / "log" / "raise.rank.0.log").is_file()


def test_a_hung_rank_makes_the_others_time_out(tmp_path) -> None:
    proc, elapsed = _launch(tmp_path, "hang", timeout=2)
    assert proc.returncode != 0
    assert elapsed < 40, f"took {elapsed:.0f} s"  # the hung rank sleeps 300 s: torchrun stopped it
    assert "root cause: rank(s) 1 never reached the collective" in proc.stderr
    assert "rank 0 after a peer failed or timed out" in proc.stderr
