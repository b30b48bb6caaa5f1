"""Audio behind ``wav.scp`` entries: plain file paths and ``cmd |`` pipes.

A ``wav.scp`` value is either a path to an audio file readable by soundfile, or a shell
command ending in ``|`` whose standard output is a WAV stream (Kaldi's convention, used by
speed perturbation: ``sox in.wav -t wav - speed 0.9 |``). Samples are returned as float32
on Kaldi's scale (16-bit integer range, as Kaldi's ``WaveData`` holds them), because that is
what Kaldi-compatible fbank features are computed from.

A WAV file whose header promises more samples than the file holds (a copy or download cut
short) is an error naming the recording and the file, in :func:`audio_info` and
:func:`read_audio`: soundfile quietly reports only the samples present, which would turn a
1 s recording cut to 478 samples into one feature frame. Kaldi warns here; a recipe should
stop.

:func:`utterance_audio` reads the utterances of a data dir (``wav.scp`` + ``segments``) in a
given order, each recording once while its utterances follow each other; the GMM's MFCC jobs
read their audio through it (the fbank jobs through ``compute_data_dir_fbank``, which also
checks segment bounds).
"""

from __future__ import annotations

import dataclasses
import io
import shlex
import struct
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from nghf.data.kaldi_files import DataDirError, read_dict

AUDIO_SUFFIXES = (".wav", ".flac", ".sph", ".mp3", ".ogg", ".opus", ".aiff", ".au")


class AudioError(RuntimeError):
    """Audio that cannot be opened or read (message names the recording and the source)."""


@dataclasses.dataclass(frozen=True)
class AudioInfo:
    """Header facts of one recording."""

    sample_rate: int
    num_samples: int
    channels: int

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate if self.sample_rate else 0.0


def is_pipe(spec: str) -> bool:
    """Whether a ``wav.scp`` value is a command pipe (``... |``)."""
    return spec.rstrip().endswith("|")


def pipe_command(spec: str) -> str:
    """The shell command of a pipe entry, without the trailing ``|``."""
    return spec.rstrip()[:-1].rstrip()


def referenced_files(spec: str) -> list[str]:
    """Audio files a ``wav.scp`` value refers to: the path itself, or audio-looking words of a pipe."""
    if not is_pipe(spec):
        return [spec.strip()]
    try:
        words = shlex.split(pipe_command(spec))
    except ValueError:
        words = pipe_command(spec).split()
    return [w for w in words if w.lower().endswith(AUDIO_SUFFIXES)]


def _run_pipe(spec: str, reco: str) -> bytes:
    proc = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {pipe_command(spec)}"], capture_output=True, check=False
    )
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", errors="replace").strip().splitlines()[-3:]
        raise AudioError(
            f"recording '{reco}': command failed (exit {proc.returncode}): "
            f"{pipe_command(spec)}: {' '.join(err)}"
        )
    if not proc.stdout:
        raise AudioError(f"recording '{reco}': command produced no audio: {pipe_command(spec)}")
    return proc.stdout


def wav_truncation(path: str | Path) -> tuple[int, int] | None:
    """``(declared, present)`` sample frames of a RIFF/WAVE file whose ``data`` chunk is longer
    than what the file holds; ``None`` for a complete file or one that is not a plain WAV.

    Only the chunk headers are read. A data size of 0 or ``0xFFFFFFFF`` (what streaming writers
    put there when they cannot seek back) declares no length and is not a truncation.
    """
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = 0
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk = f.read(8)
            cid, length = chunk[:4], struct.unpack("<I", chunk[4:8])[0]
            if cid == b"fmt " and length >= 14:
                block_align = struct.unpack("<H", f.read(14)[12:14])[0]
            elif cid == b"data":
                if length in (0, 0xFFFFFFFF) or block_align <= 0:
                    return None
                present = size - (pos + 8)
                if present >= length:
                    return None
                return length // block_align, present // block_align
            pos += 8 + length + (length & 1)
    return None


def _check_complete(path: str, reco: str, rate: int) -> None:
    """Raise :class:`AudioError` if the WAV file ``path`` is shorter than its header says."""
    cut = wav_truncation(path)
    if cut is not None:
        declared, present = cut
        raise AudioError(
            f"recording '{reco}': audio file {path} is truncated: its header declares {declared} samples "
            f"({declared / rate:.3f} s at {rate} Hz) but the file holds {present} ({present / rate:.3f} s)")


