"""``nghf-fix-data``: sort a data dir and filter every file to the ids present in all of them.

Prints how many entries were removed from which file and why; the original files and the
removed lines are kept under ``<data-dir>/.backup/``.
"""

from __future__ import annotations

from nghf.bin._cli_common import CliParser
from nghf.bin._data_common import run_main
from nghf.data.fix import fix_data_dir


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="nghf-fix-data", description=__doc__)
    p.add_argument("data_dir", help="Kaldi data directory to sort and fix in place")
    p.add_argument("--keep-empty-text", action="store_true", help="do not remove empty transcripts")
    args = p.parse_args(argv)

    def body() -> int:
        report = fix_data_dir(args.data_dir, drop_empty_text=not args.keep_empty_text)
        for line in report.lines():
            print(f"{args.data_dir}: {line}")
        print(f"{args.data_dir}: removed {report.total_removed} entries in total"
              + (f" (copies in {args.data_dir}/.backup/)" if report.total_removed else ""))
        return 0

    return run_main("nghf-fix-data", body)


if __name__ == "__main__":
    raise SystemExit(main())
