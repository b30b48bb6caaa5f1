"""Kaldi data directories in memory: read, write, derive ``spk2utt`` and lhotse manifests.

A data dir holds per-utterance tables (``text``, ``utt2spk``, ``segments``, ``utt2dur``,
``utt2num_frames``, ``feats.scp``), per-recording tables (``wav.scp``, ``reco2dur``) and
per-speaker tables (``spk2utt``, ``cmvn.scp``, ``spk2gender``). The Kaldi files are the
source of truth; lhotse ``RecordingSet``/``SupervisionSet``/``CutSet`` manifests are derived
from them (``write_manifests``) for the Python side. Loading is strict (any duplicate or
undecodable line raises naming file, line and id); ``nghf.data.validate`` is the lenient,
report-everything checker.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path

from nghf.data.kaldi_files import DataDirError, read_dict, sort_key, write_table

UTT_FILES = ("text", "utt2spk", "segments", "utt2dur", "utt2num_frames", "feats.scp")
RECO_FILES = ("wav.scp", "reco2dur", "reco2file_and_channel")
SPK_FILES = ("spk2utt", "cmvn.scp", "spk2gender")
ALL_FILES = UTT_FILES + RECO_FILES + SPK_FILES


@dataclasses.dataclass(frozen=True)
class Segment:
    """One line of ``segments``: the utterance's recording and its time span in seconds."""

    reco: str
    start: float
    end: float


@dataclasses.dataclass
class DataDir:
    """The tables of one data dir, keyed by id (``tables['text'][utt] == 'words ...'``)."""

    tables: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)

    # --- access -------------------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self.tables

    def get(self, name: str) -> dict[str, str]:
        return self.tables.get(name, {})

    @property
    def utt2spk(self) -> dict[str, str]:
        return self.get("utt2spk")

    @property
    def utts(self) -> list[str]:
        """Utterance ids in ``LC_ALL=C`` order."""
        return sorted(self.utt2spk, key=sort_key)

    @property
    def wav_scp(self) -> dict[str, str]:
        return self.get("wav.scp")

    @property
    def text(self) -> dict[str, str]:
        return self.get("text")

    def spk2utt(self) -> dict[str, list[str]]:
        """Speaker -> its utterances (sorted), derived from ``utt2spk``."""
        out: dict[str, list[str]] = {}
        for utt in self.utts:
            out.setdefault(self.utt2spk[utt], []).append(utt)
        return dict(sorted(out.items(), key=lambda kv: sort_key(kv[0])))

    def segments(self) -> dict[str, Segment] | None:
        """Parsed ``segments`` (``None`` when the dir has none: then utterance == recording)."""
        if not self.has("segments"):
            return None
        out = {}
        for utt, value in self.tables["segments"].items():
            f = value.split()
            try:
                out[utt] = Segment(f[0], float(f[1]), float(f[2]))
            except (IndexError, ValueError):
                raise DataDirError(f"segments: utterance '{utt}': expected '<reco> <start> <end>', got '{value}'") from None
        return out

    def utt_source(self, utt: str) -> tuple[str, float, float | None]:
        """(recording id, start, end) of an utterance; end ``None`` means to the end of the audio."""
        segs = self.segments()
        if segs is None:
            return utt, 0.0, None
        seg = segs[utt]
        return seg.reco, seg.start, seg.end

    # --- derived copies -----------------------------------------------------------------
    def subset(self, utts: Iterable[str]) -> DataDir:
        """A copy restricted to ``utts`` (and the recordings and speakers they use)."""
        keep = set(utts)
        out: dict[str, dict[str, str]] = {}
        for name, table in self.tables.items():
            if name in UTT_FILES:
                out[name] = {k: v for k, v in table.items() if k in keep}
        spks = {self.utt2spk[u] for u in keep if u in self.utt2spk}
        segs = self.segments()
        recos = {s.reco for u, s in segs.items() if u in keep} if segs is not None else keep
        for name in RECO_FILES:
            if name in self.tables:
                out[name] = {k: v for k, v in self.tables[name].items() if k in recos}
        for name in SPK_FILES:
            if name in self.tables and name != "spk2utt":
                out[name] = {k: v for k, v in self.tables[name].items() if k in spks}
        result = DataDir(out)
        result.tables["spk2utt"] = {s: " ".join(u) for s, u in result.spk2utt().items()}
        return result


