"""The decoder's raw lattices: parsed from OpenFst text, saved and loaded as ``.npz``.

The type is :class:`nghf.lattice.raw.RawLattice` (parallel arc arrays with graph and unscaled
acoustic costs apart, so the best path can be recomputed for any LM weight). Lattices of many
utterances are saved together in one ``.npz`` (concatenated arrays plus offsets).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nghf.lattice.raw import RawLattice
from nghf.lattice.types import LatticeError
from nghf.utils.atomic import atomic_path

_ARC_FIELDS = ("src", "dst", "ilabel", "olabel", "graph_cost", "ac_cost")
_FINAL_FIELDS = ("final_state", "final_graph", "final_ac")


def lattice_from_text(text: str, acoustic_scale: float) -> RawLattice:
    """Build a :class:`RawLattice` from OpenFst text of a Kaldi lattice (``Lattice.to_str()``).

    Lines are ``src dst ilabel olabel [g,a]`` or ``state [g,a]`` (final); a missing weight is
    One (0,0). Acoustic costs are divided by ``acoustic_scale`` (the decoder saw scaled
    log-likelihoods) so the stored costs are unscaled, as in Kaldi's lattice archives.

    Parsed with array operations, not line by line: a decoding lattice has thousands of arcs
    per utterance, and a per-line Python parser took a fifth of a decoding job's time.
    """
    raw = text.encode("ascii")
    chars = np.frombuffer(raw, dtype=np.uint8)
    comma = chars == ord(",")
    is_sep = comma | np.isin(chars, np.frombuffer(b" \t\r\n", dtype=np.uint8))
    token_start = np.flatnonzero(~is_sep & np.concatenate(([True], is_sep[:-1])))
    line_of_char = np.cumsum(chars == ord("\n"))
    num_lines = int(line_of_char[-1]) + 1 if chars.size else 0
    counts = np.bincount(line_of_char[token_start], minlength=num_lines)
    first = np.cumsum(counts) - counts                       # index of each line's first token
    values = _numbers(raw.replace(b",", b" ")) if token_start.size else np.zeros(0)
    if values.size != token_start.size:
        _malformed(text, int(line_of_char[token_start[values.size]]), "a field is not a number")
    # Line shapes: (fields, commas) is (1, 0) or (4, 0) without a weight, (3, 1) or (6, 1) with
    # one written 'g,a' as the last field, or (0, 0) for a blank line.
    comma_at = np.flatnonzero(comma)
    comma_line = line_of_char[comma_at]
    commas = np.bincount(comma_line, minlength=num_lines)
    shape_ok = ((commas == 0) & np.isin(counts, (0, 1, 4))) | ((commas == 1) & np.isin(counts, (3, 6)))
    last_token = token_start[np.maximum(first + counts - 1, 0)] if token_start.size else np.zeros(num_lines, np.int64)
    weight_ok = (last_token[comma_line] == comma_at + 1) & ~is_sep[np.maximum(comma_at - 1, 0)] & (comma_at > 0)
    shape_ok[comma_line[~weight_ok]] = False
    if not shape_ok.all():
        _malformed(text, int(np.flatnonzero(~shape_ok)[0]),
                   "expected 'src dst ilabel olabel [g,a]' or 'state [g,a]'")
    arcs, finals = counts >= 4, (counts == 1) | (counts == 3)
    a0, f0 = first[arcs], first[finals]
    int_fields = np.concatenate([(a0[:, None] + np.arange(4)).ravel(), f0])
    not_id = (values[int_fields] != np.floor(values[int_fields])) | (values[int_fields] < 0)
    if not_id.any():
        bad_token = int(int_fields[np.flatnonzero(not_id)[0]])
        _malformed(text, int(line_of_char[token_start[bad_token]]), "a state or label is not a whole number")

    def weights(start: np.ndarray, has_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        graph = np.where(has_weight, values[np.where(has_weight, start, 0)], 0.0)
        ac = np.where(has_weight, values[np.where(has_weight, start + 1, 0)], 0.0)
        return graph, ac

    arc_g, arc_a = weights(a0 + 4, counts[arcs] == 6)
    fin_g, fin_a = weights(f0 + 1, counts[finals] == 3)
    src = values[a0].astype(np.int32)
    dst = values[a0 + 1].astype(np.int32)
    final_state = values[f0].astype(np.int32)
    used = counts > 0
    start = int(values[first[used][0]]) if used.any() else 0
    num_states = 1 + max(int(src.max(initial=-1)), int(dst.max(initial=-1)), int(final_state.max(initial=-1)))
    inv = 1.0 / acoustic_scale
    return RawLattice(
        num_states=num_states,
        start=start,
        src=src,
        dst=dst,
        ilabel=values[a0 + 2].astype(np.int32),
        olabel=values[a0 + 3].astype(np.int32),
        graph_cost=arc_g.astype(np.float32),
        ac_cost=(arc_a * inv).astype(np.float32),
        final_state=final_state,
        final_graph=fin_g.astype(np.float32),
        final_ac=(fin_a * inv).astype(np.float32),
    )


def _malformed(text: str, line: int, what: str) -> None:
    raise LatticeError(f"lattice text line {line + 1}: {what}, got {text.split(chr(10))[line]!r}")


def _numbers(body: bytes) -> np.ndarray:
    """Whitespace-separated numbers of ``body`` up to the first that is not one (C parser)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # numpy warns where it stops early
        try:
            return np.fromstring(body, sep=" ")
        except ValueError:  # a later numpy raises instead of stopping early: find where
            numbers = []
            for token in body.split():
                try:
                    numbers.append(float(token))
                except ValueError:
                    break
            return np.asarray(numbers, dtype=np.float64)


def save_lattices(path: str | Path, lattices: Mapping[str, RawLattice]) -> None:
    """Save many utterances' lattices in one ``.npz`` (atomically)."""
    utts = sorted(lattices)
    arrays: dict[str, np.ndarray] = {"utts": np.asarray(utts, dtype=str)}
    arrays["num_states"] = np.asarray([lattices[u].num_states for u in utts], dtype=np.int64)
    arrays["start"] = np.asarray([lattices[u].start for u in utts], dtype=np.int64)
    arrays["arc_offsets"] = np.cumsum([0] + [lattices[u].num_arcs for u in utts]).astype(np.int64)
    arrays["final_offsets"] = np.cumsum([0] + [lattices[u].final_state.size for u in utts]).astype(np.int64)
    for name in _ARC_FIELDS + _FINAL_FIELDS:
        parts = [getattr(lattices[u], name) for u in utts]
        arrays[name] = np.concatenate(parts) if parts else np.zeros(0)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


def load_lattices(path: str | Path) -> dict[str, RawLattice]:
    """Load what :func:`save_lattices` wrote."""
    path = Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise LatticeError(f"{path}: cannot read lattice file: {err}") from None
    with data:
        try:
            utts = [str(u) for u in data["utts"]]
            ao, fo = data["arc_offsets"], data["final_offsets"]
            arrays = {name: data[name] for name in _ARC_FIELDS + _FINAL_FIELDS}
            out = {}
            for i, u in enumerate(utts):
                arc = {n: arrays[n][ao[i]:ao[i + 1]] for n in _ARC_FIELDS}
                fin = {n: arrays[n][fo[i]:fo[i + 1]] for n in _FINAL_FIELDS}
                out[u] = RawLattice(int(data["num_states"][i]), int(data["start"][i]), **arc, **fin)
        except KeyError as err:
            raise LatticeError(f"{path}: not an nghf lattice file (missing {err})") from None
    return out
