"""``nghf-prepare-lang``: a Kaldi lang directory (phones, words, topo, L.fst) from a dict dir.

    nghf-prepare-lang --config conf/lang.yaml data/local/dict "<unk>" data/local/lang_tmp data/lang
"""

from __future__ import annotations

import argparse

from nghf.bin._cli_common import CliParser
from nghf.bin._lang_common import run_main
from nghf.lang.prepare import LangConfig, prepare_lang
from nghf.lang.validate import validate_lang
from nghf.utils.config import load_config


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(prog="nghf-prepare-lang", description=__doc__)
    p.add_argument("--config", default=None, help="YAML LangConfig (e.g. conf/lang.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set sil_prob=0.3; repeatable")
    p.add_argument("dict_dir", help="dictionary directory (lexicon.txt, phone lists)")
    p.add_argument("oov_word", help="word that stands for out-of-vocabulary words (e.g. <unk>)")
    p.add_argument("tmp_dir", help="scratch directory")
    p.add_argument("lang_dir", help="output lang directory")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        cfg = load_config(LangConfig, args.config, args.set)
        prepare_lang(args.dict_dir, args.oov_word, args.tmp_dir, args.lang_dir, cfg)
        problems = validate_lang(args.lang_dir)
        for problem in problems:
            print(f"nghf-prepare-lang: error: {problem}")
        return 1 if problems else 0

    return run_main("nghf-prepare-lang", body)


if __name__ == "__main__":
    raise SystemExit(main())
