"""Fault class **data**: every kind of malformed data dir gives an error (or a counted
warning) naming file, line and id; the fix-up removes only what it reports, keeps a copy of
every removed line, and the feature extractor refuses bad audio naming the recording.

| fault                                | validation (``nghf-validate-data``)        | fix-up (``nghf-fix-data``)              |
|--------------------------------------|--------------------------------------------|-----------------------------------------|
| unsorted ids                         | error ``file:line: id: not sorted``        | sorted, nothing removed                 |
| duplicated id                        | error ``duplicate id (first on line N)``   | ``1 duplicate id`` removed, backed up   |
| id in one file, not another          | error ``utterance has no entry in text``   | ``id not in text`` removed, backed up   |
| empty / whitespace-only transcript   | error ``empty or whitespace-only``         | ``empty transcript`` removed            |
| non-UTF-8 text                       | error ``not valid UTF-8 (byte N)``         | removed with that reason                |
| OOV words                            | warning per utterance + counted OOV report | (kept: a lexicon decision)              |
| missing / zero-length audio          | error naming the wav.scp line and file     | removed with its utterances (see test_rel_bad_input.py); fbank: error naming recording |
| wrong sample rate                    | error ``sample rate 8000 Hz, expected``    | (kept) fbank: error naming recording    |
| segment past the end of recording    | error ``segment end ... past the end``     | removed (with reco2dur), fbank: error   |

The validation rules themselves are unit-tested in ``tests/data/test_data_validate.py``;
here each fault goes through validation *and* fix-up *and* the accounting of what was removed.
"""

from __future__ import annotations

import subprocess

import pytest
from rel_helpers import make_wav, write

from nghf.bin.fix_data import main as fix_main
from nghf.data.datadir import load_data_dir
from nghf.data.features import FbankConfig, compute_data_dir_fbank
from nghf.data.kaldi_files import DataDirError, read_table
from nghf.data.validate import ValidateOptions, validate_data_dir

UTTS = ("spkA-u1", "spkA-u2", "spkB-u3", "spkC-u4")


@pytest.fixture
def data_dir(tmp_path):
    wav = tmp_path / "wav"
    for i, dur in ((1, 2.1), (2, 2.2), (3, 2.3)):
        make_wav(wav / f"r{i}.wav", dur, freq=300 * i)
    d = tmp_path / "d"
    d.mkdir()
    write(d / "wav.scp", "".join(f"r{i} {wav}/r{i}.wav\n" for i in (1, 2, 3)))
    write(d / "segments", "spkA-u1 r1 0.0 1.0\nspkA-u2 r1 1.0 2.0\nspkB-u3 r2 0.5 2.1\nspkC-u4 r3 0 2.3\n")
    write(d / "text", "spkA-u1 hello world\nspkA-u2 foo\nspkB-u3 bar baz\nspkC-u4 qux\n")
    write(d / "utt2spk", "spkA-u1 spkA\nspkA-u2 spkA\nspkB-u3 spkB\nspkC-u4 spkC\n")
    write(d / "spk2utt", "spkA spkA-u1 spkA-u2\nspkB spkB-u3\nspkC spkC-u4\n")
    write(d / "reco2dur", "r1 2.1\nr2 2.2\nr3 2.3\n")
    return d


# name -> (file, new content, expected validation message, removal reason or None, removed id)
FIXABLE = {
    "duplicate_id": ("utt2spk", b"spkA-u1 spkA\nspkA-u1 spkA\nspkA-u2 spkA\nspkB-u3 spkB\nspkC-u4 spkC\n",
                     "utt2spk:2: id 'spkA-u1': duplicate id (first on line 1)", "duplicate id", None),
    "id_missing_elsewhere": ("text", b"spkA-u1 hello world\nspkB-u3 bar baz\nspkC-u4 qux\n",
                             "utt2spk:2: id 'spkA-u2': utterance has no entry in text", "id not in text", "spkA-u2"),
    "empty_transcript": ("text", b"spkA-u1 hello world\nspkA-u2 \t \nspkB-u3 bar baz\nspkC-u4 qux\n",
                         "text:2: id 'spkA-u2': empty or whitespace-only transcript", "empty transcript", "spkA-u2"),
    "non_utf8_text": ("text", b"spkA-u1 hello world\nspkA-u2 caf\xe9\nspkB-u3 bar baz\nspkC-u4 qux\n",
                      "text:2: id 'spkA-u2': not valid UTF-8 (byte 11", "not valid UTF-8", "spkA-u2"),
    "segment_past_end": ("segments", b"spkA-u1 r1 0.0 1.0\nspkA-u2 r1 1.0 2.0\nspkB-u3 r2 0.5 2.9\nspkC-u4 r3 0 2.3\n",
                         "segments:3: id 'spkB-u3': segment end 2.9 s is past the end of recording 'r2'",
                         "segment past the end of its recording", "spkB-u3"),
}


