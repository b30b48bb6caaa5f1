"""Validation catches each class of bad input and names file, line and id."""

from __future__ import annotations

import subprocess

from datatest_helpers import make_wav, write

from nghf.data.validate import ValidateOptions, validate_data_dir


def _errors(d, **kw):
    return [str(i) for i in validate_data_dir(d, ValidateOptions(**kw)).errors]


def test_valid_dir_passes(make_data_dir):
    d = make_data_dir()
    rep = validate_data_dir(d)
    assert rep.ok, [str(i) for i in rep.issues]
    assert not rep.warnings
    assert "4 utterances, 3 speakers, 3 recordings" in rep.info[-1]


def test_unsorted(make_data_dir):
    d = make_data_dir()
    write(d / "text", "spkA-u2 foo\nspkA-u1 hello world\nspkB-u3 bar baz\nspkC-u4 qux\n")
    errs = _errors(d)
    assert any(f"{d}/text:2: id 'spkA-u1': not sorted" in e for e in errs), errs


def test_duplicate_id(make_data_dir):
    d = make_data_dir()
    write(d / "utt2spk", "spkA-u1 spkA\nspkA-u1 spkA\nspkA-u2 spkA\nspkB-u3 spkB\nspkC-u4 spkC\n")
    errs = _errors(d)
    assert any(f"{d}/utt2spk:2: id 'spkA-u1': duplicate id (first on line 1)" in e for e in errs), errs


def test_id_missing_from_one_file(make_data_dir):
    d = make_data_dir()
    write(d / "text", "spkA-u1 hello world\nspkB-u3 bar baz\nspkC-u4 qux\nspkD-u9 extra\n")
    errs = _errors(d)
    assert any(f"{d}/utt2spk:2: id 'spkA-u2': utterance has no entry in text" in e for e in errs), errs
    assert any(f"{d}/text:4: id 'spkD-u9': utterance not in utt2spk" in e for e in errs), errs


def test_spk2utt_inconsistent(make_data_dir):
    d = make_data_dir()
    write(d / "spk2utt", "spkA spkA-u1\nspkB spkB-u3\nspkC spkC-u4\n")
    errs = _errors(d)
    assert any(f"{d}/spk2utt:1: id 'spkA': utterances differ from utt2spk" in e for e in errs), errs


def test_speaker_prefix_warning(make_data_dir):
    d = make_data_dir()
    write(d / "utt2spk", "spkA-u1 spkA\nspkA-u2 spkB\nspkB-u3 spkB\nspkC-u4 spkC\n")
    write(d / "spk2utt", "spkA spkA-u1\nspkB spkA-u2 spkB-u3\nspkC spkC-u4\n")
    rep = validate_data_dir(d)
    assert rep.ok
    assert any("utt2spk:2: id 'spkA-u2': utterance id does not start with its speaker id" in str(w)
               for w in rep.warnings)


def test_empty_and_whitespace_text(make_data_dir):
    d = make_data_dir()
    write(d / "text", "spkA-u1 hello world\nspkA-u2\nspkB-u3    \t\nspkC-u4 qux\n")
    errs = _errors(d)
    assert any(f"{d}/text:2: id 'spkA-u2': empty or whitespace-only transcript" in e for e in errs), errs
    assert any(f"{d}/text:3: id 'spkB-u3': empty or whitespace-only transcript" in e for e in errs), errs


def test_non_utf8_text(make_data_dir):
    d = make_data_dir()
    (d / "text").write_bytes(b"spkA-u1 hello world\nspkA-u2 caf\xe9\nspkB-u3 bar baz\nspkC-u4 qux\n")
    errs = _errors(d)
    assert any(f"{d}/text:2: id 'spkA-u2': not valid UTF-8" in e for e in errs), errs


