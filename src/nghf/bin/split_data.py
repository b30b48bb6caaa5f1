"""``nghf-split-data``: write ``<data>/split<N>/<1..N>`` (by speaker) or ``split<N>utt`` (by utterance)."""

from __future__ import annotations

from nghf.bin._cli_common import CliParser
from nghf.bin._data_common import run_main
from nghf.data.split import split_data_dir


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="nghf-split-data", description=__doc__)
    p.add_argument("data_dir", help="Kaldi data directory to split (into <data-dir>/split<N>/)")
    p.add_argument("num_parts", type=int, help="number of parts")
    p.add_argument("--per-utt", action="store_true", help="split by utterance, not by speaker")
    args = p.parse_args(argv)

    def body() -> int:
        print(split_data_dir(args.data_dir, args.num_parts, args.per_utt))
        return 0

    return run_main("nghf-split-data", body)


if __name__ == "__main__":
    raise SystemExit(main())
