"""``nghf-format-lm``: copy a lang dir and add ``G.fst`` compiled from an ARPA LM.

    nghf-format-lm data/lang data/local/lm/tg.arpa.gz data/lang_test_tg
"""

from __future__ import annotations

from nghf.bin._cli_common import CliParser
from nghf.bin._lang_common import run_main
from nghf.lang.grammar import format_lm
from nghf.lang.validate import validate_lang


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="nghf-format-lm", description=__doc__)
    p.add_argument("lang_dir", help="lang directory (words.txt) the grammar is built for")
    p.add_argument("arpa", help="ARPA language model (plain or .gz)")
    p.add_argument("out_lang_dir", help="output lang directory (a copy of lang_dir with G.fst)")
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
