"""Fixtures of the data-layer tests: a small valid data dir over sox-made audio."""

from __future__ import annotations

from pathlib import Path

import pytest
from datatest_helpers import make_wav, write


@pytest.fixture
def make_data_dir(tmp_path):
    """Factory: a valid data dir with 3 recordings, 3 speakers and 4 segmented utterances."""

    def build(name: str = "d") -> Path:
        wav = tmp_path / "wav"
        for i, dur in ((1, 2.1), (2, 2.2), (3, 2.3)):
            if not (wav / f"r{i}.wav").exists():
                make_wav(wav / f"r{i}.wav", dur, freq=300 * i)
        d = tmp_path / name
        d.mkdir()
        write(d / "wav.scp", "".join(f"r{i} {wav}/r{i}.wav\n" for i in (1, 2, 3)))
        write(d / "segments", "spkA-u1 r1 0.0 1.0\nspkA-u2 r1 1.0 2.0\nspkB-u3 r2 0.5 2.1\nspkC-u4 r3 0 2.3\n")
        write(d / "text", "spkA-u1 hello world\nspkA-u2 foo\nspkB-u3 bar baz\nspkC-u4 qux\n")
        write(d / "utt2spk", "spkA-u1 spkA\nspkA-u2 spkA\nspkB-u3 spkB\nspkC-u4 spkC\n")
        write(d / "spk2utt", "spkA spkA-u1 spkA-u2\nspkB spkB-u3\nspkC spkC-u4\n")
        return d

    return build
