"""Cross-check of our WER against NIST ``sclite`` (SCTK).

:func:`run_sclite` writes the (already normalised) references and hypotheses as ``ref.trn``
and ``hyp.trn``, runs ``sclite -o rsum`` and parses the raw-count summary. Words are mapped
to neutral tokens (``w17``) and speakers/utterances to ``s3_u12`` ids before they are
written, so sclite's special syntax (``(optional)`` words, ``%HESITATION``, ``-`` fragments,
case folding, ids with underscores) cannot change the result; the mapping is one-to-one, so
the counts are those of the original words (:func:`code_for_sctk`, shared with the
matched-pair test of :mod:`nghf.score.significance`, which also runs SCTK's ``sc_stats``:
:func:`find_sc_stats`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from nghf.score.wer import ErrorCounts

SCLITE_CANDIDATES = ("sclite", "/usr/lib/sctk/bin/sclite", "/usr/bin/sclite")
SC_STATS_CANDIDATES = ("sc_stats", "/usr/lib/sctk/bin/sc_stats", "/usr/bin/sc_stats")


class ScliteError(RuntimeError):
    """sclite is missing, failed, or wrote a report we cannot parse."""


def _executable(cand: str) -> str | None:
    return shutil.which(cand) if os.sep not in cand else (cand if os.access(cand, os.X_OK) else None)


def find_sclite() -> str:
    """Path of the sclite binary (Debian's sctk puts it in /usr/lib/sctk/bin)."""
    env = os.environ.get("NGHF_SCLITE")
    for cand in ((env,) if env else ()) + SCLITE_CANDIDATES:
        path = _executable(cand)
        if path:
            return path
    raise ScliteError("sclite not found (install Debian package sctk, or set NGHF_SCLITE=/path/to/sclite)")


def find_sc_stats() -> str:
    """Path of SCTK's ``sc_stats`` (significance tests): ``NGHF_SC_STATS``, else beside the
    sclite :func:`find_sclite` finds, else on the ``PATH`` or in /usr/lib/sctk/bin."""
    env = os.environ.get("NGHF_SC_STATS")
    cands: list[str] = [env] if env else []
    with contextlib.suppress(ScliteError):
        cands.append(str(Path(find_sclite()).with_name("sc_stats")))
    for cand in (*cands, *SC_STATS_CANDIDATES):
        path = _executable(cand)
        if path:
            return path
    raise ScliteError("sc_stats not found (install Debian package sctk, or set NGHF_SC_STATS=/path/to/sc_stats)")


@dataclasses.dataclass(frozen=True)
class SctkInputs:
    """References and hypotheses coded for SCTK: neutral words (``w17``) and ``s3_u12`` ids
    (speaker index, utterance index), one-to-one with the originals."""

    ids: dict[str, str]
    refs: dict[str, list[str]]
    hyps: tuple[dict[str, list[str]], ...]
    speakers: tuple[str, ...]  # speaker names by index


def code_for_sctk(refs: Mapping[str, Sequence[str]], hyp_sets: Sequence[Mapping[str, Sequence[str]]],
                  utt2spk: Mapping[str, str] | None = None) -> SctkInputs:
    """Code the (normalised) references and each hypothesis set (missing hypothesis = empty)
    with one shared vocabulary, so sclite's special syntax cannot change the counts."""
    utts = sorted(refs)
    spk_of = {u: (utt2spk[u] if utt2spk is not None else "all") for u in utts}
    spk_names = sorted(set(spk_of.values()))
    spk_index = {s: i for i, s in enumerate(spk_names)}
    ids = {u: f"s{spk_index[spk_of[u]]}_u{i}" for i, u in enumerate(utts)}
    vocab: dict[str, str] = {}

    def coded(words: Sequence[str]) -> list[str]:
        return [vocab.setdefault(w, f"w{len(vocab)}") for w in words]

    ref_coded = {u: coded(refs[u]) for u in utts}
    hyp_coded = tuple({u: coded(hyps.get(u, ())) for u in utts} for hyps in hyp_sets)
    return SctkInputs(ids, ref_coded, hyp_coded, tuple(spk_names))


@dataclasses.dataclass(frozen=True)
class ScliteResult:
    """sclite's raw-count totals and per-speaker rows."""

    total: ErrorCounts
    per_spk: dict[str, ErrorCounts]
    report: str


def write_trn(path: Path, texts: Mapping[str, Sequence[str]], ids: Mapping[str, str]) -> None:
    """Write ``words (id)`` lines in sorted id order."""
    with open(path, "w", encoding="utf-8") as out:
        for utt in sorted(texts, key=lambda u: ids[u]):
            out.write(f"{' '.join(texts[utt])} ({ids[utt]})\n")


_ROW = re.compile(r"^\s*\|\s*(?P<name>[^|]+?)\s*\|\s*(?P<snt>\d+)\s+(?P<wrd>\d+)\s*\|"
                  r"\s*(?P<corr>\d+)\s+(?P<sub>\d+)\s+(?P<del>\d+)\s+(?P<ins>\d+)\s+(?P<err>\d+)\s+(?P<serr>\d+)\s*\|\s*$")


def parse_rsum(text: str) -> tuple[ErrorCounts, dict[str, ErrorCounts]]:
    """Parse sclite's ``.raw`` (rsum) report into total and per-speaker counts."""
    total = None
    per_spk: dict[str, ErrorCounts] = {}
    for line in text.splitlines():
        m = _ROW.match(line)
        if not m:
            continue
        counts = ErrorCounts(int(m["wrd"]), int(m["corr"]), int(m["sub"]), int(m["ins"]), int(m["del"]),
                             int(m["snt"]), int(m["serr"]))
        if m["name"] == "Sum":
            total = counts
        else:
            per_spk[m["name"]] = counts
    if total is None:
        raise ScliteError(f"no 'Sum' row in sclite's report:\n{text}")
    return total, per_spk


def run_sclite(
    refs: Mapping[str, Sequence[str]],
    hyps: Mapping[str, Sequence[str]],
    utt2spk: Mapping[str, str] | None = None,
    workdir: str | Path | None = None,
) -> ScliteResult:
    """Score with sclite; ``refs``/``hyps`` are normalised word lists (missing hyp = empty).

    ``workdir`` keeps ``ref.trn``, ``hyp.trn`` and the report; otherwise a temporary
    directory is used and removed.
    """
    sclite = find_sclite()
    coded = code_for_sctk(refs, [hyps], utt2spk)
    ids, ref_coded, hyp_coded, spk_names = coded.ids, coded.refs, coded.hyps[0], coded.speakers
    with tempfile.TemporaryDirectory(prefix="nghf-sclite-") as tmp:
        wd = Path(workdir) if workdir is not None else Path(tmp)
        wd.mkdir(parents=True, exist_ok=True)
        write_trn(wd / "ref.trn", ref_coded, ids)
        write_trn(wd / "hyp.trn", hyp_coded, ids)
        cmd = [sclite, "-r", "ref.trn", "trn", "-h", "hyp.trn", "trn", "-i", "spu_id", "-s",
               "-o", "rsum", "-n", "sclite", "-O", "."]
        proc = subprocess.run(cmd, cwd=wd, capture_output=True, text=True)
        report_path = wd / "sclite.raw"
        if proc.returncode != 0 or not report_path.exists():
            raise ScliteError(f"sclite failed (exit {proc.returncode}) in {wd}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        report = report_path.read_text(encoding="utf-8", errors="replace")
    total, coded_spk = parse_rsum(report)
    per_spk = {spk_names[int(name[1:])]: c for name, c in coded_spk.items() if re.fullmatch(r"s\d+", name)}
    return ScliteResult(total, per_spk, report)
