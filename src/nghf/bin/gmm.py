"""``nghf-gmm``: the GMM-HMM system's job-level commands (one sub-command per Kaldi binary).

Sub-commands: compute-mfcc, compute-cmvn, init-mono, acc, est, tree-stats, build-tree,
convert-ali, align, loglikes. Stage scripts (steps/train_mono.sh, train_tri.sh, align.sh,
decode_gmm.sh, make_mfcc.sh) run them as ``$cmd JOB=1:$nj log nghf-gmm <cmd> --job JOB``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

from nghf.bin._cli_common import CliParser, report_error
from nghf.utils.config import ConfigError, dump_config, load_config
from nghf.utils.logging import get_logger, setup_logging

log = get_logger("nghf.bin.gmm")


def _config(args: argparse.Namespace):
    from nghf.gmm.config import GmmConfig

    return load_config(GmmConfig, args.config, args.set)


# Help of the sub-commands' positional arguments (the same name means the same thing).
POSITIONAL_HELP = {
    "data": "Kaldi data directory",
    "mfcc_dir": "directory of the MFCC archives",
    "lang": "lang directory (phones, topo, roots, questions)",
    "model": "GMM model file",
    "model_out": "output model file",
    "acc_out": "output statistics file of this job",
    "ali": "this job's alignments (ali.JOB.gz)",
    "out": "output tree statistics file of this job",
    "old_model": "model the alignments are in",
    "new_model": "model to re-express them in",
    "ali_in": "input alignments",
    "ali_out": "output alignments",
    "ark_out": "output archive of log-likelihood matrices",
}


def _subcommand(sub: Any, name: str, help: str, fn: Callable[[argparse.Namespace], None],
                positional: tuple[str, ...] = (), options: str | None = "jobs") -> argparse.ArgumentParser:
    """A sub-command running ``fn``, its ``positional`` arguments helped by :data:`POSITIONAL_HELP`;
    ``options``: ``"config"`` adds ``--config``/``--set``, ``"jobs"`` also ``--nj``/``--job``."""
    p = sub.add_parser(name, help=help)
    if options is not None:
        p.add_argument("--config", default=None, help="conf/gmm.yaml (GmmConfig)")
        p.add_argument("--set", action="append", default=[], help="override key=value (repeatable)")
    if options == "jobs":
        p.add_argument("--nj", type=int, default=1, help="number of jobs the data is split into")
        p.add_argument("--job", type=int, default=1, help="this job's number (1-based)")
    for arg in positional:
        p.add_argument(arg, help=POSITIONAL_HELP[arg])
    p.set_defaults(fn=fn)
    return p


def cmd_compute_mfcc(a: argparse.Namespace) -> None:
    from nghf.gmm.feats import MfccConfig, make_mfcc_job

    cfg = load_config(MfccConfig, a.config, a.set)
    make_mfcc_job(a.data, a.mfcc_dir, a.nj, a.job, cfg)


def cmd_compute_cmvn(a: argparse.Namespace) -> None:
    from nghf.gmm.feats import write_cmvn

    write_cmvn(a.data, ark=Path(a.mfcc_dir) / "mfcc_cmvn.ark")


def cmd_init_mono(a: argparse.Namespace) -> None:
    from nghf.gmm.feats import load_features
    from nghf.gmm.lang import load_lang
    from nghf.gmm.model import save_model, write_tree
    from nghf.gmm.mono import init_mono

    cfg = _config(a)
    lang = load_lang(a.lang)
    feats = (f for _, f in islice(load_features(a.data, cfg.feats), cfg.init_utts))
    model = init_mono(lang, feats)
    save_model(model, a.model_out)
    write_tree(model.tree, Path(a.model_out).parent / "tree")
    dump_config(cfg, Path(a.model_out).parent / "gmm.yaml")
    log.info("monophone model: %d pdfs, %d transition-ids, dim %d", model.num_pdfs,
             model.trans.num_transition_ids, model.dim)


def cmd_acc(a: argparse.Namespace) -> None:
    from nghf.gmm.align import ali_files, write_alignments
    from nghf.gmm.feats import split_utterances
    from nghf.gmm.jobs import acc_job
    from nghf.gmm.lang import load_lang
    from nghf.gmm.model import load_model

    cfg = _config(a)
    model = load_model(a.model)
    utts = split_utterances(a.data, a.nj, a.job)
    ali_in = None
    if a.mode == "read":
        ali_in = [Path(a.ali_dir) / f"ali.{a.job}.gz"] if a.nj > 1 else ali_files(a.ali_dir)
    stats, result = acc_job(model, load_lang(a.lang), Path(a.data), cfg.feats, utts, cfg.align,
                            a.mode, ali_in)
    if a.mode != "read" and a.ali_out:
        write_alignments(a.ali_out, result.alignments)
    stats.save(a.acc_out)
    log.info("accumulated %d frames, like/frame %.4f", stats.frames,
             stats.tot_like / max(stats.frames, 1))


def cmd_est(a: argparse.Namespace) -> None:
    from nghf.gmm.jobs import estimate_step

    cfg = _config(a)
    estimate_step(Path(a.model_in), [Path(p) for p in a.accs], Path(a.model_out), a.target_gauss,
                  cfg.update, cfg.seed + a.iter, Path(a.record) if a.record else None)


def cmd_tree_stats(a: argparse.Namespace) -> None:
    from nghf.gmm.align import iter_alignment_archives, tid_info
    from nghf.gmm.feats import load_features, split_utterances
    from nghf.gmm.model import load_model
    from nghf.gmm.tree import accumulate_tree_stats, pdf_class_of_tid

    cfg = _config(a)
    model = load_model(a.model)
    info = tid_info(model)
    topo = model.topology()
    pdf_class = pdf_class_of_tid(info, {p: topo.topology_for_phone(p) for p in topo.phones})
    utts = split_utterances(a.data, a.nj, a.job)
    alis = {u: t for u, t in iter_alignment_archives([a.ali]) if u in set(utts)}
    feats = load_features(a.data, cfg.feats, sorted(alis))
    accumulate_tree_stats(((f, alis[u]) for u, f in feats), info, pdf_class).save(a.out)


def cmd_build_tree(a: argparse.Namespace) -> None:
    import dataclasses

    from nghf.gmm.lang import load_lang
    from nghf.gmm.model import save_model, write_tree
    from nghf.gmm.tree import TreeStats, build_tree, make_questions
    from nghf.gmm.tri import init_tri
    from nghf.utils.atomic import atomic_write_text

    cfg = _config(a)
    tcfg = dataclasses.replace(cfg.tree, num_leaves=a.num_leaves)
    lang = load_lang(a.lang)
    stats = TreeStats.merge([TreeStats.load(p) for p in a.stats])
    topo = lang.topology()
    questions = make_questions(stats, lang.sets, lang.extra_questions, tcfg)
    nclass = {p: topo.num_pdf_classes(p) for p in topo.phones}
    tree = build_tree(stats, lang.roots, questions, nclass, tcfg)
    out = Path(a.out_dir)
    inv = {i: s for s, i in lang.phones.items()}
    atomic_write_text(out / "questions.txt", "".join(" ".join(inv.get(p, str(p)) for p in q) + "\n"
                                                     for q in questions))
    atomic_write_text(out / "tree_splits.log", "\n".join(tree.log) + "\n")
    model = init_tri(lang.topo_text, tree, stats, cfg.update.min_variance)
    write_tree(model.tree, out / "tree")
    save_model(model, out / "0.mdl")
    dump_config(tcfg, out / "tree.yaml")
    log.info("tree: %d leaves (pdf-ids) from %d events, %d questions", tree.num_leaves,
             len(stats.count), len(questions))


def cmd_convert_ali(a: argparse.Namespace) -> None:
    from nghf.gmm.align import iter_alignment_archives, write_alignments
    from nghf.gmm.model import load_model
    from nghf.gmm.tri import AlignmentConverter

    conv = AlignmentConverter(load_model(a.old_model), load_model(a.new_model))
    write_alignments(a.ali_out, {u: conv.convert(t) for u, t in iter_alignment_archives([a.ali_in])})


def cmd_align(a: argparse.Namespace) -> None:
    from nghf.gmm.align import alignment_stats, tid_info, write_alignments
    from nghf.gmm.feats import split_utterances
    from nghf.gmm.jobs import align_job
    from nghf.gmm.lang import load_lang
    from nghf.gmm.model import load_model

    cfg = _config(a)
    model = load_model(a.model)
    lang = load_lang(a.lang)
    utts = split_utterances(a.data, a.nj, a.job)
    result = align_job(model, lang, Path(a.data), cfg.feats, utts, cfg.align)
    write_alignments(a.ali_out, result.alignments)
    names = {i: s for s, i in lang.phones.items()}
    stats = alignment_stats(result.alignments.values(), tid_info(model), lang.silence, names)
    stats.update(num_utts=len(utts), num_failed=len(result.failed),
                 align_objf_per_frame=result.tot_like / max(result.frames, 1))
    log.info("alignment stats: %s", json.dumps(stats))
    if result.failed:
        Path(a.ali_out).with_suffix(".failed").write_text("\n".join(result.failed) + "\n")


def cmd_loglikes(a: argparse.Namespace) -> None:
    import kaldi_io

    from nghf.gmm.feats import load_features, split_utterances
    from nghf.gmm.model import StackedGaussians, load_model
    from nghf.utils.atomic import atomic_path

    cfg = _config(a)
    scorer = StackedGaussians.of(load_model(a.model).gmms)
    utts = split_utterances(a.data, a.nj, a.job)
    with atomic_path(a.ark_out) as tmp, open(tmp, "wb") as f:
        for utt, x in load_features(a.data, cfg.feats, utts):
            kaldi_io.write_mat(f, scorer.pdf_loglikes(x), key=utt)


def cmd_info(a: argparse.Namespace) -> None:
    from nghf.gmm.model import load_model

    model = load_model(a.model)
    info = {"pdfs": model.num_pdfs, "gaussians": model.num_gauss, "dim": model.dim,
            "parameters": model.num_parameters}
    if a.field and a.field not in info:
        raise ValueError(f"no field {a.field!r} (fields: {', '.join(info)})")
    print(info[a.field] if a.field else json.dumps(info))


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(prog="nghf-gmm", description=__doc__)
    parser.add_argument("--log", default=None, help="also log to this file")
    sub = parser.add_subparsers(dest="command", required=True)

    _subcommand(sub, "compute-mfcc", "MFCCs of one job's utterances (raw_mfcc.JOB.ark/scp)", cmd_compute_mfcc,
                ("data", "mfcc_dir"))
    _subcommand(sub, "compute-cmvn", "per-speaker CMVN stats of <data>/mfcc.scp", cmd_compute_cmvn,
                ("data", "mfcc_dir"), options=None)
    _subcommand(sub, "init-mono", "flat-start monophone model (+ tree beside it)", cmd_init_mono,
                ("data", "lang", "model_out"), options="config")

    p = _subcommand(sub, "acc", "align (equal/Viterbi) or read alignments; accumulate stats", cmd_acc,
                    ("data", "lang", "model", "acc_out"))
    p.add_argument("--mode", choices=("equal", "align", "read"), default="align", help="equal: equally spaced alignments (flat start); align: Viterbi with the model; read: from --ali-dir")
    p.add_argument("--ali-dir", default=None, help="alignments to read (mode read)")
    p.add_argument("--ali-out", default=None, help="write this job's new alignments here")

    p = _subcommand(sub, "est", "sum job statistics, ML update, mix up", cmd_est, options="config")
    p.add_argument("--target-gauss", type=int, default=0, help="total Gaussians to mix up to (0: no mix-up)")
    p.add_argument("--iter", type=int, default=0, help="iteration (seeds the mix-up)")
    p.add_argument("--record", default=None, help="append a JSON line of statistics here")
    p.add_argument("model_in", help="model to update")
    p.add_argument("model_out", help="output model")
    p.add_argument("accs", nargs="+", help="statistics files of the jobs (acc.*)")

    _subcommand(sub, "tree-stats", "tree statistics from one job's alignments", cmd_tree_stats,
                ("data", "model", "ali", "out"))

    p = _subcommand(sub, "build-tree", "questions, decision tree, initial triphone model", cmd_build_tree,
                    ("lang",), options="config")
    p.add_argument("--num-leaves", type=int, required=True, help="number of tree leaves (pdfs) to grow")
    p.add_argument("out_dir", help="output directory (tree, initial model)")
    p.add_argument("stats", nargs="+", help="tree statistics files of the jobs")

    _subcommand(sub, "convert-ali", "re-express alignments in another model", cmd_convert_ali,
                ("old_model", "new_model", "ali_in", "ali_out"), options=None)
    _subcommand(sub, "align", "Viterbi-align one job; failures reported by id", cmd_align,
                ("data", "lang", "model", "ali_out"))
    p = _subcommand(sub, "info", "the model's sizes as JSON (pdfs, gaussians, dim, parameters)", cmd_info,
                    ("model",), options=None)
    p.add_argument("--field", default="", help="print this one field only (e.g. parameters)")
    _subcommand(sub, "loglikes", "per-utterance pdf log-likelihood matrices (ark)", cmd_loglikes,
                ("data", "model", "ark_out"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log)
    try:
        args.fn(args)
    except (ConfigError, ValueError, FileNotFoundError, RuntimeError) as err:
        return report_error("nghf-gmm", f"{args.command}: {err}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
