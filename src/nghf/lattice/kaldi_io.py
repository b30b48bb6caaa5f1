"""Kaldi lattice archives: reading and writing ``Lattice`` and ``CompactLattice``, text and binary.

Kaldi's two lattice types (see Kaldi's "Lattices" documentation):

* ``Lattice``: an FST whose arcs carry an input label (transition-id, 0 = epsilon), an output
  label (word) and a weight ``(graph_cost, acoustic_cost)`` — what decoders produce.
* ``CompactLattice``: an acceptor whose arcs carry a word and a weight
  ``(graph_cost, acoustic_cost, transition-id string)`` — what ``lattice-determinize`` and
  most lattice archives on disk hold.

Archive layout: ``key`` + space, then the object. Binary objects start with ``\\0B`` and are an
OpenFST ``VectorFst`` in its binary form (header: magic, fst type ``vector``, arc type
``lattice4`` or ``compactlattice44``, version, flags, properties, start, state and arc counts;
then, per state, its final weight, arc count and arcs ``ilabel olabel weight nextstate``; a
compact weight is two floats, an int32 length and that many int32 transition-ids). Text
objects are a newline, one line per arc (``src dst ilabel olabel [g,a]`` or, compact,
``src dst word [g,a,t1_t2_...]``) or final state (``state [weight]``; an omitted weight is
One), and a terminating empty line. Infinite (Zero) final weights mark non-final states.

Archives whose name ends in ``.gz`` are written gzipped, as Kaldi's ``steps/`` keep their
``lat.JOB.gz``; reading recognises gzip by its magic bytes (or ``ark:gunzip -c FILE|``).

Everything is read into :class:`~nghf.lattice.raw.RawLattice` (a compact arc with a
transition-id string of length n becomes a chain of n arcs, the word and weight on the first),
and :func:`read_frame_lattices` converts on to the frame-synchronous form. Writing takes
``RawLattice`` objects; :func:`lattice_to_raw` turns a frame-synchronous lattice back into one.
Errors name the file, the utterance and (in text) the line.
"""

from __future__ import annotations

import gzip
import io
import math
import struct
import sys
import time
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from nghf.lattice.convert import raw_to_lattice
from nghf.lattice.raw import RawArc, RawLattice
from nghf.lattice.types import Lattice, LatticeError
from nghf.utils.atomic import atomic_path

_MAGIC = 2125659606
_LATTICE_ARC = "lattice4"
_COMPACT_ARC = "compactlattice44"
_PROPERTIES = 0x3  # kExpanded | kMutable; all other properties "unknown" (always valid)


class KaldiFormatError(LatticeError):
    """A lattice archive that cannot be parsed (message names the file and utterance)."""


# ---------------------------------------------------------------------------- specifiers
def _strip_specifier(spec: str | Path) -> str:
    """``ark:foo``, ``ark,t:foo``, ``ark:gunzip -c foo|`` → ``foo``.

    ``scp`` and other pipes are not supported for lattices here: gzip is recognised by its
    magic bytes, which covers the pipe Kaldi recipes use.
    """
    text = str(spec)
    if ":" in text and text.split(":", 1)[0].replace(",", "").isalpha():
        kind, rest = text.split(":", 1)
        opts = kind.split(",")
        if opts[0] != "ark":
            raise KaldiFormatError(f"{spec}: only ark: specifiers are supported for lattices, got {opts[0]}:")
        text = rest
    if text.endswith("|"):
        words = text[:-1].split()
        if len(words) == 3 and words[:2] == ["gunzip", "-c"]:
            return words[2]
        raise KaldiFormatError(f"{spec}: pipes other than 'gunzip -c FILE|' are not supported for lattices")
    return text


def _open_read(spec: str | Path) -> tuple[BinaryIO, str]:
    path = _strip_specifier(spec)
    if path == "-":
        return sys.stdin.buffer, "<stdin>"
    try:
        return open(path, "rb"), path  # noqa: SIM115 (closed by the caller)
    except OSError as err:
        raise KaldiFormatError(f"{path}: cannot open lattice archive: {err.strerror}") from None


