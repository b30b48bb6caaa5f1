"""Denominator lattice generation speed (frames per second on one core) through nghf.lattice.generate.

Builds a synthetic weak-LM word-loop HCLG (default 500 words, each a chain of 4-9
transition-ids with self-loops, unigram costs; 1500 transition-ids over 500 pdfs) and
log-likelihoods that favour a random word sequence with noise, then times the three stages of
:class:`nghf.lattice.generate.DenominatorGenerator` separately -- Kaldi's lattice decoder
(raw lattice), raw posterior pruning + conversion to the frame-synchronous form,
forward-backward pruning -- for a few
lattice beams and arc caps. One torch thread, one process: the numbers are per core.
Prints a table and writes bench/results/bench_denlats.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from nghf.decode.graph import DecodingGraph
from nghf.decode.synthetic import word_loop_graph, word_loop_logliks
from nghf.lattice.convert import raw_to_lattice
from nghf.lattice.generate import (
    DenlatConfig,
    DenominatorGenerator,
    array_to_raw,
    prune_lattice,
    prune_raw,
)
from nghf.lattice.numerator import TransitionMaps

ROOT = Path(__file__).resolve().parents[1]


def synthetic_graph(num_words: int, num_tids: int, num_pdfs: int, rng: np.random.Generator):
    graph, word_tids = word_loop_graph(num_words, num_tids, num_pdfs, rng, 4, 9, "synthetic")
    pdfs = graph.tid2pdf.copy()
    pdfs[0] = 0
    maps = TransitionMaps(pdfs.astype(np.int64), (pdfs % 40 + 1).astype(np.int64) * (np.arange(len(pdfs)) > 0))
    return graph, maps, word_tids


def synthetic_logliks(graph: DecodingGraph, word_tids, frames: int, rng: np.random.Generator) -> np.ndarray:
    return word_loop_logliks(graph, word_tids, frames, rng, noise=2.0)


def time_config(graph, maps, logliks, cfg: DenlatConfig) -> dict:
    gen = DenominatorGenerator(graph, maps, cfg)
    t_dec = t_conv = t_prune = 0.0
    arcs_raw = arcs_conv = arcs_pruned = failed = 0
    for i, ll in enumerate(logliks):
        t0 = time.perf_counter()
        res = gen.decoder.decode(f"u{i}", ll)
        t1 = time.perf_counter()
        t_dec += t1 - t0
        if not res.reached_final or res.lattice is None:
            failed += 1
            continue
        raw = prune_raw(res.lattice, cfg.acoustic_scale, cfg.min_posterior)
        lat = raw_to_lattice(array_to_raw(raw), maps.tid2pdf, maps.tid2phone, f"u{i}", len(ll))
        t2 = time.perf_counter()
        t_conv += t2 - t1
        pruned, _ = prune_lattice(lat, cfg.acoustic_scale * ll.astype(np.float64), cfg.min_posterior,
                                  cfg.max_arcs_per_frame)
        t_prune += time.perf_counter() - t2
        arcs_raw += res.lattice.num_arcs
        arcs_conv += lat.num_arcs
        arcs_pruned += pruned.num_arcs
    frames = sum(len(ll) for ll in logliks)
    total = t_dec + t_conv + t_prune
    return {
        "lattice_beam": cfg.lattice_beam, "max_arcs_per_frame": cfg.max_arcs_per_frame,
        "min_posterior": cfg.min_posterior, "frames": frames, "failed": failed,
        "raw_arcs_per_frame": round(arcs_raw / frames, 2), "arcs_per_frame": round(arcs_conv / frames, 2),
        "pruned_arcs_per_frame": round(arcs_pruned / frames, 2),
        "decode_s": round(t_dec, 3), "convert_s": round(t_conv, 3), "prune_s": round(t_prune, 3),
        "frames_per_s": round(frames / total, 1),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--words", type=int, default=500)
    p.add_argument("--tids", type=int, default=1500)
    p.add_argument("--pdfs", type=int, default=500)
    p.add_argument("--utts", type=int, default=2)
    p.add_argument("--frames", type=int, default=200)
    p.add_argument("--beam", type=float, default=10.0)
    p.add_argument("--acwt", type=float, default=0.1)
    args = p.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    graph, maps, word_tids = synthetic_graph(args.words, args.tids, args.pdfs, rng)
    logliks = [synthetic_logliks(graph, word_tids, args.frames, rng) for _ in range(args.utts)]
    rows = []
    for lattice_beam, max_arcs, min_post in ((4.0, 0, 0.0), (7.0, 0, 1e-5), (7.0, 50, 1e-4)):
        cfg = DenlatConfig(beam=args.beam, lattice_beam=lattice_beam, acoustic_scale=args.acwt,
                           max_arcs_per_frame=max_arcs, min_posterior=min_post)
        rows.append(time_config(graph, maps, logliks, cfg))
    print(f"synthetic word loop: {args.words} words, {args.tids} tids, {args.pdfs} pdfs; "
          f"{args.utts} x {args.frames} frames; beam {args.beam}, acwt {args.acwt}; one core")
    head = ("lat_beam", "max_arcs", "min_post", "raw a/f", "conv a/f", "kept a/f", "decode_s", "convert_s",
            "prune_s", "frames/s")
    print(" ".join(f"{h:>9s}" for h in head))
    for r in rows:
        vals = (r["lattice_beam"], r["max_arcs_per_frame"], r["min_posterior"], r["raw_arcs_per_frame"],
                r["arcs_per_frame"], r["pruned_arcs_per_frame"], r["decode_s"], r["convert_s"], r["prune_s"],
                r["frames_per_s"])
        print(" ".join(f"{v:>9g}" for v in vals))
    out = ROOT / "bench" / "results" / "bench_denlats.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"graph": vars(args), "machine": platform.processor() or platform.machine(),
                               "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
