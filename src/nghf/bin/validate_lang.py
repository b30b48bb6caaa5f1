"""``nghf-validate-lang``: check a Kaldi lang directory; one line per problem, exit 1 if any.

    nghf-validate-lang data/lang
"""

from __future__ import annotations

from nghf.bin._cli_common import CliParser
from nghf.bin._lang_common import run_main
from nghf.lang.validate import validate_lang


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="nghf-validate-lang", description=__doc__)
    p.add_argument("lang_dir", help="lang directory to check")
    args = p.parse_args(argv)

    def body() -> int:
        problems = validate_lang(args.lang_dir)
        for problem in problems:
            print(f"nghf-validate-lang: {problem}")
        if problems:
            print(f"nghf-validate-lang: {args.lang_dir}: {len(problems)} problem(s)")
            return 1
        print(f"nghf-validate-lang: {args.lang_dir} is a valid lang directory")
        return 0

    return run_main("nghf-validate-lang", body)


if __name__ == "__main__":
    raise SystemExit(main())