@pytest.mark.parametrize("fault", sorted(FIXABLE))
def test_fault_is_named_and_fixup_accounts_for_every_removed_line(data_dir, fault, capsys) -> None:
    name, content, message, reason, utt = FIXABLE[fault]
    (data_dir / name).write_bytes(content)
    before = {f: len(read_table(data_dir / f)) for f in ("utt2spk", "text", "segments")}
    errors = [str(i) for i in validate_data_dir(data_dir, ValidateOptions(check_feats=False)).errors]
    assert any(f"{data_dir}/{message}" in e for e in errors), errors

    assert fix_main([str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert reason in out, out  # the command says what it removed and why
    # Nothing disappears silently: kept + reported == before, and every removed line is backed up.
    for f, n in before.items():
        kept = len(read_table(data_dir / f))
        removed_file = data_dir / ".backup" / f"{f}.removed"
        removed = len(read_table(removed_file)) if removed_file.is_file() else 0
        assert kept + removed == n, (f, kept, removed, n)
    kept_utts = [e.key for e in read_table(data_dir / "utt2spk")]
    assert kept_utts == [u for u in UTTS if u != utt]  # exactly the faulty one went (a duplicate: its copy)
    assert validate_data_dir(data_dir, ValidateOptions(check_feats=False)).ok  # the fixed dir is clean


def test_unsorted_ids_are_named_and_sorted_without_loss(data_dir, capsys) -> None:
    write(data_dir / "text", "spkA-u2 foo\nspkA-u1 hello world\nspkB-u3 bar baz\nspkC-u4 qux\n")
    errors = [str(i) for i in validate_data_dir(data_dir, ValidateOptions(check_feats=False)).errors]
    assert any(f"{data_dir}/text:2: id 'spkA-u1': not sorted" in e for e in errors), errors
    assert fix_main([str(data_dir)]) == 0
    assert "text: kept all 4 entries" in capsys.readouterr().out
    assert [e.key for e in read_table(data_dir / "text")] == list(UTTS)


def test_oov_words_are_counted_warnings_naming_line_and_id(data_dir, tmp_path) -> None:
    lex = tmp_path / "words.txt"
    write(lex, "bar\nbaz\nfoo\nhello\n")
    rep = validate_data_dir(data_dir, ValidateOptions(check_feats=False, lexicon=str(lex)))
    assert rep.ok
    warnings = [str(w) for w in rep.warnings]
    assert f"WARNING: {data_dir}/text:1: id 'spkA-u1': 1 out-of-vocabulary word(s) not in {lex}: world" in warnings
    assert any("text:4: id 'spkC-u4': 1 out-of-vocabulary" in w for w in warnings)
    assert any("OOV report" in i and "2 of 6 tokens" in i for i in rep.info)


@pytest.mark.parametrize("fault", ["missing", "zero_length", "wrong_rate", "segment_past_end"])
def test_bad_audio_is_an_error_in_validation_and_feature_extraction(data_dir, fault) -> None:
    wav = data_dir.parent / "wav"
    line, reco = 2, "r2"
    if fault == "missing":
        (wav / "r2.wav").unlink()
        expect_validate, expect_fbank = f"audio file {wav}/r2.wav does not exist", "r2"
    elif fault == "zero_length":
        subprocess.run(["sox", "-n", "-r", "16000", "-b", "16", "-c", "1", str(wav / "r2.wav"), "trim", "0", "0"],
                       check=True)
        (data_dir / "reco2dur").unlink()
        expect_validate, expect_fbank = "has no samples (zero length)", "spkB-u3"
    elif fault == "wrong_rate":
        make_wav(wav / "r2.wav", 2.2, rate=8000)
        expect_validate, expect_fbank = "sample rate 8000 Hz, expected 16000 Hz", "recording 'r2': sample rate 8000"
    else:
        write(data_dir / "segments", "spkA-u1 r1 0.0 1.0\nspkA-u2 r1 1.0 2.0\nspkB-u3 r2 0.5 2.9\nspkC-u4 r3 0 2.3\n")
        (data_dir / "reco2dur").unlink()
        line, reco = 3, "spkB-u3"
        expect_validate, expect_fbank = "past the end of recording 'r2'", "utterance 'spkB-u3'"
    name = "segments" if fault == "segment_past_end" else "wav.scp"
    errors = [str(i) for i in validate_data_dir(data_dir, ValidateOptions(check_feats=False)).errors]
    assert any(f"{data_dir}/{name}:{line}: id '{reco}':" in e and expect_validate in e for e in errors), errors
    with pytest.raises(DataDirError, match=expect_fbank) as info:
        compute_data_dir_fbank(load_data_dir(data_dir), FbankConfig(num_mel_bins=10), data_dir / "f.ark",
                               data_dir / "f.scp", where=str(data_dir))
    assert str(data_dir) in str(info.value)
    assert not (data_dir / "f.ark").exists() and not list(data_dir.glob(".f.ark.tmp.*"))  # no partial archive
