"""Job dispatch in the shape of Kaldi's ``run.pl``/``slurm.pl``: ``[JOB=1:N] log command...``.

The same call runs N jobs locally (bounded parallelism) or through Slurm (an ``sbatch
--array --wait`` submission, or one ``srun`` per job). In every backend each job writes its
own log (the ``JOB`` variable is substituted in the log name and the command), the log
starts with the command and ends with ``# Ended (code N)``, and the dispatcher exits non-zero
if any job failed, naming each failed job, its exit code, its log and the log's last lines.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TextIO

TAIL_LINES = 20
_RANGE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(\d+):(\d+)$")


class DispatchError(ValueError):
    """A malformed dispatcher command line."""


@dataclasses.dataclass(frozen=True)
class JobSpec:
    """One dispatch request: the job range, the log pattern and the command words."""

    var: str | None
    first: int
    last: int
    log_pattern: str
    command: tuple[str, ...]

    @property
    def task_ids(self) -> range:
        return range(self.first, self.last + 1)

    def log_for(self, task: int) -> Path:
        return Path(self._substitute(self.log_pattern, task))

    def command_for(self, task: int) -> str:
        """The shell command line of one job. A command given as one word is taken as a whole
        command line (``'a | b > c'``); several words are joined, quoting words with spaces."""
        if len(self.command) == 1:
            return self._substitute(self.command[0], task)
        return " ".join(_quote(self._substitute(word, task)) for word in self.command)

    def _substitute(self, text: str, task: int) -> str:
        return text.replace(self.var, str(task)) if self.var else text


@dataclasses.dataclass(frozen=True)
class Resources:
    """What each job asks of the scheduler (ignored locally except ``max_jobs_run``)."""

    max_jobs_run: int = 0
    mem: str | None = None
    gpu: int = 0
    num_threads: int = 1
    time: str | None = None
    partition: str | None = None
    extra: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class JobResult:
    task: int
    returncode: int
    log: Path


def parse_job_args(words: Sequence[str]) -> JobSpec:
    """Parse ``[VAR=a:b] logfile command...`` (the part after the dispatcher's options)."""
    words = list(words)
    var, first, last = None, 1, 1
    if words and _RANGE.match(words[0]):
        match = _RANGE.match(words.pop(0))
        assert match is not None
        var, first, last = match.group(1), int(match.group(2)), int(match.group(3))
        if last < first:
            raise DispatchError(f"empty job range {var}={first}:{last}")
    elif words and "=" in words[0] and not words[0].startswith("-") and ":" in words[0]:
        raise DispatchError(f"bad job range {words[0]!r}; expected e.g. JOB=1:4")
    if len(words) < 2:
        raise DispatchError("expected a log file and a command")
    log_pattern, command = words[0], tuple(words[1:])
    if var is not None and last > first and var not in log_pattern:
        raise DispatchError(f"log file {log_pattern!r} must contain {var} when running {last - first + 1} jobs")
    return JobSpec(var, first, last, log_pattern, command)


def run_local(spec: JobSpec, resources: Resources) -> list[JobResult]:
    """Run every job as ``bash -c`` on this machine, at most ``max_jobs_run`` at once."""
    workers = resources.max_jobs_run or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(lambda task: _run_one_local(spec, task, resources.num_threads), spec.task_ids))


def _run_one_local(spec: JobSpec, task: int, num_threads: int = 1) -> JobResult:
    log = spec.log_for(task)
    log.parent.mkdir(parents=True, exist_ok=True)
    command = spec.command_for(task)
    start = time.monotonic()
    with open(log, "w", encoding="utf-8") as out:
        out.write(f"# {command}\n# Started at {_now()}\n#\n")
        out.flush()
        # path.sh keeps one BLAS/torch thread per job; a job granted several gets them here.
        env = dict(os.environ, OMP_NUM_THREADS=str(num_threads)) if num_threads > 1 else None
        proc = subprocess.run(["bash", "-c", command], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              env=env)
        elapsed = time.monotonic() - start
        out.write(f"# Accounting: time={elapsed:.0f} threads={num_threads}\n# Ended (code {proc.returncode}) at {_now()}, elapsed time {elapsed:.0f} seconds\n")
    return JobResult(task, proc.returncode, log)


def slurm_script(spec: JobSpec, status_dir: Path, cwd: Path) -> str:
    """The batch script for an array: a ``case`` on the task id holds each job's exact command."""
    lines = [
        "#!/bin/bash",
        f"cd {_quote(str(cwd))}",
        'task=${NGHF_TASK_ID:-${SLURM_ARRAY_TASK_ID:?not run as a Slurm array task}}',
        'case $task in',
    ]
    for task in spec.task_ids:
        log = spec.log_for(task)
        lines.append(f"  {task}) log={_quote(str(log))}; cmd={_quote(spec.command_for(task))} ;;")
    lines += [
        '  *) echo "unknown task $task" >&2; exit 1 ;;',
        "esac",
        'mkdir -p "$(dirname "$log")"',
        'start=$(date +%s)',
        '{ echo "# $cmd"; echo "# Started at $(date) on $(hostname)"; echo "#"; } > "$log"',
        'bash -c "$cmd" >> "$log" 2>&1',
        "rc=$?",
        'end=$(date +%s)',
        'echo "# Accounting: time=$((end - start)) threads=1" >> "$log"',
        'echo "# Ended (code $rc) at $(date), elapsed time $((end - start)) seconds" >> "$log"',
        f'echo $rc > {_quote(str(status_dir))}/done.$task',
        "exit $rc",
    ]
    return "\n".join(lines) + "\n"


