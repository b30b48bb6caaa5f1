"""Per-arc frame accuracies and errors against the reference alignment (Kaldi's definitions).

For a denominator arc at frame ``t`` with phone ``q`` and pdf ``d``, and the reference phone
``r`` and pdf ``e`` of frame ``t`` (from the single-path numerator):

* MPFE (:func:`frame_accuracy` with ``level="phone"``): ``1`` if ``q == r``, else ``0``;
* sMBR (``level="pdf"``): ``1`` if ``d == e``, else ``0``;

with silence handled as in Kaldi's ``LatticeForwardBackwardMpeVariants``: by default
(``one_silence_class=False``) an arc whose phone is a silence phone has accuracy 0 (silence
frames are not rewarded); with ``one_silence_class=True`` all silence phones form one class, so
an arc is also correct when both its phone and the reference phone are silence.

bMMI boosting (:func:`boost_errors`, Kaldi's ``LatticeBoost``): error 0 if ``q == r``; otherwise
``max_silence_error`` if ``q`` is a silence phone, else 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

from nghf.lattice.types import LatticeBatch


def _reference_at_arcs(den: LatticeBatch, reference: torch.Tensor) -> torch.Tensor:
    """``reference[row, frame]`` for every den arc (reference is ``(B, T)``)."""
    return reference.to(den.device)[den.arc_row, den.frame]


def _is_silence(phones: torch.Tensor, silence_phones: Sequence[int]) -> torch.Tensor:
    if not silence_phones:
        return torch.zeros_like(phones, dtype=torch.bool)
    return torch.isin(phones, torch.tensor(list(silence_phones), dtype=phones.dtype, device=phones.device))


def frame_accuracy(
    den: LatticeBatch,
    ref_pdfs: torch.Tensor,
    ref_phones: torch.Tensor,
    level: Literal["phone", "pdf"],
    silence_phones: Sequence[int] = (),
    one_silence_class: bool = False,
) -> torch.Tensor:
    """``(A,)`` float64 accuracy of every den arc (see the module docstring)."""
    ref_phone = _reference_at_arcs(den, ref_phones)
    phone_sil = _is_silence(den.phone, silence_phones)
    ref_sil = _is_silence(ref_phone, silence_phones)
    same = den.pdf == _reference_at_arcs(den, ref_pdfs) if level == "pdf" else den.phone == ref_phone
    correct = (same | (phone_sil & ref_sil)) if one_silence_class else (same & ~phone_sil)
    return correct.to(torch.float64)


def boost_errors(
    den: LatticeBatch, ref_phones: torch.Tensor, silence_phones: Sequence[int] = (), max_silence_error: float = 1.0
) -> torch.Tensor:
    """``(A,)`` float64 frame phone error of every den arc for bMMI boosting."""
    ref_phone = _reference_at_arcs(den, ref_phones)
    wrong = (den.phone != ref_phone).to(torch.float64)
    sil = _is_silence(den.phone, silence_phones)
    return torch.where(sil, wrong * max_silence_error, wrong)
