"""Forced alignment with a hybrid NN model: its log-likelihoods through the training graphs.

The same graphs as GMM alignment (:class:`nghf.gmm.align.GraphCompiler`: the transcript's
HCLG from the GMM system's tree and transition model, with Kaldi's alignment-time transition
and self-loop scales) and the same Kaldi aligner (``align_utterance_wrapper``: beam, then
the retry beam), but the acoustic scores are the network's scaled log-likelihoods
``κ · log p(x|pdf)`` read through ``DecodableCtc`` (column ``j`` = transition-id ``j + 1``;
:func:`nghf.decode.decoder.expand_to_tids` makes that matrix). The numerator lattices of
sequence training are the single paths of these alignments
(:func:`nghf.lattice.numerator.numerator_lattice`).

Alignments are at the network's output frame rate (the feature rate for a model without
frame subsampling). Output is what :func:`nghf.gmm.align.write_alignments` writes
(``ali.JOB.gz``, transition-ids), so ``steps/ali_to_pdf.sh`` and everything that reads GMM
alignments read these too. Utterances that do not align are listed by id, never dropped
silently; a job fails when their share exceeds ``AlignConfig.max_fail_share``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from nghf._kaldi import kaldi_hmm_gmm
from nghf.decode.decoder import DecodeInputError, expand_to_tids
from nghf.gmm.align import AlignConfig, AlignResult, GraphCompiler
from nghf.gmm.lang import Lang
from nghf.gmm.model import GmmHmm
from nghf.utils.logging import get_logger

log = get_logger(__name__)


def align_logliks(
    trans_model: GmmHmm,
    lang: Lang,
    logliks: Iterable[tuple[str, np.ndarray]],
    transcripts: Mapping[str, Sequence[int]],
    cfg: AlignConfig,
) -> AlignResult:
    """Align ``(utt, (T, num_pdfs) log-likelihoods)`` items to their transcripts (word ids).

    ``trans_model`` is the GMM system whose tree and transition model define the pdfs of the
    network's outputs. Returns the alignments (transition-ids, length ``T``), the failed
    utterance ids, and the aligner's objective (acoustic-scaled + graph) summed over frames.
    """
    compiler = GraphCompiler(trans_model, lang, cfg)
    tid2pdf = np.asarray(trans_model.tid2pdf(), dtype=np.int64)
    num_pdfs = int(tid2pdf[1:].max()) + 1
    kcfg = kaldi_hmm_gmm.AlignConfig(beam=cfg.beam, retry_beam=cfg.retry_beam)
    result = AlignResult({}, [], 0.0, 0)
    for utt, loglik in logliks:
        if utt not in transcripts:
            log.warning("utterance %s: no transcript; not aligned", utt)
            result.failed.append(utt)
            continue
        try:
            scores = expand_to_tids(np.asarray(loglik), tid2pdf, cfg.acoustic_scale, utt, num_pdfs)
        except DecodeInputError as err:
            raise ValueError(str(err)) from None
        graph = compiler.compile(list(transcripts[utt]))
        dec = kaldi_hmm_gmm.DecodableCtc(scores)
        done, err, _retried, like, frames, tids, _words = kaldi_hmm_gmm.align_utterance_wrapper(
            kcfg, utt, cfg.acoustic_scale, graph, dec, 0, 0, 0, 0.0, 0
        )
        if not done or err or len(tids) != scores.shape[0]:
            log.warning("utterance %s: alignment failed (no path of %d frames within beam %g/%g)",
                        utt, scores.shape[0], cfg.beam, cfg.retry_beam)
            result.failed.append(utt)
            continue
        result.alignments[utt] = np.asarray(tids, dtype=np.int32)
        result.tot_like += like
        result.frames += frames
    return result
