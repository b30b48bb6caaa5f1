"""Phone error rate of the espeak-ng G2P fallback on held-out CMUdict words.

Samples ``--n`` (default 500) alphabetic CMUdict words with a fixed seed, pronounces them
with ``nghf.lang.g2p.EspeakG2P`` and scores each against the closest CMUdict variant
(stress stripped) by Levenshtein distance (kaldialign). Prints a table and the most
frequent substitutions, and writes ``bench/results/bench_g2p.json``.

    python bench/bench_g2p.py [--n 500] [--seed 0]
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import time
from pathlib import Path

import kaldialign

from nghf.lang.g2p import EspeakG2P
from nghf.lang.lexicon import cmudict_pronunciations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="number of held-out words")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    args = parser.parse_args()

    table = cmudict_pronunciations()
    candidates = sorted(w for w in table if w.isalpha() and len(w) > 1)
    words = random.Random(args.seed).sample(candidates, args.n)
    start = time.perf_counter()
    hyps = EspeakG2P().pronounce(words)
    seconds = time.perf_counter() - start

    errors = ref_len = exact = 0
    subs: collections.Counter[tuple[str, str]] = collections.Counter()
    for word in words:
        best = min(
            (kaldialign.edit_distance(list(ref), hyps[word]) for ref in table[word]),
            key=lambda r: (r["total"], -r["ref_len"]),
        )
        ref = next(r for r in table[word] if kaldialign.edit_distance(list(r), hyps[word])["total"] == best["total"])
        errors += best["total"]
        ref_len += best["ref_len"]
        exact += best["total"] == 0
        for r, h in kaldialign.align(list(ref), hyps[word], "*"):
            if r != h:
                subs[(r, h)] += 1

    result = {
        "n_words": len(words),
        "seed": args.seed,
        "phone_errors": errors,
        "ref_phones": ref_len,
        "per_percent": 100.0 * errors / ref_len,
        "word_error_percent": 100.0 * (len(words) - exact) / len(words),
        "g2p_seconds": seconds,
        "top_confusions": [[r, h, c] for (r, h), c in subs.most_common(15)],
    }
    print(f"{'words':>6} {'phones':>7} {'errors':>7} {'PER %':>7} {'word err %':>10} {'G2P s':>7}")
    print(
        f"{len(words):>6} {ref_len:>7} {errors:>7} {result['per_percent']:>7.2f} "
        f"{result['word_error_percent']:>10.2f} {seconds:>7.2f}"
    )
    print("top confusions (ref -> hyp, * = none):")
    for r, h, c in result["top_confusions"]:
        print(f"  {r:>3} -> {h:<3} {c}")
    out = Path(__file__).resolve().parent / "results" / "bench_g2p.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