def load_data_dir(path: str | Path, names: Iterable[str] = ALL_FILES) -> DataDir:
    """Read the Kaldi tables of ``path`` that exist (strict: raises ``DataDirError`` on bad lines)."""
    path = Path(path)
    if not path.is_dir():
        raise DataDirError(f"{path}: data directory does not exist")
    if not (path / "utt2spk").is_file():
        raise DataDirError(f"{path}/utt2spk: missing (every data dir needs utt2spk)")
    tables = {}
    for name in names:
        f = path / name
        if f.is_file():
            tables[name] = read_dict(f)
    return DataDir(tables)


def save_data_dir(data: DataDir, path: str | Path) -> None:
    """Write every table sorted in ``LC_ALL=C`` order, and ``spk2utt`` derived from ``utt2spk``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for name, table in data.tables.items():
        if name == "spk2utt":
            continue
        write_table(path / name, table.items())
    write_table(path / "spk2utt", ((s, " ".join(u)) for s, u in data.spk2utt().items()))


def combine_data_dirs(dirs: Iterable[DataDir]) -> DataDir:
    """Union of data dirs with disjoint ids (raises naming the id on a clash).

    A file that only some of the dirs have (e.g. ``feats.scp``) is left out of the union.
    """
    out: dict[str, dict[str, str]] = {}
    dirs = list(dirs)
    optional = set(UTT_FILES + RECO_FILES + SPK_FILES) - {"utt2spk", "wav.scp", "spk2utt"}
    # A file only some sources have would leave ids uncovered: keep it only if all have it.
    partial = {n for n in optional if any(d.has(n) for d in dirs) and not all(d.has(n) for d in dirs)}
    for d in dirs:
        for name, table in d.tables.items():
            if name in partial:
                continue
            if name == "spk2utt":
                continue
            target = out.setdefault(name, {})
            for k, v in table.items():
                if k in target and target[k] != v and name not in SPK_FILES:
                    raise DataDirError(f"{name}: id '{k}' occurs in two of the combined dirs")
                target[k] = v
    return DataDir(out)


def write_manifests(data: DataDir, path: str | Path, sample_rate: int) -> None:
    """Write lhotse ``recordings``/``supervisions``/``cuts`` (``*.jsonl.gz``) beside the Kaldi files.

    Recording lengths come from ``reco2dur`` when present, otherwise from the audio header.
    """
    from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet
    from lhotse.audio import AudioSource

    from nghf.data.audio import audio_info, is_pipe, pipe_command

    path = Path(path)
    reco2dur = {k: float(v) for k, v in data.get("reco2dur").items()}
    recordings = []
    for reco, spec in sorted(data.wav_scp.items(), key=lambda kv: sort_key(kv[0])):
        if reco in reco2dur:
            dur = reco2dur[reco]
            num_samples = int(round(dur * sample_rate))
        else:
            info = audio_info(spec, reco)
            num_samples = info.num_samples
        source = (
            AudioSource(type="command", channels=[0], source=pipe_command(spec))
            if is_pipe(spec)
            else AudioSource(type="file", channels=[0], source=str(Path(spec.strip()).resolve()))
        )
        recordings.append(
            Recording(id=reco, sources=[source], sampling_rate=sample_rate,
                      num_samples=num_samples, duration=num_samples / sample_rate)
        )
    rec_set = RecordingSet.from_recordings(recordings)
    durations = {r.id: r.duration for r in recordings}
    sups = []
    for utt in data.utts:
        reco, start, end = data.utt_source(utt)
        stop = durations[reco] if end is None else min(end, durations[reco])
        sups.append(
            SupervisionSegment(id=utt, recording_id=reco, start=start, duration=round(stop - start, 6),
                               channel=0, text=data.text.get(utt), speaker=data.utt2spk[utt])
        )
    sup_set = SupervisionSet.from_segments(sups)
    cuts = CutSet.from_manifests(recordings=rec_set, supervisions=sup_set).trim_to_supervisions(
        keep_overlapping=False
    )
    for name, manifest in (("recordings", rec_set), ("supervisions", sup_set), ("cuts", cuts)):
        # lhotse picks the format from the suffix, so the temporary name keeps it.
        tmp = path / f".tmp{os.getpid()}.{name}.jsonl.gz"
        manifest.to_file(tmp)
        os.replace(tmp, path / f"{name}.jsonl.gz")
