"""Frame-synchronous lattices: one utterance (:class:`Lattice`) and a batch (:class:`LatticeBatch`).

A frame-synchronous lattice is an acyclic graph in which *every arc consumes exactly one
frame*: state ``s`` has a time ``τ(s)`` (the start state has time 0), an arc leaving ``s``
consumes frame ``τ(s)`` and enters a state of time ``τ(s) + 1``, and final states have time
``T`` (the number of frames). This is the form the sequence criteria need: the acoustic score
of an arc is the network's (scaled) log-likelihood of the arc's pdf-id at the arc's frame, and
the forward-backward recursion runs frame by frame over all arcs of all utterances at once.

Arcs carry: frame, source and destination state, pdf-id, transition-id, phone-id (for the
MPFE/bMMI accuracies), graph cost (``-log`` probability: LM + transition + pronunciation) and
a word label (0 = none). Raw decoder lattices with epsilon arcs are converted by
:mod:`nghf.lattice.convert`.

Constructors validate and raise :class:`LatticeError` naming the utterance: no path from the
start to a final state, arcs that are not frame-synchronous, a frame count different from the
features, NaN/Inf costs. Arcs and states that lie on no complete path are removed
(``trim``): they carry zero posterior, and keeping them would put ``-inf`` into the
forward-backward recursion.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from nghf.lattice.fbplan import FBPlan, build_plan
from nghf.utils.logging import get_logger

log = get_logger(__name__)

_ARC_FIELDS = ("frame", "src", "dst", "pdf", "tid", "phone", "graph_cost", "word")


class LatticeError(ValueError):
    """A malformed lattice: one that violates the frame-synchronous contract, a raw lattice that
    is cyclic or reaches no final state, or a malformed lattice file (the message names the
    utterance or file)."""


@dataclasses.dataclass(frozen=True, eq=False)
class Lattice:
    """One utterance's frame-synchronous lattice (CPU tensors; see the module docstring).

    States are numbered ``0..num_states-1`` in time order; ``state_times[s]`` is the time of
    state ``s``. Arc arrays are sorted by frame.
    """

    utt_id: str
    num_frames: int
    num_states: int
    start: int
    state_times: torch.Tensor  # (S,) int64
    final_states: torch.Tensor  # (F,) int64
    final_costs: torch.Tensor  # (F,) float64
    frame: torch.Tensor  # (A,) int64
    src: torch.Tensor
    dst: torch.Tensor
    pdf: torch.Tensor
    tid: torch.Tensor
    phone: torch.Tensor
    graph_cost: torch.Tensor  # (A,) float64
    word: torch.Tensor

    @property
    def num_arcs(self) -> int:
        return int(self.frame.numel())

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arcs(
        cls,
        utt_id: str,
        num_frames: int,
        start: int,
        finals: dict[int, float] | Sequence[tuple[int, float]],
        arcs: Sequence[Sequence[float]] | np.ndarray,
        *,
        expected_frames: int | None = None,
    ) -> Lattice:
        """Build from an explicit arc list.

        Args:
            utt_id: utterance id (used in every error message).
            num_frames: T; every path must have exactly T arcs.
            start: start state id (any non-negative integers may be used as state ids).
            finals: final states and their graph costs.
            arcs: rows ``(src, dst, pdf, tid, phone, graph_cost[, word])``; frames are inferred
                from the state times (each arc consumes one frame).
            expected_frames: the number of feature frames, checked against ``num_frames``.
        """
        rows = np.asarray(arcs, dtype=np.float64)
        if rows.size == 0:
            rows = rows.reshape(0, 7)
        if rows.ndim != 2 or rows.shape[1] not in (6, 7):
            raise LatticeError(f"utterance {utt_id}: arcs must be rows of 6 or 7 fields, got shape {rows.shape}")
        if rows.shape[1] == 6:
            rows = np.concatenate([rows, np.zeros((rows.shape[0], 1))], axis=1)
        finals_items = list(finals.items()) if isinstance(finals, dict) else list(finals)
        ints = rows[:, [0, 1, 2, 3, 4, 6]]
        if not np.all(np.isfinite(ints)) or not np.all(ints == np.round(ints)):
            raise LatticeError(f"utterance {utt_id}: state/pdf/tid/phone/word fields must be integers")
        return _build(
            utt_id, num_frames, start,
            np.array([f for f, _ in finals_items], dtype=np.int64),
            np.array([c for _, c in finals_items], dtype=np.float64),
            src=rows[:, 0].astype(np.int64), dst=rows[:, 1].astype(np.int64),
            pdf=rows[:, 2].astype(np.int64), tid=rows[:, 3].astype(np.int64),
            phone=rows[:, 4].astype(np.int64), graph_cost=rows[:, 5], word=rows[:, 6].astype(np.int64),
            expected_frames=expected_frames,
        )

    @classmethod
    def from_alignment(
        cls,
        utt_id: str,
        pdfs: Sequence[int] | np.ndarray | torch.Tensor,
        tids: Sequence[int] | np.ndarray | torch.Tensor | None = None,
        phones: Sequence[int] | np.ndarray | torch.Tensor | None = None,
        graph_costs: Sequence[float] | np.ndarray | torch.Tensor | None = None,
        *,
        expected_frames: int | None = None,
    ) -> Lattice:
        """The single-path (numerator) lattice of a frame-level alignment.

        ``tids``/``phones`` default to zeros and ``graph_costs`` (per frame) to zero.
        """
        pdf = np.asarray(pdfs, dtype=np.int64).reshape(-1)
        t = pdf.shape[0]

        def field(x: object, dtype: type) -> np.ndarray:
            arr = np.zeros(t, dtype=dtype) if x is None else np.asarray(x, dtype=dtype).reshape(-1)
            if arr.shape[0] != t:
                raise LatticeError(f"utterance {utt_id}: alignment fields have lengths {t} and {arr.shape[0]}")
            return arr

        states = np.arange(t, dtype=np.int64)
        return _build(
            utt_id, t, 0, np.array([t], dtype=np.int64), np.zeros(1),
            src=states, dst=states + 1, pdf=pdf, tid=field(tids, np.int64), phone=field(phones, np.int64),
            graph_cost=field(graph_costs, np.float64), word=np.zeros(t, dtype=np.int64),
            expected_frames=expected_frames,
        )

    # ------------------------------------------------------------------ queries
    def is_single_path(self) -> bool:
        """True if the lattice has exactly one arc per frame (an alignment)."""
        return self.num_arcs == self.num_frames

    def arc_rows(self) -> list[tuple[int, int, int, int, int, float, int]]:
        """Arcs as plain tuples ``(src, dst, pdf, tid, phone, graph_cost, word)``."""
        return [
            (int(s), int(d), int(p), int(i), int(h), float(c), int(w))
            for s, d, p, i, h, c, w in zip(
                self.src.tolist(), self.dst.tolist(), self.pdf.tolist(), self.tid.tolist(),
                self.phone.tolist(), self.graph_cost.tolist(), self.word.tolist(), strict=True,
            )
        ]

    def subset_arcs(self, keep: torch.Tensor) -> Lattice:
        """The lattice restricted to the arcs where ``keep`` is true (then validated and trimmed)."""
        keep = keep.to(torch.bool).cpu()
        return _build(
            self.utt_id, self.num_frames, self.start, self.final_states.numpy(), self.final_costs.numpy(),
            **{name: getattr(self, name)[keep].numpy() for name in _ARC_FIELDS if name != "frame"},
        )


def _build(
    utt_id: str,
    num_frames: int,
    start: int,
    final_states: np.ndarray,
    final_costs: np.ndarray,
    *,
    src: np.ndarray,
    dst: np.ndarray,
    pdf: np.ndarray,
    tid: np.ndarray,
    phone: np.ndarray,
    graph_cost: np.ndarray,
    word: np.ndarray,
    expected_frames: int | None = None,
) -> Lattice:
    """Validate, compute state times, trim, renumber states in time order, sort arcs by frame."""
    who = f"utterance {utt_id}"
    if expected_frames is not None and expected_frames != num_frames:
        raise LatticeError(f"{who}: lattice has {num_frames} frames but the features have {expected_frames}")
    if num_frames <= 0:
        raise LatticeError(f"{who}: lattice must have at least one frame, got {num_frames}")
    if not np.all(np.isfinite(graph_cost)):
        bad = int(np.flatnonzero(~np.isfinite(graph_cost))[0])
        raise LatticeError(f"{who}: arc {bad} has a NaN/Inf graph cost ({graph_cost[bad]})")
    if not np.all(np.isfinite(final_costs)):
        raise LatticeError(f"{who}: a final state has a NaN/Inf final cost")
    if len(final_states) == 0:
        raise LatticeError(f"{who}: lattice has no final state")
    if np.any(pdf < 0) or np.any(tid < 0) or np.any(phone < 0) or np.any(word < 0):
        raise LatticeError(f"{who}: negative pdf/tid/phone/word label")
    if np.any(src < 0) or np.any(dst < 0) or start < 0 or np.any(final_states < 0):
        raise LatticeError(f"{who}: negative state id")

    # Time of every state reachable from the start, by frames.
    times: dict[int, int] = {start: 0}
    succ: dict[int, list[int]] = {}
    for s_, d_ in zip(src.tolist(), dst.tolist(), strict=True):
        succ.setdefault(s_, []).append(d_)
    frontier = [start]
    while frontier:
        nxt: list[int] = []
        for s in frontier:
            t_next = times[s] + 1
            for d in succ.get(s, ()):
                known = times.get(d)
                if known is None:
                    times[d] = t_next
                    nxt.append(d)
                elif known != t_next:
                    raise LatticeError(
                        f"{who}: arcs are not frame-synchronous: state {d} is reached after both "
                        f"{known} and {t_next} frames"
                    )
        frontier = nxt
    if max(times.values()) > num_frames:
        raise LatticeError(f"{who}: a path from the start has more than {num_frames} frames")
    finals = {int(f): float(c) for f, c in zip(final_states.tolist(), final_costs.tolist(), strict=True)}
    # A final state reached after fewer than T frames cannot end a T-frame path.
    good_finals = [f for f in finals if times.get(f) == num_frames]
    if not good_finals:
        raise LatticeError(f"{who}: no path of {num_frames} frames from the start state to a final state")

    # Dense per-state arrays (state ids are arbitrary non-negative integers).
    size = int(max(start, int(src.max(initial=0)), int(dst.max(initial=0)), int(final_states.max()))) + 1
    time_of = np.full(size, -1, dtype=np.int64)
    time_of[np.fromiter(times.keys(), dtype=np.int64, count=len(times))] = np.fromiter(
        times.values(), dtype=np.int64, count=len(times))
    src_time = time_of[src]
    # Co-accessibility (a final state at time T is reachable), frame by frame backwards: an
    # arc leaving a state of time t enters one of time t + 1.
    coacc = np.zeros(size, dtype=bool)
    coacc[good_finals] = True
    by_time = np.argsort(src_time, kind="stable")
    bounds = np.searchsorted(src_time[by_time], np.arange(num_frames + 1))
    for tt in range(num_frames - 1, -1, -1):
        a = by_time[bounds[tt]:bounds[tt + 1]]
        coacc[src[a[coacc[dst[a]]]]] = True
    keep = (src_time >= 0) & coacc[src] & coacc[dst]
    dropped = int((~keep).sum())
    if dropped:
        log.debug("%s: trimmed %d arcs that lie on no complete path", who, dropped)

    live_ids = np.flatnonzero(coacc & (time_of >= 0))
    live = live_ids[np.lexsort((live_ids, time_of[live_ids]))]
    new_of = np.full(size, -1, dtype=np.int64)
    new_of[live] = np.arange(len(live))
    state_times = time_of[live]
    k_src, k_dst = new_of[src[keep]], new_of[dst[keep]]
    k_frame = state_times[k_src] if len(k_src) else np.zeros(0, dtype=np.int64)
    arc_order = np.lexsort((k_dst, k_src, k_frame))
    fin = sorted(good_finals, key=lambda f: int(new_of[f]))
    new_id = {int(s): int(new_of[s]) for s in [start, *fin]}

    def t(x: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(x)).to(dtype)

    return Lattice(
        utt_id=utt_id, num_frames=int(num_frames), num_states=len(live), start=new_id[start],
        state_times=t(state_times, torch.int64),
        final_states=t(np.array([new_id[f] for f in fin], dtype=np.int64), torch.int64),
        final_costs=t(np.array([finals[f] for f in fin], dtype=np.float64), torch.float64),
        frame=t(k_frame[arc_order], torch.int64), src=t(k_src[arc_order], torch.int64),
        dst=t(k_dst[arc_order], torch.int64), pdf=t(pdf[keep][arc_order], torch.int64),
        tid=t(tid[keep][arc_order], torch.int64), phone=t(phone[keep][arc_order], torch.int64),
        graph_cost=t(graph_cost[keep][arc_order], torch.float64), word=t(word[keep][arc_order], torch.int64),
    )


@dataclasses.dataclass(frozen=True, eq=False)
class LatticeBatch:
    """Lattices of a batch concatenated in time-major order for the vectorised recursion.

    States of all utterances are ordered by (time, row, state); ``state_ptr[t]`` is the first
    global state of time ``t`` (length ``max_T + 2``). Arcs are ordered by (frame, row) and
    ``arc_ptr[t]`` is the first arc of frame ``t`` (length ``max_T + 1``). ``src_local`` /
    ``dst_local`` index an arc's states within its time slice (``src - state_ptr[frame]``,
    ``dst - state_ptr[frame + 1]``), which is what the recursion uses; final states are
    sorted by global id, so ``final_ptr[t]`` delimits the finals of time ``t``. The per-utterance
    :class:`Lattice` objects are kept (on the CPU) for ``select`` and for error messages.
    """

    lattices: tuple[Lattice, ...]
    num_frames: torch.Tensor  # (B,) int64
    state_ptr: tuple[int, ...]
    arc_ptr: tuple[int, ...]
    arc_row: torch.Tensor  # (A,) row of each arc
    frame: torch.Tensor
    src_local: torch.Tensor
    dst_local: torch.Tensor
    src: torch.Tensor  # (A,) global state ids
    dst: torch.Tensor
    pdf: torch.Tensor
    tid: torch.Tensor
    phone: torch.Tensor
    graph_cost: torch.Tensor  # float64
    word: torch.Tensor
    start_state: torch.Tensor  # (B,) global start state of each row (time 0)
    final_state: torch.Tensor  # (F,) global state ids, ascending (so grouped by time)
    final_row: torch.Tensor  # (F,)
    final_cost: torch.Tensor  # (F,) float64
    final_ptr: tuple[int, ...]  # finals of time t are final_*[final_ptr[t]:final_ptr[t + 1]]

    @property
    def utt_ids(self) -> tuple[str, ...]:
        return tuple(lat.utt_id for lat in self.lattices)

    @property
    def size(self) -> int:
        return len(self.lattices)

    @property
    def max_frames(self) -> int:
        return len(self.arc_ptr) - 1

    @property
    def num_arcs(self) -> int:
        return self.arc_ptr[-1]

    @property
    def device(self) -> torch.device:
        return self.frame.device

    @functools.cached_property
    def max_pdf(self) -> int:
        """The largest pdf-id of the batch's arcs (-1 without arcs); computed once."""
        return max((int(lat.pdf.max()) for lat in self.lattices if lat.num_arcs), default=-1)

    @functools.cached_property
    def plan(self) -> FBPlan:
        """The forward-backward's padded index layout (:mod:`nghf.lattice.fbplan`), built on first use."""
        return build_plan(self)

    @classmethod
    def from_lattices(cls, lattices: Sequence[Lattice], device: torch.device | str = "cpu") -> LatticeBatch:
        """Concatenate per-utterance lattices (states by time, arcs by frame)."""
        if not lattices:
            raise LatticeError("cannot batch an empty list of lattices")
        lats = tuple(lattices)
        max_t = max(lat.num_frames for lat in lats)
        b = len(lats)
        # Global numbering: for each time t, rows in order, their states of time t.
        counts = np.zeros((max_t + 1, b), dtype=np.int64)
        for r, lat in enumerate(lats):
            counts[:, r] = np.bincount(lat.state_times.numpy(), minlength=max_t + 1)[: max_t + 1]
        flat = counts.reshape(-1)
        offsets = np.concatenate([[0], np.cumsum(flat)])[:-1].reshape(max_t + 1, b)
        state_ptr = np.concatenate([[0], np.cumsum(counts.sum(axis=1))])
        pieces: dict[str, list[np.ndarray]] = {k: [] for k in (*_ARC_FIELDS, "row", "src_local", "dst_local")}
        # (the "src"/"dst" lists of _ARC_FIELDS are filled with global ids below)
        starts, f_state, f_row, f_cost = [], [], [], []
        for r, lat in enumerate(lats):
            st = lat.state_times.numpy()
            # Position of each state within its time slice for this row.
            first_of_time = np.searchsorted(st, np.arange(max_t + 1))
            local_in_row = np.arange(lat.num_states) - first_of_time[st]
            global_id = offsets[st, r] + local_in_row
            local_in_slice = global_id - state_ptr[st]
            starts.append(global_id[lat.start])
            f_state.append(global_id[lat.final_states.numpy()])
            f_row.append(np.full(len(lat.final_states), r))
            f_cost.append(lat.final_costs.numpy())
            for k in _ARC_FIELDS:
                if k not in ("src", "dst"):
                    pieces[k].append(getattr(lat, k).numpy())
            pieces["row"].append(np.full(lat.num_arcs, r, dtype=np.int64))
            pieces["src_local"].append(local_in_slice[lat.src.numpy()])
            pieces["dst_local"].append(local_in_slice[lat.dst.numpy()])
            pieces["src"].append(global_id[lat.src.numpy()])
            pieces["dst"].append(global_id[lat.dst.numpy()])
        cat = {k: np.concatenate(v) for k, v in pieces.items()}
        order = np.lexsort((cat["row"], cat["frame"]))
        arc_counts = np.bincount(cat["frame"], minlength=max_t)
        arc_ptr = np.concatenate([[0], np.cumsum(arc_counts)])
        fs, fr, fc = np.concatenate(f_state), np.concatenate(f_row), np.concatenate(f_cost)
        f_order = np.argsort(fs, kind="stable")
        f_time = np.array([lats[r].num_frames for r in fr[f_order]], dtype=np.int64)
        final_ptr = np.searchsorted(f_time, np.arange(max_t + 2))

        def dev(x: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
            return torch.as_tensor(np.ascontiguousarray(x)).to(device=device, dtype=dtype)

        return cls(
            lattices=lats,
            num_frames=dev(np.array([lat.num_frames for lat in lats]), torch.int64),
            state_ptr=tuple(int(x) for x in state_ptr), arc_ptr=tuple(int(x) for x in arc_ptr),
            arc_row=dev(cat["row"][order], torch.int64), frame=dev(cat["frame"][order], torch.int64),
            src_local=dev(cat["src_local"][order], torch.int64), dst_local=dev(cat["dst_local"][order], torch.int64),
            src=dev(cat["src"][order], torch.int64), dst=dev(cat["dst"][order], torch.int64),
            pdf=dev(cat["pdf"][order], torch.int64), tid=dev(cat["tid"][order], torch.int64),
            phone=dev(cat["phone"][order], torch.int64), graph_cost=dev(cat["graph_cost"][order], torch.float64),
            word=dev(cat["word"][order], torch.int64), start_state=dev(np.array(starts), torch.int64),
            final_state=dev(fs[f_order], torch.int64), final_row=dev(fr[f_order], torch.int64),
            final_cost=dev(fc[f_order], torch.float64), final_ptr=tuple(int(x) for x in final_ptr),
        )

    def to(self, device: torch.device | str) -> LatticeBatch:
        """The same batch with its tensors on ``device`` (per-utterance lattices stay on the CPU)."""
        moved = {
            f.name: getattr(self, f.name).to(device)
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), torch.Tensor)
        }
        return dataclasses.replace(self, **moved)

    def select(self, rows: Sequence[int]) -> LatticeBatch:
        """A batch of the given rows, in that order, on the same device."""
        return LatticeBatch.from_lattices([self.lattices[i] for i in rows], device=self.device)

    def check_frames(self, out_lengths: torch.Tensor) -> None:
        """Raise :class:`LatticeError` naming the utterance if lengths differ from the lattices'."""
        lengths = out_lengths.detach().to("cpu", torch.int64).tolist()
        if len(lengths) != self.size:
            raise LatticeError(f"batch of {len(lengths)} outputs but {self.size} lattices ({self.utt_ids[:3]}...)")
        for lat, n in zip(self.lattices, lengths, strict=True):
            if lat.num_frames != n:
                raise LatticeError(f"utterance {lat.utt_id}: lattice has {lat.num_frames} frames but the network output has {n}")


