"""Numerator lattices from frame-level alignments.

A numerator for the lattice criteria is the single-path lattice of the reference alignment
(:meth:`~nghf.lattice.types.Lattice.from_alignment`): per frame the pdf-id (what MMI scores
and sMBR compares), the transition-id, and the phone-id (what MPFE and bMMI compare). Graph
costs on the numerator are zero: they would add a constant to the MMI loss and nothing to its
gradient.

Alignments come from an alignment directory in one of two forms:

* ``ali.JOB.gz`` (transition-ids, from ``steps/align.sh``) with the transition model
  (``final.mdl`` of the GMM system) giving pdf and phone of every transition-id;
* ``pdf.JOB.gz`` and ``phone.JOB.gz`` (from ``steps/ali_to_pdf.sh``), transition-ids unknown (0).

:class:`TransitionMaps` (transition-id → pdf-id / phone-id arrays) is also what the
denominator conversion needs for the phones of lattice arcs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from nghf.lattice.types import Lattice, LatticeError
from nghf.utils.logging import get_logger

log = get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class TransitionMaps:
    """``tid2pdf[t]`` and ``tid2phone[t]`` for transition-ids ``t = 1..N`` (index 0 unused)."""

    tid2pdf: np.ndarray
    tid2phone: np.ndarray

    def __post_init__(self) -> None:
        if self.tid2pdf.shape != self.tid2phone.shape or self.tid2pdf.ndim != 1 or len(self.tid2pdf) < 2:
            raise ValueError(f"transition maps of shapes {self.tid2pdf.shape} and {self.tid2phone.shape}")

    @property
    def num_tids(self) -> int:
        return len(self.tid2pdf) - 1

    @property
    def num_pdfs(self) -> int:
        return int(self.tid2pdf[1:].max()) + 1


def load_transition_maps(model_path: str | Path) -> TransitionMaps:
    """The maps of a GMM-HMM ``final.mdl`` (its transition model)."""
    from nghf.gmm.align import tid_info
    from nghf.gmm.model import load_model

    info = tid_info(load_model(model_path))
    pdf = np.asarray(info.pdf, dtype=np.int64).copy()
    pdf[0] = 0
    phone = np.asarray(info.phone, dtype=np.int64).copy()
    phone[0] = 0
    return TransitionMaps(pdf, phone)


@dataclasses.dataclass(frozen=True)
class FrameAlignment:
    """One utterance's reference labels per frame (int64 arrays of equal length)."""

    utt_id: str
    pdf: np.ndarray
    phone: np.ndarray
    tid: np.ndarray

    def __post_init__(self) -> None:
        if not (len(self.pdf) == len(self.phone) == len(self.tid)) or len(self.pdf) == 0:
            raise LatticeError(
                f"utterance {self.utt_id}: alignment fields have lengths {len(self.pdf)}, "
                f"{len(self.phone)}, {len(self.tid)} (must be equal and non-zero)"
            )

    @property
    def num_frames(self) -> int:
        return len(self.pdf)

    def subsample(self, factor: int) -> FrameAlignment:
        """Every ``factor``-th frame (a model with frame subsampling sees these)."""
        if factor == 1:
            return self
        return FrameAlignment(self.utt_id, self.pdf[::factor], self.phone[::factor], self.tid[::factor])


def alignment_from_tids(utt_id: str, tids: np.ndarray, maps: TransitionMaps) -> FrameAlignment:
    """Pdf and phone of every transition-id of an alignment; a bad id names the utterance."""
    tids = np.asarray(tids, dtype=np.int64)
    if tids.size and (tids.min() < 1 or tids.max() > maps.num_tids):
        raise LatticeError(
            f"utterance {utt_id}: transition-id {int(tids.max() if tids.max() > maps.num_tids else tids.min())} "
            f"outside 1..{maps.num_tids} (alignment and transition model do not match)"
        )
    return FrameAlignment(utt_id, maps.tid2pdf[tids], maps.tid2phone[tids], tids)


def numerator_lattice(ali: FrameAlignment, expected_frames: int | None = None) -> Lattice:
    """The single-path numerator lattice of an alignment (zero graph costs)."""
    return Lattice.from_alignment(ali.utt_id, ali.pdf, ali.tid, ali.phone, expected_frames=expected_frames)


def _read_int_archives(files: list[Path]) -> dict[str, np.ndarray]:
    from nghf.gmm.align import iter_alignment_archives

    out: dict[str, np.ndarray] = {}
    for f in files:
        try:
            for utt, vec in iter_alignment_archives([f]):
                if utt in out:
                    raise LatticeError(f"{f}: utterance {utt} appears twice in the alignments")
                out[utt] = np.asarray(vec, dtype=np.int64).copy()
        except LatticeError:
            raise
        except Exception as err:  # kaldi_io raises several unrelated types on bad input
            raise LatticeError(f"{f}: cannot read int-vector archive: {type(err).__name__}: {err}") from None
    return out


def _job_files(ali_dir: Path, prefix: str) -> list[Path]:
    from nghf.lattice.store import archive_job

    return sorted(ali_dir.glob(f"{prefix}.*.gz"), key=archive_job)


def read_frame_alignments(ali_dir: str | Path, trans_model: str | Path | None = None) -> dict[str, FrameAlignment]:
    """Reference alignments of an alignment directory (see the module docstring).

    ``ali.*.gz`` is used when a transition model is available (``trans_model`` or
    ``ali_dir/final.mdl``); otherwise ``pdf.*.gz`` with ``phone.*.gz``. Phone and pdf
    archives of different lengths or utterance sets are errors naming the utterance.
    """
    ali_dir = Path(ali_dir)
    if not ali_dir.is_dir():
        raise LatticeError(f"{ali_dir}: alignment directory not found")
    model = Path(trans_model) if trans_model is not None else ali_dir / "final.mdl"
    tid_files = _job_files(ali_dir, "ali")
    if tid_files and model.is_file():
        maps = load_transition_maps(model)
        tids = _read_int_archives(tid_files)
        log.info("%s: %d alignments (transition-ids, maps from %s)", ali_dir, len(tids), model)
        return {u: alignment_from_tids(u, t, maps) for u, t in sorted(tids.items())}
    pdf_files = _job_files(ali_dir, "pdf")
    if not pdf_files:
        raise LatticeError(f"{ali_dir}: neither ali.*.gz with {model} nor pdf.*.gz (run steps/ali_to_pdf.sh)")
    pdfs = _read_int_archives(pdf_files)
    phone_files = _job_files(ali_dir, "phone")
    if not phone_files:
        raise LatticeError(f"{ali_dir}: pdf.*.gz without phone.*.gz (the MPFE/bMMI accuracies need phones)")
    phones = _read_int_archives(phone_files)
    out = {}
    for utt, pdf in sorted(pdfs.items()):
        if utt not in phones:
            raise LatticeError(f"{ali_dir}/phone.*.gz: no phone alignment for utterance {utt}")
        out[utt] = FrameAlignment(utt, pdf, phones[utt], np.zeros_like(pdf))
    log.info("%s: %d alignments (pdf.*.gz + phone.*.gz, no transition-ids)", ali_dir, len(out))
    return out


def check_pdf_range(alis: Mapping[str, FrameAlignment], num_pdfs: int, where: str) -> None:
    """Every pdf-id of every alignment lies in ``[0, num_pdfs)`` (error names the utterance)."""
    for utt, ali in alis.items():
        if ali.pdf.min() < 0 or ali.pdf.max() >= num_pdfs:
            raise LatticeError(f"{where}: utterance {utt} has pdf-id outside [0, {num_pdfs}) (wrong tree or model?)")
