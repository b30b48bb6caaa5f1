"""Benchmark the embedded-corpus generator: speed in × real time (seconds of audio made per
second of wall clock) per synthesis engine, and for whole builds of the tiny and default sizes
through local/make_corpus.sh.

    python bench/bench_corpus.py                     # engines + tiny + default (nj 2)
    python bench/bench_corpus.py --sizes tiny --nj 1

Prints a table and writes bench/results/bench_corpus.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from nghf.corpus.config import CorpusConfig  # noqa: E402
from nghf.corpus.effects import SR  # noqa: E402
from nghf.corpus.engines import SpeechRequest, Synthesizer  # noqa: E402
from nghf.corpus.speakers import speaker_inventory, stable_rng  # noqa: E402
from nghf.corpus.text import sentence_pool  # noqa: E402
from nghf.utils.config import load_config  # noqa: E402


def bench_engines(config: CorpusConfig, n: int) -> list[dict]:
    pool = sentence_pool(config.text)
    order = stable_rng(config.seed, "bench").permutation(len(pool))[:n]
    texts = [pool[int(i)].text for i in order]
    speakers = speaker_inventory(config.seed, config.voices)["train"]
    rows = []
    with Synthesizer() as synth:
        for engine in config.voices.engines:
            spk = [s for s in speakers if s.engine == engine]
            reqs = [SpeechRequest(spk[i % len(spk)], t) for i, t in enumerate(texts)]
            synth.speak_many(reqs[:1])  # warm-up (loads piper)
            start = time.perf_counter()
            cpu0 = time.process_time() + _children_cpu()
            audio = synth.speak_many(reqs)
            wall = time.perf_counter() - start
            cpu = time.process_time() + _children_cpu() - cpu0
            seconds = sum(a.size for a in audio) / SR
            rows.append({"what": f"engine {engine}", "audio_s": round(seconds, 1), "wall_s": round(wall, 2),
                         "cpu_s": round(cpu, 2), "x_realtime": round(seconds / wall, 1)})
    return rows


def _children_cpu() -> float:
    t = os.times()
    return t.children_user + t.children_system


def bench_size(size: str, nj: int) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"nghf-bench-{size}-") as tmp:
        out = Path(tmp) / "corpus"
        start = time.perf_counter()
        cpu0 = _children_cpu()
        proc = subprocess.run([str(ROOT / "local" / "make_corpus.sh"), "--size", size, "--nj", str(nj), str(out)],
                              capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - start
        cpu = _children_cpu() - cpu0
        if proc.returncode != 0:
            raise RuntimeError(f"make_corpus.sh --size {size} failed:\n{proc.stderr[-3000:]}")
        info = json.loads((out / "data" / "local" / "corpus_info.json").read_text())
    audio_h = sum(s["audio_hours"] for s in info["sets"].values())
    row = {"what": f"build {size} (nj {nj})", "audio_s": round(audio_h * 3600, 1), "wall_s": round(wall, 1),
           "cpu_s": round(cpu, 1), "x_realtime": round(audio_h * 3600 / wall, 1)}
    row["sets"] = {k: {f: v[f] for f in ("speech_hours", "audio_hours", "utterances", "speakers", "recordings",
                                          "vocabulary")} for k, v in info["sets"].items()}
    row["lm_text"] = info["lm_text"]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="tiny,default", help="comma-separated sizes to build ('' for none)")
    parser.add_argument("--nj", type=int, default=2, help="render jobs for the builds")
    parser.add_argument("--sentences", type=int, default=30, help="sentences per engine")
    args = parser.parse_args()
    config = load_config(CorpusConfig, ROOT / "conf" / "corpus.yaml")
    rows = bench_engines(config, args.sentences)
    for size in filter(None, args.sizes.split(",")):
        rows.append(bench_size(size, args.nj))
    print(f"{'what':<24} {'audio s':>9} {'wall s':>8} {'cpu s':>8} {'x real time':>12}")
    for r in rows:
        print(f"{r['what']:<24} {r['audio_s']:>9.1f} {r['wall_s']:>8.2f} {r['cpu_s']:>8.2f} {r['x_realtime']:>12.1f}")
    out = ROOT / "bench" / "results" / "bench_corpus.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "cpus": os.cpu_count()}, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
