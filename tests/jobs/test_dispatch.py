"""The job dispatcher: local parallel jobs, failure reporting, and Slurm through fake sbatch/srun."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nghf.bin.queue import main as queue_main
from nghf.jobs.dispatch import DispatchError, parse_job_args


def test_parse_job_range_and_substitution(tmp_path: Path) -> None:
    spec = parse_job_args(["JOB=2:4", f"{tmp_path}/x.JOB.log", "echo", "JOB", "a b"])
    assert list(spec.task_ids) == [2, 3, 4]
    assert spec.log_for(3) == tmp_path / "x.3.log"
    assert spec.command_for(3) == "echo 3 'a b'"


@pytest.mark.parametrize(
    "words, message",
    [
        (["JOB=3:1", "x.JOB.log", "true"], "empty job range"),
        (["JOB=1:2", "x.log", "true"], "must contain JOB"),
        (["x.log"], "expected a log file and a command"),
        (["JOB=a:b", "x.log", "true"], "bad job range"),
    ],
)
def test_parse_errors(words: list[str], message: str) -> None:
    with pytest.raises(DispatchError, match=message):
        parse_job_args(words)


def test_local_jobs_run_in_parallel_and_log(tmp_path: Path) -> None:
    log = tmp_path / "log" / "sleep.JOB.log"
    start = time.monotonic()
    rc = queue_main(["--max-jobs-run", "4", "JOB=1:4", str(log), f"sleep 0.5; echo done JOB > {tmp_path}/out.JOB"])
    elapsed = time.monotonic() - start
    assert rc == 0
    assert elapsed < 1.9, f"4 jobs of 0.5 s took {elapsed:.2f} s: not run in parallel"
    for job in range(1, 5):
        assert (tmp_path / f"out.{job}").read_text().strip() == f"done {job}"
        text = (tmp_path / "log" / f"sleep.{job}.log").read_text()
        assert text.startswith(f"# sleep 0.5; echo done {job}")
        assert "# Ended (code 0)" in text


def test_local_bounded_parallelism(tmp_path: Path) -> None:
    start = time.monotonic()
    rc = queue_main(["--max-jobs-run", "1", "JOB=1:3", str(tmp_path / "s.JOB.log"), "sleep 0.3"])
    assert rc == 0
    assert time.monotonic() - start >= 0.85, "--max-jobs-run 1 must run jobs one after another"


def test_local_failure_names_job_and_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "f.JOB.log"
    rc = queue_main(["JOB=1:3", str(log), "echo message-from-JOB; [ JOB -ne 2 ]"])
    assert rc == 1
    err = capsys.readouterr().err
    assert f"job 2 of 3 failed with exit code 1; log: {tmp_path}/f.2.log" in err
    assert "message-from-2" in err
    assert "job 1 of 3" not in err and "job 3 of 3" not in err
    assert "# Ended (code 1)" in (tmp_path / "f.2.log").read_text()


def test_local_job_gets_its_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--num-threads N runs the job with OMP_NUM_THREADS=N (path.sh sets 1 for every job)."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    for threads in (1, 3):
        log = tmp_path / f"t{threads}.log"
        assert queue_main(["--num-threads", str(threads), str(log), "echo threads=$OMP_NUM_THREADS"]) == 0
        assert f"threads={threads}\n" in log.read_text()


def test_single_job_without_range(tmp_path: Path) -> None:
    assert queue_main([str(tmp_path / "one.log"), "echo", "hello world"]) == 0
    assert "hello world" in (tmp_path / "one.log").read_text()


FAKE_SBATCH = r"""#!/usr/bin/env bash
# Fake sbatch: records its arguments, runs each array task locally, waits (like --wait).
echo "sbatch $*" >> "$FAKE_SLURM_RECORD"
array="" script=""
for a in "$@"; do
  case $a in
    --array=*) array=${a#--array=}; array=${array%%%*} ;;
    -*) ;;
    *) script=$a ;;
  esac
done
rc=0
for ((t=${array%-*}; t<=${array#*-}; t++)); do
  SLURM_ARRAY_TASK_ID=$t bash "$script" || rc=1
done
echo 12345
exit $rc
"""

FAKE_SRUN = r"""#!/usr/bin/env bash
# Fake srun: records its arguments and runs the script (the last argument) locally.
echo "srun $* task=$NGHF_TASK_ID" >> "$FAKE_SLURM_RECORD"
exec bash "${@: -1}"
"""


@pytest.fixture()
def fake_slurm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("srun", FAKE_SRUN)):
        path = bindir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    record = tmp_path / "slurm_calls.txt"
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM_RECORD", str(record))
    monkeypatch.chdir(tmp_path)
    return record


def test_slurm_sbatch_array(fake_slurm: Path, tmp_path: Path) -> None:
    rc = queue_main([
        "--backend", "slurm", "--mem", "4G", "--gpu", "1", "--time", "1:00:00", "--partition", "gpu",
        "--slurm-opts=--account=speech", "JOB=1:3", "exp/log/acc.JOB.log", f"echo task JOB > {tmp_path}/o.JOB",
    ])
    assert rc == 0
    calls = fake_slurm.read_text()
    assert "--array=1-3" in calls and "--wait" in calls
    for option in ("--mem=4G", "--gres=gpu:1", "--time=1:00:00", "--partition=gpu", "--account=speech"):
        assert option in calls
    for job in (1, 2, 3):
        assert (tmp_path / f"o.{job}").read_text().strip() == f"task {job}"
        assert "# Ended (code 0)" in (tmp_path / f"exp/log/acc.{job}.log").read_text()


def test_slurm_failure_reported(fake_slurm: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = queue_main(["--backend", "slurm", "JOB=1:2", "log/x.JOB.log", "echo oops-JOB; exit JOB"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "job 2 of 2 failed with exit code 2" in err and "log/x.2.log" in err
    assert "oops-2" in err
    assert "job 1 of 2" in err  # exit 1 is a failure too


def test_slurm_srun_launcher(fake_slurm: Path, tmp_path: Path) -> None:
    rc = queue_main(["--backend", "slurm", "--launcher", "srun", "JOB=1:2", "log/y.JOB.log", f"echo JOB > {tmp_path}/s.JOB"])
    assert rc == 0
    calls = fake_slurm.read_text().splitlines()
    assert sorted(c.rsplit("task=", 1)[1] for c in calls) == ["1", "2"]
    assert all(c.startswith("srun --ntasks=1 --job-name=y ") for c in calls)
    assert (tmp_path / "s.2").read_text().strip() == "2"


def test_slurm_job_killed_before_finishing(fake_slurm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A task that dies without writing its status (as when Slurm kills it) is reported as never finished.
    rc = queue_main(["--backend", "slurm", "JOB=1:1", "log/k.JOB.log", "kill -9 $PPID"])
    assert rc == 1
    assert "never finished" in capsys.readouterr().err


def test_console_script_usage_error() -> None:
    proc = subprocess.run([sys.executable, "-m", "nghf.bin.queue", "JOB=1:2"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "usage: nghf-queue" in proc.stderr and "expected a log file and a command" in proc.stderr
