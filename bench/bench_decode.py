"""Decoding speed (frames per second) with Kaldi's decoders through nghf.decode.

Builds a synthetic word-loop HCLG of realistic size (default 2000 words, each a chain of
6-12 transition-ids with self-loops, unigram graph costs, 6000 transition-ids over 2000
pdfs) or loads a real graph dir (``--graph-dir`` with HCLG.fst, words.txt, tid2pdf), makes
log-likelihoods that favour a random word sequence with noise, and times the lattice
decoder (raw lattices kept), the best-path decoder, and the LM-weight re-scoring of the
stored lattices, at the default beam of conf/decode.yaml. At 100 frames/s of speech, the
real-time factor is 100 / (frames per second). Prints a table and writes
bench/results/bench_decode.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from nghf.decode.decoder import Decoder, DecoderConfig
from nghf.decode.graph import DecodingGraph, load_graph
from nghf.decode.synthetic import word_loop_graph, word_loop_logliks
from nghf.utils.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def synthetic_graph(num_words: int, num_tids: int, num_pdfs: int, rng: np.random.Generator):
    return word_loop_graph(num_words, num_tids, num_pdfs, rng, 6, 12)


def synthetic_logliks(graph: DecodingGraph, word_tids, frames: int, rng: np.random.Generator) -> np.ndarray:
    return word_loop_logliks(graph, word_tids, frames, rng, noise=3.0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--graph-dir", default=None)
    p.add_argument("--words", type=int, default=2000)
    p.add_argument("--tids", type=int, default=6000)
    p.add_argument("--pdfs", type=int, default=2000)
    p.add_argument("--utts", type=int, default=2)
    p.add_argument("--beam", type=float, default=None, help="override the decoding beam of conf/decode.yaml")
    p.add_argument("--frames", type=int, default=300)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    overrides = [f"beam={args.beam}"] if args.beam is not None else []
    config = load_config(DecoderConfig, ROOT / "conf" / "decode.yaml", overrides)
    t0 = time.perf_counter()
    if args.graph_dir:
        graph, word_tids = load_graph(args.graph_dir), None
        source = args.graph_dir
    else:
        graph, word_tids = synthetic_graph(args.words, args.tids, args.pdfs, rng)
        source = f"synthetic word loop ({args.words} words)"
    build_s = time.perf_counter() - t0
    if word_tids is None:  # real graph: favour random pdf runs
        word_tids = [rng.integers(1, graph.tid2pdf.size, size=8) for _ in range(200)]
    logliks = [synthetic_logliks(graph, word_tids, args.frames, rng) for _ in range(args.utts)]
    frames = sum(m.shape[0] for m in logliks)
    rows = []
    lattices = []
    for name, lat in (("lattice (LatticeSimpleDecoder)", True), ("best path (FasterDecoder)", False)):
        decoder = Decoder(graph, DecoderConfig(**{**config.__dict__, "lattices": lat}))
        start = time.perf_counter()
        for i, m in enumerate(logliks):
            r = decoder.decode(f"u{i}", m)
            if lat:
                lattices.append(r.lattice)
        secs = time.perf_counter() - start
        rows.append({"decoder": name, "frames": frames, "seconds": round(secs, 3),
                     "frames_per_s": round(frames / secs, 1), "rtf": round(100.0 / (frames / secs), 4)})
    start = time.perf_counter()
    lmwts = range(7, 18)
    for lat in lattices:
        for w in lmwts:
            lat.best_path(float(w))
    secs = time.perf_counter() - start
    rows.append({"decoder": f"LMWT re-scoring ({len(lmwts)} weights)", "frames": frames, "seconds": round(secs, 3),
                 "frames_per_s": round(frames / secs, 1), "rtf": round(100.0 / (frames / secs), 4)})
    arcs = int(np.mean([lat.num_arcs for lat in lattices]))
    print(f"graph: {source}, built/loaded in {build_s:.1f} s; beam {config.beam}, lattice beam "
          f"{config.lattice_beam}, acwt {config.acoustic_scale}; mean lattice arcs {arcs}")
    print(f"{'decoder':40s} {'frames':>7s} {'seconds':>8s} {'frames/s':>9s} {'RTF':>7s}")
    for r in rows:
        print(f"{r['decoder']:40s} {r['frames']:7d} {r['seconds']:8.3f} {r['frames_per_s']:9.1f} {r['rtf']:7.4f}")
    out = ROOT / "bench" / "results" / "bench_decode.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"graph": source, "config": config.__dict__, "mean_lattice_arcs": arcs,
                               "machine": platform.processor() or platform.machine(), "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
