"""Repair a Kaldi data dir: sort every file, keep only ids present everywhere, say what went.

Kaldi's ``fix_data_dir.sh`` in Python, with an exact account: for every file the number of
removed lines per reason (duplicate id, undecodable or malformed line, id missing from
another file, empty transcript, bad segment times, recording without segments, audio file
missing or empty), and a copy
of each original file plus its removed lines under ``<dir>/.backup/``. ``spk2utt`` is
regenerated from ``utt2spk``.
"""

from __future__ import annotations

import collections
import dataclasses
import shutil
from pathlib import Path

from nghf.data.audio import referenced_files
from nghf.data.datadir import RECO_FILES, SPK_FILES, UTT_FILES
from nghf.data.kaldi_files import Entry, read_table, sort_key, write_lines
from nghf.utils.logging import get_logger

log = get_logger(__name__)

_FIELDS = {"utt2spk": 1, "segments": 3, "utt2dur": 1, "utt2num_frames": 1, "feats.scp": 1,
           "reco2dur": 1, "cmvn.scp": 1, "spk2gender": 1}


@dataclasses.dataclass
class FixReport:
    """Removed lines per file and reason, and kept counts."""

    removed: dict[str, collections.Counter[str]] = dataclasses.field(default_factory=dict)
    kept: dict[str, int] = dataclasses.field(default_factory=dict)

    def lines(self) -> list[str]:
        out = []
        for name in sorted(self.kept):
            reasons = self.removed.get(name)
            n = sum(reasons.values()) if reasons else 0
            total = self.kept[name] + n
            if n:
                why = "; ".join(f"{c} {r}" for r, c in sorted(reasons.items()))
                out.append(f"{name}: removed {n} of {total} entries ({why}); kept {self.kept[name]}")
            else:
                out.append(f"{name}: kept all {total} entries")
        return out

    @property
    def total_removed(self) -> int:
        return sum(sum(c.values()) for c in self.removed.values())


