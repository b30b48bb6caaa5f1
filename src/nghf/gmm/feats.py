"""GMM features: MFCC from the data dir's audio, per-speaker CMVN, deltas.

MFCCs are computed here with ``kaldi_native_fbank`` (Kaldi-identical MFCC) from ``wav.scp``
(+ ``segments``) rather than derived from the shared fbank features: the GMM system then has
exactly Kaldi's front end (13 ceps, energy, lifter 22). They are written with ``kaldi-io``
as ``<mfcc-dir>/raw_mfcc.JOB.ark`` with ``<data>/mfcc.scp`` and per-speaker CMVN stats
``<data>/mfcc_cmvn.scp`` (Kaldi's 2 x (D+1) layout). The GMM code reads them back through
``load_features``: mean normalisation per speaker, then Δ+ΔΔ (Kaldi's ``add-deltas``).
"""

from __future__ import annotations

import dataclasses
import io
import subprocess
import wave
from collections.abc import Iterator
from pathlib import Path

import kaldi_io
import kaldi_native_fbank as knf
import numpy as np

from nghf.utils.atomic import atomic_path


def _read_mat(rxspec: str, key: str, where: Path) -> np.ndarray:
    """One matrix of a table; a truncated or corrupt record is a ``DataError`` naming the key."""
    from nghf.data.ark import ArchiveError, read_mat

    try:
        return read_mat(rxspec, key=key, where=str(where))
    except ArchiveError as err:
        raise DataError(str(err)) from None


class DataError(ValueError):
    """A data dir file that is missing or malformed (message names file, line, utterance)."""


@dataclasses.dataclass(frozen=True)
class MfccConfig:
    """MFCC front end (``conf/mfcc.yaml``)."""

    sample_rate: int = 16000
    num_ceps: int = 13
    num_mel_bins: int = 23
    use_energy: bool = True
    dither: float = 0.0  # 0 keeps the features deterministic
    low_freq: float = 20.0
    high_freq: float = 0.0


@dataclasses.dataclass(frozen=True)
class FeatureConfig:
    """How the GMM reads its features (``feats`` section of ``conf/gmm.yaml``)."""

    scp: str = "mfcc.scp"  # feature scp inside the data dir
    cmvn_scp: str = "mfcc_cmvn.scp"  # per-speaker CMVN stats; "" = no CMVN
    norm_vars: bool = False
    delta_order: int = 2
    delta_window: int = 2


def read_kv(path: Path, min_fields: int = 2) -> dict[str, list[str]]:
    """A Kaldi ``key value...`` file as a dict, with file:line errors."""
    out: dict[str, list[str]] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror}") from None
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < min_fields:
            raise DataError(f"{path}:{n}: expected at least {min_fields} fields, got {line!r}")
        if parts[0] in out:
            raise DataError(f"{path}:{n}: duplicate key {parts[0]}")
        out[parts[0]] = parts[1:]
    return out


def split_utterances(data: str | Path, nj: int, job: int) -> list[str]:
    """Utterances of job ``job`` (1-based) of ``nj``: whole speakers, balanced by count,
    in sorted order (like Kaldi's ``split_data.sh``), so per-speaker CMVN stays per job."""
    data = Path(data)
    spk2utt = read_kv(data / "spk2utt")
    if not 1 <= job <= nj:
        raise DataError(f"job {job} is outside 1..{nj}")
    if nj > len(spk2utt):
        raise DataError(f"{data}: {nj} jobs but only {len(spk2utt)} speakers")
    speakers = sorted(spk2utt)
    total = sum(len(v) for v in spk2utt.values())
    chunks: list[list[str]] = [[] for _ in range(nj)]
    done, j = 0, 0
    for i, spk in enumerate(speakers):
        left = len(speakers) - i
        # move on when this job reached its share, keeping one speaker per remaining job
        if chunks[j] and (done >= total * (j + 1) / nj or left <= nj - 1 - j):
            j += 1
        chunks[j].extend(spk2utt[spk])
        done += len(spk2utt[spk])
    return sorted(chunks[job - 1])


