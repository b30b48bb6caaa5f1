"""MGB-1 (English, BBC) data preparation: XML/STM transcripts + audio lists -> Kaldi data dirs.

Inputs, in the MGB-1 challenge formats:

* training transcripts: one XML file per show, ``<transcript>`` ... ``<segments>`` with
  ``<segment id starttime endtime who PMER WMER AWD>`` elements, each holding the words as
  ``<element starttime endtime type="word">word</element>`` children (the lightly supervised
  alignment of the broadcast subtitles; PMER/WMER are phone/word matched error rates in
  percent, AWD the average word duration in seconds);
* dev/eval references as STM (``show channel speaker start end [<labels>] words``);
* audio lists: ``show-id /path/to/show.wav`` lines (a line with only a path uses the file
  name without extension as the show id; relative paths are relative to the list's folder).

Training segments are selected by the usual MGB filters (``PMER <= max_pmer`` and
``min_awd <= AWD <= max_awd``); text is normalised (lower case, punctuation except
in-word apostrophes removed). Every rejected segment is counted by reason and listed in
``<out>/rejected.tsv``; nothing is dropped silently. Problems in the inputs (malformed
XML, a missing audio file, a segment past the end of its audio) raise ``MgbError`` naming
the file and the line or segment.
"""

from __future__ import annotations

import collections
import dataclasses
import re
import xml.sax
from pathlib import Path

from nghf.data.audio import AudioError, audio_info
from nghf.data.datadir import DataDir, save_data_dir
from nghf.data.kaldi_files import read_table, write_lines
from nghf.utils.logging import get_logger

log = get_logger(__name__)


class MgbError(ValueError):
    """Bad MGB input; the message names the file and line/segment."""


@dataclasses.dataclass(frozen=True)
class MgbSegment:
    """One transcribed segment of a show (from XML or STM)."""

    show: str
    speaker: str
    start: float
    end: float
    words: str
    seg_id: str = ""
    pmer: float | None = None
    wmer: float | None = None
    awd: float | None = None
    source: str = ""  # "file:line" it came from


@dataclasses.dataclass(frozen=True)
class MgbFilter:
    """Training-segment selection. ``None`` disables a limit."""

    max_pmer: float | None = 40.0
    max_wmer: float | None = None
    min_awd: float | None = 0.165
    max_awd: float | None = 0.66
    min_duration: float = 0.1


