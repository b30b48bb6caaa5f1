"""Kaldi lattice archives beside the nghf stores: every ``lat.JOB.gz`` of a decode run
(steps/decode.sh) and of denominator-lattice jobs (nghf-make-denlats' job function) is read back with
kaldifst, utterance by utterance, and must hold exactly the lattices of ``lat.JOB.npz`` (with
the acoustic costs of the log-likelihoods); then ``nghf-import-lattices`` turns the Kaldi archives into a store equal to the original one."""

from __future__ import annotations

import gzip
import struct
import subprocess
from pathlib import Path

import kaldi_io
import numpy as np
import pytest
from decode_tiny_graph import TID2PDF, WORDS, logliks_for

from nghf._kaldi import kaldifst
from nghf.bin.import_lattices import main as import_main
from nghf.data.split import job_utterances
from nghf.decode.denlats import DenlatConfig, DenominatorGenerator, make_denlats_job
from nghf.decode.lattice_arrays import load_lattices
from nghf.lattice.numerator import TransitionMaps
from nghf.lattice.store import LatticeStore
from nghf.lattice.types import LatticeError

UTTS = {"s1-a": [1, 2], "s1-b": [3], "s2-c": [2, 2, 1], "s2-d": [1, 3, 2], "s3-e": [3, 1]}
TID2PHONE = np.array([0, 1, 1, 2, 2, 3, 3])


def _split_archive(path: Path) -> dict[str, bytes]:
    """The binary FSTs of a gzipped Kaldi ``Lattice`` archive by key, cut out with the sizes of
    the OpenFST header alone (a state is 16 bytes, an arc 20): independent of nghf's reader."""
    data = gzip.decompress(path.read_bytes())
    out, pos = {}, 0
    while pos < len(data):
        space = data.index(b" ", pos)
        key = data[pos:space].decode()
        assert data[space + 1 : space + 3] == b"\0B", f"{path}: {key} is not a binary object"
        start = p = space + 3
        p += 4  # magic
        for _ in range(2):  # fst type, arc type
            (n,) = struct.unpack_from("<i", data, p)
            p += 4 + n
        _, _, _, _, num_states, num_arcs = struct.unpack_from("<iiQqqq", data, p)
        p += struct.calcsize("<iiQqqq") + 16 * num_states + 20 * num_arcs
        out[key] = data[start:p]
        pos = p
    return out


Arcs = dict[tuple[int, int, int, int], list[tuple[float, float]]]


def _arcs(rows) -> Arcs:
    """``(src, dst, ilabel, olabel) -> sorted [(graph, acoustic)]`` of arc rows."""
    out: Arcs = {}
    for s, d, i, o, g, a in rows:
        out.setdefault((int(s), int(d), int(i), int(o)), []).append((float(g), float(a)))
    return {k: sorted(v) for k, v in out.items()}


def _assert_same(theirs: Arcs, ours: Arcs) -> None:
    """Same arcs, weights equal up to float32 and the 6 digits of OpenFST's text output."""
    assert theirs.keys() == ours.keys()
    for key, weights in theirs.items():
        np.testing.assert_allclose(weights, ours[key], rtol=1e-5, atol=1e-5, err_msg=str(key))


def _kaldifst_lattices(path: Path, tmp: Path) -> dict[str, tuple[int, Arcs, dict[int, tuple[float, float]]]]:
    """``(start, arcs, finals)`` of every lattice of an archive as kaldifst reads it."""
    out = {}
    for key, blob in _split_archive(path).items():
        one = tmp / "one.fst"
        one.write_bytes(blob)
        fst = kaldifst.Lattice.read(str(one))
        assert fst.type == "vector" and fst.num_states > 0, key
        rows, finals = [], {}
        for line in fst.to_str().splitlines():
            f = line.split()  # OpenFST text omits a weight that is One (0,0)
            g, a = (float(x) for x in f[-1].split(",")) if len(f) in (2, 5) else (0.0, 0.0)
            if len(f) >= 4:
                rows.append((f[0], f[1], f[2], f[3], g, a))
            else:
                finals[int(f[0])] = (g, a)
        out[key] = (fst.start, _arcs(rows), finals)
    return out


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "text").write_text("".join(f"{u} {' '.join(WORDS[w] for w in ws)}\n" for u, ws in sorted(UTTS.items())))
    (data / "utt2spk").write_text("".join(f"{u} {u.split('-')[0]}\n" for u in sorted(UTTS)))
    (data / "feats.scp").write_text("")  # the steps check that it exists; log-likelihoods come from the archive
    with open(tmp_path / "ll.ark", "wb") as out:
        for u in sorted(UTTS):
            kaldi_io.write_mat(out, logliks_for(UTTS[u], frames_per_pdf=2, bad=-4.0), key=u)
    return data


