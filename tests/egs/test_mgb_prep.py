"""MGB-1 data prep on a fabricated fixture in the real formats, and its error cases."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from nghf.data.kaldi_files import read_dict
from nghf.data.mgb import MgbError, MgbFilter, normalise_text, parse_xml, prepare_stm, prepare_train
from nghf.data.validate import validate_data_dir

FIXTURE = Path(__file__).parent / "fixtures" / "mgb"
SHOWS = {"20080401_bbcone_news": 5.0, "20080402_bbctwo_drama": 3.0, "20080403_bbcfour_doc": 3.6}


def _sox(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["sox", "-R", "-n", "-r", "16000", "-b", "16", "-c", "1", str(path),
                    "synth", str(seconds), "pinknoise", "vol", "0.2"], check=True)


@pytest.fixture
def mgb(tmp_path: Path) -> Path:
    """A copy of the fixture with generated audio beside it."""
    root = tmp_path / "mgb"
    shutil.copytree(FIXTURE, root)
    for show, dur in SHOWS.items():
        sub = "dev" if "bbcfour" in show else "train"
        _sox(root / sub / "wav" / f"{show}.wav", dur)
    return root


def test_normalise_text():
    assert normalise_text("Good evening, Britain.") == "good evening britain"
    assert normalise_text("It's the WEATHER! -- 'quoted' Jo's") == "it's the weather quoted jo's"


def test_parse_xml_attributes():
    segs = parse_xml(FIXTURE / "train/xml/20080401_bbcone_news.xml")
    assert [s.seg_id for s in segs] == [f"20080401_bbcone_news_utt_{i}" for i in range(4)]
    s = segs[2]
    assert (s.start, s.end, s.pmer, s.wmer, s.awd) == (2.9, 4.0, 25.0, 30.0, 0.27)
    assert s.words == "It's the WEATHER!"  # the punct element is not a word
    assert s.source.endswith("20080401_bbcone_news.xml:17")


def test_train_and_dev_prep(mgb: Path, tmp_path: Path, repo_root: Path):
    r = subprocess.run([str(repo_root / "egs/mgb/s5/local/mgb_data_prep.sh"), str(mgb), str(tmp_path / "data")],
                       capture_output=True, text=True, cwd=repo_root / "egs/mgb/s5")
    assert r.returncode == 0, r.stdout + r.stderr
    train = tmp_path / "data/train"
    text = read_dict(train / "text")
    assert text == {
        "20080401_bbcone_news_spk_0001-0000010-0000150": "good evening britain",
        "20080401_bbcone_news_spk_0002-0000290-0000400": "it's the weather",
        "20080402_bbctwo_drama_spk_0001-0000000-0000120": "where were you",
        "20080402_bbctwo_drama_spk_0002-0000130-0000250": "out with jo's friends",  # PMER 40 <= 40
    }
    rejected = (train / "rejected.tsv").read_text().splitlines()
    assert len(rejected) == 2
    assert any("20080401_bbcone_news_utt_1\tPMER > 40" in x for x in rejected)
    assert any("20080401_bbcone_news_utt_3\tAWD > 0.66" in x for x in rejected)
    assert read_dict(train / "segments")["20080401_bbcone_news_spk_0002-0000290-0000400"] == \
        "20080401_bbcone_news 2.90 4.00"
    assert read_dict(train / "utt2spk")["20080402_bbctwo_drama_spk_0001-0000000-0000120"] == \
        "20080402_bbctwo_drama_spk_0001"
    assert Path(read_dict(train / "wav.scp")["20080402_bbctwo_drama"]).is_file()
    assert validate_data_dir(train, ).ok
    dev = tmp_path / "data/dev"
    assert read_dict(dev / "text") == {
        "20080403_bbcfour_doc_spk_0001-0000000-0000140": "and here we are",
        "20080403_bbcfour_doc_spk_0002-0000160-0000300": "on the coast of wales",
    }
    assert (dev / "stm").read_text() == (mgb / "dev/dev.stm").read_text()
    # looser filters keep more
    loose = prepare_train(sorted((mgb / "train/xml").glob("*.xml")), mgb / "train/audio.list",
                          tmp_path / "loose", MgbFilter(max_pmer=None, min_awd=None, max_awd=None))
    assert len(loose.utt2spk) == 6


def test_malformed_xml_names_file_and_line(mgb: Path, tmp_path: Path):
    bad = mgb / "train/xml/20080402_bbctwo_drama.xml"
    lines = bad.read_text().splitlines()
    lines[9] = lines[9].replace("</element>", "</elem>")
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(MgbError, match=rf"{bad}:10:\d+: malformed XML: mismatched tag"):
        prepare_train([bad], mgb / "train/audio.list", tmp_path / "t", MgbFilter())
    r = subprocess.run(["nghf-mgb-prep", "train", "--xml-dir", str(mgb / "train/xml"), "--audio-list",
                        str(mgb / "train/audio.list"), str(tmp_path / "t")], capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.startswith(f"nghf-mgb-prep: error: {bad}:10:") and "Traceback" not in r.stderr


def test_bad_attribute_names_segment(mgb: Path, tmp_path: Path):
    f = mgb / "train/xml/20080401_bbcone_news.xml"
    f.write_text(f.read_text().replace('PMER="25.0"', 'PMER="n/a"'))
    with pytest.raises(MgbError, match=rf"{f}:17: segment '20080401_bbcone_news_utt_2': attribute PMER='n/a'"):
        parse_xml(f)


def test_missing_audio_file(mgb: Path, tmp_path: Path):
    (mgb / "train/wav/20080402_bbctwo_drama.wav").unlink()
    with pytest.raises(MgbError, match=rf"{mgb}/train/audio.list:2: recording '20080402_bbctwo_drama': "
                                       rf"audio file .*20080402_bbctwo_drama.wav does not exist"):
        prepare_train(sorted((mgb / "train/xml").glob("*.xml")), mgb / "train/audio.list", tmp_path / "t", MgbFilter())
    (mgb / "train/audio.list").write_text("20080401_bbcone_news wav/20080401_bbcone_news.wav\n")
    with pytest.raises(MgbError, match=r"audio.list: no audio listed for show '20080402_bbctwo_drama'"):
        prepare_train(sorted((mgb / "train/xml").glob("*.xml")), mgb / "train/audio.list", tmp_path / "t", MgbFilter())


def test_segment_past_end_of_audio(mgb: Path, tmp_path: Path):
    _sox(mgb / "train/wav/20080401_bbcone_news.wav", 3.5)  # shorter than the transcript
    xml = mgb / "train/xml/20080401_bbcone_news.xml"
    with pytest.raises(MgbError, match=rf"{xml}:17: segment '20080401_bbcone_news_utt_2' of show "
                                       r"'20080401_bbcone_news' ends at 4.0 s, past the end of its audio .* \(3.50 s\)"):
        prepare_train([xml], mgb / "train/audio.list", tmp_path / "t", MgbFilter())
    _sox(mgb / "dev/wav/20080403_bbcfour_doc.wav", 2.0)
    with pytest.raises(MgbError, match=rf"{mgb}/dev/dev.stm:4: segment .* ends at 3.0 s, past the end"):
        prepare_stm(mgb / "dev/dev.stm", mgb / "dev/audio.list", tmp_path / "d")


def test_malformed_stm_line(mgb: Path, tmp_path: Path):
    stm = mgb / "dev/dev.stm"
    stm.write_text(stm.read_text() + "20080403_bbcfour_doc 1 spk x 3.4 words\n")
    with pytest.raises(MgbError, match=rf"{stm}:6: start/end 'x 3.4' are not numbers"):
        prepare_stm(stm, mgb / "dev/audio.list", tmp_path / "d")
