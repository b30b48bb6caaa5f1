"""``nghf-train-lm``: train an interpolated modified Kneser-Ney n-gram LM, write ARPA.

Words outside ``--vocab`` (a lang dir's words.txt) are mapped to ``<unk>`` and counted.
``--eval`` reports perplexity and OOV rate on other texts (repeatable); ``--report``
writes the numbers as JSON. ``--min-counts`` drops rare n-grams while estimating (count
cutoffs); ``--prune-threshold`` then applies Stolcke relative-entropy pruning (SRILM's
``ngram -prune``), and the eval texts are scored before and after it. With ``--lm`` and
``--arpa``, an existing model is pruned instead of trained.

    nghf-train-lm --order 3 --text lm_text.txt --vocab data/lang/words.txt --arpa lm.arpa.gz \\
        --prune-threshold 1e-7 --eval data/dev/text --eval-has-ids
    nghf-train-lm --lm big.arpa.gz --prune-threshold 1e-7 --arpa small.arpa.gz
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from nghf.bin._cli_common import CliParser
from nghf.bin._lang_common import run_main
from nghf.lang.arpa import evaluate, read_arpa, write_arpa
from nghf.lang.lexicon import read_word_list
from nghf.lang.lm import LmConfig, train_kneser_ney, vocab_from_words_txt
from nghf.lang.prune import prune_relative_entropy
from nghf.utils.atomic import atomic_write_text
from nghf.utils.config import dump_config, load_config


def _sentences(path: str, has_ids: bool) -> list[list[str]]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if has_ids:
            fields = fields[1:]
        if fields:
            out.append(fields)
    return out


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="nghf-train-lm", description=__doc__)
    p.add_argument("--config", default=None, help="YAML LmConfig (e.g. conf/lm.yaml)")
    p.add_argument("--order", type=int, default=None, help="n-gram order (overrides the config)")
    p.add_argument("--text", action="append", required=False, default=[], help="training text; repeatable")
    p.add_argument("--text-has-ids", action="store_true", help="training texts are Kaldi text (utt-id first)")
    p.add_argument("--vocab", default=None, help="words.txt or a word list; default: the training words")
    p.add_argument("--arpa", default=None, help="output ARPA file (.gz to compress)")
    p.add_argument("--lm", default=None,
                   help="use this existing ARPA file instead of training (evaluate it; prune it into --arpa)")
    p.add_argument("--min-counts", type=int, nargs="+", default=None, metavar="N",
                   help="raw-count cutoff per order, last one repeats (e.g. 1 1 2; overrides the config)")
    p.add_argument("--prune-threshold", type=float, default=None, metavar="T",
                   help="relative-entropy pruning threshold, e.g. 1e-7; 0 = none (overrides the config)")
    p.add_argument("--eval", action="append", default=[], help="text to report perplexity on; repeatable")
    p.add_argument("--eval-has-ids", action="store_true", help="eval texts are Kaldi text (utt-id first)")
    p.add_argument("--report", default=None, help="write training and evaluation numbers as JSON")
    args = p.parse_args(argv)

    def body() -> int:
        report: dict[str, object] = {}
        unpruned = None
        if args.lm:
            if args.min_counts is not None:
                raise ValueError("--min-counts needs the training counts: give --text, not --lm")
            lm = read_arpa(args.lm)
            threshold = args.prune_threshold or 0.0
            if threshold > 0.0 and not args.arpa:
                raise ValueError("pruning an existing model (--lm, --prune-threshold) needs --arpa for the output")
            if threshold > 0.0:
                unpruned, (lm, prune_stats) = lm, prune_relative_entropy(lm, threshold)
            if args.arpa:
                write_arpa(lm, args.arpa)
        else:
            if not args.text or not args.arpa:
                raise ValueError("training needs --text and --arpa (or give --lm to only evaluate)")
            overrides = [f"order={args.order}"] if args.order is not None else []
            cfg = load_config(LmConfig, args.config, overrides)
            if args.min_counts is not None:
                cfg = dataclasses.replace(cfg, min_counts=tuple(args.min_counts))
            if args.prune_threshold is not None:
                cfg = dataclasses.replace(cfg, prune_threshold=args.prune_threshold)
            vocab = vocab_from_words_txt(read_word_list(args.vocab), cfg) if args.vocab else None
            sentences = [s for f in args.text for s in _sentences(f, args.text_has_ids)]
            lm, stats = train_kneser_ney(sentences, cfg, vocab)
            threshold = cfg.prune_threshold
            if threshold > 0.0:
                unpruned, (lm, prune_stats) = lm, prune_relative_entropy(lm, threshold)
            write_arpa(lm, args.arpa)
            dump_config(cfg, Path(args.arpa).with_name(Path(args.arpa).name + ".yaml"))
            report["train"] = dataclasses.asdict(stats)
            print(f"nghf-train-lm: {args.arpa}: order {lm.order}, n-grams {[len(x) for x in lm.logprobs]}, "
                  f"{stats.sentences} sentences, {stats.words} words, {stats.oov_tokens} OOV tokens -> {cfg.unk}")
        report["ngrams"] = [len(level) for level in lm.logprobs]
        if unpruned is not None:
            report["ngrams_unpruned"] = list(prune_stats.ngrams_before)
            report["prune"] = {"threshold": threshold, "pruned": list(prune_stats.pruned)}
            print(f"nghf-train-lm: pruned with threshold {threshold:g}: n-grams {list(prune_stats.ngrams_before)} "
                  f"-> {list(prune_stats.ngrams_after)}")
        for f in args.eval:
            sentences = _sentences(f, args.eval_has_ids)
            if unpruned is not None:
                r0 = evaluate(unpruned, sentences)
                report[f"eval_unpruned:{f}"] = {**dataclasses.asdict(r0), "oov_rate": r0.oov_rate}
                print(f"nghf-train-lm: {f} (before pruning): {r0.summary()}")
            r = evaluate(lm, sentences)
            report[f"eval:{f}"] = {**dataclasses.asdict(r), "oov_rate": r.oov_rate}
            print(f"nghf-train-lm: {f}: {r.summary()}")
        if args.report:
            atomic_write_text(args.report, json.dumps(report, indent=2) + "\n")
        return 0

    return run_main("nghf-train-lm", body)


if __name__ == "__main__":
    raise SystemExit(main())
