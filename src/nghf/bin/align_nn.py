"""``nghf-align-nn``: forced alignment of one job's share of a data dir with a hybrid NN model.

Usage::

    nghf-align-nn [options] <data-dir> <lang-dir> <trans-model> <loglik-source> <ali-out>

``<trans-model>`` is the GMM system's ``final.mdl`` whose tree and transition model define
the network's pdfs (its ``tree`` must sit beside it); ``<loglik-source>`` the NN model
(``*.mdl``: log-likelihoods from the data dir's features on ``--device``) or a Kaldi matrix
archive/script of log-likelihoods. Writes ``<ali-out>`` (``ali.JOB.gz``: transition-ids) and
``ali.JOB.failed`` (ids of utterances that did not align); see ``nghf.decode.nnalign``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nghf.bin import _decode_common as common
from nghf.bin._cli_common import CliParser


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(prog="nghf-align-nn", description=__doc__)
    p.add_argument("data_dir", help="Kaldi data directory to align")
    p.add_argument("lang_dir", help="lang directory (L.fst, words.txt, phones)")
    p.add_argument("trans_model", help="GMM model whose transition model and tree the alignment uses (e.g. exp/tri2_ali/final.mdl)")
    p.add_argument("loglik_source", help="network model (final.mdl) whose scaled log-likelihoods are aligned")
    p.add_argument("ali_out", help="output alignment directory")
    p.add_argument("--beam", type=float, default=10.0, help="alignment beam")
    p.add_argument("--retry-beam", type=float, default=40.0, help="beam of the second try")
    p.add_argument("--acwt", type=float, default=0.1, help="acoustic scale")
    p.add_argument("--transition-scale", type=float, default=1.0, help="scale of the transition log-probabilities in the training graphs")
    p.add_argument("--self-loop-scale", type=float, default=0.1, help="scale of the self-loop log-probabilities in the training graphs")
    p.add_argument("--max-fail-share", type=float, default=0.1,
                   help="fail the job if a larger share of its utterances does not align")
    common.add_job_options(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return common.run_job(args, "nghf.bin.align_nn", lambda: _align(args))


def _align(args: argparse.Namespace) -> None:
    from nghf.data.text import read_text
    from nghf.decode.nnalign import align_logliks
    from nghf.gmm.align import AlignConfig, alignment_stats, tid_info, write_alignments
    from nghf.gmm.jobs import check_failures
    from nghf.gmm.lang import load_lang
    from nghf.gmm.model import load_model
    from nghf.utils.atomic import atomic_write_text
    from nghf.utils.logging import get_logger

    log = get_logger("nghf.bin.align_nn")
    cfg = AlignConfig(beam=args.beam, retry_beam=args.retry_beam, acoustic_scale=args.acwt,
                      transition_scale=args.transition_scale, self_loop_scale=args.self_loop_scale,
                      max_fail_share=args.max_fail_share)
    lang = load_lang(args.lang_dir)
    trans = load_model(args.trans_model)
    text_path = Path(args.data_dir) / "text"
    if not text_path.is_file():
        raise FileNotFoundError(f"{text_path}: no transcripts to align to")
    text = read_text(text_path)
    utts = common.job_utterances(args)
    transcripts = {u: lang.word_ids(text[u], u, str(text_path)) for u in utts if u in text}
    if args.loglik_source.endswith(".mdl"):
        from nghf.models.io import load_model as load_nn

        sub = load_nn(args.loglik_source, "cpu").model.subsampling
        if sub != 1:
            log.warning("%s subsamples frames by %d: alignments are at its output frame rate",
                        args.loglik_source, sub)
    result = align_logliks(trans, lang, common.job_logliks(args, utts), transcripts, cfg)
    write_alignments(args.ali_out, result.alignments)
    atomic_write_text(Path(args.ali_out).with_suffix(".failed"), "".join(f"{u}\n" for u in result.failed))
    check_failures(result, len(utts), cfg, args.data_dir)
    names = {i: s for s, i in lang.phones.items()}
    stats = alignment_stats(result.alignments.values(), tid_info(trans), lang.silence, names)
    stats.update(utterances=len(utts), aligned=len(result.alignments), failed=len(result.failed),
                 align_objf_per_frame=result.tot_like / max(result.frames, 1))
    log.info("alignment stats: %s", json.dumps(stats))


if __name__ == "__main__":
    sys.exit(main())