# ---------------------------------------------------------------------------- reading
class _Reader:
    """Byte-level cursor over an archive, tracking the line number for text errors."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data, self.pos, self.name = data, 0, name

    def line_no(self) -> int:
        return self.data.count(b"\n", 0, self.pos) + 1

    def fail(self, utt: str, message: str) -> KaldiFormatError:
        return KaldiFormatError(f"{self.name}:{self.line_no()}: utterance {utt}: {message}")

    def eof(self) -> bool:
        while self.pos < len(self.data) and self.data[self.pos : self.pos + 1].isspace():
            self.pos += 1
        return self.pos >= len(self.data)

    def key(self) -> str:
        end = self.pos
        while end < len(self.data) and not self.data[end : end + 1].isspace():
            end += 1
        key = self.data[self.pos : end].decode("utf-8", errors="replace")
        if end >= len(self.data) or self.data[end : end + 1] != b" ":
            raise KaldiFormatError(f"{self.name}:{self.line_no()}: expected 'key ' before a lattice, got {key!r}")
        self.pos = end + 1
        return key

    def unpack(self, utt: str, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise KaldiFormatError(f"{self.name}: utterance {utt}: binary lattice is truncated")
        out = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return out

    def string(self, utt: str) -> str:
        (n,) = self.unpack(utt, "<i")
        if n < 0 or n > 256:
            raise KaldiFormatError(f"{self.name}: utterance {utt}: bad string length {n} in an FST header")
        s = self.data[self.pos : self.pos + n].decode("ascii", errors="replace")
        self.pos += n
        return s


def _read_binary(r: _Reader, utt: str) -> RawLattice:
    (magic,) = r.unpack(utt, "<i")
    if magic != _MAGIC:
        raise KaldiFormatError(f"{r.name}: utterance {utt}: not an OpenFST binary (magic {magic})")
    fst_type, arc_type = r.string(utt), r.string(utt)
    if fst_type != "vector":
        raise KaldiFormatError(f"{r.name}: utterance {utt}: FST type {fst_type!r} (only 'vector' is supported)")
    if arc_type not in (_LATTICE_ARC, _COMPACT_ARC):
        raise KaldiFormatError(f"{r.name}: utterance {utt}: arc type {arc_type!r} is not lattice4/compactlattice44")
    compact = arc_type == _COMPACT_ARC
    _version, _flags, _props, start, num_states, _num_arcs = r.unpack(utt, "<iiQqqq")
    if num_states < 0 or (num_states and not 0 <= start < num_states):
        raise KaldiFormatError(f"{r.name}: utterance {utt}: bad start {start} / {num_states} states")
    builder = _RawBuilder(utt, num_states, start)

    def weight() -> tuple[float, float, list[int]]:
        g, a = r.unpack(utt, "<ff")
        if not compact:
            return g, a, []
        (n,) = r.unpack(utt, "<i")
        if n < 0:
            raise KaldiFormatError(f"{r.name}: utterance {utt}: negative transition-id string length")
        return g, a, list(r.unpack(utt, f"<{n}i")) if n else []

    for s in range(num_states):
        g, a, tids = weight()
        builder.final(s, g, a, tids)
        (n_arcs,) = r.unpack(utt, "<q")
        for _ in range(n_arcs):
            ilabel, olabel = r.unpack(utt, "<ii")
            g, a, tids = weight()
            (dst,) = r.unpack(utt, "<i")
            if compact:
                builder.compact_arc(s, dst, ilabel, g, a, tids)
            else:
                builder.arc(s, dst, ilabel, olabel, g, a)
    return builder.done(r.name)


def _parse_weight(text: str, compact: bool, where: str) -> tuple[float, float, list[int]]:
    parts = text.split(",")
    if len(parts) != (3 if compact else 2):
        raise KaldiFormatError(f"{where}: bad {'compact ' if compact else ''}lattice weight {text!r}")
    try:
        g, a = float(parts[0]), float(parts[1])
        tids = [int(x) for x in parts[2].split("_") if x] if compact else []
    except ValueError:
        raise KaldiFormatError(f"{where}: bad lattice weight {text!r}") from None
    return g, a, tids


def _read_text(r: _Reader, utt: str) -> RawLattice:
    # The object is a newline, then lines up to an empty line (or the end of the file).
    if r.data[r.pos : r.pos + 1] == b"\n":
        r.pos += 1
    lines: list[tuple[int, list[str]]] = []
    first_line = r.line_no()
    while r.pos < len(r.data):
        end = r.data.find(b"\n", r.pos)
        end = len(r.data) if end < 0 else end
        line = r.data[r.pos : end].decode("utf-8", errors="replace")
        r.pos = end + 1
        if not line.strip():
            break
        lines.append((first_line + len(lines), line.split()))
    if not lines:
        raise KaldiFormatError(f"{r.name}:{first_line}: utterance {utt}: empty lattice")
    compact = any(f[-1].count(",") == 2 for _, f in lines)
    try:  # arcs: "src dst ..." (3+ fields); finals: "state [weight]"; OpenFST prints the start first
        states = [int(f[0]) for _, f in lines] + [int(f[1]) for _, f in lines if len(f) >= 3]
    except ValueError:
        raise KaldiFormatError(f"{r.name}:{first_line}: utterance {utt}: state ids must be integers") from None
    if min(states) < 0:
        raise KaldiFormatError(f"{r.name}:{first_line}: utterance {utt}: negative state id")
    builder = _RawBuilder(utt, max(states) + 1, int(lines[0][1][0]))
    for line_no, f in lines:
        where = f"{r.name}:{line_no}: utterance {utt}"
        try:
            if len(f) in (1, 2):
                g, a, tids = _parse_weight(f[1], compact, where) if len(f) == 2 else (0.0, 0.0, [])
                builder.final(int(f[0]), g, a, tids)
            elif compact and len(f) in (3, 4):
                g, a, tids = _parse_weight(f[3], True, where) if len(f) == 4 else (0.0, 0.0, [])
                builder.compact_arc(int(f[0]), int(f[1]), int(f[2]), g, a, tids)
            elif not compact and len(f) in (4, 5):
                g, a, _ = _parse_weight(f[4], False, where) if len(f) == 5 else (0.0, 0.0, [])
                builder.arc(int(f[0]), int(f[1]), int(f[2]), int(f[3]), g, a)
            else:
                raise KaldiFormatError(f"{where}: cannot parse lattice line {' '.join(f)!r}")
        except ValueError as err:
            if isinstance(err, KaldiFormatError):
                raise
            raise KaldiFormatError(f"{where}: cannot parse lattice line {' '.join(f)!r}") from None
    return builder.done(r.name)


class _RawBuilder:
    """Collects states/arcs into a RawLattice; compact arcs become transition-id chains."""

    def __init__(self, utt: str, num_states: int, start: int) -> None:
        self.utt, self.num_states, self.start = utt, num_states, start
        self.arcs: list[RawArc] = []
        self.finals: dict[int, tuple[float, float]] = {}

    def _new_state(self) -> int:
        self.num_states += 1
        return self.num_states - 1

    def arc(self, src: int, dst: int, ilabel: int, olabel: int, g: float, a: float) -> None:
        self.arcs.append((src, dst, ilabel, olabel, g, a))

    def _chain(self, src: int, dst: int | None, word: int, g: float, a: float, tids: list[int]) -> int:
        """Arcs src → ... → dst spelling ``tids`` (word and weight on the first); returns the end."""
        labels = tids or [0]
        state = src
        for i, tid in enumerate(labels):
            last = i == len(labels) - 1
            nxt = dst if (last and dst is not None) else self._new_state()
            self.arcs.append((state, nxt, tid, word if i == 0 else 0, g if i == 0 else 0.0, a if i == 0 else 0.0))
            state = nxt
        return state

    def compact_arc(self, src: int, dst: int, word: int, g: float, a: float, tids: list[int]) -> None:
        self._chain(src, dst, word, g, a, tids)

    def final(self, state: int, g: float, a: float, tids: list[int]) -> None:
        if math.isinf(g) and g > 0:
            return  # Zero weight: not final
        if tids:  # trailing transition-ids on a compact final weight
            end = self._chain(state, None, 0, g, a, tids)
            self.finals[end] = (0.0, 0.0)
        else:
            self.finals[state] = (g, a)

    def done(self, name: str) -> RawLattice:
        for s, d, *_ in self.arcs:
            if not (0 <= s < self.num_states and 0 <= d < self.num_states):
                raise KaldiFormatError(f"{name}: utterance {self.utt}: arc to state {d} outside 0..{self.num_states - 1}")
        return RawLattice.from_arcs(self.num_states, self.start, self.finals, self.arcs)


def read_lattice_archive(spec: str | Path) -> Iterator[tuple[str, RawLattice]]:
    """Yield ``(utt_id, RawLattice)`` from a Kaldi archive of Lattice or CompactLattice (text or binary)."""
    handle, name = _open_read(spec)
    try:
        data = handle.read()
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise KaldiFormatError(f"{name}: damaged gzip lattice archive: {err}") from None
    r = _Reader(data, name)
    while not r.eof():
        utt = r.key()
        if data[r.pos : r.pos + 2] == b"\0B":
            r.pos += 2
            yield utt, _read_binary(r, utt)
        else:
            yield utt, _read_text(r, utt)


def read_frame_lattices(
    spec: str | Path,
    tid_to_pdf: np.ndarray,
    tid_to_phone: np.ndarray,
    frames: dict[str, int] | None = None,
) -> Iterator[Lattice]:
    """Read an archive and convert every lattice to the frame-synchronous form.

    ``frames`` (utterance → number of feature frames) is checked when given.
    """
    name = _strip_specifier(spec)
    for utt, raw in read_lattice_archive(spec):
        expected = None if frames is None else frames.get(utt)
        if frames is not None and expected is None:
            raise KaldiFormatError(f"{name}: utterance {utt}: no features for this lattice")
        try:
            yield raw_to_lattice(raw, tid_to_pdf, tid_to_phone, utt, expected)
        except LatticeError as err:
            raise KaldiFormatError(f"{name}: {err}") from None


def raw_from_fst_text(text: str, utt_id: str) -> RawLattice:
    """A RawLattice from OpenFST text of a Kaldi ``Lattice`` (e.g. ``kaldifst.Lattice.to_str()``)."""
    r = _Reader(b"\n" + text.encode("utf-8") + b"\n", f"<fst text of {utt_id}>")
    r.pos = 0
    return _read_text(r, utt_id)


# ---------------------------------------------------------------------------- writing
def lattice_to_raw(lat: Lattice, acoustic_costs: torch.Tensor | np.ndarray | None = None) -> RawLattice:
    """A frame-synchronous lattice as a Kaldi-style raw lattice (ilabel = transition-id).

    ``acoustic_costs`` (per arc, in the lattice's arc order) fill the acoustic part of the
    weights; by default 0.
    """
    ac = np.zeros(lat.num_arcs) if acoustic_costs is None else np.asarray(acoustic_costs, dtype=np.float64)
    if ac.shape != (lat.num_arcs,):
        raise LatticeError(f"utterance {lat.utt_id}: {ac.shape} acoustic costs for {lat.num_arcs} arcs")
    arcs = np.column_stack([x.numpy().astype(np.float64) for x in (lat.src, lat.dst, lat.tid, lat.word, lat.graph_cost)]
                           + [ac]) if lat.num_arcs else np.zeros((0, 6))
    finals = {int(f): (float(c), 0.0) for f, c in zip(lat.final_states.tolist(), lat.final_costs.tolist(), strict=True)}
    return RawLattice.from_arcs(lat.num_states, lat.start, finals, arcs)


def _fmt(x: float) -> str:
    return "Infinity" if math.isinf(x) else f"{x:.9g}"


def _arc_tuples(raw: RawLattice) -> list[RawArc]:
    """The arcs as ``(src, dst, ilabel, olabel, graph, acoustic)`` tuples of ints and floats."""
    return [(int(s), int(d), int(i), int(o), g, a) for s, d, i, o, g, a in raw.arc_table().tolist()]


def _compact_arcs(raw: RawLattice, utt: str) -> list[tuple[int, int, int, float, float, list[int]]]:
    """A raw lattice as compact arcs: each arc keeps one transition-id (or none) and its word.

    Compact arcs are acceptor arcs labelled by the word; a raw arc whose input is a transition-id
    becomes a compact arc with that one-element string.
    """
    return [(s, d, w, g, a, [tid] if tid else []) for s, d, tid, w, g, a in _arc_tuples(raw)]


_STATE_RECORD = np.dtype([("g", "<f4"), ("a", "<f4"), ("n", "<i8")])  # final weight, arc count
_ARC_RECORD = np.dtype([("i", "<i4"), ("o", "<i4"), ("g", "<f4"), ("a", "<f4"), ("d", "<i4")])


def _lattice_body(raw: RawLattice, utt: str) -> bytes:
    """The per-state part of a binary ``Lattice`` (not compact), built with array operations.

    The layout is, state after state, its final weight and arc count (16 bytes) followed by its
    arcs (20 bytes each): all arc records are made at once, sorted by source state (stably, so
    a state keeps its arc order), and each state's record is inserted before its first arc.
    Decoder and denominator lattices have millions of arcs per job; a loop per arc would cost
    more than the decoding it records.
    """
    cols = raw.arc_table()
    n = raw.num_states
    src = cols[:, 0].astype(np.int64)
    bad = np.flatnonzero((src < 0) | (src >= n) | (cols[:, 1] < 0) | (cols[:, 1] >= n))
    if bad.size:
        raise KaldiFormatError(f"utterance {utt}: arc {bad[0]} refers to a state outside 0..{n - 1}")
    order = np.argsort(src, kind="stable")
    cols, src = cols[order], src[order]
    arcs = np.empty(len(cols), dtype=_ARC_RECORD)
    arcs["i"], arcs["o"], arcs["d"] = cols[:, 2], cols[:, 3], cols[:, 1]
    arcs["g"], arcs["a"] = cols[:, 4], cols[:, 5]
    states = np.empty(n, dtype=_STATE_RECORD)
    states["g"], states["a"] = np.inf, np.inf
    for s, (g, a) in raw.finals.items():
        states[s] = (g, a, 0)
    counts = np.bincount(src, minlength=n)
    states["n"] = counts
    first_arc = np.concatenate([[0], np.cumsum(counts)[:-1]]) if n else np.zeros(0, dtype=np.int64)
    where = np.repeat(first_arc * _ARC_RECORD.itemsize, _STATE_RECORD.itemsize)
    body = np.insert(arcs.view(np.uint8), where, states.view(np.uint8))
    return body.tobytes()


def _write_binary(out: io.BytesIO, raw: RawLattice, compact: bool, utt: str) -> None:
    out.write(struct.pack("<i", _MAGIC))
    for s in ("vector", _COMPACT_ARC if compact else _LATTICE_ARC):
        out.write(struct.pack("<i", len(s)) + s.encode("ascii"))
    out.write(struct.pack("<iiQqqq", 2, 0, _PROPERTIES, raw.start, raw.num_states, raw.num_arcs))
    if not compact:
        out.write(_lattice_body(raw, utt))
        return
    by_state: dict[int, list] = {}
    for arc in _compact_arcs(raw, utt):
        by_state.setdefault(arc[0], []).append(arc)

    def weight(g: float, a: float, tids: list[int]) -> bytes:
        b = struct.pack("<ff", g, a)
        if compact:
            b += struct.pack(f"<i{len(tids)}i", len(tids), *tids)
        return b

    inf = float("inf")
    for s in range(raw.num_states):
        g, a = raw.finals.get(s, (inf, inf))
        out.write(weight(g, a, []))
        arcs = by_state.get(s, [])
        out.write(struct.pack("<q", len(arcs)))
        for _, d, w, g, a, tids in arcs:
            out.write(struct.pack("<ii", w, w) + weight(g, a, tids) + struct.pack("<i", d))


def _write_text(out: io.BytesIO, raw: RawLattice, compact: bool, utt: str) -> None:
    lines = ["", *_text_lines(raw, compact, utt), ""]
    out.write(("\n".join(lines) + "\n").encode("utf-8"))


def _text_lines(raw: RawLattice, compact: bool, utt: str) -> list[str]:
    lines = []
    # OpenFST prints the start state's arcs first; states in order otherwise.
    order = [raw.start] + [s for s in range(raw.num_states) if s != raw.start]
    by_state: dict[int, list] = {}
    arcs = _compact_arcs(raw, utt) if compact else _arc_tuples(raw)
    for arc in arcs:
        by_state.setdefault(arc[0], []).append(arc)
    for s in order:
        for arc in by_state.get(s, []):
            if compact:
                _, d, w, g, a, tids = arc
                lines.append(f"{s}\t{d}\t{w}\t{_fmt(g)},{_fmt(a)},{'_'.join(map(str, tids))}")
            else:
                _, d, tid, w, g, a = arc
                lines.append(f"{s}\t{d}\t{tid}\t{w}\t{_fmt(g)},{_fmt(a)}")
        if s in raw.finals:
            g, a = raw.finals[s]
            lines.append(f"{s}\t{_fmt(g)},{_fmt(a)}" + ("," if compact else ""))
    return lines


def write_lattice_archive(
    path: str | Path, items: Iterable[tuple[str, RawLattice]], binary: bool = True, compact: bool = False
) -> int:
    """Write ``(utt_id, RawLattice)`` pairs as a Kaldi archive (atomically); returns the count.

    ``compact=True`` writes ``CompactLattice`` objects (one transition-id per arc), otherwise
    ``Lattice``. A path ending in ``.gz`` is written gzipped (fastest level: the arrays of
    floats compress little more at higher levels, and any gzip reader reads it).
    """
    target = _strip_specifier(path)
    count = 0
    buf = io.BytesIO()
    for utt, raw in items:
        if not utt or any(c.isspace() for c in utt):
            raise KaldiFormatError(f"{target}: utterance id {utt!r} is empty or contains whitespace")
        buf.write(utt.encode("utf-8") + b" ")
        if binary:
            buf.write(b"\0B")
            _write_binary(buf, raw, compact, utt)
        else:
            _write_text(buf, raw, compact, utt)
        count += 1
    if target == "-":
        sys.stdout.buffer.write(buf.getvalue())
        return count
    data = buf.getvalue()
    if target.endswith(".gz"):
        data = gzip.compress(data, compresslevel=1, mtime=0)
    with atomic_path(target) as tmp:
        Path(tmp).write_bytes(data)
    return count


# ---------------------------------------------------------------------------- importing
def import_kaldi_lattices(
    archive: str | Path,
    out_path: str | Path,
    tid_to_pdf: np.ndarray,
    tid_to_phone: np.ndarray,
    frames: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Convert one Kaldi lattice archive (e.g. a ``lat.JOB.gz`` of Kaldi's ``make_denlats.sh``)
    into an nghf lattice store ``out_path`` (``lat.JOB.npz``, :mod:`nghf.lattice.store`).

    Lattices are converted to the frame-synchronous form with the transition model's maps
    (graph costs kept, acoustic costs dropped: training recomputes them); ``frames``
    (utterance → feature frames at the model's frame rate) checks their lengths. Any lattice
    that cannot be converted is an error naming the archive and the utterance: a store is
    either complete or not written. Returns statistics in the shape of a denominator-lattice
    job's ``stats.JOB.json`` (:func:`nghf.lattice.stats.summarise_jobs` reads them).
    """
    from nghf.lattice.store import save_lattice_archive

    start = time.monotonic()
    lats = list(read_frame_lattices(archive, tid_to_pdf, tid_to_phone, frames))
    if not lats:
        raise KaldiFormatError(f"{_strip_specifier(archive)}: no lattices in the archive")
    size = save_lattice_archive(out_path, lats)
    frames_total = sum(lat.num_frames for lat in lats)
    arcs = sum(lat.num_arcs for lat in lats)
    seconds = time.monotonic() - start
    return {
        "job": _job_number(Path(out_path)), "imported_from": str(_strip_specifier(archive)),
        "utterances": len(lats), "lattices": len(lats), "failed": {}, "frames": frames_total,
        "arcs": arcs, "arcs_before_pruning": arcs, "arcs_per_frame": round(arcs / max(frames_total, 1), 3),
        "seconds": round(seconds, 3), "bytes": size,
    }


def _job_number(path: Path) -> int:
    parts = path.name.split(".")
    return int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 1