def test_missing_and_zero_length_audio(make_data_dir):
    d = make_data_dir()
    wav = d.parent / "wav"
    (wav / "r2.wav").unlink()
    (wav / "empty.wav").write_bytes(b"")
    subprocess.run(["sox", "-n", "-r", "16000", "-b", "16", "-c", "1", str(wav / "zero.wav"), "trim", "0", "0"], check=True)
    write(d / "wav.scp", f"r1 {wav}/zero.wav\nr2 {wav}/r2.wav\nr3 {wav}/empty.wav\n")
    errs = _errors(d)
    assert any(f"{d}/wav.scp:2: id 'r2': audio file {wav}/r2.wav does not exist" in e for e in errs), errs
    assert any(f"{d}/wav.scp:3: id 'r3':" in e and "empty (0 bytes)" in e for e in errs), errs
    assert any(f"{d}/wav.scp:1: id 'r1': audio file {wav}/zero.wav has no samples" in e for e in errs), errs


def test_wrong_sample_rate(make_data_dir):
    d = make_data_dir()
    make_wav(d.parent / "wav" / "r8k.wav", 2.3, rate=8000)
    write(d / "wav.scp", f"r1 {d.parent}/wav/r1.wav\nr2 {d.parent}/wav/r2.wav\nr3 {d.parent}/wav/r8k.wav\n")
    errs = _errors(d)
    assert any(f"{d}/wav.scp:3: id 'r3': sample rate 8000 Hz, expected 16000 Hz" in e for e in errs), errs
    assert not _errors(d, sample_rate=0)


def test_segments_past_end_and_bad_times(make_data_dir):
    d = make_data_dir()
    write(d / "segments", "spkA-u1 r1 0.0 1.0\nspkA-u2 r1 1.5 1.2\nspkB-u3 r2 0.5 2.9\nspkC-u4 r9 0 2.3\n")
    errs = _errors(d)
    assert any(f"{d}/segments:2: id 'spkA-u2': start 1.5 is not before end 1.2" in e for e in errs), errs
    assert any(f"{d}/segments:3: id 'spkB-u3': segment end 2.9 s is past the end of recording 'r2' (2.200 s)" in e
               for e in errs), errs
    assert any(f"{d}/segments:4: id 'spkC-u4': recording 'r9' not in wav.scp" in e for e in errs), errs
    # with reco2dur the durations come from there, not the header
    write(d / "segments", "spkA-u1 r1 0.0 1.0\nspkA-u2 r1 1.0 2.0\nspkB-u3 r2 0.5 2.1\nspkC-u4 r3 0 2.3\n")
    write(d / "reco2dur", "r1 2.1\nr2 2.2\nr3 2.3\n")
    assert not _errors(d)
    write(d / "reco2dur", "r1 2.1\nr2 1.8\nr3 2.3\n")
    errs = _errors(d, check_audio=False)
    assert any(f"{d}/segments:3: id 'spkB-u3': segment end 2.1 s is past the end of recording 'r2' (1.800 s)" in e
               for e in errs), errs


def test_oov_report(make_data_dir, tmp_path):
    d = make_data_dir()
    lex = tmp_path / "words.txt"
    write(lex, "bar\nbaz\nfoo\nhello\n")
    rep = validate_data_dir(d, ValidateOptions(lexicon=str(lex)))
    assert rep.ok
    line = next(i for i in rep.info if i.startswith("OOV report"))
    assert "2 of 6 tokens (33.33%), 2 word types" in line and "world (1)" in line and "qux (1)" in line


def test_cli_exit_status(make_data_dir, repo_root):
    d = make_data_dir()
    ok = subprocess.run([str(repo_root / "steps/validate_data_dir.sh"), "--no-feats", "true", str(d)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    write(d / "text", "spkA-u1 hello world\nspkA-u2 foo\nspkB-u3\nspkC-u4 qux\n")
    bad = subprocess.run([str(repo_root / "steps/validate_data_dir.sh"), str(d)], capture_output=True, text=True)
    assert bad.returncode == 1
    assert f"ERROR: {d}/text:3: id 'spkB-u3': empty or whitespace-only transcript" in bad.stdout