def read_audio(data: str | Path, utts: list[str] | None = None) -> Iterator[tuple[str, np.ndarray, int]]:
    """Yield (utt, float samples in int16 scale, sample rate) from wav.scp (+ segments)."""
    data = Path(data)
    wav_scp = {k: " ".join(v) for k, v in read_kv(data / "wav.scp").items()}
    seg_path = data / "segments"
    segments = read_kv(seg_path, 4) if seg_path.exists() else None
    keys = utts if utts is not None else sorted(segments or wav_scp)
    cache: dict[str, tuple[np.ndarray, int]] = {}
    for utt in keys:
        rec, start, end = utt, 0.0, -1.0
        if segments is not None:
            if utt not in segments:
                raise DataError(f"{seg_path}: utterance {utt} has no segment")
            rec, start, end = segments[utt][0], float(segments[utt][1]), float(segments[utt][2])
        if rec not in wav_scp:
            raise DataError(f"{data / 'wav.scp'}: recording {rec} (utterance {utt}) is missing")
        if rec not in cache:
            cache.clear()
            cache[rec] = _read_wav(wav_scp[rec], f"{data / 'wav.scp'} ({rec})")
        samples, rate = cache[rec]
        lo = int(round(start * rate))
        hi = len(samples) if end < 0 else int(round(end * rate))
        yield utt, samples[lo:hi], rate


def _read_wav(spec: str, where: str) -> tuple[np.ndarray, int]:
    try:
        if spec.endswith("|"):
            raw = subprocess.run(spec[:-1], shell=True, check=True, capture_output=True).stdout
            handle = wave.open(io.BytesIO(raw))  # noqa: SIM115 (closed by the with below)
        else:
            handle = wave.open(spec)  # noqa: SIM115
        with handle:
            if handle.getsampwidth() != 2:
                raise DataError(f"{where}: only 16-bit PCM is supported")
            frames = handle.readframes(handle.getnframes())
            samples = np.frombuffer(frames, dtype="<i2").astype(np.float32)
            if handle.getnchannels() > 1:
                samples = samples.reshape(-1, handle.getnchannels())[:, 0]
            return samples, handle.getframerate()
    except (OSError, EOFError, wave.Error, subprocess.CalledProcessError) as err:
        raise DataError(f"{where}: cannot read audio: {err}") from None


def compute_mfcc(samples: np.ndarray, rate: int, cfg: MfccConfig) -> np.ndarray:
    """Kaldi MFCC of one utterance's samples (int16 scale): [T, num_ceps] float32."""
    if rate != cfg.sample_rate:
        raise DataError(f"sample rate {rate} differs from the configured {cfg.sample_rate}")
    opts = knf.MfccOptions()
    opts.frame_opts.samp_freq = float(rate)
    opts.frame_opts.dither = cfg.dither
    opts.mel_opts.num_bins = cfg.num_mel_bins
    opts.mel_opts.low_freq = cfg.low_freq
    opts.mel_opts.high_freq = cfg.high_freq
    opts.num_ceps = cfg.num_ceps
    opts.use_energy = cfg.use_energy
    comp = knf.OnlineMfcc(opts)
    comp.accept_waveform(float(rate), samples.tolist())
    comp.input_finished()
    n = comp.num_frames_ready
    return np.array([comp.get_frame(i) for i in range(n)], dtype=np.float32).reshape(n, cfg.num_ceps)


def make_mfcc_job(data: str | Path, mfcc_dir: str | Path, nj: int, job: int, cfg: MfccConfig) -> Path:
    """Compute MFCCs of one job's utterances into ``raw_mfcc.JOB.ark`` + a partial scp."""
    data, mfcc_dir = Path(data), Path(mfcc_dir).resolve()
    utts = split_utterances(data, nj, job)
    ark = mfcc_dir / f"raw_mfcc.{job}.ark"
    scp = mfcc_dir / f"raw_mfcc.{job}.scp"
    with atomic_path(ark) as tmp_ark:
        lines = []
        with open(tmp_ark, "wb") as f:
            for utt, samples, rate in read_audio(data, utts):
                feats = compute_mfcc(samples, rate, cfg)
                if feats.shape[0] == 0:
                    raise DataError(f"{data}: utterance {utt} is too short for one frame")
                offset = f.tell()
                kaldi_io.write_mat(f, feats, key=utt)
                lines.append(f"{utt} {ark}:{offset + len(utt) + 1}\n")
    with atomic_path(scp) as tmp:
        tmp.write_text("".join(lines), encoding="utf-8")
    return scp


