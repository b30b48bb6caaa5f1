"""Denominator lattice generation speed (frames per second on one core) through nghf.decode.denlats.

Builds a synthetic weak-LM word-loop HCLG (default 500 words, each a chain of 4-9
transition-ids with self-loops, unigram costs; 1500 transition-ids over 500 pdfs) and
log-likelihoods that favour a random word sequence with noise, then times the three stages of
:class:`nghf.decode.denlats.DenominatorGenerator` separately -- Kaldi's lattice decoder
(raw lattice), raw posterior pruning + conversion to the frame-synchronous form,
forward-backward pruning -- for a few
lattice beams and arc caps. One torch thread, one process: the numbers are per core.
Prints a table and writes bench/results/bench_denlats.json.

With ``--exp-dir`` (a finished default-corpus run: ``data/train``, ``exp/tri2/graph_bg``,
``exp/tri2/final.mdl``, ``exp/tri2_ali``, ``exp/tdnn_ce/final.mdl``) it times the same stages
on the first ``--utts`` training utterances for each ``--beams`` setting (``beam:lattice_beam``)
-- the model's log-likelihoods, the decoder's search, conversion (raw pruning + epsilon
removal), posterior pruning (batched, 16 utterances) -- and reports numerator coverage,
reference-path share and oracle WER, e.g.::

    python bench/bench_denlats.py --exp-dir /tmp/e2e_default --utts 113 --beams 13:6,10:6
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from nghf.decode.denlats import (
    DenlatConfig,
    DenominatorGenerator,
    prune_lattice,
    prune_raw,
)
from nghf.decode.graph import DecodingGraph
from nghf.decode.synthetic import word_loop_graph, word_loop_logliks
from nghf.lattice.convert import raw_to_lattice
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
        lat = raw_to_lattice(raw, maps.tid2pdf, maps.tid2phone, f"u{i}", len(ll))
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


def real_data(args: argparse.Namespace) -> list[dict]:
    """Stage times and lattice quality on a real corpus (see the module docstring)."""
    from nghf.data.text import read_text
    from nghf.decode.denlats import _fit_reference, chunked, prune_lattices
    from nghf.decode.graph import load_graph
    from nghf.decode.loglik import model_logliks
    from nghf.lattice.numerator import load_transition_maps, read_frame_alignments
    from nghf.lattice.stats import numerator_coverage, oracle_errors, reference_word_ids

    exp = Path(args.exp_dir)
    data = exp / "data" / "train"
    utts = sorted(line.split()[0] for line in (data / "utt2spk").read_text().splitlines())[: args.utts]
    t0 = time.perf_counter()
    logliks = list(model_logliks(str(exp / "exp/tdnn_ce/final.mdl"), data, utts, "cpu", 16))
    t_ll = time.perf_counter() - t0
    graph = load_graph(exp / "exp/tri2/graph_bg")
    maps = load_transition_maps(exp / "exp/tri2/final.mdl")
    alis = read_frame_alignments(exp / "exp/tri2_ali", exp / "exp/tri2/final.mdl")
    words = reference_word_ids(read_text(data / "text"), graph.id2word, utts)
    frames = sum(len(x) for _, x in logliks)
    rows = []
    for spec in args.beams.split(","):
        beam, lattice_beam = (float(x) for x in spec.split(":"))
        cfg = DenlatConfig(beam=beam, lattice_beam=lattice_beam, acoustic_scale=args.acwt, min_posterior=1e-5,
                           max_arcs_per_frame=50)
        gen = DenominatorGenerator(graph, maps, cfg)
        t_search = t_conv = t_prune = 0.0
        lats = []
        for chunk in chunked(logliks, 16):
            converted, scores = [], []
            for utt, ll in chunk:
                t1 = time.perf_counter()
                res = gen.decoder.decode(utt, ll)
                t2 = time.perf_counter()
                raw = prune_raw(res.lattice, cfg.acoustic_scale, cfg.min_posterior)
                converted.append(raw_to_lattice(raw, maps.tid2pdf, maps.tid2phone, utt, len(ll)))
                scores.append(cfg.acoustic_scale * ll.astype(np.float64))
                t_search += t2 - t1
                t_conv += time.perf_counter() - t2
            t3 = time.perf_counter()
            lats += [lat for lat, _ in prune_lattices(converted, scores, cfg.min_posterior, cfg.max_arcs_per_frame)]
            t_prune += time.perf_counter() - t3
        cov = paths = errs = refs = 0
        for lat in lats:
            ref = _fit_reference(alis[lat.utt_id].pdf, lat.num_frames, 2)
            share, in_lat = numerator_coverage(lat, ref)
            cov += share * lat.num_frames
            paths += in_lat
            errs += oracle_errors(lat, words[lat.utt_id])
            refs += len(words[lat.utt_id])
        total = t_ll + t_search + t_conv + t_prune
        rows.append({"beam": beam, "lattice_beam": lattice_beam, "utts": len(utts), "frames": frames,
                     "loglik_s": round(t_ll, 2), "search_s": round(t_search, 2), "convert_s": round(t_conv, 2),
                     "prune_s": round(t_prune, 2), "frames_per_s": round(frames / total, 1),
                     "arcs_per_frame": round(sum(lat.num_arcs for lat in lats) / frames, 2),
                     "num_coverage": round(cov / frames, 4), "num_path_share": round(paths / len(lats), 4),
                     "oracle_wer": round(errs / max(refs, 1), 4)})
    head = list(rows[0])
    print(f"{args.exp_dir}: first {len(utts)} training utterances, {frames} frames; one core")
    print(" ".join(f"{h:>14s}" for h in head))
    for r in rows:
        print(" ".join(f"{r[h]:>14g}" for h in head))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--words", type=int, default=500)
    p.add_argument("--tids", type=int, default=1500)
    p.add_argument("--pdfs", type=int, default=500)
    p.add_argument("--utts", type=int, default=2)
    p.add_argument("--frames", type=int, default=200)
    p.add_argument("--beam", type=float, default=10.0)
    p.add_argument("--acwt", type=float, default=0.1)
    p.add_argument("--exp-dir", default=None, help="a finished default-corpus run: time on its real data")
    p.add_argument("--beams", default="13:6,10:6", help="with --exp-dir: beam:lattice_beam settings")
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.exp_dir:
        rows = real_data(args)
        out = ROOT / "bench" / "results" / "bench_denlats_real.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"exp_dir": args.exp_dir, "rows": rows}, indent=1) + "\n")
        print(f"wrote {out}")
        return
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
