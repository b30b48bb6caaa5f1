"""The Kaldi bindings are imported in one place, in the one order that does not hang."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

GUARDED = ("kaldi_hmm_gmm", "kaldifst", "kaldilm", "kaldi_decoder")


def test_no_module_imports_the_bindings_directly(repo_root: Path) -> None:
    pattern = re.compile(rf"^\s*(import|from)\s+({'|'.join(GUARDED)})\b", re.MULTILINE)
    offenders = []
    for path in sorted((repo_root / "src").rglob("*.py")) + sorted((repo_root / "tests").rglob("*.py")) + sorted((repo_root / "bench").rglob("*.py")):
        if path.name == "_kaldi.py":
            continue
        if pattern.search(path.read_text(encoding="utf-8")):
            offenders.append(str(path.relative_to(repo_root)))
    assert not offenders, f"import the Kaldi bindings through nghf._kaldi, not directly: {offenders}"


def test_guarded_import_works_in_a_fresh_interpreter() -> None:
    code = "from nghf._kaldi import kaldi_hmm_gmm, kaldifst, kaldilm, kaldi_decoder; print('ok')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_guard_refuses_a_wrong_earlier_import() -> None:
    # kaldilm alone imports fine; the guard must then refuse to continue with the rest.
    code = "import kaldilm\nimport nghf._kaldi\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "kaldilm was imported before kaldi_hmm_gmm, kaldifst, kaldi_decoder" in proc.stderr
