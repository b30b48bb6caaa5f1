"""Fault class **interruption**: a stage killed (SIGKILL) at a seeded random point and then
rerun gives the same final outputs as an uninterrupted run, and a killed run never leaves a
file under a final name that is not complete (outputs are written to ``.NAME.tmp.PID`` and
renamed; ``final.mdl.done``/``.fbank.done`` markers are written after the output).

| stage (command)                       | killed when                    | observed after the rerun                        |
|---------------------------------------|--------------------------------|-------------------------------------------------|
| feature extraction (nghf-compute-fbank)| random point of the run       | ark + scp byte-identical to the uninterrupted run |
| lattice generation (nghf-make-denlats)| random point of the job        | lat.1.npz byte-identical                        |
| CE training (nghf-train)              | after its first checkpoint     | ``--resume``: every parameter ``torch.equal``   |
| NGHF sequence training (nghf-train)   | after its first checkpoint     | ``--resume``: every parameter ``torch.equal``   |

In every case the kill must have happened (the command's status is -SIGKILL: a command that
finished before the kill would prove nothing), and the killed run's directory holds no
final-named file that fails to load. The training cases check that the checkpoint they resume
from is not the last update, so updates run after the resume.
"""

from __future__ import annotations

import json
import shutil
import signal
import zipfile
from collections.abc import Callable

import pytest
import torch
from rel_helpers import (
    REPO,
    bin_path,
    kill_at_seeded_point,
    make_wav,
    synth_corpus,
    write,
    write_data_dir,
)

from nghf.bin.compute_fbank import main as fbank_main
from nghf.bin.make_denlats import main as denlats_main
from nghf.bin.train import main as train_main
from nghf.decode.synthetic import write_pdf_loop_graph
from nghf.gmm.align import write_alignments
from nghf.models.factory import ModelConfig, build_model
from nghf.models.io import FeatureInfo, load_model, save_model
from nghf.models.priors import log_priors_from_counts, pdf_counts
from nghf.models.tdnn import TdnnConfig

NUM_PDFS = 4


def _killed(cmd: list[str], seed: int, ready: Callable[[], bool], max_delay: float) -> None:
    """Run ``cmd`` and SIGKILL it at a seeded point after ``ready()``; fail unless the kill
    happened (the command must not have finished, nor failed on its own, first)."""
    rc, delay = kill_at_seeded_point(cmd, seed, ready=ready, max_delay=max_delay)
    assert rc == -signal.SIGKILL, f"{cmd[0]} was not killed (exit status {rc}, delay {delay:.3f} s)"


def _checkpoint_update(exp) -> int:
    """The number of updates behind ``checkpoint.last.pt`` (where a resume starts)."""
    state = torch.load(exp / "checkpoint.last.pt", weights_only=False)
    return int(state["progress"]["global_update"])


def _same_parameters(a, b) -> None:
    sa, sb = load_model(a).model.state_dict(), load_model(b).model.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def _no_unfinished_final_files(exp) -> None:
    """Whatever carries a final name after the kill is complete."""
    if (exp / "final.mdl").exists():
        load_model(exp / "final.mdl")
    if (exp / "checkpoint.last.pt").exists():
        torch.load(exp / "checkpoint.last.pt", weights_only=False)


# --- feature extraction -------------------------------------------------------------------------
def _fbank_dir(root):
    wav = root / "wav"
    d = root / "data"
    d.mkdir(parents=True)
    ids = range(1, 25)  # enough audio that the archive is still being written after the delay
    for i in ids:
        make_wav(wav / f"s{i}.wav", 3.0, freq=100 + 50 * i)
    write(d / "wav.scp", "".join(f"s{i} {wav}/s{i}.wav\n" for i in ids))
    write(d / "utt2spk", "".join(f"s{i} s{i}\n" for i in ids))
    write(d / "spk2utt", "".join(f"s{i} s{i}\n" for i in ids))
    return d


@pytest.mark.parametrize("seed", [11])
def test_killed_feature_extraction_reruns_to_identical_bytes(tmp_path, seed) -> None:
    data = _fbank_dir(tmp_path)
    ref, out = tmp_path / "ref", tmp_path / "out"
    assert fbank_main([str(data), str(ref / "raw.ark"), str(ref / "raw.scp")]) == 0
    cmd = [bin_path("nghf-compute-fbank"), str(data), str(out / "raw.ark"), str(out / "raw.scp")]
    # killed while the archive is being written (its temporary file exists)
    _killed(cmd, seed, ready=lambda: bool(list(out.glob(".raw.ark.tmp.*"))), max_delay=0.02)
    if (out / "raw.ark").exists():  # killed after the rename: the archive must be whole
        assert (out / "raw.ark").read_bytes() == (ref / "raw.ark").read_bytes()
    if (out / "raw.scp").exists():
        assert (out / "raw.ark").exists()
    assert fbank_main([str(data), str(out / "raw.ark"), str(out / "raw.scp")]) == 0
    assert (out / "raw.ark").read_bytes() == (ref / "raw.ark").read_bytes()
    assert (out / "raw.scp").read_text().replace(str(out), "X") == (ref / "raw.scp").read_text().replace(str(ref), "X")


# --- training -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("rel_train")
    feats, alis = synth_corpus(num_utts=10, num_pdfs=NUM_PDFS, dim=4, min_len=16, max_len=24, seed=3)
    data, ali_dir = write_data_dir(root, feats, alis)
    write_alignments(ali_dir / "pdf.1.gz", alis)
    write_alignments(ali_dir / "phone.1.gz", {u: a + 1 for u, a in alis.items()})
    return {"root": root, "data": data, "ali": ali_dir, "alis": alis}


