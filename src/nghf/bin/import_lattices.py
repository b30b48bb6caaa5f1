"""``nghf-import-lattices``: use lattices made by Kaldi (``lat.JOB.gz``) as nghf denominator lattices.

Usage::

    nghf-import-lattices --trans-model <final.mdl> <kaldi-lat-dir | archive...> <denlat-dir>
    nghf-import-lattices --tid2pdf <graph>/tid2pdf --tid2phone <file> <kaldi-lat-dir | archive...> <denlat-dir>

Every Kaldi lattice archive (``Lattice`` or ``CompactLattice``, binary or text, gzipped or
not; a directory stands for its ``lat.*.gz``) becomes ``<denlat-dir>/lat.JOB.npz`` with the
same job number, converted to the frame-synchronous form with the transition model of
``--trans-model`` (the model whose transition-ids the lattices carry, e.g. Kaldi's
``exp/tri3_ali/final.mdl``). It writes ``stats.JOB.json``, ``stats.json`` and ``.done`` as
``steps/make_denlats.sh`` does, so ``steps/train_seq.sh`` takes ``<denlat-dir>`` as it is.
Lattices must be at the frame rate of the model that is trained on them; training checks
their lengths against the features. A lattice that cannot be converted is an error naming
the archive and the utterance, and nothing is marked done.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nghf.bin._cli_common import CliParser, run_catching


def build_parser() -> argparse.ArgumentParser:
    p = CliParser(prog="nghf-import-lattices", description=__doc__)
    p.add_argument("sources", nargs="+", metavar="kaldi-lat-dir|archive",
                   help="a directory with Kaldi lat.*.gz, or lattice archives (ark:gunzip -c lat.1.gz| also works)")
    p.add_argument("denlat_dir", help="output directory of nghf lattice stores")
    p.add_argument("--trans-model", default=None,
                   help="GMM final.mdl (Kaldi's or nghf's) whose transition-ids the lattices carry")
    p.add_argument("--tid2pdf", default=None, help="instead of --trans-model: 'tid pdf' lines (a graph's tid2pdf)")
    p.add_argument("--tid2phone", default=None, help="with --tid2pdf: 'tid phone' lines")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if (args.trans_model is None) == (args.tid2pdf is None and args.tid2phone is None):
        parser.error("give either --trans-model or both --tid2pdf and --tid2phone")
    if args.trans_model is None and (args.tid2pdf is None or args.tid2phone is None):
        parser.error("--tid2pdf and --tid2phone go together")
    return run_catching("nghf-import-lattices", lambda: _import(args), (ValueError,))


def _archives(sources: list[str]) -> list[str]:
    """The archives named, a directory replaced by its ``lat.*.gz`` in job order."""
    from nghf.lattice.store import archive_job

    out: list[str] = []
    for src in sources:
        path = Path(src)
        if path.is_dir():
            found = sorted(path.glob("lat.*.gz"), key=archive_job)
            if not found:
                raise ValueError(f"{path}: no Kaldi lattice archives (lat.*.gz)")
            out.extend(str(f) for f in found)
        else:
            out.append(src)
    return out


def _import(args: argparse.Namespace) -> int:
    from nghf.lattice.kaldi_io import _job_number, _strip_specifier, import_kaldi_lattices
    from nghf.lattice.numerator import TransitionMaps, load_transition_maps
    from nghf.lattice.stats import summarise_jobs
    from nghf.utils.atomic import atomic_write_text
    from nghf.utils.logging import get_logger

    log = get_logger("nghf.bin.import_lattices")
    archives = _archives(args.sources)
    if args.trans_model:
        maps = load_transition_maps(args.trans_model)
    else:
        from nghf.decode.graph import read_tid2pdf

        pdfs, phones = read_tid2pdf(args.tid2pdf), read_tid2pdf(args.tid2phone)
        pdfs[0], phones[0] = 0, 0
        maps = TransitionMaps(pdfs, phones)
    out = Path(args.denlat_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / ".done").unlink(missing_ok=True)
    # lat.N.gz keeps its job number N; archives without distinct numbers are numbered in order.
    numbers = [_job_number(Path(_strip_specifier(a))) for a in archives]
    if len(set(numbers)) != len(numbers):
        numbers = list(range(1, len(archives) + 1))
    jobs = dict(zip(numbers, archives, strict=True))
    stats = []
    for job, archive in sorted(jobs.items()):
        job_stats = import_kaldi_lattices(archive, out / f"lat.{job}.npz", maps.tid2pdf, maps.tid2phone)
        job_stats["job"] = job
        atomic_write_text(out / f"stats.{job}.json", json.dumps(job_stats, indent=1) + "\n")
        log.info("%s -> %s: %d lattices, %.2f arcs/frame", archive, out / f"lat.{job}.npz",
                 job_stats["lattices"], job_stats["arcs_per_frame"])
        stats.append(job_stats)
    atomic_write_text(out / "stats.json", json.dumps(summarise_jobs(stats), indent=1) + "\n")
    atomic_write_text(out / "num_jobs", f"{len(jobs)}\n")
    (out / ".done").touch()
    print(f"nghf-import-lattices: {sum(s['lattices'] for s in stats)} lattices of {len(jobs)} archives in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
