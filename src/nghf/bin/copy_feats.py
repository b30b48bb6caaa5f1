"""``nghf-copy-feats``: copy matrices from an scp or ark into a new ark + scp (or print them as text).

``nghf-copy-feats data/train/feats.scp out.ark out.scp`` gathers features into one archive;
``nghf-copy-feats --text data/train/feats.scp -`` prints them in Kaldi's text format.
"""

from __future__ import annotations

import sys

import numpy as np

from nghf.bin._cli_common import CliParser
from nghf.bin._data_common import run_main
from nghf.data.ark import ArkWriter, read_ark, read_scp, write_scp


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="nghf-copy-feats", description=__doc__)
    p.add_argument("input", help="an .scp index or an .ark archive")
    p.add_argument("ark", help="output archive, or '-' with --text")
    p.add_argument("scp", nargs="?", default=None, help="output index (binary mode)")
    p.add_argument("--text", action="store_true", help="print as Kaldi text matrices")
    args = p.parse_args(argv)

    def body() -> int:
        reader = read_scp(args.input) if args.input.endswith(".scp") else read_ark(args.input)
        if args.text:
            out = sys.stdout if args.ark == "-" else open(args.ark, "w", encoding="utf-8")  # noqa: SIM115
            try:
                for key, mat in reader:
                    out.write(f"{key}  [\n")
                    rows = [" ".join(f"{v:g}" for v in row) for row in np.atleast_2d(mat)]
                    out.write("\n".join(f"  {r}" for r in rows) + " ]\n")
            finally:
                if out is not sys.stdout:
                    out.close()
            return 0
        if args.scp is None:
            raise FileNotFoundError("binary output needs both <ark> and <scp>")
        with ArkWriter(args.ark) as w:
            for key, mat in reader:
                w.write(key, mat)
            lines = w.scp_lines()
        write_scp(args.scp, lines)
        return 0

    return run_main("nghf-copy-feats", body)


if __name__ == "__main__":
    raise SystemExit(main())
