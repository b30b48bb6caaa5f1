"""``nghf-compute-cmvn``: per-speaker CMVN stats (Kaldi 2x(D+1) format) of a data dir's features."""

from __future__ import annotations

from nghf.bin._cli_common import CliParser
from nghf.bin._data_common import run_main
from nghf.data.cmvn import compute_speaker_cmvn
from nghf.data.datadir import load_data_dir


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="nghf-compute-cmvn", description=__doc__)
    p.add_argument("data_dir", help="Kaldi data directory with feats.scp and spk2utt")
    p.add_argument("ark", help="output archive, e.g. fbank/cmvn_train.ark")
    p.add_argument("scp", help="output index, normally <data-dir>/cmvn.scp")
    args = p.parse_args(argv)

    def body() -> int:
        n = compute_speaker_cmvn(load_data_dir(args.data_dir), args.ark, args.scp, args.data_dir)
        print(f"nghf-compute-cmvn: {args.data_dir}: wrote CMVN stats of {n} speakers to {args.scp}")
        return 0

    return run_main("nghf-compute-cmvn", body)


if __name__ == "__main__":
    raise SystemExit(main())
