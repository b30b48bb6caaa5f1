"""``nghf-mgb-prep``: MGB-1 transcripts (XML for training, STM for dev/eval) -> Kaldi data dirs.

    nghf-mgb-prep train --xml-dir MGB/train/xml --audio-list MGB/train/audio.list data/train
    nghf-mgb-prep stm --stm MGB/dev/dev.stm --audio-list MGB/dev/audio.list data/dev

Training segments are filtered by PMER/WMER/AWD; every rejected segment is listed in
``<out>/rejected.tsv`` and counted in the log.
"""

from __future__ import annotations

from pathlib import Path

from nghf.bin._cli_common import CliParser
from nghf.bin._data_common import run_main
from nghf.data.mgb import MgbError, MgbFilter, prepare_stm, prepare_train


def _opt_float(text: str) -> float | None:
    return None if text.lower() in ("none", "off", "") else float(text)


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="nghf-mgb-prep", description=__doc__)
    sub = p.add_subparsers(dest="kind", required=True)
    t = sub.add_parser("train", help="training data from per-show XML files")
    t.add_argument("--xml-dir", required=True, help="directory of the MGB-1 XML transcripts")
    t.add_argument("--shows", default=None, help="file of show ids to use (default: every XML)")
    t.add_argument("--audio-list", required=True, help="list of the MGB-1 audio files (one path per line)")
    t.add_argument("--max-pmer", type=_opt_float, default=MgbFilter.max_pmer, help="keep segments whose phone matching error rate is at most this (%%; none: no limit)")
    t.add_argument("--max-wmer", type=_opt_float, default=MgbFilter.max_wmer, help="keep segments whose word matching error rate is at most this (%%; none: no limit)")
    t.add_argument("--min-awd", type=_opt_float, default=MgbFilter.min_awd, help="keep segments whose average word duration (s) is at least this (none: no limit)")
    t.add_argument("--max-awd", type=_opt_float, default=MgbFilter.max_awd, help="keep segments whose average word duration (s) is at most this (none: no limit)")
    t.add_argument("out", help="output Kaldi data directory")
    s = sub.add_parser("stm", help="dev/eval data from an STM reference")
    s.add_argument("--stm", required=True, help="STM reference transcript of the dev or eval set")
    s.add_argument("--audio-list", required=True, help="list of the MGB-1 audio files (one path per line)")
    s.add_argument("out", help="output Kaldi data directory")
    args = p.parse_args(argv)

    def body() -> int:
        if args.kind == "stm":
            data = prepare_stm(args.stm, args.audio_list, args.out)
        else:
            xml_dir = Path(args.xml_dir)
            if args.shows:
                shows = [ln.split()[0] for ln in Path(args.shows).read_text(encoding="utf-8").splitlines() if ln.strip()]
                files = [xml_dir / f"{s}.xml" for s in shows]
                missing = [f for f in files if not f.is_file()]
                if missing:
                    raise MgbError(f"{args.shows}: show '{missing[0].stem}' has no transcript {missing[0]}")
            else:
                files = sorted(xml_dir.glob("*.xml"))
            if not files:
                raise MgbError(f"{xml_dir}: no *.xml transcripts found")
            flt = MgbFilter(args.max_pmer, args.max_wmer, args.min_awd, args.max_awd)
            data = prepare_train(files, args.audio_list, args.out, flt)
        print(f"nghf-mgb-prep: {args.out}: {len(data.utt2spk)} utterances, "
              f"{len(set(data.utt2spk.values()))} speakers, {len(data.wav_scp)} shows")
        return 0

    return run_main("nghf-mgb-prep", body)


if __name__ == "__main__":
    raise SystemExit(main())
