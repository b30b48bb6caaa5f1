"""``nghf-combine-data``: union of data dirs with disjoint ids (e.g. speed-perturbed copies).

    nghf-combine-data data/train_sp data/train data/train_sp0.9 data/train_sp1.1

Features, CMVN and frame counts are kept only if every source has them.
"""

from __future__ import annotations

from nghf.bin._cli_common import CliParser
from nghf.bin._data_common import run_main
from nghf.data.datadir import combine_data_dirs, load_data_dir, save_data_dir


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="nghf-combine-data", description=__doc__)
    p.add_argument("dst", help="output data directory")
    p.add_argument("src", nargs="+", help="data directories to combine (utterance ids must be distinct)")
    args = p.parse_args(argv)

    def body() -> int:
        out = combine_data_dirs(load_data_dir(s) for s in args.src)
        save_data_dir(out, args.dst)
        print(f"nghf-combine-data: {args.dst}: {len(out.utt2spk)} utterances from {len(args.src)} dirs")
        return 0

    return run_main("nghf-combine-data", body)


if __name__ == "__main__":
    raise SystemExit(main())
