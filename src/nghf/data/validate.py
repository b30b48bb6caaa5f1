"""Check a Kaldi data dir against every rule the rest of the pipeline relies on.

Rules: each file sorted in ``LC_ALL=C`` order with unique ids; UTF-8 everywhere; ids
consistent across files (``utt2spk`` vs ``text`` vs ``segments`` vs ``feats.scp`` vs
``utt2dur``/``utt2num_frames``; ``segments`` recordings vs ``wav.scp``; ``reco2dur`` vs
``wav.scp``; ``spk2utt`` the exact inverse of ``utt2spk``; ``cmvn.scp`` per speaker);
utterance ids prefixed by their speaker id (warning only: sorting by utterance then groups
speakers, which Kaldi's splitting expects); segments with ``0 <= start < end <= duration``
(duration from ``reco2dur`` or the audio header); non-empty transcripts; audio files that
exist, are non-empty, hold as many samples as their header declares and have the configured
sample rate; ``feats.scp`` entries whose archive exists and holds the whole matrix at the
entry's offset (a truncated archive is caught here, not in training);
optionally an OOV report against a word list (a counted warning per utterance with OOVs). Every problem is an ``Issue`` naming file,
line and id; nothing is dropped or fixed here (that is ``nghf.data.fix``).
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterable
from pathlib import Path

from nghf.data.ark import matrix_record_problem
from nghf.data.audio import AudioError, audio_info, is_pipe, referenced_files
from nghf.data.kaldi_files import Entry, read_table, sort_key


@dataclasses.dataclass(frozen=True)
class ValidateOptions:
    """What to check. ``sample_rate`` 0 skips the rate check; tolerance is in seconds."""

    check_text: bool = True
    check_feats: bool = True
    check_audio: bool = True
    sample_rate: int = 16000
    segment_tolerance: float = 0.02
    lexicon: str | None = None
    max_issues_per_rule: int = 0  # 0: report all


@dataclasses.dataclass(frozen=True)
class Issue:
    """One problem: severity (``error``/``warning``), where (file, line) and which id."""

    severity: str
    file: str
    line: int | None
    key: str | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        ident = f" id '{self.key}':" if self.key else ""
        return f"{self.severity.upper()}: {where}:{ident} {self.message}"


@dataclasses.dataclass
class Report:
    """All issues plus informational lines (counts, OOV report)."""

    issues: list[Issue] = dataclasses.field(default_factory=list)
    info: list[str] = dataclasses.field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


class _Checker:
    def __init__(self, root: Path, opts: ValidateOptions) -> None:
        self.root = root
        self.opts = opts
        self.report = Report()
        self.entries: dict[str, list[Entry]] = {}

    def add(self, severity: str, name: str, line: int | None, key: str | None, msg: str) -> None:
        self.report.issues.append(Issue(severity, str(self.root / name), line, key, msg))

    def error(self, name: str, line: int | None, key: str | None, msg: str) -> None:
        self.add("error", name, line, key, msg)

    def warn(self, name: str, line: int | None, key: str | None, msg: str) -> None:
        self.add("warning", name, line, key, msg)

    # --- per-file rules -------------------------------------------------------------------
    def load(self, name: str, required: bool, nfields: tuple[int, int | None] | None) -> dict[str, Entry] | None:
        """Read one table, checking encoding, sorting, uniqueness and field counts."""
        path = self.root / name
        if not path.is_file():
            if required:
                self.error(name, None, None, "required file is missing")
            return None
        entries = read_table(path)
        self.entries[name] = entries
        table: dict[str, Entry] = {}
        prev: Entry | None = None
        for e in entries:
            if e.problem is not None:
                self.error(name, e.line, e.key or None, e.problem)
                if not e.key:
                    continue
            if e.key in table:
                self.error(name, e.line, e.key, f"duplicate id (first on line {table[e.key].line})")
                continue
            if prev is not None and sort_key(e.key) < sort_key(prev.key):
                self.error(name, e.line, e.key,
                           f"not sorted: comes after '{prev.key}' (line {prev.line}); sort with LC_ALL=C sort")
            if nfields is not None:
                lo, hi = nfields
                n = len(e.fields)
                if n < lo or (hi is not None and n > hi):
                    want = f"{lo}" if lo == hi else (f"at least {lo}" if hi is None else f"{lo}-{hi}")
                    self.error(name, e.line, e.key, f"expected {want} field(s) after the id, got {n}: '{e.value}'")
            table[e.key] = e
            prev = e
        return table

    def same_ids(self, ref_name: str, ref: dict[str, Entry], name: str, table: dict[str, Entry], what: str) -> None:
        """Every id of ``table`` in ``ref`` and vice versa."""
        for key, e in table.items():
            if key not in ref:
                self.error(name, e.line, key, f"{what} not in {ref_name}")
        for key, e in ref.items():
            if key not in table:
                self.error(ref_name, e.line, key, f"{what} has no entry in {name}")

    # --- the whole dir ----------------------------------------------------------------------
    def run(self) -> Report:
        o = self.opts
        utt2spk = self.load("utt2spk", True, (1, 1))
        spk2utt = self.load("spk2utt", True, (1, None))
        wav = self.load("wav.scp", True, (1, None))
        text = self.load("text", o.check_text, None)
        segments = self.load("segments", False, (3, 3))
        reco2dur = self.load("reco2dur", False, (1, 1))
        utt2dur = self.load("utt2dur", False, (1, 1))
        feats = self.load("feats.scp", False, (1, 1)) if o.check_feats else None
        num_frames = self.load("utt2num_frames", False, (1, 1)) if o.check_feats else None
        cmvn = self.load("cmvn.scp", False, (1, 1)) if o.check_feats else None
        if utt2spk is None:
            return self.report
        self.check_speakers(utt2spk, spk2utt)
        for name, table in (("text", text), ("utt2dur", utt2dur), ("feats.scp", feats),
                            ("utt2num_frames", num_frames)):
            if table is not None:
                self.same_ids("utt2spk", utt2spk, name, table, "utterance")
        if text is not None:
            self.check_text(text)
        if cmvn is not None:
            spks = {e.value.split()[0] for e in utt2spk.values() if e.value}
            for key, e in cmvn.items():
                if key not in spks:
                    self.error("cmvn.scp", e.line, key, "speaker not in utt2spk")
            for spk in sorted(spks - set(cmvn), key=sort_key):
                self.error("cmvn.scp", None, spk, "speaker of utt2spk has no CMVN stats")
        durations = self.check_recordings(wav, reco2dur, segments)
        if segments is not None:
            self.same_ids("utt2spk", utt2spk, "segments", segments, "utterance")
            self.check_segments(segments, wav or {}, durations)
        elif wav is not None:
            self.same_ids("utt2spk", utt2spk, "wav.scp", wav, "id (no segments file: utterance = recording)")
        if feats is not None:
            self.check_feats(feats)
        if o.lexicon and text is not None:
            self.oov_report(text, Path(o.lexicon))
        n_spk = len({e.value for e in utt2spk.values()})
        self.report.info.append(
            f"{self.root}: {len(utt2spk)} utterances, {n_spk} speakers, "
            f"{len(wav or {})} recordings; {len(self.report.errors)} error(s), "
            f"{len(self.report.warnings)} warning(s)"
        )
        return self.report

    def check_speakers(self, utt2spk: dict[str, Entry], spk2utt: dict[str, Entry] | None) -> None:
        derived: dict[str, list[str]] = collections.defaultdict(list)
        for utt, e in utt2spk.items():
            spk = e.value.split()[0] if e.value else ""
            derived[spk].append(utt)
            if spk and not utt.startswith(spk):
                self.warn("utt2spk", e.line, utt,
                          f"utterance id does not start with its speaker id '{spk}' "
                          "(sorting by utterance will not group speakers)")
        if spk2utt is None:
            return
        for spk, e in spk2utt.items():
            utts = e.fields
            if spk not in derived:
                self.error("spk2utt", e.line, spk, "speaker not in utt2spk")
                continue
            if sorted(utts, key=sort_key) != sorted(derived[spk], key=sort_key):
                extra = sorted(set(utts) - set(derived[spk]))[:5]
                missing = sorted(set(derived[spk]) - set(utts))[:5]
                self.error("spk2utt", e.line, spk,
                           f"utterances differ from utt2spk (extra: {extra}, missing: {missing}); "
                           "regenerate spk2utt from utt2spk")
        for spk in sorted(set(derived) - set(spk2utt), key=sort_key):
            self.error("spk2utt", None, spk, "speaker of utt2spk is missing from spk2utt")

    def check_text(self, text: dict[str, Entry]) -> None:
        for utt, e in text.items():
            if not e.value.strip():
                self.error("text", e.line, utt, "empty or whitespace-only transcript")
            elif any(ch in e.value for ch in ("\u00a0", "\u200b", "\ufeff", "\x0b", "\x0c")):
                self.error("text", e.line, utt, "transcript contains a non-ASCII/odd whitespace character")

    def check_recordings(self, wav: dict[str, Entry] | None, reco2dur: dict[str, Entry] | None,
                         segments: dict[str, Entry] | None = None) -> dict[str, float]:
        """Audio existence/rate/length checks; returns the best known duration of each recording.

        A recording whose audio cannot be read or is truncated is an error that also names its
        utterances (from ``segments``; without it the recording is the utterance).
        """
        users: dict[str, list[str]] = {}
        for utt, e in (segments or {}).items():
            if e.fields:
                users.setdefault(e.fields[0], []).append(utt)

        def utterances(reco: str) -> str:
            if segments is None:
                return f"utterance '{reco}'"
            utts = users.get(reco, [])
            shown = ", ".join(f"'{u}'" for u in utts[:5]) + (f" and {len(utts) - 5} more" if len(utts) > 5 else "")
            return f"utterance{'s' if len(utts) != 1 else ''} {shown}" if utts else "no utterance"

        durations: dict[str, float] = {}
        if reco2dur is not None:
            if wav is not None:
                self.same_ids("wav.scp", wav, "reco2dur", reco2dur, "recording")
            for reco, e in reco2dur.items():
                try:
                    durations[reco] = float(e.value)
                except ValueError:
                    self.error("reco2dur", e.line, reco, f"duration '{e.value}' is not a number")
        if wav is None or not self.opts.check_audio:
            return durations
        for reco, e in wav.items():
            spec = e.value
            if not spec:
                continue
            missing = [f for f in referenced_files(spec) if not Path(f).is_file()]
            if missing:
                self.error("wav.scp", e.line, reco, f"audio file {missing[0]} does not exist")
                continue
            if is_pipe(spec):
                continue  # the command is run only when features are computed
            try:
                info = audio_info(spec, reco)
            except AudioError as err:
                self.error("wav.scp", e.line, reco, f"{str(err).split(': ', 1)[-1]} ({utterances(reco)})")
                continue
            if info.num_samples == 0:
                self.error("wav.scp", e.line, reco, f"audio file {spec} has no samples (zero length)")
            if self.opts.sample_rate and info.sample_rate != self.opts.sample_rate:
                self.error("wav.scp", e.line, reco,
                           f"sample rate {info.sample_rate} Hz, expected {self.opts.sample_rate} Hz ({spec})")
            if reco in durations and abs(durations[reco] - info.duration) > self.opts.segment_tolerance:
                self.error("reco2dur", None, reco,
                           f"duration {durations[reco]} differs from the audio header ({info.duration:.3f} s)")
            durations.setdefault(reco, info.duration)
        return durations

    def check_segments(self, segments: dict[str, Entry], wav: dict[str, Entry], durations: dict[str, float]) -> None:
        tol = self.opts.segment_tolerance
        for utt, e in segments.items():
            f = e.fields
            if len(f) != 3:
                continue
            reco = f[0]
            if wav and reco not in wav:
                self.error("segments", e.line, utt, f"recording '{reco}' not in wav.scp")
            try:
                start, end = float(f[1]), float(f[2])
            except ValueError:
                self.error("segments", e.line, utt, f"start/end '{f[1]} {f[2]}' are not numbers")
                continue
            if start < 0:
                self.error("segments", e.line, utt, f"negative start time {start}")
            if not start < end:
                self.error("segments", e.line, utt, f"start {start} is not before end {end}")
            dur = durations.get(reco)
            if dur is not None and end > dur + tol:
                self.error("segments", e.line, utt,
                           f"segment end {end} s is past the end of recording '{reco}' ({dur:.3f} s)")

    def check_feats(self, feats: dict[str, Entry]) -> None:
        """Every ``feats.scp`` entry's archive exists and holds its whole matrix (headers only)."""
        by_archive: dict[str, list[tuple[str, Entry, int | None]]] = {}
        for utt, e in feats.items():
            target, _, offset = e.value.rpartition(":")
            if not target or not offset.isdigit():
                target, offset = e.value, ""
            by_archive.setdefault(target, []).append((utt, e, int(offset) if offset else None))
        for target, entries in by_archive.items():
            if target.rstrip().endswith("|"):
                continue  # a command: read only when the features are used
            if not Path(target).is_file():
                for utt, e, _ in entries:
                    self.error("feats.scp", e.line, utt, f"feature archive {target} does not exist")
                continue
            size = Path(target).stat().st_size
            with open(target, "rb") as handle:
                for utt, e, offset in entries:
                    problem = None if offset is None else matrix_record_problem(handle, offset, size)
                    if problem:
                        self.error("feats.scp", e.line, utt, f"feature archive {target}: {problem}")

    def oov_report(self, text: dict[str, Entry], lexicon: Path) -> None:
        if not lexicon.is_file():
            self.error(str(lexicon), None, None, "word list/lexicon does not exist")
            return
        words = {e.key for e in read_table(lexicon) if e.key}
        counts: collections.Counter[str] = collections.Counter()
        total = 0
        for utt, e in text.items():
            oov = [w for w in e.fields if w not in words]
            total += len(e.fields)
            counts.update(oov)
            if oov:
                self.warn("text", e.line, utt, f"{len(oov)} out-of-vocabulary word(s) not in {lexicon}: "
                          + " ".join(oov[:10]) + (" ..." if len(oov) > 10 else ""))
        n_oov = sum(counts.values())
        rate = 100.0 * n_oov / total if total else 0.0
        top = ", ".join(f"{w} ({c})" for w, c in counts.most_common(10))
        self.report.info.append(
            f"OOV report against {lexicon}: {n_oov} of {total} tokens ({rate:.2f}%), "
            f"{len(counts)} word types" + (f"; most frequent: {top}" if top else "")
        )


def validate_data_dir(path: str | Path, opts: ValidateOptions = ValidateOptions()) -> Report:
    """Check the data dir at ``path``; returns every issue found (never raises on bad content)."""
    root = Path(path)
    if not root.is_dir():
        rep = Report()
        rep.issues.append(Issue("error", str(root), None, None, "data directory does not exist"))
        return rep
    return _Checker(root, opts).run()


def format_report(report: Report, limit: int = 0) -> Iterable[str]:
    """Lines for printing: issues (at most ``limit`` per file when > 0), then info lines."""
    shown: collections.Counter[str] = collections.Counter()
    hidden: collections.Counter[str] = collections.Counter()
    for issue in report.issues:
        if limit and shown[issue.file] >= limit:
            hidden[issue.file] += 1
            continue
        shown[issue.file] += 1
        yield str(issue)
    for f, n in hidden.items():
        yield f"... and {n} more issue(s) in {f}"
    yield from report.info
