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
from collections.abc import Iterator
from pathlib import Path

import kaldi_io
import kaldi_native_fbank as knf
import numpy as np

from nghf.data.ark import read_mat
from nghf.data.audio import utterance_audio
from nghf.data.cmvn import compute_speaker_cmvn, kaldi_cmvn_stats
from nghf.data.datadir import DataDir
from nghf.data.kaldi_files import DataDirError, read_dict
from nghf.data.split import job_utterances
from nghf.utils.atomic import atomic_path


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


def split_utterances(data: str | Path, nj: int, job: int) -> list[str]:
    """Utterances (sorted) of job ``job`` (1-based) of ``nj``: whole speakers, balanced by
    count (like Kaldi's ``split_data.sh``), so per-speaker CMVN stays per job. The GMM
    commands' view of :func:`nghf.data.split.job_utterances` (``by="speaker"``)."""
    data = Path(data)
    return job_utterances(read_dict(data / "utt2spk", 2), nj, job, "speaker", str(data))


def compute_mfcc(samples: np.ndarray, rate: int, cfg: MfccConfig) -> np.ndarray:
    """Kaldi MFCC of one utterance's samples (int16 scale): [T, num_ceps] float32."""
    if rate != cfg.sample_rate:
        raise DataDirError(f"sample rate {rate} differs from the configured {cfg.sample_rate}")
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
            for utt, samples, rate in utterance_audio(data, utts):
                feats = compute_mfcc(samples, rate, cfg)
                if feats.shape[0] == 0:
                    raise DataDirError(f"{data}: utterance {utt} is too short for one frame")
                offset = f.tell()
                kaldi_io.write_mat(f, feats, key=utt)
                lines.append(f"{utt} {ark}:{offset + len(utt) + 1}\n")
    with atomic_path(scp) as tmp:
        tmp.write_text("".join(lines), encoding="utf-8")
    return scp


def write_cmvn(data: str | Path, feat_scp: str = "mfcc.scp", out_scp: str = "mfcc_cmvn.scp",
               ark: str | Path | None = None) -> None:
    """Per-speaker CMVN stats (Kaldi layout) of ``<data>/<feat_scp>`` into ``<data>/<out_scp>``,
    accumulated the way Kaldi's ``compute-cmvn-stats`` does (:func:`nghf.data.cmvn.kaldi_cmvn_stats`)
    by the one CMVN writer, :func:`nghf.data.cmvn.compute_speaker_cmvn`."""
    data = Path(data)
    tables = {"utt2spk": read_dict(data / "utt2spk", 2), feat_scp: read_dict(data / feat_scp, 2)}
    ark = Path(ark) if ark is not None else data / "mfcc_cmvn.ark"
    compute_speaker_cmvn(DataDir(tables), ark, data / out_scp, str(data), feats=feat_scp,
                         accumulate=kaldi_cmvn_stats)


def load_features(data: str | Path, cfg: FeatureConfig, utts: list[str] | None = None
                  ) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (utt, features float32 [T, D]) for ``utts`` (default all, sorted): CMVN + deltas."""
    data = Path(data)
    scp_path = data / cfg.scp
    scp = read_dict(scp_path, 2)
    cmvn = None
    utt2spk: dict[str, str] = {}
    if cfg.cmvn_scp:
        cmvn_path = data / cfg.cmvn_scp
        if not cmvn_path.exists():
            raise DataDirError(f"{cmvn_path}: CMVN stats missing (set cmvn_scp: '' to disable)")
        cmvn = read_dict(cmvn_path, 2)
        utt2spk = read_dict(data / "utt2spk", 2)
    opts = knf.CmvnOptions()
    opts.norm_vars = cfg.norm_vars
    delta = knf.DeltaOptions()
    delta.order = cfg.delta_order
    delta.window = cfg.delta_window
    cmvn_cache: dict[str, np.ndarray] = {}
    for utt in utts if utts is not None else sorted(scp):
        if utt not in scp:
            raise DataDirError(f"{scp_path}: utterance {utt} has no features")
        x = np.ascontiguousarray(read_mat(scp[utt], key=utt, where=str(scp_path)), dtype=np.float32)
        if cmvn is not None:
            spk = utt2spk.get(utt)
            if spk is None or spk not in cmvn:
                raise DataDirError(f"{data / cfg.cmvn_scp}: no CMVN stats for utterance {utt}")
            if spk not in cmvn_cache:
                stats = read_mat(cmvn[spk], key=spk, where=str(data / cfg.cmvn_scp))
                cmvn_cache = {spk: np.asarray(stats, dtype=np.float64)}
            x = knf.apply_cmvn(cmvn_cache[spk], opts, x)
        if cfg.delta_order > 0:
            x = knf.compute_deltas(delta, x)
        yield utt, np.asarray(x, dtype=np.float32)
