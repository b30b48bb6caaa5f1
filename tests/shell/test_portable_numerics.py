"""tools/portable_numerics.sh (sourced by path.sh): the CPU-dispatched kernels pinned to AVX2.

The pins are what make a seeded run give the same models on machines whose libraries would
pick other kernels (bench/bench_cpu_numerics.py shows each pin's effect); these tests check
that path.sh sets them, that NGHF_PORTABLE_NUMERICS=false turns them off, that a value the
user set is kept, and that a machine without AVX2 gets none.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

PINS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR", "OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES")
HAS_AVX2 = Path("/proc/cpuinfo").is_file() and all(
    f" {flag}" in Path("/proc/cpuinfo").read_text() for flag in ("avx2", "fma"))


def sourced_env(repo_root: Path, script: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PINS and k != "NGHF_PORTABLE_NUMERICS"}
    env.update(extra)
    out = subprocess.run(["bash", "-c", f'. "{repo_root / script}" && env -0'], env=env,
                         capture_output=True, check=True).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


@pytest.mark.skipif(not HAS_AVX2, reason="the pins apply to x86-64 CPUs with AVX2 and FMA only")
def test_path_sh_pins_every_library_to_avx2(repo_root):
    env = sourced_env(repo_root, "path.sh")
    assert {k: env.get(k) for k in PINS} == {
        "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2",
        "OPENBLAS_CORETYPE": "Haswell", "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"}


@pytest.mark.skipif(not HAS_AVX2, reason="the pins apply to x86-64 CPUs with AVX2 and FMA only")
def test_pins_off_and_user_values_kept(repo_root):
    off = sourced_env(repo_root, "path.sh", NGHF_PORTABLE_NUMERICS="false")
    assert not set(PINS) & set(off)
    mine = sourced_env(repo_root, "path.sh", ATEN_CPU_CAPABILITY="default")
    assert mine["ATEN_CPU_CAPABILITY"] == "default" and mine["OPENBLAS_CORETYPE"] == "Haswell"


def test_no_pins_without_avx2(repo_root, tmp_path):
    """The script reads the CPU flags from /proc/cpuinfo: with a copy whose path has no AVX2
    flags it must pin nothing (a pinned AVX2 kernel would not run there)."""
    script = (repo_root / "tools" / "portable_numerics.sh").read_text().replace("/proc/cpuinfo", str(tmp_path / "cpuinfo"))
    (tmp_path / "cpuinfo").write_text("flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx\n")
    (tmp_path / "pins.sh").write_text(script)
    env = sourced_env(tmp_path, "pins.sh")
    assert not set(PINS) & set(env)
    (tmp_path / "cpuinfo").write_text("flags\t\t: fpu sse sse2 avx avx2 fma\n")
    assert set(PINS) <= set(sourced_env(tmp_path, "pins.sh"))
