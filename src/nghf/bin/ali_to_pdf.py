"""``nghf-ali-to-pdf``: alignments (transition-ids) to pdf-id and phone sequences.

Writes ``pdf.JOB.gz`` and ``phone.JOB.gz`` (Kaldi int-vector archives) beside each
``ali.JOB.gz`` (or into ``--out-dir``), plus ``num_pdfs`` and ``tid2pdf`` (``tid pdf``
lines) for the NN trainer and the decoder.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nghf.bin._cli_common import CliParser, report_error
from nghf.utils.logging import get_logger, setup_logging

log = get_logger("nghf.bin.ali_to_pdf")


def main(argv: list[str] | None = None) -> int:
    parser = CliParser(prog="nghf-ali-to-pdf", description=__doc__)
    parser.add_argument("--out-dir", default=None, help="default: the alignment directory")
    parser.add_argument("model", help="final.mdl of the alignment directory")
    parser.add_argument("ali_dir", help="directory with ali.*.gz")
    args = parser.parse_args(argv)
    setup_logging()
    from nghf.gmm.align import ali_files, iter_alignment_archives, tid_info, write_alignments
    from nghf.gmm.model import ModelError, load_model
    from nghf.graph.hclg import write_tid2pdf

    try:
        model = load_model(args.model)
        out = Path(args.out_dir or args.ali_dir)
        out.mkdir(parents=True, exist_ok=True)
        info = tid_info(model)
        frames = 0
        for path in ali_files(args.ali_dir):
            job = path.name.split(".")[1]
            alis = dict(iter_alignment_archives([path]))
            frames += sum(len(t) for t in alis.values())
            write_alignments(out / f"pdf.{job}.gz", {u: info.pdf[t] for u, t in alis.items()})
            write_alignments(out / f"phone.{job}.gz", {u: info.phone[t] for u, t in alis.items()})
        write_tid2pdf(model, out)
    except (ModelError, FileNotFoundError, ValueError) as err:
        return report_error("nghf-ali-to-pdf", err)
    log.info("converted %d frames; %d pdfs", frames, model.num_pdfs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
