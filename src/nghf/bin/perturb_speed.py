"""``nghf-perturb-speed``: speed-perturbed copy of a data dir (``sp<factor>-`` ids, sox pipes)."""

from __future__ import annotations

import argparse

from nghf.bin._data_common import run_main
from nghf.data.perturb import perturb_data_dir_speed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="nghf-perturb-speed", description=__doc__)
    p.add_argument("factor", type=float)
    p.add_argument("src")
    p.add_argument("dst")
    args = p.parse_args(argv)

    def body() -> int:
        out = perturb_data_dir_speed(args.src, args.dst, args.factor)
        print(f"nghf-perturb-speed: {args.dst}: {len(out.utt2spk)} utterances at speed {args.factor:g}")
        return 0

    return run_main("nghf-perturb-speed", body)


if __name__ == "__main__":
    raise SystemExit(main())
