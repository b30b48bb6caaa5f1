"""Speed perturbation of a data dir (Kaldi's ``perturb_data_dir_speed.sh``).

Every id gets the prefix ``sp<factor>-`` (utterances, speakers and recordings, so the
perturbed copy can be combined with the original); ``wav.scp`` entries become pipes through
``sox ... speed <factor>`` (which changes tempo and pitch, as Kaldi does); segment times and
durations are divided by the factor. Features, CMVN and frame counts are dropped: they must
be recomputed.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from nghf.data.audio import is_pipe, pipe_command
from nghf.data.datadir import DataDir, load_data_dir, save_data_dir
from nghf.data.kaldi_files import DataDirError

_DROP = ("feats.scp", "cmvn.scp", "utt2num_frames", "spk2utt", "reco2file_and_channel")


def speed_prefix(factor: float) -> str:
    """``sp0.9-`` for 0.9 (Kaldi's spelling: the factor as given, no trailing zeros)."""
    return f"sp{factor:g}-"


def perturb_wav(spec: str, factor: float) -> str:
    """The ``wav.scp`` value that plays ``spec`` at ``factor`` times the speed."""
    if is_pipe(spec):
        return f"{pipe_command(spec)} | sox -t wav - -t wav - speed {factor:g} |"
    return f"sox -t wav {shlex.quote(spec.strip())} -t wav - speed {factor:g} |"


def perturb_speed(data: DataDir, factor: float) -> DataDir:
    """The speed-perturbed copy of ``data``."""
    if not 0.1 < factor < 10:
        raise DataDirError(f"speed factor {factor} out of range (0.1, 10)")
    p = speed_prefix(factor)
    t: dict[str, dict[str, str]] = {}
    t["utt2spk"] = {p + u: p + s for u, s in data.utt2spk.items()}
    t["wav.scp"] = {p + r: perturb_wav(w, factor) for r, w in data.wav_scp.items()}
    for name, table in data.tables.items():
        if name in _DROP or name in t:
            continue
        if name == "segments":
            out = {}
            for u, v in table.items():
                reco, start, end = v.split()
                out[p + u] = f"{p}{reco} {float(start) / factor:.3f} {float(end) / factor:.3f}"
            t[name] = out
        elif name in ("utt2dur", "reco2dur"):
            t[name] = {p + k: f"{float(v) / factor:.4f}" for k, v in table.items()}
        else:  # text, spk2gender, ...: values unchanged
            t[name] = {p + k: v for k, v in table.items()}
    if "segments" in t and "reco2dur" in t:
        durs = {k: float(v) for k, v in t["reco2dur"].items()}
        clipped = {}
        for u, v in t["segments"].items():
            reco, start, end = v.split()
            clipped[u] = f"{reco} {start} {min(float(end), durs[reco]):.3f}"
        t["segments"] = clipped
    return DataDir(t)


def perturb_data_dir_speed(src: str | Path, dst: str | Path, factor: float) -> DataDir:
    """Read ``src``, write its perturbed copy to ``dst``."""
    out = perturb_speed(load_data_dir(src), factor)
    save_data_dir(out, dst)
    return out
