"""The tiny corpus end to end: determinism (in-process nj=1 vs local/make_corpus.sh nj=2),
disjoint speakers and sentences, LM text, Kaldi data dir consistency, audio format."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from nghf.corpus import CorpusConfig, build_corpus
from nghf.corpus.pipeline import merge
from nghf.utils.config import load_config

SETS = ("train", "dev", "eval")
FILES = ("wav.scp", "segments", "text", "utt2spk", "spk2utt", "reco2dur", "utt2dur")


@pytest.fixture(scope="session")
def corpora(tmp_path_factory, repo_root, egs_tiny_corpus):
    """Two tiny builds: A in this process with one job, B through the shell script with two
    (the session's shared ``egs_tiny_corpus``, which the recipe tests use as well).

    A is built once per test run: under pytest-xdist the workers share it (a file lock makes
    the first worker build and the others wait)."""
    shared = os.environ.get("PYTEST_XDIST_WORKER") is not None
    root = tmp_path_factory.getbasetemp().parent if shared else tmp_path_factory.getbasetemp()
    base = root / "corpus_tiny"
    with open(root / "corpus_tiny.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (base / "built").exists():
            if base.exists():
                shutil.rmtree(base)
            base.mkdir()
            config = load_config(CorpusConfig, repo_root / "conf" / "corpus.yaml")
            build_corpus(config, base / "a", "tiny", nj=1)
            (base / "built").touch()
    return base / "a", egs_tiny_corpus


def read_map(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, _, rest = line.partition(" ")
        out[key] = rest
    return out


def all_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "log" not in p.parts and not p.name.startswith(".")}


def test_builds_are_byte_identical_for_any_nj(corpora):
    a, b = corpora
    fa, fb = all_files(a), all_files(b)
    assert sorted(fa) == sorted(fb)
    assert any(name.endswith(".wav") for name in fa)
    for name in fa:
        if name.endswith("wav.scp"):
            assert fa[name].replace(str(a).encode(), b"") == fb[name].replace(str(b).encode(), b""), name
        else:
            assert fa[name] == fb[name], f"{name} differs between builds"


def test_rerun_is_a_noop_and_other_options_are_refused(corpora, repo_root):
    _, b = corpora
    script = str(repo_root / "local" / "make_corpus.sh")
    proc = subprocess.run([script, "--size", "tiny", str(b)], capture_output=True, text=True)
    assert proc.returncode == 0 and "already complete" in proc.stdout
    proc = subprocess.run([script, "--size", "tiny", "--seed", "9", str(b)], capture_output=True, text=True)
    assert proc.returncode == 1 and "built with other options" in proc.stderr
    proc = subprocess.run([script, "--size", "huge", str(b)], capture_output=True, text=True)
    assert proc.returncode == 1 and "--size must be tiny or default" in proc.stderr


def test_killed_render_resumes_to_the_same_bytes(corpora, repo_root, tmp_path):
    a, b = corpora
    c = tmp_path / "c"
    shutil.copytree(b, c)
    victim = sorted((c / "meta").iterdir())[0].stem
    (c / "meta" / f"{victim}.json").unlink()
    (c / "wav" / f"{victim}.wav").unlink()
    for marker in [c / ".done", *(c / "log").glob("render.*.done")]:
        marker.unlink()
    shutil.rmtree(c / "data" / "train")
    proc = subprocess.run([str(repo_root / "local" / "make_corpus.sh"), "--size", "tiny", "--nj", "3", str(c)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (c / "wav" / f"{victim}.wav").read_bytes() == (a / "wav" / f"{victim}.wav").read_bytes()
    assert (c / "data" / "train" / "text").read_bytes() == (a / "data" / "train" / "text").read_bytes()


def test_merge_names_missing_recordings(corpora, tmp_path):
    a, _ = corpora
    d = tmp_path / "d"
    shutil.copytree(a, d)
    victim = sorted((d / "meta").iterdir())[0]
    victim.unlink()
    with pytest.raises(FileNotFoundError, match=victim.stem):
        merge(d)


def test_speakers_and_sentences_disjoint_and_lm_text(corpora):
    a, _ = corpora
    text = {s: set(read_map(a / "data" / s / "text").values()) for s in SETS}
    # Speakers by condition: a held-out set's seen-voice part (recordings <set>_seen_*) is
    # spoken by training speakers, its unseen-voice part by speakers of that set only.
    segments = {s: read_map(a / "data" / s / "segments") for s in SETS}
    utt2spk = {s: read_map(a / "data" / s / "utt2spk") for s in SETS}
    spk = {(s, seen): {utt2spk[s][u] for u, seg in segments[s].items() if seg.split()[0].startswith(f"{s}_seen_") == seen}
           for s in SETS for seen in (False, True)}
    info = json.loads((a / "data" / "local" / "corpus_info.json").read_text())
    assert not spk[("train", True)] and not info["speakers_shared_between_sets"]
    for held in ("dev", "eval"):
        assert spk[(held, False)] and not spk[(held, False)] & spk[("train", False)]
        assert spk[(held, True)] and spk[(held, True)] <= spk[("train", False)]
        assert info["sets"][held]["seen_voice"]["speakers"] == len(spk[(held, True)])
        assert text[held] and not text[held] & text["train"]
    assert not spk[("dev", False)] & spk[("eval", False)] and not text["dev"] & text["eval"]
    lm = set((a / "data" / "local" / "lm_text.txt").read_text(encoding="utf-8").splitlines())
    assert not lm & (text["dev"] | text["eval"])
    assert text["train"] <= lm
    assert len(lm) > 50 * sum(len(read_map(a / "data" / s / "text")) for s in SETS)


def test_data_dirs_sorted_consistent_and_within_audio(corpora):
    a, _ = corpora
    info = json.loads((a / "data" / "local" / "corpus_info.json").read_text())
    for s in SETS:
        d = a / "data" / s
        for name in FILES:
            lines = (d / name).read_bytes().splitlines()
            assert lines == sorted(lines), f"{s}/{name} not sorted"
            assert len({ln.split(b" ")[0] for ln in lines}) == len(lines), f"{s}/{name} has duplicate keys"
        segs = {u: v.split() for u, v in read_map(d / "segments").items()}
        utt2spk = read_map(d / "utt2spk")
        assert set(segs) == set(read_map(d / "text")) == set(utt2spk) == set(read_map(d / "utt2dur"))
        spk2utt = {k: v.split() for k, v in read_map(d / "spk2utt").items()}
        assert {(u, k) for k, us in spk2utt.items() for u in us} == set(utt2spk.items())
        wavs = read_map(d / "wav.scp")
        durs = {k: float(v) for k, v in read_map(d / "reco2dur").items()}
        assert set(wavs) == set(durs) == {v[0] for v in segs.values()}
        by_reco: dict[str, list[tuple[float, float]]] = {}
        for utt, (reco, start, end) in segs.items():
            assert utt.startswith(utt2spk[utt] + "-") and reco in utt
            assert 0 <= float(start) < float(end) <= durs[reco] + 1e-6
            by_reco.setdefault(reco, []).append((float(start), float(end)))
        for spans in by_reco.values():
            spans.sort()
            assert all(e1 <= s2 for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False))
        for reco, path in wavs.items():
            assert Path(path).is_absolute()
            with wave.open(path) as w:
                assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
                assert w.getnframes() / 16000 == pytest.approx(durs[reco], abs=1e-4)
        stats = info["sets"][s]
        assert stats["utterances"] == len(segs) and stats["speakers"] == len(spk2utt)
        assert stats["recordings"] == len(wavs)
    assert info["speakers_shared_between_sets"] == []
    total_h = sum(info["sets"][s]["audio_hours"] for s in SETS)
    assert 0.02 < total_h < 0.15  # a few minutes
