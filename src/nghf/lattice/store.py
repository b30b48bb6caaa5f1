"""Compact on-disk storage of frame-synchronous lattices, readable by utterance id.

One ``.npz`` archive per job (``lat.JOB.npz``) holds the lattices of many utterances as
concatenated arrays plus per-utterance offsets: states (their times), final states and
costs, and arcs (``src``/``dst`` as utterance-local state ids, pdf, transition-id, phone,
word, graph cost). Integers are stored as int32, costs as float32 (the graph costs come
from float32 FSTs anyway); an arc takes 28 bytes. Arc frames are not stored: a state's time
gives them (``frame = state_times[src]``).

Loading rebuilds :class:`~nghf.lattice.types.Lattice` objects directly from the arrays (no
re-trimming): stored lattices were validated when they were made, and a vectorised check on
load (offsets, state ranges, frame-synchronous arcs, final states at time ``T``) catches a
damaged or foreign file with an error naming the file and the utterance.

:class:`LatticeStore` opens every ``lat.*.npz`` of a directory, indexes utterances (only the
small per-utterance arrays are read up front) and loads an archive's arc arrays on first use.
A directory of Kaldi lattices (``lat.*.gz`` only) is an error that says how to import them
(``nghf-import-lattices``, :func:`nghf.lattice.kaldi_io.import_kaldi_lattices`): converting
needs the transition model, which the store does not have.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from nghf.lattice.types import Lattice, LatticeError
from nghf.utils.atomic import atomic_path

FORMAT = "nghf-fslat-1"
_PER_UTT = ("num_frames", "num_states", "start")
_STATE = ("state_times",)
_FINAL = ("final_states", "final_costs")
_ARC = ("src", "dst", "pdf", "tid", "phone", "word", "graph_cost")
_INT32_MAX = np.iinfo(np.int32).max


def save_lattice_archive(path: str | Path, lattices: Iterable[Lattice]) -> int:
    """Write ``lattices`` (in the given order) to one ``.npz`` archive atomically; returns its size in bytes."""
    lats = list(lattices)
    seen: set[str] = set()
    for lat in lats:
        if lat.utt_id in seen:
            raise LatticeError(f"{path}: utterance {lat.utt_id} given twice")
        seen.add(lat.utt_id)

    def cat(name: str, dtype: type) -> np.ndarray:
        parts = [getattr(lat, name).numpy() for lat in lats]
        out = np.concatenate(parts) if parts else np.zeros(0)
        if np.issubdtype(dtype, np.integer) and out.size and int(np.abs(out).max()) > _INT32_MAX:
            raise LatticeError(f"{path}: {name} values exceed int32")
        return out.astype(dtype)

    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "utts": np.array([lat.utt_id for lat in lats], dtype=str),
        "num_frames": np.array([lat.num_frames for lat in lats], dtype=np.int64),
        "num_states": np.array([lat.num_states for lat in lats], dtype=np.int64),
        "start": np.array([lat.start for lat in lats], dtype=np.int64),
        "state_offsets": np.cumsum([0] + [lat.num_states for lat in lats]).astype(np.int64),
        "final_offsets": np.cumsum([0] + [len(lat.final_states) for lat in lats]).astype(np.int64),
        "arc_offsets": np.cumsum([0] + [lat.num_arcs for lat in lats]).astype(np.int64),
        "state_times": cat("state_times", np.int32),
        "final_states": cat("final_states", np.int32),
        "final_costs": cat("final_costs", np.float32),
    }
    for name in _ARC:
        arrays[name] = cat(name, np.float32 if name == "graph_cost" else np.int32)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    return Path(path).stat().st_size


class _Archive:
    """One archive: the per-utterance arrays at once, the big arrays when first needed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._npz = np.load(path, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile) as err:
            raise LatticeError(f"{path}: cannot read lattice archive: {err}") from None
        try:
            if str(self._npz["format"]) != FORMAT:
                raise LatticeError(f"{path}: not an nghf lattice archive (format {FORMAT} expected)")
            self.utts = [str(u) for u in self._npz["utts"]]
            self.meta = {k: self._npz[k] for k in (*_PER_UTT, "state_offsets", "final_offsets", "arc_offsets")}
        except KeyError as err:
            raise LatticeError(f"{path}: not an nghf lattice archive (missing {err})") from None
        n = len(self.utts)
        for k in _PER_UTT:
            if self.meta[k].shape != (n,):
                raise LatticeError(f"{path}: {k} has {self.meta[k].shape} entries for {n} utterances")
        for k in ("state_offsets", "final_offsets", "arc_offsets"):
            off = self.meta[k]
            if off.shape != (n + 1,) or off[0] != 0 or np.any(np.diff(off) < 0):
                raise LatticeError(f"{path}: {k} is not a valid offset array")
        self.position = {u: i for i, u in enumerate(self.utts)}
        if len(self.position) != n:
            raise LatticeError(f"{path}: an utterance appears twice")
        self._big: dict[str, np.ndarray] | None = None

    def num_frames(self, utt: str) -> int:
        return int(self.meta["num_frames"][self.position[utt]])

    def _arrays(self) -> dict[str, np.ndarray]:
        if self._big is None:
            try:
                self._big = {k: self._npz[k] for k in (*_STATE, *_FINAL, *_ARC)}
            except (KeyError, ValueError, zipfile.BadZipFile) as err:
                raise LatticeError(f"{self.path}: damaged lattice archive: {err}") from None
            self._npz.close()
            m = self.meta
            for k, off in (("state_times", "state_offsets"), ("final_states", "final_offsets"),
                           ("final_costs", "final_offsets"), *((a, "arc_offsets") for a in _ARC)):
                if self._big[k].shape != (int(m[off][-1]),):
                    raise LatticeError(f"{self.path}: {k} has {self._big[k].shape[0]} entries, offsets say {int(m[off][-1])}")
        return self._big

    def lattice(self, utt: str) -> Lattice:
        i = self.position[utt]
        big, m = self._arrays(), self.meta
        s0, s1 = int(m["state_offsets"][i]), int(m["state_offsets"][i + 1])
        f0, f1 = int(m["final_offsets"][i]), int(m["final_offsets"][i + 1])
        a0, a1 = int(m["arc_offsets"][i]), int(m["arc_offsets"][i + 1])
        t, s, start = int(m["num_frames"][i]), int(m["num_states"][i]), int(m["start"][i])
        times = big["state_times"][s0:s1].astype(np.int64)
        finals = big["final_states"][f0:f1].astype(np.int64)
        src, dst = big["src"][a0:a1].astype(np.int64), big["dst"][a0:a1].astype(np.int64)
        who = f"{self.path}: utterance {utt}"
        if s1 - s0 != s or not 0 <= start < s or t <= 0:
            raise LatticeError(f"{who}: inconsistent state count, start state or frame count")
        if s and (np.any(np.diff(times) < 0) or times[0] < 0 or times[-1] > t):
            raise LatticeError(f"{who}: state times are not sorted within 0..{t}")
        if np.any((src < 0) | (src >= s) | (dst < 0) | (dst >= s)) or np.any((finals < 0) | (finals >= s)):
            raise LatticeError(f"{who}: a state id is outside 0..{s - 1}")
        frame = times[src]
        if np.any(times[dst] != frame + 1) or np.any(np.diff(frame) < 0):
            raise LatticeError(f"{who}: arcs are not frame-synchronous or not sorted by frame")
        if len(finals) == 0 or np.any(times[finals] != t) or times[start] != 0:
            raise LatticeError(f"{who}: start state not at time 0 or a final state not at time {t}")
        for name, lo, hi in (("graph_cost", a0, a1), ("final_costs", f0, f1)):
            bad = np.flatnonzero(~np.isfinite(big[name][lo:hi]))
            if bad.size:
                raise LatticeError(f"{who}: {name}[{int(bad[0])}] is {big[name][lo + bad[0]]} (NaN/Inf is not a cost)")

        def ten(x: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(x)).to(dtype)

        return Lattice(
            utt_id=utt, num_frames=t, num_states=s, start=start,
            state_times=ten(times, torch.int64), final_states=ten(finals, torch.int64),
            final_costs=ten(big["final_costs"][f0:f1], torch.float64),
            frame=ten(frame, torch.int64), src=ten(src, torch.int64), dst=ten(dst, torch.int64),
            pdf=ten(big["pdf"][a0:a1], torch.int64), tid=ten(big["tid"][a0:a1], torch.int64),
            phone=ten(big["phone"][a0:a1], torch.int64), graph_cost=ten(big["graph_cost"][a0:a1], torch.float64),
            word=ten(big["word"][a0:a1], torch.int64),
        )