def write_cmvn(data: str | Path, feat_scp: str = "mfcc.scp", out_scp: str = "mfcc_cmvn.scp",
               ark: str | Path | None = None) -> None:
    """Per-speaker CMVN stats (Kaldi layout) of ``<data>/<feat_scp>`` into ``<data>/<out_scp>``."""
    data = Path(data)
    utt2spk = {k: v[0] for k, v in read_kv(data / "utt2spk").items()}
    stats: dict[str, np.ndarray] = {}
    for utt, rx in read_kv(data / feat_scp).items():  # kaldi-io's read_mat_scp would skip bad entries
        mat = _read_mat(rx[0], utt, data / feat_scp)
        if utt not in utt2spk:
            raise DataError(f"{data / 'utt2spk'}: utterance {utt} has no speaker")
        s = knf.compute_cmvn_stats(np.ascontiguousarray(mat, dtype=np.float32))
        spk = utt2spk[utt]
        stats[spk] = stats[spk] + s if spk in stats else s
    ark = Path(ark) if ark is not None else data / "mfcc_cmvn.ark"
    ark = ark.resolve()
    with atomic_path(ark) as tmp:
        lines = []
        with open(tmp, "wb") as f:
            for spk in sorted(stats):
                offset = f.tell()
                kaldi_io.write_mat(f, stats[spk], key=spk)
                lines.append(f"{spk} {ark}:{offset + len(spk) + 1}\n")
    with atomic_path(data / out_scp) as tmp:
        tmp.write_text("".join(lines), encoding="utf-8")


def load_features(data: str | Path, cfg: FeatureConfig, utts: list[str] | None = None
                  ) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (utt, features float32 [T, D]) for ``utts`` (default all, sorted): CMVN + deltas."""
    data = Path(data)
    scp_path = data / cfg.scp
    scp = {k: v[0] for k, v in read_kv(scp_path).items()}
    cmvn = None
    utt2spk: dict[str, str] = {}
    if cfg.cmvn_scp:
        cmvn_path = data / cfg.cmvn_scp
        if not cmvn_path.exists():
            raise DataError(f"{cmvn_path}: CMVN stats missing (set cmvn_scp: '' to disable)")
        cmvn = {k: v[0] for k, v in read_kv(cmvn_path).items()}
        utt2spk = {k: v[0] for k, v in read_kv(data / "utt2spk").items()}
    opts = knf.CmvnOptions()
    opts.norm_vars = cfg.norm_vars
    delta = knf.DeltaOptions()
    delta.order = cfg.delta_order
    delta.window = cfg.delta_window
    cmvn_cache: dict[str, np.ndarray] = {}
    for utt in utts if utts is not None else sorted(scp):
        if utt not in scp:
            raise DataError(f"{scp_path}: utterance {utt} has no features")
        x = np.ascontiguousarray(_read_mat(scp[utt], utt, scp_path), dtype=np.float32)
        if cmvn is not None:
            spk = utt2spk.get(utt)
            if spk is None or spk not in cmvn:
                raise DataError(f"{data / cfg.cmvn_scp}: no CMVN stats for utterance {utt}")
            if spk not in cmvn_cache:
                cmvn_cache = {spk: np.asarray(_read_mat(cmvn[spk], spk, data / cfg.cmvn_scp), dtype=np.float64)}
            x = knf.apply_cmvn(cmvn_cache[spk], opts, x)
        if cfg.delta_order > 0:
            x = knf.compute_deltas(delta, x)
        yield utt, np.asarray(x, dtype=np.float32)


def read_text(data: str | Path) -> dict[str, list[str]]:
    """``<data>/text`` as utt -> words (an utterance with no words is allowed)."""
    return read_kv(Path(data) / "text", 1)