def fix_data_dir(path: str | Path, drop_empty_text: bool = True, check_audio: bool = True) -> FixReport:
    """Sort and filter the tables of ``path`` in place; returns what was removed and why.

    With ``check_audio``, recordings whose audio file (or a file a ``wav.scp`` pipe reads) is
    missing or empty are removed, and so are their utterances. Audio that exists but is
    wrong (sample rate, truncated) is kept: that is for the data preparation to fix, and
    validation says which.
    """
    root = Path(path)
    report = FixReport()
    raw: dict[str, list[Entry]] = {}
    for name in UTT_FILES + RECO_FILES + SPK_FILES:
        if (root / name).is_file():
            raw[name] = read_table(root / name)
    if "utt2spk" not in raw:
        raise FileNotFoundError(f"{root}/utt2spk: missing; cannot fix a data dir without it")
    removed: dict[str, list[tuple[Entry, str]]] = collections.defaultdict(list)
    tables: dict[str, dict[str, Entry]] = {}
    for name, entries in raw.items():
        table: dict[str, Entry] = {}
        for e in entries:
            reason = _line_problem(name, e)
            if reason is None and e.key in table:
                reason = "duplicate id"
            if reason:
                removed[name].append((e, reason))
            else:
                table[e.key] = e
        tables[name] = table

    def drop(name: str, keep: set[str], reason: str) -> None:
        table = tables.get(name)
        if table is None:
            return
        for key in [k for k in table if k not in keep]:
            removed[name].append((table.pop(key), reason))

    # Recordings whose audio is missing or empty go first, taking their utterances with them
    # (steps/make_fbank.sh sends the user here when validation finds such audio).
    if check_audio and "wav.scp" in tables:
        for key, e in list(tables["wav.scp"].items()):
            reason = _audio_problem(e.value)
            if reason:
                removed["wav.scp"].append((tables["wav.scp"].pop(key), reason))
    # Utterance-level: intersection of all per-utterance files.
    if drop_empty_text and "text" in tables:
        for key in [k for k, e in tables["text"].items() if not e.value.strip()]:
            removed["text"].append((tables["text"].pop(key), "empty transcript"))
    if "segments" in tables:
        recos = set(tables.get("wav.scp", {}))
        for key, e in list(tables["segments"].items()):
            reco, start, end = e.fields[0], float(e.fields[1]), float(e.fields[2])
            if start < 0 or end <= start:
                removed["segments"].append((tables["segments"].pop(key), "start not before end"))
            elif "wav.scp" in tables and reco not in recos:
                removed["segments"].append((tables["segments"].pop(key), "recording not in wav.scp"))
            elif "reco2dur" in tables and reco in tables["reco2dur"] and end > float(tables["reco2dur"][reco].value) + 0.02:
                removed["segments"].append((tables["segments"].pop(key), "segment past the end of its recording"))
    utt_names = [n for n in UTT_FILES if n in tables]
    if "segments" not in tables and "wav.scp" in tables:
        utt_names.append("wav.scp")
    utts = set(tables["utt2spk"])
    for name in utt_names:
        utts &= set(tables[name])
    present = {n: set(tables[n]) for n in utt_names}  # before any removal, for exact reasons
    for name in utt_names:
        for key in [k for k in tables[name] if k not in utts]:
            lacking = [n for n in utt_names if key not in present[n]]
            removed[name].append((tables[name].pop(key), "id not in " + ", ".join(lacking)))
    # Recording- and speaker-level files follow the kept utterances.
    if "segments" in tables:
        used = {e.fields[0] for e in tables["segments"].values()}
        for name in RECO_FILES:
            drop(name, used, "recording has no remaining segments")
    spks = {e.value for e in tables["utt2spk"].values()}
    for name in SPK_FILES:
        if name != "spk2utt":
            drop(name, spks, "speaker has no remaining utterances")
    # Write: backup, sorted tables, regenerated spk2utt.
    backup = root / ".backup"
    if any(removed.values()) or any(_unsorted(raw[n]) for n in raw):
        backup.mkdir(exist_ok=True)
        for name in raw:
            shutil.copyfile(root / name, backup / name)
            if removed.get(name):
                write_lines(backup / f"{name}.removed",
                            [f"{e.key} {e.value}".rstrip() for e, _ in removed[name]])
    for name, table in tables.items():
        if name == "spk2utt":
            continue
        items = sorted(table.values(), key=lambda e: sort_key(e.key))
        write_lines(root / name, [f"{e.key} {e.value}".rstrip() for e in items])
        report.kept[name] = len(items)
    spk2utt: dict[str, list[str]] = collections.defaultdict(list)
    for utt in sorted(tables["utt2spk"], key=sort_key):
        spk2utt[tables["utt2spk"][utt].value].append(utt)
    write_lines(root / "spk2utt", [f"{s} {' '.join(u)}" for s, u in sorted(spk2utt.items(), key=lambda kv: sort_key(kv[0]))])
    if "spk2utt" in raw:
        old = {e.key for e in raw["spk2utt"] if e.key}
        report.kept["spk2utt"] = len(spk2utt)
        gone = old - set(spk2utt)
        if gone:
            removed["spk2utt"].extend((Entry(k, "", 0), "speaker has no remaining utterances") for k in gone)
    for name, items in removed.items():
        report.removed[name] = collections.Counter(reason for _, reason in items)
        report.kept.setdefault(name, 0)
    log.debug("%s: fixed: %s", root, "; ".join(report.lines()))
    return report


def _audio_problem(spec: str) -> str | None:
    """Why the audio of a ``wav.scp`` value cannot be used at all (missing or empty file), or None."""
    for f in referenced_files(spec):
        path = Path(f)
        if not path.is_file():
            return "audio file missing"
        if path.stat().st_size == 0:
            return "audio file empty"
    return None


def _line_problem(name: str, e: Entry) -> str | None:
    if e.problem is not None:
        return e.problem
    want = _FIELDS.get(name)
    if want is not None and len(e.fields) != want:
        return f"malformed line (expected {want} field(s) after the id)"
    if name == "segments":
        try:
            float(e.fields[1])
            float(e.fields[2])
        except ValueError:
            return "malformed line (start/end not numbers)"
    if name == "wav.scp" and not e.value:
        return "malformed line (no audio)"
    return None


def _unsorted(entries: list[Entry]) -> bool:
    keys = [sort_key(e.key) for e in entries if e.key]
    return keys != sorted(keys)
