"""Log-mel filterbank features with Kaldi ``compute-fbank`` semantics (kaldi-native-fbank).

``FbankConfig`` (``conf/fbank.yaml``) holds the options; ``compute_fbank`` turns samples on
Kaldi's 16-bit scale into a ``(frames, num_mel_bins)`` float32 matrix. Dither is 0 by default
(deterministic); with dither > 0 the Gaussian noise is drawn here from a generator seeded by
``dither_seed`` and the utterance id, so a feature never depends on how the data was split
into jobs. ``compute_data_dir_fbank`` reads each utterance (a whole recording or a segment
of it) and writes a binary ark plus its scp and ``utt2num_frames``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Literal

import numpy as np

from nghf.data.ark import ArkWriter, write_scp
from nghf.data.audio import AudioError, audio_info, is_pipe, read_audio
from nghf.data.datadir import DataDir
from nghf.data.kaldi_files import DataDirError, sort_key, write_table
from nghf.utils.logging import get_logger, progress

log = get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class FbankConfig:
    """Fbank options; field names follow Kaldi's ``--num-mel-bins`` etc."""

    sample_rate: int = 16000
    num_mel_bins: int = 80
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    low_freq: float = 20.0
    high_freq: float = 0.0
    preemph_coeff: float = 0.97
    window_type: Literal["povey", "hamming", "hanning", "rectangular", "blackman"] = "povey"
    remove_dc_offset: bool = True
    snip_edges: bool = True
    use_energy: bool = False
    dither: float = 0.0
    dither_seed: int = 0

    def __post_init__(self) -> None:
        if self.num_mel_bins < 1:
            raise ValueError("num_mel_bins must be >= 1")
        if self.frame_shift_ms <= 0 or self.frame_length_ms < self.frame_shift_ms:
            raise ValueError("need 0 < frame_shift_ms <= frame_length_ms")
        if self.dither < 0:
            raise ValueError("dither must be >= 0")

    @property
    def dim(self) -> int:
        return self.num_mel_bins + (1 if self.use_energy else 0)

    @property
    def window_size(self) -> int:
        return int(self.sample_rate * 0.001 * self.frame_length_ms)

    @property
    def window_shift(self) -> int:
        return int(self.sample_rate * 0.001 * self.frame_shift_ms)


def knf_options(cfg: FbankConfig):
    """The ``kaldi_native_fbank.FbankOptions`` equivalent of ``cfg`` (dither always 0 there)."""
    import kaldi_native_fbank as knf

    opts = knf.FbankOptions()
    fo = opts.frame_opts
    fo.samp_freq = float(cfg.sample_rate)
    fo.frame_length_ms = cfg.frame_length_ms
    fo.frame_shift_ms = cfg.frame_shift_ms
    fo.dither = 0.0
    fo.preemph_coeff = cfg.preemph_coeff
    fo.window_type = cfg.window_type
    fo.remove_dc_offset = cfg.remove_dc_offset
    fo.snip_edges = cfg.snip_edges
    opts.mel_opts.num_bins = cfg.num_mel_bins
    opts.mel_opts.low_freq = cfg.low_freq
    opts.mel_opts.high_freq = cfg.high_freq
    opts.use_energy = cfg.use_energy
    return opts


