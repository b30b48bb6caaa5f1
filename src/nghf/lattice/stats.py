"""Statistics of frame-synchronous lattices: density, and how well they cover the reference.

* :func:`lattice_density` — arcs/states per frame of one lattice.
* :func:`numerator_coverage` — for a denominator lattice and the reference pdf sequence: the
  share of frames whose reference pdf is on some arc of that frame, and whether the whole
  reference pdf sequence is a path of the lattice (MMI needs the reference inside the
  denominator; Kaldi's ``--drop-frames`` exists for the frames where it is not).
* :func:`oracle_errors` — the oracle word errors of a lattice against the reference words:
  the smallest edit distance between the reference and the word sequence of any lattice path
  (a DP over lattice states × reference positions, frame by frame, vectorised over arcs).
* :func:`summarise_jobs` — totals over the ``stats.JOB.json`` files of a lattice directory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nghf.lattice.types import Lattice, LatticeError


def lattice_density(lat: Lattice) -> dict[str, float]:
    """``frames``, ``states``, ``arcs``, ``arcs_per_frame`` (mean) and ``max_arcs_per_frame``."""
    per_frame = np.bincount(lat.frame.numpy(), minlength=lat.num_frames)
    return {
        "frames": float(lat.num_frames), "states": float(lat.num_states), "arcs": float(lat.num_arcs),
        "arcs_per_frame": lat.num_arcs / lat.num_frames, "max_arcs_per_frame": float(per_frame.max()),
    }


def numerator_coverage(den: Lattice, ref_pdfs: np.ndarray | Sequence[int]) -> tuple[float, bool]:
    """``(share of frames whose reference pdf is on a den arc, reference path in den)``."""
    ref = np.asarray(ref_pdfs, dtype=np.int64)
    if len(ref) != den.num_frames:
        raise LatticeError(
            f"utterance {den.utt_id}: reference has {len(ref)} frames, the lattice {den.num_frames}"
        )
    frame, pdf = den.frame.numpy(), den.pdf.numpy()
    src, dst = den.src.numpy(), den.dst.numpy()
    match = pdf == ref[frame]
    covered = np.zeros(den.num_frames, dtype=bool)
    covered[frame[match]] = True
    # Forward reachability through matching arcs only, frame by frame.
    reach = np.zeros(den.num_states, dtype=bool)
    reach[den.start] = True
    bounds = np.searchsorted(frame, np.arange(den.num_frames + 1))
    for t in range(den.num_frames):
        a0, a1 = bounds[t], bounds[t + 1]
        ok = match[a0:a1] & reach[src[a0:a1]]
        reach[dst[a0:a1][ok]] = True
    in_lattice = bool(reach[den.final_states.numpy()].any())
    return float(covered.mean()), in_lattice


def oracle_errors(lat: Lattice, ref_words: np.ndarray | Sequence[int]) -> int:
    """Smallest word edit distance between ``ref_words`` and the words of any path of ``lat``.

    ``cost[s, j]`` = fewest edits turning the words of some path prefix ending in state ``s``
    into ``ref[:j]``. An arc without a word copies its source's row; an arc with word ``w``
    gives ``min(cost[src, j] + 1`` (insertion), ``cost[src, j-1] + [w != ref[j-1]])``
    (substitution or match); deletions of reference words inside a state are the closure
    ``cost[s, j] = min_k (cost[s, k] + j - k)``, a running minimum of ``cost[s, k] - k``.
    States are visited frame by frame (all arcs of a frame at once). Oracle WER over a set of
    utterances = Σ errors / Σ reference words. A reference word id that is not in the graph
    (e.g. -1 for an OOV) matches nothing.
    """
    ref = np.asarray(ref_words, dtype=np.int64)
    n = len(ref)
    positions = np.arange(n + 1)
    big = np.iinfo(np.int64).max // 4
    cost = np.full((lat.num_states, n + 1), big, dtype=np.int64)
    cost[lat.start] = positions
    frame, src, dst, word = lat.frame.numpy(), lat.src.numpy(), lat.dst.numpy(), lat.word.numpy()
    bounds = np.searchsorted(frame, np.arange(lat.num_frames + 1))
    state_times = lat.state_times.numpy()
    state_bounds = np.searchsorted(state_times, np.arange(lat.num_frames + 2))
    for t in range(lat.num_frames):
        a = slice(bounds[t], bounds[t + 1])
        rows = cost[src[a]]
        w = word[a]
        out = rows.copy()
        has = w > 0
        if has.any():
            r = rows[has]
            sub = r[:, :-1] + (w[has, None] != ref[None, :])
            out[has] = r + 1
            out[has, 1:] = np.minimum(out[has, 1:], sub)
        np.minimum.at(cost, dst[a], out)
        s0, s1 = state_bounds[t + 1], state_bounds[t + 2]
        cost[s0:s1] = np.minimum.accumulate(cost[s0:s1] - positions, axis=1) + positions
    return int(cost[lat.final_states.numpy(), n].min())


def reference_word_ids(
    text: Mapping[str, Sequence[str]], word_table: Mapping[int, str], utts: Sequence[str]
) -> dict[str, np.ndarray]:
    """Reference word ids of ``utts`` (those with a transcript) through a graph's ``id -> word``
    table; words the graph does not know become -1 (they count as errors in the oracle)."""
    ids = {w: i for i, w in word_table.items()}
    return {u: np.array([ids.get(w, -1) for w in text[u]], dtype=np.int64) for u in utts if u in text}


def read_job_stats(directory: str | Path) -> list[dict[str, Any]]:
    """The ``stats.JOB.json`` files of a lattice directory, in job order."""
    from nghf.lattice.store import archive_job

    files = sorted(Path(directory).glob("stats.*.json"), key=archive_job)
    if not files:
        raise LatticeError(f"{directory}: no stats.*.json (lattice generation did not run or failed)")
    out = []
    for f in files:
        try:
            out.append(json.loads(f.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as err:
            raise LatticeError(f"{f}: unreadable job statistics: {err}") from None
    return out


def summarise_jobs(jobs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Totals and frame-weighted means over per-job statistics (see :func:`nghf.decode.denlats.make_denlats_job`)."""
    utts = sum(j["utterances"] for j in jobs)
    ok = sum(j["lattices"] for j in jobs)
    frames = sum(j["frames"] for j in jobs)
    arcs = sum(j["arcs"] for j in jobs)
    raw_arcs = sum(j["arcs_before_pruning"] for j in jobs)
    seconds = sum(j["seconds"] for j in jobs)
    failed: dict[str, str] = {}
    for j in jobs:
        failed.update(j["failed"])
    summary: dict[str, Any] = {
        "jobs": len(jobs), "utterances": utts, "lattices": ok, "failed": len(failed),
        "failed_share": len(failed) / max(utts, 1), "frames": frames,
        "arcs_per_frame": arcs / max(frames, 1), "arcs_per_frame_before_pruning": raw_arcs / max(frames, 1),
        "bytes": sum(j.get("bytes", 0) for j in jobs), "cpu_seconds": round(seconds, 3),
        "frames_per_second_per_job": round(frames / seconds, 1) if seconds > 0 else None,
        "failed_examples": dict(list(sorted(failed.items()))[:20]),
    }
    ref_words = sum(j.get("oracle_ref_words", 0) for j in jobs)
    if ref_words:
        summary["oracle_errors"] = sum(j["oracle_errors"] for j in jobs)
        summary["oracle_ref_words"] = ref_words
        summary["oracle_wer"] = summary["oracle_errors"] / ref_words
    num_frames = sum(j.get("num_frames_checked", 0) for j in jobs)
    if num_frames:
        summary["num_pdf_frame_coverage"] = sum(j["num_pdf_frames_covered"] for j in jobs) / num_frames
        checked = sum(j["num_utts_checked"] for j in jobs)
        summary["num_path_in_lattice_share"] = sum(j["num_paths_in_lattice"] for j in jobs) / max(checked, 1)
    return summary
