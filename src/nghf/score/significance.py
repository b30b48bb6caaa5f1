"""Confidence intervals of WERs and significance tests between systems on the same utterances.

The inputs are per-utterance scores (:class:`UttScore`: speaker, number of reference words,
errors, and the normalised reference and hypothesis words), written by
:func:`nghf.score.decode_dir.score_decode_dir` for every LM weight as
``scoring/<LMWT>.utt.jsonl`` and named in the results records (``utt_scores``) at the LM
weight tuned on dev, so a finished or archived run can be assessed without decoding again.

**Confidence interval of a WER** (:func:`wer_interval`): a bootstrap over *speakers*.
Utterances of one speaker are not independent draws (same voice, channel, topic, speaking
rate: a speaker the model suits gives many good utterances), so resampling utterances
understates the variance of a WER and gives intervals that are too narrow; the speaker is
the independent unit. Each replicate draws as many speakers as the set has, with
replacement, and computes WER = sum of their errors / sum of their reference words (a
ratio of sums, as the WER of the set itself). The interval is the percentile interval of the
replicates (``numpy.quantile(method="inverted_cdf")``, the exact quantiles of the replicate
distribution). Replicates come from ``numpy.random.default_rng(seed)``: the same inputs and
configuration always give the same interval.

**Matched-pair tests** of two systems scored on the same utterances:

* :func:`mapsswe`: NIST's matched-pair sentence-segment word error test (MAPSSWE, Gillick &
  Cox 1989) as SCTK implements it: both systems are aligned by ``sclite`` (``-o sgml``) and
  ``sc_stats -t mapsswe`` splits the utterances into segments bounded by words both systems
  get right and tests whether the mean per-segment difference in errors is zero (normal
  approximation, two-sided). The p-value is the one ``sc_stats`` prints.
* :func:`paired_bootstrap`: the speaker-block bootstrap of the difference of the two WERs
  (both systems on the *same* resampled speakers). Its p-value is the share of replicates in
  which the difference has the opposite sign to (or equals zero against) the observed one,
  doubled for a two-sided test and capped at 1 (Bisani & Ney 2004; Koehn 2004), with the
  percentile interval of the absolute difference. It needs no SCTK and cross-checks MAPSSWE
  (the two usually agree on clear cases; MAPSSWE treats segments as independent, the
  bootstrap speakers, so the bootstrap is the more conservative on few speakers).

:func:`assess_systems` applies both to the records of a results file: an interval for every
scored set and, for every system with a baseline (the CE system of its model), the tests
against that baseline; ``nghf.score.results`` renders it in ``RESULTS.md`` and writes it
as ``significance.json``.

**Conditions** (:class:`TrainSpeakers`): given the speakers of the training data, each
utterance of a test set is by a *seen* voice (its speaker, the same id, also speaks in
training: MGB's recurring presenters) or an *unseen* one; :func:`assess_systems` then also
assesses each condition separately, with the same interval and tests restricted to that
condition's utterances (a condition without utterances in a set is left out).
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nghf.data.text import read_utt2spk
from nghf.score.sclite import ScliteError, code_for_sctk, find_sc_stats, find_sclite, write_trn
from nghf.score.wer import WerReport
from nghf.utils.atomic import atomic_write_text
from nghf.utils.jsonl import read_jsonl
from nghf.utils.logging import get_logger

log = get_logger(__name__)

UTT_SCORES_SUFFIX = ".utt.jsonl"


class SignificanceError(ValueError):
    """Per-utterance scores that cannot be compared (message names the files)."""


@dataclasses.dataclass(frozen=True)
class UttScore:
    """One utterance as scored: its speaker, reference length, errors and the normalised words."""

    utt: str
    spk: str
    ref_words: int
    errors: int
    ref: tuple[str, ...] = ()
    hyp: tuple[str, ...] = ()


def utt_scores_from_report(report: WerReport, refs: Mapping[str, Sequence[str]],
                           hyps: Mapping[str, Sequence[str]], utt2spk: Mapping[str, str]) -> list[UttScore]:
    """Per-utterance scores of a :class:`~nghf.score.wer.WerReport`; ``refs``/``hyps`` are the
    normalised words that were aligned (a missing hypothesis is empty)."""
    return [UttScore(utt, utt2spk[utt], c.ref_words, c.errors, tuple(refs[utt]), tuple(hyps.get(utt, ())))
            for utt, c in report.per_utt.items()]


def write_utt_scores(path: str | Path, scores: Sequence[UttScore]) -> None:
    """Write one JSON line per utterance (``utt spk ref_words errors ref hyp``; words space-joined)."""
    lines = [json.dumps({"utt": s.utt, "spk": s.spk, "ref_words": s.ref_words, "errors": s.errors,
                         "ref": " ".join(s.ref), "hyp": " ".join(s.hyp)}) + "\n" for s in scores]
    atomic_write_text(Path(path), "".join(lines))


def read_utt_scores(path: str | Path) -> dict[str, UttScore]:
    """``utterance -> UttScore`` of a file :func:`write_utt_scores` wrote."""
    out: dict[str, UttScore] = {}
    for rec in read_jsonl(path, SignificanceError, ("utt", "spk", "ref_words", "errors"),
                          what="per-utterance scores"):
        utt = str(rec["utt"])
        if utt in out:
            raise SignificanceError(f"{path}: utterance {utt} is listed twice")
        out[utt] = UttScore(utt, str(rec["spk"]), int(rec["ref_words"]), int(rec["errors"]),
                            tuple(str(rec.get("ref", "")).split()), tuple(str(rec.get("hyp", "")).split()))
    if not out:
        raise SignificanceError(f"{path}: no utterances")
    return out


SEEN, UNSEEN = "seen", "unseen"
CONDITIONS = (SEEN, UNSEEN)  # voices that speak in the training data, voices that do not


@dataclasses.dataclass(frozen=True)
class TrainSpeakers:
    """The speakers of a training data dir (``source``): an utterance is by a *seen* voice when
    its speaker is one of them (a speaker id names the same voice in every data dir), else by
    an *unseen* voice."""

    source: str
    speakers: frozenset[str]

    @classmethod
    def read(cls, data_dir: str | Path) -> TrainSpeakers:
        """The speakers of ``data_dir``'s ``utt2spk`` (else the first field of its ``spk2utt``)."""
        data_dir = Path(data_dir)
        if (data_dir / "utt2spk").is_file():
            speakers = frozenset(read_utt2spk(data_dir / "utt2spk").values())
        elif (data_dir / "spk2utt").is_file():
            lines = (data_dir / "spk2utt").read_text(encoding="utf-8").splitlines()
            speakers = frozenset(f[0] for f in (line.split() for line in lines) if f)
        else:
            raise SignificanceError(f"{data_dir}: no utt2spk or spk2utt to take the training speakers from")
        if not speakers:
            raise SignificanceError(f"{data_dir}: the training data has no speakers")
        return cls(str(data_dir), speakers)

    def condition(self, spk: str) -> str:
        """:data:`SEEN` when ``spk`` speaks in the training data, else :data:`UNSEEN`."""
        return SEEN if spk in self.speakers else UNSEEN

    def split(self, scores: Mapping[str, UttScore]) -> dict[str, dict[str, UttScore]]:
        """``condition -> {utterance: score}`` for every condition in :data:`CONDITIONS` (maybe empty)."""
        out: dict[str, dict[str, UttScore]] = {c: {} for c in CONDITIONS}
        for utt, s in scores.items():
            out[self.condition(s.spk)][utt] = s
        return out