def audio_info(spec: str, reco: str = "?") -> AudioInfo:
    """Sample rate, length and channels of a recording (runs the command for a pipe)."""
    if is_pipe(spec):
        samples, rate = read_audio(spec, reco)
        return AudioInfo(rate, int(samples.shape[0]), 1)
    path = spec.strip()
    if not Path(path).is_file():
        raise AudioError(f"recording '{reco}': audio file {path} does not exist")
    if Path(path).stat().st_size == 0:
        raise AudioError(f"recording '{reco}': audio file {path} is empty (0 bytes)")
    try:
        info = sf.info(path)
    except (RuntimeError, sf.LibsndfileError) as err:
        raise AudioError(f"recording '{reco}': cannot read audio header of {path}: {err}") from None
    _check_complete(path, reco, int(info.samplerate))
    return AudioInfo(int(info.samplerate), int(info.frames), int(info.channels))


def _to_kaldi_scale(data: np.ndarray) -> np.ndarray:
    if data.dtype == np.int16:
        out = data.astype(np.float32)
    else:
        out = (data.astype(np.float64) * 32768.0).astype(np.float32)
    if out.ndim == 2:
        out = out[:, 0]  # Kaldi takes channel 0 by default
    return np.ascontiguousarray(out)


def read_audio(
    spec: str, reco: str = "?", start: float = 0.0, end: float | None = None
) -> tuple[np.ndarray, int]:
    """Samples (float32, 16-bit scale, channel 0) of ``[start, end)`` seconds and the sample rate."""
    try:
        if is_pipe(spec):
            blob = _run_pipe(spec, reco)
            data, rate = sf.read(io.BytesIO(blob), dtype="int16", always_2d=False)
            first = int(round(start * rate))
            last = None if end is None else int(round(end * rate))
            data = data[first:last]
        else:
            path = spec.strip()
            if not Path(path).is_file():
                raise AudioError(f"recording '{reco}': audio file {path} does not exist")
            with sf.SoundFile(path) as f:
                rate = f.samplerate
                _check_complete(path, reco, rate)
                first = int(round(start * rate))
                last = f.frames if end is None else min(int(round(end * rate)), f.frames)
                f.seek(min(first, f.frames))
                data = f.read(max(0, last - first), dtype="int16", always_2d=False)
    except AudioError:
        raise  # already names the recording and the file
    except (RuntimeError, sf.LibsndfileError) as err:
        raise AudioError(f"recording '{reco}': cannot read audio from {spec!r}: {err}") from None
    return _to_kaldi_scale(np.asarray(data)), int(rate)


def utterance_audio(data: str | Path, utts: Sequence[str] | None = None
                    ) -> Iterator[tuple[str, np.ndarray, int]]:
    """Yield ``(utt, samples, sample rate)`` of ``utts`` (default: all, sorted) of the data dir
    ``data``, samples as :func:`read_audio` gives them. With ``segments`` each utterance is its
    ``[start, end)`` span of the recording (Kaldi's ``end`` of -1: to the end); without, the
    utterance is the recording. The last recording read is kept, so consecutive utterances of
    one recording read it (or run its pipe) once. A missing segment or recording is a
    :class:`~nghf.data.kaldi_files.DataDirError` naming file and utterance; unreadable audio an
    :class:`AudioError`."""
    data = Path(data)
    wav_scp = read_dict(data / "wav.scp", 2)
    seg_path = data / "segments"
    segments = read_dict(seg_path, 4) if seg_path.exists() else None
    keys = utts if utts is not None else sorted(segments if segments is not None else wav_scp)
    cache: dict[str, tuple[np.ndarray, int]] = {}
    for utt in keys:
        reco, start, end = utt, 0.0, -1.0
        if segments is not None:
            if utt not in segments:
                raise DataDirError(f"{seg_path}: utterance {utt} has no segment")
            fields = segments[utt].split()
            try:
                reco, start, end = fields[0], float(fields[1]), float(fields[2])
            except ValueError:
                raise DataDirError(f"{seg_path}: utterance {utt}: expected '<reco> <start> <end>', "
                                   f"got {segments[utt]!r}") from None
        if reco not in wav_scp:
            raise DataDirError(f"{data / 'wav.scp'}: recording {reco} (utterance {utt}) is missing")
        if reco not in cache:
            cache.clear()
            cache[reco] = read_audio(wav_scp[reco], reco)
        samples, rate = cache[reco]
        lo = int(round(start * rate))
        hi = len(samples) if end < 0 else int(round(end * rate))
        yield utt, samples[lo:hi], rate
