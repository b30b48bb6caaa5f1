"""The one place that imports the Kaldi pip bindings, in the only order that works.

``kaldi_hmm_gmm`` must be imported before ``kaldifst``, ``kaldilm`` and
``kaldi_decoder``, and -- measured here with the pinned versions --
``kaldi_decoder`` must also come before ``kaldilm``: importing ``kaldilm`` first makes the
``kaldi_decoder`` import dead-lock. The order below is the one that works. Every module
of nghf gets these bindings from here (``from nghf._kaldi import kaldifst``); a test
scans the source tree so that no module imports them directly.
"""

from __future__ import annotations

import sys

# The only import order that works; each name must be imported after all names before it.
IMPORT_ORDER = ("kaldi_hmm_gmm", "kaldifst", "kaldi_decoder", "kaldilm")


def _check_order() -> None:
    for later_index, later in enumerate(IMPORT_ORDER):
        if later not in sys.modules:
            continue
        missing = [name for name in IMPORT_ORDER[:later_index] if name not in sys.modules]
        if missing:
            raise ImportError(
                f"{later} was imported before {', '.join(missing)}; that order can hang the "
                "interpreter. Import the Kaldi bindings only through nghf._kaldi."
            )


_check_order()

import kaldi_hmm_gmm  # noqa: E402,I001  (first, always)
import kaldifst  # noqa: E402
import kaldi_decoder  # noqa: E402  (before kaldilm)
import kaldilm  # noqa: E402
import kaldi_native_io  # noqa: E402

__all__ = ["kaldi_hmm_gmm", "kaldifst", "kaldilm", "kaldi_decoder", "kaldi_native_io"]
