"""``nghf-compute-fbank``: fbank features of a data dir (or one split part) into an ark + scp.

Example (one job of steps/make_fbank.sh)::

    nghf-compute-fbank --config conf/fbank.yaml data/train/split4/2 \\
        fbank/raw_fbank_train.2.ark fbank/raw_fbank_train.2.scp --utt2num-frames fbank/utt2num_frames.2
"""

from __future__ import annotations

from nghf.bin._cli_common import CliParser
from nghf.bin._data_common import run_main
from nghf.data.datadir import load_data_dir
from nghf.data.features import FbankConfig, compute_data_dir_fbank
from nghf.utils.config import dump_config, load_config


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="nghf-compute-fbank", description=__doc__)
    p.add_argument("data_dir", help="Kaldi data directory (wav.scp, optional segments)")
    p.add_argument("ark", help="output feature archive")
    p.add_argument("scp", help="output index of the archive, normally <data-dir>/feats.scp")
    p.add_argument("--config", default=None, help="YAML of FbankConfig (e.g. conf/fbank.yaml)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    p.add_argument("--utt2num-frames", default=None, help="also write frame counts here")
    args = p.parse_args(argv)

    def body() -> int:
        cfg = load_config(FbankConfig, args.config, args.set)
        data = load_data_dir(args.data_dir)
        dump_config(cfg, str(args.ark).removesuffix(".ark") + ".yaml")  # the resolved config, beside the ark
        n = compute_data_dir_fbank(data, cfg, args.ark, args.scp, args.utt2num_frames, args.data_dir)
        print(f"nghf-compute-fbank: {args.data_dir}: wrote {n} feature matrices to {args.ark}")
        return 0

    return run_main("nghf-compute-fbank", body)


if __name__ == "__main__":
    raise SystemExit(main())