def test_decode_and_denlat_jobs_write_kaldi_lattices_that_kaldifst_reads(tmp_path, tiny_graph, repo_root, data_dir):
    ark = f"ark:{tmp_path / 'll.ark'}"
    dec = tmp_path / "decode"
    r = _run([str(repo_root / "steps/decode.sh"), "--nj", "2", "--skip-scoring", "true", str(tiny_graph.dir),
              str(data_dir), ark, str(dec)], repo_root)
    assert r.returncode == 0, r.stdout + r.stderr
    seen = set()
    for job in (1, 2):
        ours = load_lattices(dec / f"lat.{job}.npz")
        theirs = _kaldifst_lattices(dec / f"lat.{job}.gz", tmp_path)
        assert sorted(theirs) == sorted(ours) and ours
        for utt, lat in ours.items():
            start, arcs, finals = theirs[utt]
            assert start == lat.start
            _assert_same(arcs, _arcs(zip(lat.src, lat.dst, lat.ilabel, lat.olabel, lat.graph_cost, lat.ac_cost,
                                         strict=True)))
            assert any(a > 0 for w in arcs.values() for _, a in w)  # real (unscaled) acoustic costs, not zeros
            assert finals.keys() == set(lat.final_state.tolist())
            np.testing.assert_allclose([finals[s] for s in lat.final_state.tolist()],
                                       np.column_stack([lat.final_graph, lat.final_ac]), rtol=1e-5, atol=1e-5)
        seen |= set(ours)
    assert seen == set(UTTS)

    # Denominator lattices: two jobs of the library's denlat job (steps/make_denlats.sh runs
    # nghf-make-denlats, which calls it; in-process here to keep the test fast).
    (tiny_graph.dir / "tid2phone").write_text("".join(f"{t} {p}\n" for t, p in enumerate(TID2PHONE) if t))
    den = tmp_path / "denlats"
    lls = dict(kaldi_io.read_mat_ark(str(tmp_path / "ll.ark")))
    maps = TransitionMaps(np.where(TID2PDF < 0, 0, TID2PDF), TID2PHONE)
    gen = DenominatorGenerator(tiny_graph.graph, maps, DenlatConfig(acoustic_scale=0.5))
    for job in (1, 2):
        make_denlats_job(gen, ((u, lls[u]) for u in job_utterances({u: u for u in UTTS}, 2, job, "round_robin")), den, job)
    store = LatticeStore(den)
    assert sorted(store) == sorted(UTTS)
    for job in (1, 2):
        for utt, (start, arcs, finals) in _kaldifst_lattices(den / f"lat.{job}.gz", tmp_path).items():
            lat = store[utt]
            ac = -lls[utt][lat.frame.numpy(), lat.pdf.numpy()]
            assert start == lat.start
            _assert_same(arcs, _arcs(zip(lat.src.tolist(), lat.dst.tolist(), lat.tid.tolist(), lat.word.tolist(),
                                         lat.graph_cost.tolist(), ac, strict=True)))
            assert finals.keys() == set(lat.final_states.tolist())
            np.testing.assert_allclose([finals[s] for s in lat.final_states.tolist()],
                                       [(c, 0.0) for c in lat.final_costs.tolist()], rtol=1e-5, atol=1e-5)

    # Kaldi-made lattices (here: our lat.*.gz alone) come in through nghf-import-lattices.
    kaldi = tmp_path / "kaldi_denlats"
    kaldi.mkdir()
    for job in (1, 2):
        (kaldi / f"lat.{job}.gz").write_bytes((den / f"lat.{job}.gz").read_bytes())
    with pytest.raises(LatticeError, match=r"kaldi_denlats: holds Kaldi lattice archives.*nghf-import-lattices"):
        LatticeStore(kaldi)
    imported = tmp_path / "imported"
    assert import_main(["--tid2pdf", str(tiny_graph.dir / "tid2pdf"), "--tid2phone",
                        str(tiny_graph.dir / "tid2phone"), str(kaldi), str(imported)]) == 0
    assert (imported / ".done").is_file() and (imported / "stats.json").is_file()
    again = LatticeStore(imported)
    assert sorted(again) == sorted(store)
    for utt in store:
        a, b = store[utt], again[utt]
        assert a.num_frames == b.num_frames and a.num_arcs == b.num_arcs
        labels = lambda x: sorted(zip(x.tid.tolist(), x.pdf.tolist(), x.phone.tolist(), x.word.tolist(), strict=True))  # noqa: E731
        assert labels(a) == labels(b)
        np.testing.assert_allclose(sorted(a.graph_cost.tolist()), sorted(b.graph_cost.tolist()), atol=1e-5)


def test_import_names_the_archive_and_utterance_of_a_bad_lattice(tmp_path, tiny_graph):
    bad = tmp_path / "lat.3.gz"
    bad.write_bytes(gzip.compress(b"u7 \n0\t1\t99\t1\t0.5,1\n1\t0,0\n\n"))  # transition-id 99: not in the model
    (tmp_path / "tid2phone").write_text("".join(f"{t} {p}\n" for t, p in enumerate(TID2PHONE) if t))
    r = _run(["nghf-import-lattices", "--tid2pdf", str(tiny_graph.dir / "tid2pdf"), "--tid2phone",
              str(tmp_path / "tid2phone"), str(bad), str(tmp_path / "out")], tmp_path)
    assert r.returncode == 1
    assert "nghf-import-lattices: error:" in r.stderr and "lat.3.gz" in r.stderr and "u7" in r.stderr
    assert "transition-id 99" in r.stderr and not (tmp_path / "out" / ".done").exists()


def test_train_seq_step_points_a_kaldi_lattice_dir_at_the_import(tmp_path, repo_root):
    for d in ("data", "ali", "denlats", "ce"):
        (tmp_path / d).mkdir()
    (tmp_path / "data/feats.scp").write_text("")
    (tmp_path / "ce/final.mdl").write_text("")
    (tmp_path / "denlats/lat.1.gz").write_bytes(gzip.compress(b""))
    r = _run([str(repo_root / "steps/train_seq.sh"), *(str(tmp_path / d) for d in ("data", "ali", "denlats", "ce")),
              str(tmp_path / "out")], repo_root)
    assert r.returncode == 1
    assert f"holds Kaldi lattices (lat.*.gz); convert them with: nghf-import-lattices --trans-model " \
           f"{tmp_path}/ali/final.mdl {tmp_path}/denlats <new-denlat-dir>" in r.stderr
