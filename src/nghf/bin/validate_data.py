"""``nghf-validate-data``: check a Kaldi data dir; print every problem with file, line and id.

Exit status 0 when there are no errors (warnings allowed), 1 otherwise.
"""

from __future__ import annotations

from nghf.bin._cli_common import CliParser
from nghf.bin._data_common import run_main
from nghf.data.validate import ValidateOptions, format_report, validate_data_dir


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="nghf-validate-data", description=__doc__)
    p.add_argument("data_dir", help="Kaldi data directory to check")
    p.add_argument("--no-text", action="store_true", help="text is optional (test data)")
    p.add_argument("--no-feats", action="store_true", help="ignore feats.scp/cmvn.scp/utt2num_frames")
    p.add_argument("--no-audio", action="store_true", help="do not open the audio files")
    p.add_argument("--sample-rate", type=int, default=16000, help="expected rate in Hz (0: any)")
    p.add_argument("--segment-tolerance", type=float, default=0.02,
                   help="seconds a segment may end past its recording")
    p.add_argument("--lexicon", default=None, help="word list or lexicon: report OOVs in text")
    p.add_argument("--max-per-file", type=int, default=50, help="issues printed per file (0: all)")
    args = p.parse_args(argv)

    def body() -> int:
        opts = ValidateOptions(check_text=not args.no_text, check_feats=not args.no_feats,
                               check_audio=not args.no_audio, sample_rate=args.sample_rate,
                               segment_tolerance=args.segment_tolerance, lexicon=args.lexicon)
        report = validate_data_dir(args.data_dir, opts)
        for line in format_report(report, args.max_per_file):
            print(line)
        return 0 if report.ok else 1

    return run_main("nghf-validate-data", body)


if __name__ == "__main__":
    raise SystemExit(main())
