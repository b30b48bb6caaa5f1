"""``nghf-perturb-speed``: speed-perturbed copy of a data dir (``sp<factor>-`` ids, sox pipes)."""

from __future__ import annotations

from nghf.bin._cli_common import CliParser
from nghf.bin._data_common import run_main
from nghf.data.perturb import perturb_data_dir_speed


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="nghf-perturb-speed", description=__doc__)
    p.add_argument("factor", type=float, help="speed factor (e.g. 0.9 or 1.1)")
    p.add_argument("src", help="source data directory")
    p.add_argument("dst", help="output data directory (utterance and speaker ids prefixed sp<factor>-)")
    args = p.parse_args(argv)

    def body() -> int:
        out = perturb_data_dir_speed(args.src, args.dst, args.factor)
        print(f"nghf-perturb-speed: {args.dst}: {len(out.utt2spk)} utterances at speed {args.factor:g}")
        return 0

    return run_main("nghf-perturb-speed", body)


if __name__ == "__main__":
    raise SystemExit(main())