def slurm_job_name(spec: JobSpec) -> str:
    """A job name from the log pattern: ``exp/log/acc.3.JOB.log`` gives ``acc.3``."""
    base = Path(spec.log_pattern).name.removesuffix(".log")
    if spec.var:
        base = base.replace(spec.var, "")
    base = re.sub(r"\.{2,}", ".", base).strip(".")
    return re.sub(r"[^A-Za-z0-9_.-]", "_", base) or "nghf"


def slurm_resource_args(resources: Resources) -> list[str]:
    args = [f"--cpus-per-task={resources.num_threads}"]
    if resources.mem:
        args.append(f"--mem={resources.mem}")
    if resources.gpu:
        args.append(f"--gres=gpu:{resources.gpu}")
    if resources.time:
        args.append(f"--time={resources.time}")
    if resources.partition:
        args.append(f"--partition={resources.partition}")
    args.extend(resources.extra)
    return args


def run_slurm(spec: JobSpec, resources: Resources, launcher: str = "sbatch") -> list[JobResult]:
    """Submit the jobs to Slurm and wait; ``launcher`` is ``sbatch`` (one array) or ``srun``."""
    first_log = spec.log_for(spec.first)
    name = slurm_job_name(spec)
    qdir = first_log.parent / "q"
    status_dir = qdir / f"{name}.status"
    status_dir.mkdir(parents=True, exist_ok=True)
    for stale in status_dir.glob("done.*"):
        stale.unlink()
    script = qdir / f"{name}.sh"
    script.write_text(slurm_script(spec, status_dir.resolve(), Path.cwd()), encoding="utf-8")
    script.chmod(0o755)
    common = [f"--job-name={name}", *slurm_resource_args(resources)]
    if launcher == "sbatch":
        array = f"{spec.first}-{spec.last}"
        if resources.max_jobs_run:
            array += f"%{resources.max_jobs_run}"
        cmd = ["sbatch", "--parsable", "--wait", f"--array={array}", f"--output={qdir}/{name}.%a.out", *common, str(script)]
        submitted = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        # --parsable prints the job id once the array is accepted; without it nothing ran.
        # With --wait a non-zero exit after submission only means a task failed, which the
        # per-task status files below report precisely.
        if submitted.returncode != 0 and not submitted.stdout.strip():
            raise RuntimeError(f"sbatch failed (exit {submitted.returncode}): {submitted.stderr.strip()}")
    elif launcher == "srun":
        def one(task: int) -> None:
            env = dict(os.environ, NGHF_TASK_ID=str(task))
            with open(qdir / f"{name}.{task}.out", "w", encoding="utf-8") as out:
                subprocess.run(["srun", "--ntasks=1", *common, str(script)], env=env, stdout=out,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        workers = resources.max_jobs_run or len(spec.task_ids)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            list(pool.map(one, spec.task_ids))
    else:
        raise DispatchError(f"unknown Slurm launcher {launcher!r}; use sbatch or srun")
    results = []
    for task in spec.task_ids:
        status = status_dir / f"done.{task}"
        code = int(status.read_text().strip() or 1) if status.exists() else -1
        results.append(JobResult(task, code, spec.log_for(task)))
    return results


def report_failures(results: Sequence[JobResult], stream: TextIO | None = None) -> int:
    """Print one block per failed job (exit code, log, log tail); return the number failed."""
    stream = stream if stream is not None else sys.stderr
    failed = [r for r in results if r.returncode != 0]
    for r in failed:
        what = "never finished (killed, or not run by the scheduler)" if r.returncode == -1 else f"failed with exit code {r.returncode}"
        print(f"nghf-queue: error: job {r.task} of {len(results)} {what}; log: {r.log}", file=stream)
        for line in _tail(r.log):
            print(f"  | {line}", file=stream)
    if failed:
        print(f"nghf-queue: {len(failed)} of {len(results)} jobs failed", file=stream)
    return len(failed)


def _tail(path: Path, n: int = TAIL_LINES) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return [f"(no log at {path})"]
    return lines[-n:]


def _quote(word: str) -> str:
    """Kaldi's rule: a word without white space passes as is (so ``|`` and ``>`` work as in
    run.pl); anything else is quoted as one word."""
    return word if re.fullmatch(r"\S+", word) else shlex.quote(word)


def _now() -> str:
    return dt.datetime.now().strftime("%a %b %d %H:%M:%S %Y")
