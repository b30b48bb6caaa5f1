"""Fbank extraction speed, single job: x real time and frames/s (kaldi-native-fbank via nghf).

Runs ``compute_fbank`` on a generated 60 s signal (and the whole data-dir path, which adds
audio reading and ark writing, on 20 utterances of 3 s) and writes
``bench/results/bench_features.json``.
"""

from __future__ import annotations

import json
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from nghf.data.datadir import load_data_dir
from nghf.data.features import FbankConfig, compute_data_dir_fbank, compute_fbank, num_frames


def _best(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    seconds = 60.0
    cfg = FbankConfig()
    x = (rng.standard_normal(int(seconds * cfg.sample_rate)) * 1000).astype(np.float32)
    rows = []
    for bins in (40, 80):
        c = FbankConfig(num_mel_bins=bins)
        frames = compute_fbank(x, c).shape[0]
        t = _best(lambda c=c: compute_fbank(x, c))
        rows.append({"path": f"compute_fbank {bins} bins", "audio_s": seconds, "time_s": t,
                     "x_real_time": seconds / t, "frames_per_s": frames / t})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        d = root / "data"
        d.mkdir()
        wav, u2s, text = [], [], []
        for i in range(20):
            w = root / f"r{i:02d}.wav"
            subprocess.run(["sox", "-R", "-n", "-r", "16000", "-b", "16", "-c", "1", str(w), "synth", "3",
                            "pinknoise", "vol", "0.2"], check=True)
            wav.append(f"spk{i % 4}-r{i:02d} {w}\n")
            u2s.append(f"spk{i % 4}-r{i:02d} spk{i % 4}\n")
            text.append(f"spk{i % 4}-r{i:02d} x\n")
        (d / "wav.scp").write_text("".join(sorted(wav)))
        (d / "utt2spk").write_text("".join(sorted(u2s)))
        (d / "text").write_text("".join(sorted(text)))
        data = load_data_dir(d)
        t = _best(lambda: compute_data_dir_fbank(data, cfg, root / "f.ark", root / "f.scp"))
        rows.append({"path": "data dir -> ark/scp, 80 bins", "audio_s": 60.0, "time_s": t,
                     "x_real_time": 60.0 / t, "frames_per_s": 20 * num_frames(48000, cfg) / t})
    print(f"{'path':34s} {'audio s':>8s} {'time s':>8s} {'x RT':>8s} {'frames/s':>10s}")
    for r in rows:
        print(f"{r['path']:34s} {r['audio_s']:8.1f} {r['time_s']:8.3f} {r['x_real_time']:8.0f} {r['frames_per_s']:10.0f}")
    out = Path(__file__).parent / "results" / "bench_features.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": platform.processor() or platform.machine(), "rows": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