@dataclasses.dataclass(frozen=True)
class BootstrapConfig:
    """Speaker-block bootstrap: number of replicates, seed of the generator, interval level."""

    replicates: int = 1000
    seed: int = 0
    level: float = 0.95

    def __post_init__(self) -> None:
        if self.replicates < 1:
            raise ValueError(f"bootstrap replicates must be at least 1, not {self.replicates}")
        if not 0.0 < self.level < 1.0:
            raise ValueError(f"confidence level must be in (0, 1), not {self.level}")

    @property
    def quantiles(self) -> tuple[float, float]:
        tail = (1.0 - self.level) / 2.0
        return tail, 1.0 - tail


@dataclasses.dataclass(frozen=True)
class SpeakerTotals:
    """Errors and reference words summed per speaker (speakers sorted by name)."""

    speakers: tuple[str, ...]
    errors: np.ndarray
    ref_words: np.ndarray


def speaker_totals(scores: Mapping[str, UttScore]) -> SpeakerTotals:
    """Sum the per-utterance scores per speaker."""
    errs: dict[str, int] = {}
    words: dict[str, int] = {}
    for s in scores.values():
        errs[s.spk] = errs.get(s.spk, 0) + s.errors
        words[s.spk] = words.get(s.spk, 0) + s.ref_words
    spks = tuple(sorted(errs))
    return SpeakerTotals(spks, np.array([errs[s] for s in spks], dtype=np.int64),
                         np.array([words[s] for s in spks], dtype=np.int64))


