"""nghf-export-model: a decodable model from a training checkpoint (``nghf.train.export``).

Prints ``EPOCH UPDATE IDENTICAL`` on one line: the checkpoint's epoch, its number of parameter
updates, and ``true`` when its parameters are exactly the reference model's (then OUT is not
written, and the reference model's decodes stand for the checkpoint).

    nghf-export-model exp/tdnn_mmi_nghf/checkpoint.epoch2.pt exp/tdnn_mmi_nghf/final.mdl exp/tdnn_mmi_nghf/epoch2.mdl
"""

from __future__ import annotations

import sys

from nghf.bin._cli_common import CliParser, run_catching
from nghf.train.export import export_checkpoint


def main(argv: list[str] | None = None) -> int:
    parser = CliParser(prog="nghf-export-model", description=__doc__)
    parser.add_argument("checkpoint", help="checkpoint.epochN.pt of a training run")
    parser.add_argument("reference_model", help="the run's final.mdl (config, features, priors)")
    parser.add_argument("out", help="model file to write")
    args = parser.parse_args(argv)

    def body() -> int:
        found = export_checkpoint(args.checkpoint, args.reference_model, args.out)
        print(f"{found.epoch} {found.update} {'true' if found.identical else 'false'}")
        return 0

    return run_catching("nghf-export-model", body, (ValueError,))  # ModelFileError is one


if __name__ == "__main__":
    sys.exit(main())
