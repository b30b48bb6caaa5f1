"""``nghf-check-install``: verify that the environment imports in the right order and report versions."""

from __future__ import annotations

import importlib.metadata as md
import sys

from nghf.bin._cli_common import CliParser

PACKAGES = (
    "torch",
    "kaldi-hmm-gmm",
    "kaldifst",
    "kaldi-decoder",
    "kaldilm",
    "kaldi-native-io",
    "kaldi-native-fbank",
    "lhotse",
)


def main(argv: list[str] | None = None) -> int:
    parser = CliParser(prog="nghf-check-install", description=__doc__)
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    args = parser.parse_args(argv)
    import torch

    from nghf import _kaldi  # noqa: F401  (the import-order guard)

    if not args.quiet:
        for name in PACKAGES:
            print(f"{name:20s} {md.version(name)}")
        print(f"{'cuda available':20s} {torch.cuda.is_available()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