def percent_wer(errors: np.ndarray, ref_words: np.ndarray) -> np.ndarray:
    """``100 * errors / ref_words`` elementwise; 0 words give 0 (no errors) or inf, like ``ErrorCounts.wer``."""
    errors = np.asarray(errors, dtype=np.float64)
    ref_words = np.asarray(ref_words, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        wer = 100.0 * errors / ref_words
    return np.where(ref_words > 0, wer, np.where(errors > 0, np.inf, 0.0))


def resample_speakers(n_speakers: int, config: BootstrapConfig) -> np.ndarray:
    """Indices ``(replicates, n_speakers)`` of the speakers of each replicate (with replacement)."""
    if n_speakers < 1:
        raise SignificanceError("no speakers to resample")
    rng = np.random.default_rng(config.seed)
    return rng.integers(0, n_speakers, size=(config.replicates, n_speakers))


def bootstrap_wers(totals: SpeakerTotals, config: BootstrapConfig) -> np.ndarray:
    """The WER (%) of every replicate of the speaker-block bootstrap."""
    idx = resample_speakers(len(totals.speakers), config)
    return percent_wer(totals.errors[idx].sum(axis=1), totals.ref_words[idx].sum(axis=1))


def _interval(replicates: np.ndarray, config: BootstrapConfig) -> tuple[float, float]:
    low, high = np.quantile(replicates, config.quantiles, method="inverted_cdf")
    return float(low), float(high)


@dataclasses.dataclass(frozen=True)
class WerInterval:
    """A set's WER (%) with its bootstrap confidence interval."""

    wer: float
    low: float
    high: float
    level: float
    speakers: int
    utterances: int
    replicates: int

    def as_dict(self) -> dict[str, Any]:
        return {"wer": self.wer, "ci": [self.low, self.high], "level": self.level, "speakers": self.speakers,
                "utterances": self.utterances, "replicates": self.replicates}


def wer_interval(scores: Mapping[str, UttScore], config: BootstrapConfig = BootstrapConfig()) -> WerInterval:
    """WER of the scored utterances and its speaker-block bootstrap percentile interval."""
    totals = speaker_totals(scores)
    if int(totals.ref_words.sum()) == 0:
        raise SignificanceError("no reference words: the WER is undefined")
    wer = float(percent_wer(totals.errors.sum(), totals.ref_words.sum()))
    low, high = _interval(bootstrap_wers(totals, config), config)
    return WerInterval(wer, low, high, config.level, len(totals.speakers), len(scores), config.replicates)


def check_matched(a: Mapping[str, UttScore], b: Mapping[str, UttScore], names: tuple[str, str] = ("a", "b")) -> None:
    """Raise :class:`SignificanceError` unless ``a`` and ``b`` score the same utterances with the
    same speakers and reference lengths (the message names ``names``, e.g. the two files)."""
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    if only_a or only_b:
        parts = [f"{len(o)} only in {n} (e.g. {o[0]})" for o, n in ((only_a, names[0]), (only_b, names[1])) if o]
        raise SignificanceError(f"{names[0]} and {names[1]} score different utterances: {'; '.join(parts)}")
    for utt in sorted(a):
        x, y = a[utt], b[utt]
        if x.spk != y.spk or x.ref_words != y.ref_words or (x.ref and y.ref and x.ref != y.ref):
            raise SignificanceError(f"{names[0]} and {names[1]} disagree on the reference of utterance {utt} "
                                    f"(speaker {x.spk}/{y.spk}, {x.ref_words}/{y.ref_words} words)")


@dataclasses.dataclass(frozen=True)
class PairedBootstrap:
    """Speaker-block paired bootstrap of ``WER(b) - WER(a)`` (absolute, in WER points)."""

    wer_a: float
    wer_b: float
    difference: float
    low: float
    high: float
    p_value: float
    level: float
    replicates: int

    def as_dict(self) -> dict[str, Any]:
        return {"wer_a": self.wer_a, "wer_b": self.wer_b, "difference": self.difference,
                "difference_ci": [self.low, self.high], "p_value": self.p_value, "level": self.level,
                "replicates": self.replicates}


def paired_bootstrap(a: Mapping[str, UttScore], b: Mapping[str, UttScore],
                     config: BootstrapConfig = BootstrapConfig(),
                     names: tuple[str, str] = ("a", "b")) -> PairedBootstrap:
    """Two-sided speaker-block paired bootstrap test of two systems on the same utterances."""
    check_matched(a, b, names)
    ta, tb = speaker_totals(a), speaker_totals(b)
    if int(ta.ref_words.sum()) == 0:
        raise SignificanceError(f"{names[0]}: no reference words")
    wer_a = float(percent_wer(ta.errors.sum(), ta.ref_words.sum()))
    wer_b = float(percent_wer(tb.errors.sum(), tb.ref_words.sum()))
    diff = wer_b - wer_a
    idx = resample_speakers(len(ta.speakers), config)
    words = ta.ref_words[idx].sum(axis=1)
    reps = percent_wer(tb.errors[idx].sum(axis=1), words) - percent_wer(ta.errors[idx].sum(axis=1), words)
    if diff == 0.0:
        p = 1.0
    else:
        flipped = int(np.count_nonzero(reps <= 0.0) if diff > 0 else np.count_nonzero(reps >= 0.0))
        p = min(1.0, 2.0 * flipped / config.replicates)
    low, high = _interval(reps, config)
    return PairedBootstrap(wer_a, wer_b, diff, low, high, p, config.level, config.replicates)


@dataclasses.dataclass(frozen=True)
class MapssweResult:
    """``sc_stats -t mapsswe`` on two systems: its p-value (an upper bound when it prints
    ``<0.001``), z statistic, verdict at p = 0.05 and the better system (``None`` if not significant)."""

    p_value: float
    p_text: str
    z: float
    significant: bool
    better: str | None
    segments: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_MTCH = re.compile(r"MTCH_PR_RESULTS \(systems: (?P<a>\S+) (?P<b>\S+)\) \(# segs: (?P<segs>\d+)\).*"
                   r"\(Z Stat: (?P<z>[-+\d.naif]+)\) \(Stat Diff: (?P<diff>\w+)\)")
_ROW = re.compile(r"^\|\s*MP\s*\|\|\s*sysA\s*\|\s*\|\s*(?P<winner>\S+)\s+(?P<p><?[\d.]+)\s*(?P<stars>\**)\s*\|\|")


def parse_mapsswe(detail: str, unified: str) -> MapssweResult:
    """Parse ``sc_stats -t mapsswe -v`` (its ``MTCH_PR_RESULTS`` line) and ``-u`` (composite
    report row of system ``sysA`` against ``sysB``) output."""
    m = _MTCH.search(detail)
    row = next((r for r in (_ROW.match(line) for line in unified.splitlines()) if r), None)
    if m is None or row is None:
        raise ScliteError(f"cannot parse sc_stats' MAPSSWE report:\n{detail[-1500:]}\n{unified[-1500:]}")
    p_text = row["p"]
    p = float(p_text.lstrip("<"))
    winner = row["winner"]
    better = {"sysA": "a", "sysB": "b"}.get(winner)
    significant = better is not None
    if significant != (m["diff"] == "Yes"):
        raise ScliteError(f"sc_stats' MAPSSWE reports disagree: {m.group(0)} / {row.group(0)}")
    return MapssweResult(p, p_text, float(m["z"]), significant, better, int(m["segs"]))


def _run(cmd: list[str], cwd: Path, stdin: str | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ScliteError(f"{' '.join(cmd)} failed (exit {proc.returncode}) in {cwd}: "
                          f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return proc.stdout


def mapsswe(a: Mapping[str, UttScore], b: Mapping[str, UttScore], workdir: str | Path | None = None,
            names: tuple[str, str] = ("a", "b")) -> MapssweResult:
    """MAPSSWE of two systems' scored utterances with SCTK (``ScliteError`` when it is missing).

    Writes ``ref.trn``, ``a.trn``, ``b.trn`` (coded words, :func:`nghf.score.sclite.code_for_sctk`),
    aligns each system with ``sclite -o sgml`` and runs ``sc_stats -p -t mapsswe`` on the two
    SGML files. ``workdir`` keeps the files; otherwise a temporary directory is used."""
    check_matched(a, b, names)
    sclite, sc_stats = find_sclite(), find_sc_stats()
    refs = {u: s.ref for u, s in a.items()}
    for u, s in refs.items():
        if len(s) != a[u].ref_words:
            raise SignificanceError(f"{names[0]}: utterance {u} has {a[u].ref_words} reference words but "
                                    f"{len(s)} are stored; MAPSSWE needs the words")
    coded = code_for_sctk(refs, [{u: s.hyp for u, s in a.items()}, {u: s.hyp for u, s in b.items()}],
                          {u: s.spk for u, s in a.items()})
    with tempfile.TemporaryDirectory(prefix="nghf-mapsswe-") as tmp:
        wd = Path(workdir) if workdir is not None else Path(tmp)
        wd.mkdir(parents=True, exist_ok=True)
        write_trn(wd / "ref.trn", coded.refs, coded.ids)
        sgml = []
        for tag, hyps in zip(("a", "b"), coded.hyps, strict=True):
            write_trn(wd / f"{tag}.trn", hyps, coded.ids)
            _run([sclite, "-r", "ref.trn", "trn", "-h", f"{tag}.trn", "trn", f"sys{tag.upper()}", "-i", "spu_id",
                  "-o", "sgml", "-O", ".", "-n", tag], wd)
            sgml.append((wd / f"{tag}.sgml").read_text(encoding="utf-8", errors="replace"))
        both = "".join(sgml)
        detail = _run([sc_stats, "-p", "-t", "mapsswe", "-v", "-n", "-"], wd, both)
        unified = _run([sc_stats, "-p", "-t", "mapsswe", "-u", "-n", "-"], wd, both)
    return parse_mapsswe(detail, unified)


def sctk_available() -> bool:
    """Whether sclite and sc_stats are installed (MAPSSWE can run)."""
    try:
        find_sclite()
        find_sc_stats()
    except ScliteError:
        return False
    return True


@dataclasses.dataclass(frozen=True)
class SignificanceConfig:
    """How :func:`assess_systems` assesses a results file: the bootstrap, the significance
    level of the markers, and whether to run MAPSSWE when SCTK is installed."""

    bootstrap: BootstrapConfig = BootstrapConfig()
    alpha: float = 0.05
    use_sctk: bool = True


def relative_reduction(wer: float, baseline: float) -> float | None:
    """Relative WER reduction (%) of ``wer`` over ``baseline``: positive when it makes fewer
    errors; ``None`` when the baseline makes none."""
    return 100.0 * (baseline - wer) / baseline if baseline else None


Scored = tuple[str, dict[str, UttScore]]  # the file the scores come from, and the scores


def _assess(systems: Iterable[str], baselines: Mapping[str, str], sets: Sequence[str],
            scores_of: Callable[[str, str], Scored | None], config: SignificanceConfig, use_sctk: bool,
            what: str = "") -> dict[str, Any]:
    """``system -> {set: interval, "vs": {"baseline", set: tests}}`` of the scores ``scores_of``
    gives (``None``: none); ``what`` qualifies the log messages (e.g. a condition)."""
    out: dict[str, Any] = {}
    for system in systems:
        entry: dict[str, Any] = {}
        for set_name in sets:
            got = scores_of(system, set_name)
            if got is not None:
                entry[set_name] = dict(wer_interval(got[1], config.bootstrap).as_dict(), utt_scores=got[0])
        baseline = baselines.get(system)
        if baseline is not None:
            versus: dict[str, Any] = {"baseline": baseline}
            for set_name in sets:
                mine, theirs = scores_of(system, set_name), scores_of(baseline, set_name)
                if mine is None or theirs is None:
                    continue
                names = (theirs[0], mine[0])
                boot = paired_bootstrap(theirs[1], mine[1], config.bootstrap, names)
                test: dict[str, Any] = {"rel_reduction": relative_reduction(boot.wer_b, boot.wer_a),
                                        "bootstrap": boot.as_dict()}
                p_value, p_text, source = boot.p_value, None, "bootstrap"
                if use_sctk:
                    mp = mapsswe(theirs[1], mine[1], names=names)
                    test["mapsswe"] = mp.as_dict()
                    p_value, p_text, source = mp.p_value, mp.p_text, "mapsswe"
                    if mp.significant != (boot.p_value < config.alpha):
                        log.warning("%s vs %s on %s%s: MAPSSWE (p %s) and the speaker bootstrap (p %.3g) disagree "
                                    "at p < %g", system, baseline, set_name, what, mp.p_text, boot.p_value,
                                    config.alpha)
                test.update(p_value=p_value, p_text=p_text or format_p(p_value, config.bootstrap.replicates),
                            test=source, significant=bool(p_value < config.alpha))
                versus[set_name] = test
            entry["vs"] = versus
        if entry:
            out[system] = entry
    return out


def _assess_conditions(systems: Sequence[str], baselines: Mapping[str, str], sets: Sequence[str],
                       scores_of: Callable[[str, str], Scored | None], config: SignificanceConfig,
                       use_sctk: bool, train: TrainSpeakers) -> dict[str, Any]:
    """:func:`_assess` of each condition's utterances (``by_condition`` of ``significance.json``),
    with the utterances, speakers and reference words each set has in each condition (over the
    systems scored on it)."""
    split: dict[tuple[str, str], dict[str, dict[str, UttScore]] | None] = {}

    def split_of(system: str, set_name: str) -> dict[str, dict[str, UttScore]] | None:
        if (system, set_name) not in split:
            got = scores_of(system, set_name)
            split[system, set_name] = train.split(got[1]) if got is not None else None
        return split[system, set_name]

    conditions: dict[str, Any] = {}
    for cond in CONDITIONS:
        def subset_of(system: str, set_name: str, cond: str = cond) -> Scored | None:
            got, parts = scores_of(system, set_name), split_of(system, set_name)
            if got is None or parts is None:
                return None
            part = parts[cond]
            return (got[0], part) if sum(s.ref_words for s in part.values()) > 0 else None

        counts: dict[str, dict[str, int]] = {"utterances": {}, "speakers": {}, "words": {}}
        for set_name in sets:
            scored = [p[cond] for p in (split_of(s, set_name) for s in systems) if p is not None]
            if scored:
                union = {u: s for part in scored for u, s in part.items()}
                counts["utterances"][set_name] = len(union)
                counts["speakers"][set_name] = len({s.spk for s in union.values()})
                counts["words"][set_name] = sum(s.ref_words for s in union.values())
        conditions[cond] = dict(counts, systems=_assess(systems, baselines, sets, subset_of, config, use_sctk,
                                                        f" ({cond} voices)"))
    return {"train_data": train.source, "train_speakers": len(train.speakers), "conditions": conditions}


def assess_systems(systems: Mapping[str, Mapping[str, Mapping[str, Any]]], baselines: Mapping[str, str],
                   sets: Sequence[str], config: SignificanceConfig = SignificanceConfig(),
                   base_dir: str | Path | None = None, train: TrainSpeakers | None = None) -> dict[str, Any]:
    """Intervals and tests of the records ``system -> set -> record`` (each record's
    ``utt_scores`` file, relative paths resolved against ``base_dir``); ``baselines`` maps a
    system to the one it is tested against. Returns the JSON-able report (``significance.json``):
    ``{"config", "test", "systems": {system: {set: interval, "vs": {"baseline", set: tests}}}}``;
    ``test`` is ``"mapsswe"`` when SCTK ran, else ``"bootstrap"``; in a test, system ``a`` is the
    baseline and ``b`` the system (``difference`` = WER(system) - WER(baseline)). Mismatched
    utterance sets raise :class:`SignificanceError`. Records without per-utterance
    scores (older runs) or whose file is missing are skipped (a warning names the file).

    With ``train`` (the training speakers) the report also has ``"by_condition": {"train_data",
    "train_speakers", "conditions": {condition: {"utterances", "speakers", "words": {set: n},
    "systems": ...}}}``, ``systems`` as above on that condition's utterances only; a set with
    no (reference words in) utterances of a condition has no interval or test there."""
    base = Path(base_dir) if base_dir is not None else None
    use_sctk = config.use_sctk and sctk_available()
    cache: dict[tuple[str, str], Scored | None] = {}

    def scores_of(system: str, set_name: str) -> Scored | None:
        key = (system, set_name)
        if key not in cache:
            rec = systems.get(system, {}).get(set_name)
            path = rec.get("utt_scores") if rec is not None else None
            cache[key] = None
            if path:
                full = base / path if base is not None and not Path(path).is_absolute() else Path(path)
                if full.is_file():  # reported as the record names it: relative to base_dir, portable
                    cache[key] = (str(path), read_utt_scores(full))
                else:
                    log.warning("%s: per-utterance scores of %s on %s not found; no interval or test",
                                full, system, set_name)
        return cache[key]

    order = sorted(systems)
    report: dict[str, Any] = {
        "config": {"replicates": config.bootstrap.replicates, "seed": config.bootstrap.seed,
                   "level": config.bootstrap.level, "alpha": config.alpha},
        "test": "mapsswe" if use_sctk else "bootstrap",
        "systems": _assess(order, baselines, sets, scores_of, config, use_sctk)}
    if train is not None:
        report["by_condition"] = _assess_conditions(order, baselines, sets, scores_of, config, use_sctk, train)
    return report


def format_p(p: float, replicates: int | None = None) -> str:
    """A p-value as the table shows it: 3 decimals, ``<0.001`` below (a bootstrap p of 0 is
    below ``1 / replicates``)."""
    if p == 0.0 and replicates:
        return f"<{max(1.0 / replicates, 0.001):.3g}"
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}"