@dataclasses.dataclass(frozen=True, eq=False)
class SequenceLattices:
    """What ``SequenceBatch.lattices`` holds for the sequence criteria: numerator and denominator.

    The numerator is usually the single-path lattice of the reference alignment
    (:meth:`Lattice.from_alignment`); the accuracy-based criteria (bMMI, MPFE, sMBR) need it to
    be single-path, since they read the reference pdf/phone of every frame from it.
    """

    num: LatticeBatch
    den: LatticeBatch

    def __post_init__(self) -> None:
        if self.num.utt_ids != self.den.utt_ids:
            raise LatticeError(
                f"numerator and denominator lattices are for different utterances: "
                f"{self.num.utt_ids[:3]}... vs {self.den.utt_ids[:3]}..."
            )
        for n, d in zip(self.num.lattices, self.den.lattices, strict=True):
            if n.num_frames != d.num_frames:
                raise LatticeError(
                    f"utterance {n.utt_id}: numerator has {n.num_frames} frames, denominator {d.num_frames}"
                )

    @classmethod
    def from_lattices(
        cls, num: Sequence[Lattice], den: Sequence[Lattice], device: torch.device | str = "cpu"
    ) -> SequenceLattices:
        return cls(LatticeBatch.from_lattices(num, device), LatticeBatch.from_lattices(den, device))

    @classmethod
    def from_alignments(
        cls,
        utt_ids: Sequence[str],
        den: Mapping[str, Lattice],
        alignments: Mapping[str, Sequence[int] | np.ndarray],
        tid_to_pdf: np.ndarray | Sequence[int],
        tid_to_phone: np.ndarray | Sequence[int],
        device: torch.device | str = "cpu",
    ) -> SequenceLattices:
        """The pair for a batch: single-path numerators from transition-id alignments.

        ``den`` and ``alignments`` are keyed by utterance id; a missing entry or an alignment
        whose length differs from the denominator's frame count raises :class:`LatticeError`
        naming the utterance.
        """
        pdf_map, phone_map = np.asarray(tid_to_pdf), np.asarray(tid_to_phone)
        nums, dens = [], []
        for utt in utt_ids:
            if utt not in den:
                raise LatticeError(f"utterance {utt}: no denominator lattice")
            if utt not in alignments:
                raise LatticeError(f"utterance {utt}: no alignment for the numerator")
            tids = np.asarray(alignments[utt], dtype=np.int64)
            if tids.size and (tids.min() < 1 or tids.max() >= len(pdf_map)):
                raise LatticeError(f"utterance {utt}: alignment has transition-ids outside 1..{len(pdf_map) - 1}")
            nums.append(Lattice.from_alignment(
                utt, pdf_map[tids], tids, phone_map[tids], expected_frames=den[utt].num_frames
            ))
            dens.append(den[utt])
        return cls.from_lattices(nums, dens, device)

    def to(self, device: torch.device | str) -> SequenceLattices:
        return SequenceLattices(self.num.to(device), self.den.to(device))

    def select(self, rows: Sequence[int]) -> SequenceLattices:
        return SequenceLattices(self.num.select(rows), self.den.select(rows))

    def reference(self, max_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, max_frames)`` reference pdf-ids and phone-ids from single-path numerators (-1 = pad)."""
        b = self.num.size
        pdfs = torch.full((b, max_frames), -1, dtype=torch.int64)
        phones = torch.full((b, max_frames), -1, dtype=torch.int64)
        for r, lat in enumerate(self.num.lattices):
            if not lat.is_single_path():
                raise LatticeError(
                    f"utterance {lat.utt_id}: accuracy-based criteria need a single-path numerator "
                    f"(an alignment), got {lat.num_arcs} arcs for {lat.num_frames} frames"
                )
            pdfs[r, lat.frame] = lat.pdf
            phones[r, lat.frame] = lat.phone
        device = self.num.device
        return pdfs.to(device), phones.to(device)
