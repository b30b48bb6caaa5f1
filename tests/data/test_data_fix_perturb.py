"""Fix-up reports every removal; speed perturbation ids, pipes and durations."""

from __future__ import annotations

import subprocess

import numpy as np
from datatest_helpers import write

from nghf.data.audio import audio_info
from nghf.data.datadir import load_data_dir, write_manifests
from nghf.data.fix import fix_data_dir
from nghf.data.kaldi_files import read_dict
from nghf.data.perturb import perturb_data_dir_speed
from nghf.data.validate import validate_data_dir


def test_fix_reports_and_backs_up(make_data_dir, repo_root):
    d = make_data_dir()
    write(d / "text", "spkC-u4 qux\nspkA-u1 hello world\nspkA-u1 again\nspkA-u2   \nspkB-u3 bar baz\nspkZ-u9 stray\n")
    write(d / "segments", "spkA-u1 r1 0.0 1.0\nspkA-u2 r1 1.0 2.0\nspkB-u3 r2 0.5 2.1\nspkC-u4 r3 2.0 1.0\n")
    assert not validate_data_dir(d).ok
    r = subprocess.run([str(repo_root / "steps/fix_data_dir.sh"), str(d)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert f"{d}: text: removed 4 of 6 entries (1 duplicate id; 1 empty transcript; " \
           "1 id not in segments; 1 id not in utt2spk, segments); kept 2" in out, out
    assert f"{d}: segments: removed 2 of 4 entries (1 id not in text; 1 start not before end); kept 2" in out
    assert f"{d}: utt2spk: removed 2 of 4 entries (1 id not in segments; 1 id not in text); kept 2" in out
    assert f"{d}: wav.scp: removed 1 of 3 entries (1 recording has no remaining segments); kept 2" in out
    assert f"{d}: removed 10 entries in total" in out  # 4 text + 2 segments + 2 utt2spk + 1 wav + 1 spk2utt
    assert validate_data_dir(d).ok
    assert load_data_dir(d).utts == ["spkA-u1", "spkB-u3"]
    assert (d / ".backup/text").read_text().startswith("spkC-u4 qux\n")
    assert sorted((d / ".backup/text.removed").read_text().splitlines()) == \
        ["spkA-u1 again", "spkA-u2", "spkC-u4 qux", "spkZ-u9 stray"]
    assert fix_data_dir(d).total_removed == 0  # idempotent


def test_speed_perturbation(make_data_dir, tmp_path):
    d = make_data_dir()
    write(d / "reco2dur", "r1 2.1\nr2 2.2\nr3 2.3\n")
    dst = tmp_path / "sp"
    out = perturb_data_dir_speed(d, dst, 0.9)
    assert out.utts == ["sp0.9-spkA-u1", "sp0.9-spkA-u2", "sp0.9-spkB-u3", "sp0.9-spkC-u4"]
    assert read_dict(dst / "spk2utt")["sp0.9-spkA"] == "sp0.9-spkA-u1 sp0.9-spkA-u2"
    wav = read_dict(dst / "wav.scp")["sp0.9-r2"]
    assert wav.startswith("sox -t wav ") and wav.endswith("speed 0.9 |")
    assert read_dict(dst / "segments")["sp0.9-spkB-u3"] == "sp0.9-r2 0.556 2.333"
    assert read_dict(dst / "text")["sp0.9-spkB-u3"] == "bar baz"
    # the pipe really produces audio 1/0.9 as long, matching reco2dur
    info = audio_info(wav, "sp0.9-r2")
    assert info.sample_rate == 16000
    assert abs(info.duration - 2.2 / 0.9) < 0.002
    assert abs(float(read_dict(dst / "reco2dur")["sp0.9-r2"]) - info.duration) < 0.002
    rep = validate_data_dir(dst)
    assert rep.ok, [str(i) for i in rep.issues]
    fast = perturb_data_dir_speed(d, tmp_path / "sp11", 1.1)
    assert np.isclose(float(fast.get("reco2dur")["sp1.1-r3"]), 2.3 / 1.1, atol=1e-4)
    # the usual 3-way training set: original + both perturbed copies
    both = tmp_path / "train_sp"
    r = subprocess.run(["nghf-combine-data", str(both), str(d), str(dst), str(tmp_path / "sp11")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert len(load_data_dir(both).utts) == 12
    assert validate_data_dir(both).ok


def test_lhotse_manifests(make_data_dir):
    from lhotse import CutSet

    d = make_data_dir()
    write_manifests(load_data_dir(d), d, 16000)
    cuts = CutSet.from_file(d / "cuts.jsonl.gz")
    by_id = {c.supervisions[0].id: c for c in cuts}
    assert sorted(by_id) == ["spkA-u1", "spkA-u2", "spkB-u3", "spkC-u4"]
    c = by_id["spkB-u3"]
    assert abs(c.duration - 1.6) < 1e-6 and c.supervisions[0].text == "bar baz"
    assert c.load_audio().shape == (1, 25600)
