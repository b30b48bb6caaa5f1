"""``nghf-score``: WER scoring, LM-weight sweeps, and recording results.

Sub-commands::

    nghf-score wer --ref data/dev/text --hyp hyp.txt [--utt2spk data/dev/utt2spk] [--sclite]
    nghf-score dir [--min-lmwt 7 --max-lmwt 17] <data-dir> <graph-dir> <decode-dir>
    nghf-score record --results exp/results.jsonl --system NAME [--meta meta.json ...] <dev-decode-dir> <eval-decode-dir>
    nghf-score track --dev-wer-log exp/sys/dev_wer.jsonl --epoch N --update U <dev-decode-dir>

``dir`` writes ``scoring/LMWT.tra``, ``wer_LMWT``, ``best_wer`` and ``scoring/summary.json``
and cross-checks the best LM weight with sclite. ``record`` chooses the LM weight on dev,
applies it to eval and appends both to the results file (eval is never used for tuning).
``track`` adds a checkpoint's dev WER (at its best LM weight) to a run's per-epoch dev-WER log
(``nghf.score.dev_wer_log``), which the results plots draw against updates.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nghf.bin._cli_common import CliParser, report_error
from nghf.data.text import read_text, read_utt2spk
from nghf.score.decode_dir import best_scored, score_decode_dir
from nghf.score.dev_wer_log import track_decode
from nghf.score.normalize import NormalizerConfig, TextNormalizer
from nghf.score.results_log import SystemInfo, record_dev_eval
from nghf.score.sclite import run_sclite
from nghf.score.wer import score
from nghf.utils.config import load_config
from nghf.utils.logging import setup_logging


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(prog="nghf-score", description=__doc__)
    p.add_argument("--log", default=None, help="also log to this file")
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--normalizer", default=None, help="YAML of NormalizerConfig (tokens dropped before scoring)")
        sp.add_argument("--mode", choices=("sclite", "levenshtein"), default="sclite", help="alignment costs")

    w = sub.add_parser("wer", help="score a hypothesis text file")
    common(w)
    w.add_argument("--ref", required=True, help="reference transcripts (Kaldi text)")
    w.add_argument("--hyp", required=True, help="hypotheses (Kaldi text)")
    w.add_argument("--utt2spk", default=None, help="utt2spk, for per-speaker results")
    w.add_argument("--sclite", action="store_true", help="cross-check with sclite (exit 1 if it differs)")
    w.add_argument("--per-utt", action="store_true", help="print per-utterance counts")

    d = sub.add_parser("dir", help="score a decode dir over LM weights")
    common(d)
    d.add_argument("--min-lmwt", type=float, default=7, help="smallest LM weight to score")
    d.add_argument("--max-lmwt", type=float, default=17, help="largest LM weight to score")
    d.add_argument("--lmwt-step", type=float, default=1, help="step between the LM weights")
    d.add_argument("--sclite", choices=("true", "false"), default="true", help="also cross-check the WER with sclite when it is installed")
    d.add_argument("data_dir", help="Kaldi data directory with the reference text")
    d.add_argument("graph_dir", help="graph directory (words.txt)")
    d.add_argument("decode_dir", help="decode directory (lat.*.npz)")

    r = sub.add_parser("record", help="tune LMWT on dev, apply to eval, append to results.jsonl")
    r.add_argument("--results", default="exp/results.jsonl", help="results file to append the record to")
    r.add_argument("--meta", default=None, help="JSON with system/model/criterion/optimiser/updates/train_seconds/train_log")
    r.add_argument("--system", default=None, help="system name (required unless --meta names it)")
    r.add_argument("--model", default=None, help="model kind (tdnn, gmm, ...) for the table")
    r.add_argument("--criterion", default=None, help="training criterion for the table")
    r.add_argument("--optimiser", default=None, help="optimiser for the table")
    r.add_argument("--updates", type=int, default=None, help="number of parameter updates for the table")
    r.add_argument("--train-seconds", type=float, default=None, help="training time for the table (s)")
    r.add_argument("--train-log", default=None, help="training log (train_log.jsonl) for the plots")
    r.add_argument("--parameters", type=int, default=None, help="trainable parameters of the model")
    r.add_argument("--dev-name", default="dev", help="name of the development set")
    r.add_argument("--eval-name", default="eval", help="name of the evaluation set")
    r.add_argument("dev_dir", help="decode directory of the development set (LM weight tuned here)")
    r.add_argument("eval_dir", help="decode directory of the evaluation set (scored at dev's weight)")

    t = sub.add_parser("track", help="add a checkpoint's dev WER to a run's dev_wer.jsonl")
    t.add_argument("--dev-wer-log", required=True, help="the run's dev_wer.jsonl")
    t.add_argument("--epoch", type=int, required=True, help="epoch of the decoded checkpoint")
    t.add_argument("--update", type=int, required=True, help="parameter updates of the checkpoint")
    t.add_argument("dev_dir", help="scored decode dir of the checkpoint on dev")
    return p


def _lmwts(lo: float, hi: float, step: float) -> list[float]:
    if hi < lo or step <= 0:
        raise ValueError(f"bad LM weight range {lo}..{hi} step {step}")
    n = int(round((hi - lo) / step))
    return [round(lo + i * step, 6) for i in range(n + 1)]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log)
    try:
        if args.cmd in ("wer", "dir"):
            norm = TextNormalizer(load_config(NormalizerConfig, args.normalizer))
        if args.cmd == "wer":
            refs, hyps = read_text(args.ref), read_text(args.hyp)
            u2s = read_utt2spk(args.utt2spk) if args.utt2spk else None
            report = score(refs, hyps, u2s, norm, args.mode)
            if args.per_utt:
                for utt, c in report.per_utt.items():
                    print(f"{utt} ref {c.ref_words} sub {c.sub} ins {c.ins} del {c.dels}")
            for spk, c in report.per_spk.items():
                print(f"%WER-spk {spk} {c.wer:.2f} [ {c.errors} / {c.ref_words} ]")
            sys.stdout.write(report.summary())
            if args.sclite:
                res = run_sclite({u: norm(w) for u, w in refs.items()}, {u: norm(w) for u, w in hyps.items()}, u2s)
                same = res.total == report.total
                print(f"sclite: {res.total.errors} errors / {res.total.ref_words} words "
                      f"({'identical' if same else 'DIFFERENT'} counts)")
                return 0 if same or args.mode != "sclite" else 1
        elif args.cmd == "dir":
            summary = score_decode_dir(args.decode_dir, args.data_dir, Path(args.graph_dir) / "words.txt",
                                       _lmwts(args.min_lmwt, args.max_lmwt, args.lmwt_step), norm, args.mode,
                                       args.sclite == "true")
            lmwt, best = best_scored(summary)
            print(f"%WER {best['wer']} at LMWT {lmwt:g} ({args.decode_dir})")
        elif args.cmd == "track":
            rec = track_decode(args.dev_wer_log, args.dev_dir, args.epoch, args.update)
            print(f"epoch {rec['epoch']} (update {rec['update']}): dev WER {rec['dev_wer']} at LMWT {rec['lmwt']:g}")
        else:
            meta = json.loads(Path(args.meta).read_text()) if args.meta else {}
            info = SystemInfo.from_meta(meta, system=args.system, model=args.model, criterion=args.criterion,
                                        optimiser=args.optimiser, updates=args.updates,
                                        train_seconds=args.train_seconds, train_log=args.train_log,
                                        parameters=args.parameters)
            dev, evl = record_dev_eval(args.results, info, args.dev_dir, args.eval_dir, args.dev_name, args.eval_name)
            print(f"{info.system}: {args.dev_name} {dev['wer']} / {args.eval_name} {evl['wer']} at LMWT {dev['lmwt']:g}")
    except (ValueError, OSError, RuntimeError) as err:
        return report_error("nghf-score", err)
    return 0


if __name__ == "__main__":
    sys.exit(main())