def num_frames(num_samples: int, cfg: FbankConfig) -> int:
    """Frames Kaldi produces for ``num_samples`` samples (``snip_edges`` as configured)."""
    if cfg.snip_edges:
        if num_samples < cfg.window_size:
            return 0
        return 1 + (num_samples - cfg.window_size) // cfg.window_shift
    return (num_samples + cfg.window_shift // 2) // cfg.window_shift


def utterance_seed(cfg: FbankConfig, utt: str) -> int:
    """A 64-bit seed from the config's seed and the utterance id (stable across runs and jobs)."""
    digest = hashlib.sha256(f"{cfg.dither_seed}:{utt}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def compute_fbank(samples: np.ndarray, cfg: FbankConfig, utt: str = "") -> np.ndarray:
    """Fbank of one utterance: samples on the 16-bit scale -> ``(frames, dim)`` float32."""
    import kaldi_native_fbank as knf

    x = np.asarray(samples, dtype=np.float32)
    if cfg.dither > 0:
        rng = np.random.default_rng(utterance_seed(cfg, utt))
        x = x + (cfg.dither * rng.standard_normal(x.shape[0])).astype(np.float32)
    fb = knf.OnlineFbank(knf_options(cfg))
    fb.accept_waveform(float(cfg.sample_rate), x)
    fb.input_finished()
    n = fb.num_frames_ready
    out = np.empty((n, cfg.dim), dtype=np.float32)
    for i in range(n):
        out[i] = fb.get_frame(i)
    return out


def compute_data_dir_fbank(
    data: DataDir, cfg: FbankConfig, ark: str | Path, scp: str | Path,
    utt2num_frames: str | Path | None = None, where: str = "data",
) -> int:
    """Compute features for every utterance of ``data``; writes ark, scp and utt2num_frames.

    Recordings are read once each (segments of one recording are cut from it). Any audio
    problem (missing file, wrong rate, segment past the end, too short for one frame) raises
    ``DataDirError`` naming the utterance and recording. Returns the number of utterances.
    """
    segs = data.segments()
    by_reco: dict[str, list[str]] = {}
    for utt in data.utts:
        reco = segs[utt].reco if segs is not None else utt
        by_reco.setdefault(reco, []).append(utt)
    frames: dict[str, int] = {}
    with ArkWriter(ark) as writer:
        for reco in progress(sorted(by_reco, key=sort_key), desc=f"fbank {where}"):
            if reco not in data.wav_scp:
                raise DataDirError(f"{where}/wav.scp: recording '{reco}' (of utterance '{by_reco[reco][0]}') is missing")
            spec = data.wav_scp[reco]
            try:
                # A pipe is run once per recording; a file is read segment by segment.
                if is_pipe(spec) or segs is None:
                    audio, rate = read_audio(spec, reco)
                    num_samples = audio.shape[0]
                else:
                    audio = None
                    info = audio_info(spec, reco)
                    rate, num_samples = info.sample_rate, info.num_samples
            except AudioError as err:
                utts = by_reco[reco]
                named = ", ".join(f"'{u}'" for u in utts[:5]) + (f" and {len(utts) - 5} more" if len(utts) > 5 else "")
                raise DataDirError(f"{where}/wav.scp: {err} (utterance{'s' if len(utts) > 1 else ''} {named})") from None
            if rate != cfg.sample_rate:
                raise DataDirError(f"{where}/wav.scp: recording '{reco}': sample rate {rate} Hz, "
                                   f"but the fbank config expects {cfg.sample_rate} Hz")
            dur = num_samples / rate
            for utt in by_reco[reco]:
                if segs is None:
                    piece = audio
                else:
                    seg = segs[utt]
                    if seg.end > dur + 0.02 or seg.start >= seg.end or seg.start < 0:
                        raise DataDirError(f"{where}/segments: utterance '{utt}': segment {seg.start}-{seg.end} s "
                                           f"is outside recording '{reco}' ({dur:.3f} s)")
                    if audio is None:
                        piece, _ = read_audio(spec, reco, seg.start, seg.end)
                    else:
                        piece = audio[int(round(seg.start * rate)): int(round(seg.end * rate))]
                feats = compute_fbank(piece, cfg, utt)
                if feats.shape[0] == 0:
                    raise DataDirError(f"{where}: utterance '{utt}': {piece.shape[0]} samples, "
                                       f"too short for one {cfg.frame_length_ms} ms frame")
                writer.write(utt, feats)
                frames[utt] = feats.shape[0]
        lines = writer.scp_lines()
    write_scp(scp, lines)
    if utt2num_frames is not None:
        write_table(utt2num_frames, ((u, str(n)) for u, n in frames.items()))
    return len(frames)