def _ce_args(corpus, exp) -> list[str]:
    """nghf-train CE options: 8 epochs of 12 updates at a constant rate (newbob would stop
    early), so most updates run after the first checkpoint, where the kill is aimed."""
    model = corpus["root"] / "model.yaml"
    model.write_text("kind: tdnn\ntdnn: {hidden_dim: 8, contexts: [[-1, 0, 1]]}\n")
    return ["--model-config", str(model), "--set", "epochs=8", "--set", "schedule.kind=constant", "--set", "checkpoint_every=1", "--set",
            "tensorboard=false", "--set", "data.chunk_width=8", "--set", "data.batch_size=2", "--set",
            "data.heldout_fraction=0.2", str(corpus["data"]), str(corpus["ali"] / "pdf.1.gz"), str(NUM_PDFS), str(exp)]


@pytest.mark.parametrize("seed", [5])
def test_killed_ce_training_resumes_to_identical_parameters(corpus, tmp_path, seed) -> None:
    ref, exp = tmp_path / "ref", tmp_path / "exp"
    assert train_main(_ce_args(corpus, ref)) == 0
    _killed([bin_path("nghf-train"), *_ce_args(corpus, exp)], seed,
            ready=lambda: (exp / "checkpoint.last.pt").exists(), max_delay=0.1)
    _no_unfinished_final_files(exp)
    assert not (exp / "final.mdl.done").exists()
    done = json.loads((ref / "meta.json").read_text())["updates"]
    assert 0 < _checkpoint_update(exp) < done  # the resume has updates left to run
    assert train_main(["--resume", *_ce_args(corpus, exp)]) == 0
    _same_parameters(ref / "final.mdl", exp / "final.mdl")


# --- lattice generation and NGHF training ------------------------------------------------------------
@pytest.fixture(scope="module")
def seq(corpus):
    root = corpus["root"]
    torch.manual_seed(0)
    config = ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=8, contexts=((-1, 0, 1),), norm="none"))
    save_model(root / "ce" / "final.mdl", build_model(config, 4, NUM_PDFS), config, FeatureInfo(dim=4),
               log_priors_from_counts(pdf_counts(corpus["alis"].values(), NUM_PDFS)))
    graph = root / "graph"
    write_pdf_loop_graph(graph, NUM_PDFS)  # a free loop over the pdfs (transition-id p+1 emits pdf p)
    den = root / "denlats"
    assert denlats_main(_denlat_args(corpus, den, job=1)) == 0
    crit = root / "mmi.yaml"
    crit.write_text("name: mmi\nacoustic_scale: 0.3\nxent_weight: 0.0\ncurvature: exact\nprecision: float64\n")
    return {"den": den, "crit": crit, "model": root / "ce" / "final.mdl"}


def _denlat_args(corpus, den, job: int) -> list[str]:
    root = corpus["root"]
    return [str(root / "graph"), str(corpus["data"]), str(root / "ce" / "final.mdl"), str(den), "--tid2phone",
            str(root / "graph" / "tid2phone"), "--acwt", "0.3", "--beam", "15", "--lattice-beam", "6",
            "--min-posterior", "1e-4", "--nj", "1", "--job", str(job)]


@pytest.mark.parametrize("seed", [3])
def test_killed_lattice_generation_reruns_to_the_same_lattices(corpus, seq, tmp_path, seed) -> None:
    den = tmp_path / "den"
    _killed([bin_path("nghf-make-denlats"), *_denlat_args(corpus, den, 1)], seed,
            ready=lambda: den.is_dir(), max_delay=0.2)
    if (den / "lat.1.npz").exists():  # a finished name must hold a whole archive
        zipfile.ZipFile(den / "lat.1.npz").testzip()
    shutil.rmtree(den / "log", ignore_errors=True)
    assert denlats_main(_denlat_args(corpus, den, 1)) == 0
    assert (den / "lat.1.npz").read_bytes() == (seq["den"] / "lat.1.npz").read_bytes()


def _nghf_args(corpus, seq, exp) -> list[str]:
    conf = corpus["root"] / "train_seq.yaml"
    # 8 training utterances, 2 per update, 2 epochs: 8 updates, so most run after the resume
    conf.write_text("epochs: 2\ncheckpoint_every: 1\ndata:\n  heldout_fraction: 0.2\n"
                    "second_order:\n  utts_per_update: 2\n  curvature_fraction: 0.5\n")
    return ["--denlat-dir", str(seq["den"]), "--init-model", str(seq["model"]), "--criterion-config",
            str(seq["crit"]), "--optim-config", str(REPO / "conf" / "optim_nghf.yaml"), "--config", str(conf),
            str(corpus["data"]), str(corpus["ali"]), str(NUM_PDFS), str(exp)]


@pytest.mark.parametrize("seed", [8])
def test_killed_nghf_training_resumes_to_identical_parameters(corpus, seq, tmp_path, seed) -> None:
    ref, exp = tmp_path / "ref", tmp_path / "exp"
    assert train_main(_nghf_args(corpus, seq, ref)) == 0
    _killed([bin_path("nghf-train"), *_nghf_args(corpus, seq, exp)], seed,
            ready=lambda: (exp / "checkpoint.last.pt").exists(), max_delay=0.1)
    _no_unfinished_final_files(exp)
    assert not (exp / "final.mdl.done").exists()
    runs = json.loads((ref / "meta.json").read_text())["updates_run"]
    assert runs >= 3 and 0 < _checkpoint_update(exp) < runs  # updates run after the resume
    assert train_main(["--resume", *_nghf_args(corpus, seq, exp)]) == 0
    _same_parameters(ref / "final.mdl", exp / "final.mdl")
