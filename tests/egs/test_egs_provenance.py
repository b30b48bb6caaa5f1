"""Honest configs: each value of the MGB recipe's configs says whether it is the paper's or ours.

Of the paper (Haider et al., Neural Networks 2021) we have only its abstract, so the rule is:

* every ``egs/mgb/s5/conf/*.yaml`` starts with the line ``HEADER`` (values are ours unless their
  comment starts with ``abstract:``);
* in those files and in the top-level ``conf/*.yaml``, a comment (the text after a ``#`` that
  starts the line or follows a space) that mentions "paper" (any case; the file name
  ``paper_systems`` does not count) is either that header line or starts with ``abstract:``.
  Any other claim about the paper must be rephrased as ``abstract: "<quote>"`` or as ours."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MGB_CONF = REPO_ROOT / "egs" / "mgb" / "s5" / "conf"
HEADER = ('# Provenance: every value below is our choice ("ours") unless its comment starts with '
          '"abstract:" (stated in the paper\'s abstract).')
_COMMENT = re.compile(r"(?:^|\s)#(.*)$")
_PAPER = re.compile(r"paper(?!_systems)", re.IGNORECASE)


def comment_of(line: str) -> str | None:
    """The comment of one YAML line, stripped, or None (no ``#`` at the start or after a space)."""
    match = _COMMENT.search(line)
    return match.group(1).strip() if match else None


def paper_claims(text: str, header_required: bool) -> list[str]:
    """Lines of ``text`` breaking the rule of the module docstring, as ``line N: text``."""
    lines = text.splitlines()
    bad = []
    if header_required and (not lines or lines[0] != HEADER):
        bad.append(f"line 1: no provenance header (expected {HEADER!r})")
    for number, line in enumerate(lines, start=1):
        comment = comment_of(line)
        if comment is None or not _PAPER.search(comment):
            continue
        if (number == 1 and line == HEADER) or comment.startswith("abstract:"):
            continue
        bad.append(f"line {number}: {line.strip()}")
    return bad


def test_rule_on_examples():
    assert paper_claims(HEADER + "\nkey: 1\n", header_required=True) == []
    assert paper_claims("key: 1\n", header_required=True) == [
        f"line 1: no provenance header (expected {HEADER!r})"]
    assert paper_claims("# A\nkey: 1\n", header_required=False) == []
    ok = ('max_iters: 8  # abstract: "5-8 instead of 200" CG iterations (the paper\'s); 8 is ours\n'
          "systems: conf/paper_systems.yaml  # the file of the systems\n"
          "# MGB scale (ours)\n")
    assert paper_claims(ok, header_required=False) == []
    bad = ("max_iters: 8   # the paper: 8 CG iterations\n"
           "# Paper scale\n"
           "x: 1 # ours, not the paper's\n")
    assert [b.split(":")[0] for b in paper_claims(bad, header_required=False)] == [
        "line 1", "line 2", "line 3"]


def _files(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.yaml"))
    assert files, f"no configs in {folder}"
    return files


@pytest.mark.parametrize("path", _files(MGB_CONF), ids=lambda p: p.name)
def test_mgb_config_provenance(path: Path):
    assert paper_claims(path.read_text(encoding="utf-8"), header_required=True) == [], path


@pytest.mark.parametrize("path", _files(REPO_ROOT / "conf"), ids=lambda p: p.name)
def test_top_level_config_makes_no_paper_claims(path: Path):
    assert paper_claims(path.read_text(encoding="utf-8"), header_required=False) == [], path