def load_lattice_archive(path: str | Path) -> dict[str, Lattice]:
    """All lattices of one archive, by utterance id (in file order)."""
    archive = _Archive(Path(path))
    return {u: archive.lattice(u) for u in archive.utts}


def archive_job(path: Path) -> tuple[int, str]:
    """Sort key of ``lat.JOB.npz`` files: the job number, then the name."""
    parts = path.name.split(".")
    return (int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0, path.name)


class LatticeStore:
    """Read-only access by utterance id to the lattice archives of a directory (or a file list).

    ``store[utt]`` returns a :class:`Lattice`; ``num_frames(utt)`` answers without loading
    arcs. An utterance in two archives is an error naming both files.
    """

    def __init__(self, source: str | Path | Sequence[str | Path], pattern: str = "lat.*.npz") -> None:
        if isinstance(source, (str, Path)):
            root = Path(source)
            if root.is_dir():
                files = sorted(root.glob(pattern), key=archive_job)
                if not files and any(root.glob("lat.*.gz")):
                    raise LatticeError(
                        f"{root}: holds Kaldi lattice archives (lat.*.gz) but no nghf ones ({pattern}); "
                        f"convert them with: nghf-import-lattices --trans-model <ali-dir>/final.mdl {root} <denlat-dir>")
                if not files:
                    raise LatticeError(f"{root}: no lattice archives ({pattern})")
            elif root.is_file():
                files = [root]
            else:
                raise LatticeError(f"{root}: no such lattice directory or archive")
        else:
            files = [Path(f) for f in source]
        self.archives = [_Archive(f) for f in files]
        self._where: dict[str, _Archive] = {}
        for arch in self.archives:
            for utt in arch.utts:
                if utt in self._where:
                    raise LatticeError(f"utterance {utt} is in both {self._where[utt].path} and {arch.path}")
                self._where[utt] = arch

    def __contains__(self, utt: object) -> bool:
        return utt in self._where

    def __len__(self) -> int:
        return len(self._where)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def utt_ids(self) -> list[str]:
        return list(self._where)

    def num_frames(self, utt: str) -> int:
        return self._archive(utt).num_frames(utt)

    def __getitem__(self, utt: str) -> Lattice:
        return self._archive(utt).lattice(utt)

    def _archive(self, utt: str) -> _Archive:
        try:
            return self._where[utt]
        except KeyError:
            raise LatticeError(f"utterance {utt}: no lattice in {', '.join(str(a.path) for a in self.archives[:3])}"
                               f"{' ...' if len(self.archives) > 3 else ''}") from None
