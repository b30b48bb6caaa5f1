"""One decoding job: a share of a data directory's utterances, decoded and saved.

The share is :func:`nghf.data.split.job_utterances` with ``by="round_robin"`` (sorted ids group
shows and genres whose decoding costs differ several-fold; dealing them out balances the jobs).

Outputs in the decode directory (``N`` is the job number):

* ``tra.N``: best path per utterance at the decoding acoustic scale, Kaldi ``text`` form;
* ``lat.N.npz``: the raw lattices (:mod:`nghf.decode.lattice_arrays`), for LM-weight sweeps;
* ``lat.N.gz``: the same lattices as a Kaldi archive (binary ``Lattice``: transition-ids in,
  words out, weights ``graph,acoustic`` with the acoustic cost unscaled, as Kaldi's decoders
  write them; :mod:`nghf.lattice.kaldi_io`), for Kaldi's lattice tools, kaldifst or k2;
* ``stats.N.json``: frames, seconds, utterances without a final state.

Everything is written atomically; a ``.done`` marker beside ``tra.N`` makes the job a no-op
when run again (unless ``force``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from nghf.data.text import format_text
from nghf.decode.decoder import Decoder
from nghf.decode.lattice_arrays import save_lattices
from nghf.lattice.kaldi_io import write_lattice_archive
from nghf.lattice.raw import RawLattice
from nghf.utils.atomic import atomic_write_text, is_done, mark_done
from nghf.utils.logging import get_logger, progress

log = get_logger(__name__)


def decode_job(decoder: Decoder, logliks: Iterable[tuple[str, np.ndarray]], out_dir: str | Path, job: int,
               force: bool = False) -> dict:
    """Decode every ``(utt, loglik)`` and write this job's outputs; return its statistics."""
    out_dir = Path(out_dir)
    tra_path = out_dir / f"tra.{job}"
    if is_done(tra_path) and not force:
        log.info("job %d: %s is done already; skipping", job, tra_path)
        return json.loads((out_dir / f"stats.{job}.json").read_text())
    hyps: dict[str, list[str]] = {}
    lattices: dict[str, RawLattice] = {}
    partial: list[str] = []
    frames = 0
    start = time.monotonic()
    for utt, loglik in progress(logliks, desc=f"decode job {job}", logger=log):
        result = decoder.decode(utt, loglik)
        hyps[utt] = decoder.graph.words(result.word_ids, utt)
        frames += result.num_frames
        if not result.reached_final:
            partial.append(utt)
        if result.lattice is not None:
            lattices[utt] = result.lattice
    seconds = time.monotonic() - start
    stats = {"job": job, "utterances": len(hyps), "frames": frames, "seconds": round(seconds, 3),
             "frames_per_second": round(frames / seconds, 1) if seconds > 0 else None,
             "no_final_state": partial, "acoustic_scale": decoder.config.acoustic_scale,
             "lattices": decoder.config.lattices}
    if decoder.config.lattices:
        save_lattices(out_dir / f"lat.{job}.npz", lattices)
        write_lattice_archive(out_dir / f"lat.{job}.gz", ((u, lattices[u]) for u in sorted(lattices)))
    atomic_write_text(out_dir / f"stats.{job}.json", json.dumps(stats, indent=1) + "\n")
    atomic_write_text(tra_path, format_text(hyps))
    mark_done(tra_path)
    log.info("job %d: decoded %d utterances, %d frames in %.1f s (%d without a final state)",
             job, len(hyps), frames, seconds, len(partial))
    return stats
