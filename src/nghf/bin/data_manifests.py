"""``nghf-data-manifests``: write lhotse recordings/supervisions/cuts manifests beside a data dir."""

from __future__ import annotations

from nghf.bin._cli_common import CliParser
from nghf.bin._data_common import run_main
from nghf.data.datadir import load_data_dir, write_manifests


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="nghf-data-manifests", description=__doc__)
    p.add_argument("data_dir", help="Kaldi data directory to describe as lhotse manifests")
    p.add_argument("--sample-rate", type=int, default=16000, help="sampling rate of the audio (Hz)")
    args = p.parse_args(argv)

    def body() -> int:
        write_manifests(load_data_dir(args.data_dir), args.data_dir, args.sample_rate)
        return 0

    return run_main("nghf-data-manifests", body)


if __name__ == "__main__":
    raise SystemExit(main())
