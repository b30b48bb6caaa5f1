"""``nghf-format-lm``: copy a lang dir and add ``G.fst`` compiled from an ARPA LM.

    nghf-format-lm data/lang data/local/lm/tg.arpa.gz data/lang_test_tg
"""

from __future__ import annotations

import argparse

from nghf.bin._lang_common import run_main
from nghf.lang.grammar import format_lm
from nghf.lang.validate import validate_lang


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="nghf-format-lm", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("lang_dir")
    p.add_argument("arpa")
    p.add_argument("out_lang_dir")
    args = p.parse_args(argv)

    def body() -> int:
        format_lm(args.lang_dir, args.arpa, args.out_lang_dir)
        problems = validate_lang(args.out_lang_dir)
        for problem in problems:
            print(f"nghf-format-lm: error: {problem}")
        return 1 if problems else 0

    return run_main("nghf-format-lm", body)


if __name__ == "__main__":
    raise SystemExit(main())
