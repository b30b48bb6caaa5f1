"""Do this machine's numbers depend on which CPU kernels the libraries pick, and what does pinning cost?

numpy (exp/log), OpenBLAS (numpy's matrix products), MKL and oneDNN (torch's matrix products
and convolutions) and ATen (torch's vectorised kernels) choose their code paths by CPU type at
run time. Kernels for different instruction sets round differently, so a seeded run can give
other models and WERs on another machine (issue 21: tri2 eval 44.57 against 44.83, CE 31.20
against 32.50). ``tools/portable_numerics.sh`` (sourced by ``path.sh``) pins every library to
its AVX2 path.

In a fresh child process per setting this runs two workloads of the recipe:
- **gmm**: the GMM stage's frame log-likelihoods (``StackedGaussians.pdf_loglikes``: two matrix
  products, exp, log-sum-exp) and the posterior-weighted statistics (one more product);
- **tdnn**: ``--steps`` Adam updates of the recipe's TDNN (``conf/model_tdnn.yaml``) on frame
  cross-entropy, as CE training does;
and reports a hash of each result, whether it is bit-identical to the native setting, and the
time. Settings: ``native`` (no pins), each pin alone (which library's dispatch matters here),
``portable`` (all pins, what ``path.sh`` sets), and the portable setting with more threads
(intra-op reductions split their work by thread count, so the thread count is part of the
result: ``cmd.sh`` fixes it). The portable setting is what a machine
whose best instruction set is AVX2 computes natively; that equality is by construction and is
not measured here (one machine).

Run: ``python bench/bench_cpu_numerics.py`` (prints a table, writes
``bench/results/bench_cpu_numerics.json``; ~1 min).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PINS_SCRIPT = REPO / "tools" / "portable_numerics.sh"


def pin_names() -> list[str]:
    """The variables ``tools/portable_numerics.sh`` may export (read from the script itself)."""
    return [line.strip()[len("export "):].split("=", 1)[0] for line in PINS_SCRIPT.read_text().splitlines()
            if line.strip().startswith("export ")]


def portable_pins() -> dict[str, str]:
    """What ``tools/portable_numerics.sh`` (the pins' one home) exports on this machine."""
    names = pin_names()
    env = {k: v for k, v in os.environ.items() if k not in names}
    env["NGHF_PORTABLE_NUMERICS"] = "true"
    script = f'. "{PINS_SCRIPT}"; for n in {" ".join(names)}; do [[ -v $n ]] && printf "%s=%s\\0" "$n" "${{!n}}"; done'
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, check=True).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if item)


def digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def child(steps: int, frames: int, threads: int) -> dict:
    """Both workloads in this process with ``threads`` intra-op threads; returns hashes and seconds."""
    import numpy as np
    import torch

    from nghf.gmm.model import DiagGaussians, StackedGaussians
    from nghf.models.factory import ModelConfig, build_model
    from nghf.utils.config import load_config

    torch.set_num_threads(threads)
    rng = np.random.default_rng(0)
    dim, pdfs, gauss = 40, 1000, 7
    gmms = [DiagGaussians(weights=np.full(gauss, 1.0 / gauss), means=rng.standard_normal((gauss, dim)),
                          variances=rng.uniform(0.5, 2.0, (gauss, dim))) for _ in range(pdfs)]
    stacked = StackedGaussians.of(gmms)
    feats = rng.standard_normal((frames, dim))
    start = time.perf_counter()
    loglikes = stacked.pdf_loglikes(feats)
    post = np.exp(loglikes - loglikes.max(1, keepdims=True)).astype(np.float64)
    post /= post.sum(1, keepdims=True)
    stats = post.T @ feats
    gmm_seconds = time.perf_counter() - start

    torch.manual_seed(0)
    model = build_model(load_config(ModelConfig, REPO / "conf" / "model_tdnn.yaml"), dim, pdfs)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(16, 84, dim)
    lengths = torch.full((16,), 84, dtype=torch.long)
    start = time.perf_counter()
    losses = []
    for _ in range(steps):
        out, out_lengths = model(x, lengths)
        target = torch.randint(0, pdfs, out.shape[:2], generator=torch.Generator().manual_seed(len(losses)))
        loss = torch.nn.functional.cross_entropy(out.reshape(-1, pdfs), target.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    tdnn_seconds = time.perf_counter() - start
    params = [p.detach().numpy() for p in model.parameters()]
    return {
        "gmm_hash": digest(loglikes, stats), "gmm_seconds": gmm_seconds,
        "tdnn_hash": digest(*params), "tdnn_seconds": tdnn_seconds, "tdnn_final_loss": losses[-1],
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def run_setting(env_extra: dict[str, str], pins: dict[str, str], steps: int, frames: int, threads: int = 1) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in pin_names()}
    env.update(env_extra)
    env["NGHF_PORTABLE_NUMERICS"] = "false"
    env["OMP_NUM_THREADS"] = str(threads)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, __file__, "--child", "--steps", str(steps), "--frames", str(frames), "--threads", str(threads)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench_cpu_numerics: child failed for {env_extra}:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="Adam updates of the TDNN (default: 30)")
    parser.add_argument("--frames", type=int, default=20000, help="frames of the GMM workload (default: 20000)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per setting, best time kept (default: 2)")
    parser.add_argument("--json", default=str(REPO / "bench" / "results" / "bench_cpu_numerics.json"),
                        help="where to write the results (default: bench/results/bench_cpu_numerics.json)")
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--thread-counts", default="2,4",
                        help="also run the portable setting with these thread counts (default: 2,4)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.steps, args.frames, args.threads)))
        return
    pins = portable_pins()
    if not pins:
        raise SystemExit("bench_cpu_numerics: tools/portable_numerics.sh sets nothing on this machine "
                         "(no AVX2/FMA in /proc/cpuinfo?)")
    settings = {"native": ({}, 1)}
    settings.update({f"{k}={v}": ({k: v}, 1) for k, v in sorted(pins.items())})
    settings["portable (all pins)"] = (dict(pins), 1)
    for count in (int(c) for c in args.thread_counts.split(",") if c):
        settings[f"portable, {count} threads"] = (dict(pins), count)
    rows = []
    for name, (extra, threads) in settings.items():
        runs = [run_setting(extra, pins, args.steps, args.frames, threads) for _ in range(args.repeats)]
        if len({(r["gmm_hash"], r["tdnn_hash"]) for r in runs}) != 1:
            raise SystemExit(f"bench_cpu_numerics: setting {name} is not deterministic on this machine: {runs}")
        best = dict(runs[0])
        best["gmm_seconds"] = min(r["gmm_seconds"] for r in runs)
        best["tdnn_seconds"] = min(r["tdnn_seconds"] for r in runs)
        rows.append({"setting": name, "threads": threads, **best})
    native = rows[0]
    print(f"{'setting':34s} {'gmm hash':17s} {'=native':7s} {'gmm s':>6s} {'tdnn hash':17s} "
          f"{'=native':7s} {'tdnn s':>6s} {'torch ISA':9s}")
    for r in rows:
        r["gmm_same_as_native"] = r["gmm_hash"] == native["gmm_hash"]
        r["tdnn_same_as_native"] = r["tdnn_hash"] == native["tdnn_hash"]
        r["gmm_time_vs_native"] = r["gmm_seconds"] / native["gmm_seconds"]
        r["tdnn_time_vs_native"] = r["tdnn_seconds"] / native["tdnn_seconds"]
        print(f"{r['setting']:34s} {r['gmm_hash']:17s} {str(r['gmm_same_as_native']):7s} {r['gmm_seconds']:6.2f} "
              f"{r['tdnn_hash']:17s} {str(r['tdnn_same_as_native']):7s} {r['tdnn_seconds']:6.2f} "
              f"{r['cpu_capability']:9s}")
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    result = {"cpu": cpu, "steps": args.steps, "frames": args.frames, "pins": pins, "rows": rows}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