_PUNCT = re.compile(r"[^\w\s'\-<>\[\]]")
_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Lower case; remove punctuation (keeping apostrophes and hyphens inside words)."""
    t = _PUNCT.sub(" ", text.lower())
    words = []
    for w in t.split():
        w = w.strip("'-")
        if w:
            words.append(w)
    return _SPACES.sub(" ", " ".join(words)).strip()


class _XmlHandler(xml.sax.ContentHandler):
    def __init__(self, path: Path, show: str) -> None:
        super().__init__()
        self.path = path
        self.show = show
        self.segments: list[MgbSegment] = []
        self._seg: dict[str, str] | None = None
        self._seg_line = 0
        self._words: list[str] = []
        self._direct: list[str] = []
        self._in_element = False
        self._buf: list[str] = []
        self._locator: xml.sax.xmlreader.Locator | None = None

    def setDocumentLocator(self, locator: xml.sax.xmlreader.Locator) -> None:  # noqa: N802
        self._locator = locator

    def _line(self) -> int:
        return self._locator.getLineNumber() if self._locator else 0

    def startElement(self, name: str, attrs: xml.sax.xmlreader.AttributesImpl) -> None:  # noqa: N802
        if name == "segment":
            self._seg = dict(attrs)
            self._seg_line = self._line()
            self._words, self._direct = [], []
        elif name == "element" and self._seg is not None:
            self._in_element = True
            self._buf = []
            self._elem_type = attrs.get("type", "word")

    def characters(self, content: str) -> None:
        if self._in_element:
            self._buf.append(content)
        elif self._seg is not None:
            self._direct.append(content)

    def endElement(self, name: str) -> None:  # noqa: N802
        if name == "element" and self._in_element:
            self._in_element = False
            if self._elem_type == "word":
                self._words.append("".join(self._buf).strip())
        elif name == "segment" and self._seg is not None:
            self.segments.append(self._make_segment(self._seg, self._seg_line))
            self._seg = None

    def _make_segment(self, a: dict[str, str], line: int) -> MgbSegment:
        where = f"{self.path}:{line}"
        sid = a.get("id", f"line{line}")
        for key in ("starttime", "endtime"):
            if key not in a:
                raise MgbError(f"{where}: segment '{sid}': missing attribute {key}")

        def num(key: str, required: bool = False) -> float | None:
            if key not in a:
                return None
            try:
                return float(a[key])
            except ValueError:
                raise MgbError(f"{where}: segment '{sid}': attribute {key}='{a[key]}' is not a number") from None

        start, end = num("starttime"), num("endtime")
        assert start is not None and end is not None
        words = " ".join(w for w in self._words if w) if self._words else " ".join("".join(self._direct).split())
        who = a.get("who", "unknown")
        return MgbSegment(self.show, who, start, end, words, sid, num("PMER"), num("WMER"), num("AWD"), where)


def parse_xml(path: str | Path) -> list[MgbSegment]:
    """The segments of one MGB training XML file (show id = file name without ``.xml``)."""
    path = Path(path)
    handler = _XmlHandler(path, path.name.removesuffix(".xml"))
    try:
        xml.sax.parse(str(path), handler)
    except xml.sax.SAXParseException as err:
        raise MgbError(f"{path}:{err.getLineNumber()}:{err.getColumnNumber()}: malformed XML: {err.getMessage()}") from None
    return handler.segments


def parse_stm(path: str | Path) -> tuple[list[MgbSegment], int]:
    """Segments of an STM file and the number of ``ignore_time_segment_in_scoring`` lines skipped."""
    path = Path(path)
    out: list[MgbSegment] = []
    ignored = 0
    for e in read_table(path):
        where = f"{path}:{e.line}"
        if e.problem and e.problem != "blank line":
            raise MgbError(f"{where}: {e.problem}")
        if not e.key or e.key.startswith(";;"):
            continue
        f = e.fields
        if len(f) < 4:
            raise MgbError(f"{where}: expected 'show channel speaker start end [labels] words', got '{e.key} {e.value}'")
        try:
            start, end = float(f[2]), float(f[3])
        except ValueError:
            raise MgbError(f"{where}: start/end '{f[2]} {f[3]}' are not numbers") from None
        rest = f[4:]
        if rest and rest[0].startswith("<"):
            rest = rest[1:]
        words = " ".join(rest)
        if f[1].lower().startswith("inter_segment_gap") or "ignore_time_segment_in_scoring" in words.lower():
            ignored += 1
            continue
        out.append(MgbSegment(e.key, f[1], start, end, words, "", source=where))
    return out, ignored


def read_audio_list(path: str | Path) -> dict[str, tuple[str, str]]:
    """``{show: (wav path, "file:line")}`` from an audio list."""
    path = Path(path)
    out: dict[str, tuple[str, str]] = {}
    for e in read_table(path):
        where = f"{path}:{e.line}"
        if e.problem == "blank line":
            continue
        if e.problem:
            raise MgbError(f"{where}: {e.problem}")
        if e.value:
            show, wav = e.key, e.value
        else:
            wav = e.key
            show = Path(wav).name.rsplit(".", 1)[0]
        if show in out:
            raise MgbError(f"{where}: show '{show}' listed twice (first at {out[show][1]})")
        if not Path(wav).is_absolute():
            wav = str(path.parent / wav)  # relative paths are relative to the list's directory
        out[show] = (wav, where)
    return out


def _keep(seg: MgbSegment, flt: MgbFilter) -> str | None:
    """``None`` to keep a training segment, else the reason it is rejected."""
    if seg.end - seg.start < flt.min_duration:
        return f"shorter than {flt.min_duration} s"
    if flt.max_pmer is not None:
        if seg.pmer is None:
            return "no PMER attribute"
        if seg.pmer > flt.max_pmer:
            return f"PMER > {flt.max_pmer:g}"
    if flt.max_wmer is not None and seg.wmer is not None and seg.wmer > flt.max_wmer:
        return f"WMER > {flt.max_wmer:g}"
    if seg.awd is not None:
        if flt.min_awd is not None and seg.awd < flt.min_awd:
            return f"AWD < {flt.min_awd:g}"
        if flt.max_awd is not None and seg.awd > flt.max_awd:
            return f"AWD > {flt.max_awd:g}"
    return None


def build_data_dir(
    segments: list[MgbSegment], audio: dict[str, tuple[str, str]], out: str | Path,
    flt: MgbFilter | None, audio_list: str,
) -> DataDir:
    """Kaldi data dir from segments (filtered when ``flt`` is given) and the audio list."""
    out = Path(out)
    shows = sorted({s.show for s in segments})
    durations: dict[str, float] = {}
    for show in shows:
        if show not in audio:
            raise MgbError(f"{audio_list}: no audio listed for show '{show}' (needed by {segments[0].source.split(':')[0] if segments else '?'})")
        wav, where = audio[show]
        try:
            durations[show] = audio_info(wav, show).duration
        except AudioError as err:
            raise MgbError(f"{where}: {err}") from None
    tables: dict[str, dict[str, str]] = {n: {} for n in ("wav.scp", "segments", "text", "utt2spk", "reco2dur")}
    rejected: list[str] = []
    reasons: collections.Counter[str] = collections.Counter()
    for seg in segments:
        dur = durations[seg.show]
        if seg.start < 0 or seg.end <= seg.start:
            raise MgbError(f"{seg.source}: segment '{seg.seg_id}' of show '{seg.show}': start {seg.start} not before end {seg.end}")
        if seg.end > dur + 0.02:
            raise MgbError(f"{seg.source}: segment '{seg.seg_id or seg.speaker}' of show '{seg.show}' ends at "
                           f"{seg.end} s, past the end of its audio {audio[seg.show][0]} ({dur:.2f} s)")
        reason = _keep(seg, flt) if flt is not None else None
        words = normalise_text(seg.words)
        if reason is None and not words:
            reason = "no words after normalisation"
        if reason is not None:
            reasons[reason] += 1
            rejected.append(f"{seg.source}\t{seg.seg_id}\t{reason}")
            continue
        who = seg.speaker if seg.speaker.startswith(seg.show) else f"{seg.show}_{seg.speaker}"
        spk = re.sub(r"\s+", "_", who)
        utt = f"{spk}-{int(round(seg.start * 100)):07d}-{int(round(seg.end * 100)):07d}"
        if utt in tables["text"]:
            raise MgbError(f"{seg.source}: segment '{seg.seg_id}' duplicates utterance '{utt}' (same speaker and times)")
        tables["segments"][utt] = f"{seg.show} {seg.start:.2f} {min(seg.end, dur):.2f}"
        tables["text"][utt] = words
        tables["utt2spk"][utt] = spk
    used = {v.split()[0] for v in tables["segments"].values()}
    for show in used:
        tables["wav.scp"][show] = str(Path(audio[show][0]).resolve())
        tables["reco2dur"][show] = f"{durations[show]:.4f}"
    data = DataDir(tables)
    save_data_dir(data, out)
    write_lines(out / "rejected.tsv", rejected)
    total = len(segments)
    summary = ", ".join(f"{n} {r}" for r, n in reasons.most_common()) or "none"
    log.info("%s: kept %d of %d segments; rejected: %s (listed in %s)", out, len(tables["text"]),
             total, summary, out / "rejected.tsv")
    return data


def prepare_train(xml_files: list[Path], audio_list: str | Path, out: str | Path, flt: MgbFilter) -> DataDir:
    """Training data dir from per-show XML files."""
    segments: list[MgbSegment] = []
    for f in xml_files:
        segments.extend(parse_xml(f))
    return build_data_dir(segments, read_audio_list(audio_list), out, flt, str(audio_list))


def prepare_stm(stm: str | Path, audio_list: str | Path, out: str | Path) -> DataDir:
    """Dev/eval data dir from an STM reference (the STM is copied beside it for scoring)."""
    segments, ignored = parse_stm(stm)
    data = build_data_dir(segments, read_audio_list(audio_list), out, None, str(audio_list))
    write_lines(Path(out) / "stm", [ln.rstrip("\n") for ln in Path(stm).read_text(encoding="utf-8").splitlines()])
    if ignored:
        log.info("%s: skipped %d ignore_time_segment_in_scoring/inter_segment_gap lines", stm, ignored)
    return data
