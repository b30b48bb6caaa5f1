"""tools/install.sh is idempotent: on an installed machine it does nothing, silently and fast."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def test_second_install_is_a_quiet_noop(repo_root: Path) -> None:
    env = dict(os.environ)
    start = time.monotonic()
    proc = subprocess.run(["bash", "tools/install.sh"], cwd=repo_root, capture_output=True, text=True, env=env, timeout=600)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == "", "an installed environment must produce no output"
    assert elapsed < 10, f"no-op install took {elapsed:.1f} s"


def test_pins_are_exact(repo_root: Path) -> None:
    for line in (repo_root / "tools/requirements.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            assert "==" in line and not any(op in line for op in (">", "<", "~", "*")), line
    assert 'torch_pin="torch==2.13.0"' in (repo_root / "tools/install.sh").read_text()
