"""steps/decode.sh + steps/score.sh end to end on the tiny graph, with archive log-likelihoods,
then nghf-score record and nghf-results."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import kaldi_io
import numpy as np
from decode_tiny_graph import WORDS, logliks_for


def _data_dir(path: Path, utts: dict[str, list[int]], ark: Path, spoken: dict[str, list[int]] | None = None) -> None:
    path.mkdir(parents=True)
    spoken = spoken or utts
    (path / "text").write_text("".join(f"{u} {' '.join(WORDS[w] for w in ws)}\n" for u, ws in sorted(utts.items())))
    (path / "utt2spk").write_text("".join(f"{u} {u.split('-')[0]}\n" for u in sorted(utts)))
    with open(ark, "wb") as out:
        for u in sorted(spoken):
            kaldi_io.write_mat(out, logliks_for(spoken[u]), key=u)


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def test_decode_and_score_steps(tmp_path, tiny_graph, repo_root):
    utts = {"s1-a": [1, 2], "s1-b": [3], "s2-c": [2, 2, 1], "s2-d": [1, 3, 2], "s3-e": [3, 1]}
    spoken = dict(utts, **{"s2-d": [1, 3, 3]})  # one substitution
    _data_dir(tmp_path / "dev", utts, tmp_path / "dev.ark", spoken)
    dec = tmp_path / "decode_dev"
    r = _run([str(repo_root / "steps/decode.sh"), "--nj", "2", "--min-lmwt", "1", "--max-lmwt", "3",
              "--decode-config", str(repo_root / "conf/decode.yaml"), str(tiny_graph.dir), str(tmp_path / "dev"),
              f"ark:{tmp_path / 'dev.ark'}", str(dec)], repo_root)
    assert r.returncode == 0, r.stdout + r.stderr
    for f in ("tra.1", "tra.2", "lat.1.npz", "lat.2.npz", "log/decode.1.log", "log/score.log", "wer_1", "wer_3",
              "best_wer", "scoring/2.tra", "scoring/summary.json", "scoring/sclite/ref.trn"):
        assert (dec / f).exists(), f
    assert "%WER 9.09 [ 1 / 11, 0 ins, 0 del, 1 sub ]" in (dec / "best_wer").read_text()
    hyp = dict(line.split(maxsplit=1) for line in (dec / "scoring/2.tra").read_text().splitlines())
    assert hyp["s2-d"] == "alpha charlie charlie"
    summary = json.loads((dec / "scoring/summary.json").read_text())
    assert summary["sclite"]["agree"] is True

    # finished: a second run is a no-op for decoding
    r = _run([str(repo_root / "steps/decode.sh"), "--skip-scoring", "true", str(tiny_graph.dir),
              str(tmp_path / "dev"), f"ark:{tmp_path / 'dev.ark'}", str(dec)], repo_root)
    assert r.returncode == 0 and "decoded already" in r.stdout

    # eval set + record + results table
    _data_dir(tmp_path / "eval", {"s9-x": [2, 3]}, tmp_path / "eval.ark")
    dec_eval = tmp_path / "decode_eval"
    r = _run([str(repo_root / "steps/decode.sh"), "--nj", "1", "--min-lmwt", "1", "--max-lmwt", "3",
              str(tiny_graph.dir), str(tmp_path / "eval"), str(tmp_path / "eval.ark"), str(dec_eval)], repo_root)
    assert r.returncode == 0, r.stdout + r.stderr
    results = tmp_path / "results.jsonl"
    r = _run(["nghf-score", "record", "--results", str(results), "--system", "tiny-gmm", "--model", "gmm",
              "--criterion", "ml", "--updates", "0", str(dec), str(dec_eval)], repo_root)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(line) for line in results.read_text().splitlines()]
    assert [x["set"] for x in recs] == ["dev", "eval"]
    assert recs[0]["lmwt"] == recs[1]["lmwt"] and recs[1]["wer"] == 0.0
    out = tmp_path / "RESULTS.md"
    r = _run(["nghf-results", "--results", str(results), "--out", str(out), "--plots-dir", ""], repo_root)
    assert r.returncode == 0, r.stderr
    assert "| tiny-gmm | gmm | – | ml |" in out.read_text()


def test_decode_step_input_errors(tmp_path, tiny_graph, repo_root):
    utts = {"s1-a": [1, 2], "s1-b": [3]}
    _data_dir(tmp_path / "dev", utts, tmp_path / "dev.ark")
    # missing graph file
    r = _run([str(repo_root / "steps/decode.sh"), str(tmp_path), str(tmp_path / "dev"), str(tmp_path / "dev.ark"),
              str(tmp_path / "d1")], repo_root)
    assert r.returncode != 0 and "HCLG.fst to exist" in r.stderr
    # an utterance without log-likelihoods: the job fails and names it
    with open(tmp_path / "short.ark", "wb") as out:
        kaldi_io.write_mat(out, logliks_for([1, 2]), key="s1-a")
    r = _run(["nghf-decode", str(tiny_graph.dir), str(tmp_path / "dev"), str(tmp_path / "short.ark"), str(tmp_path / "d2")],
             repo_root)
    assert r.returncode == 1 and "no log-likelihoods for utterance s1-b" in r.stderr
    # wrong pdf count
    with open(tmp_path / "bad.ark", "wb") as out:
        for u in utts:
            kaldi_io.write_mat(out, np.zeros((5, 4), dtype=np.float32), key=u)
    r = _run(["nghf-decode", str(tiny_graph.dir), str(tmp_path / "dev"), str(tmp_path / "bad.ark"), str(tmp_path / "d3")],
             repo_root)
    assert r.returncode == 1 and "utterance s1-a: log-likelihood matrix has 4 pdf columns" in r.stderr


def test_loglik_sources_ark_and_scp(tmp_path):
    from nghf.data.ark import ArkWriter, write_scp
    from nghf.decode.loglik import LoglikSourceError, ark_logliks

    mats = {u: np.full((2, 3), i, dtype=np.float32) for i, u in enumerate(["c", "a", "b"])}
    with ArkWriter(tmp_path / "l.ark") as w:
        for u, m in mats.items():
            w.write(u, m)
    write_scp(tmp_path / "l.scp", w.scp_lines())
    for spec in (f"ark:{tmp_path / 'l.ark'}", str(tmp_path / "l.scp")):
        got = list(ark_logliks(spec, ["a", "b"]))  # order of the job's list; "c" skipped
        assert [u for u, _ in got] == ["a", "b"]
        np.testing.assert_array_equal(got[1][1], mats["b"])
    import pytest

    with pytest.raises(LoglikSourceError, match="not found"):
        list(ark_logliks(str(tmp_path / "none.ark"), ["a"]))


def _model_and_data(tmp_path, feats):
    """An LSTM model file (priors, prior scale 0.5) and a data dir with ``feats`` in feats.scp."""
    import torch

    from nghf.data.ark import ArkWriter, write_scp
    from nghf.models.factory import ModelConfig, build_model
    from nghf.models.io import FeatureInfo, save_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="lstm"), feat_dim=5, num_pdfs=6)
    log_priors = torch.log_softmax(torch.randn(6), dim=0)
    save_model(tmp_path / "final.mdl", model, ModelConfig(kind="lstm"), FeatureInfo(dim=5, apply_cmvn=False),
               log_priors, prior_scale=0.5)
    data = tmp_path / "data"
    data.mkdir()
    with ArkWriter(data / "feats.ark") as w:
        for u, m in feats.items():
            w.write(u, m)
    write_scp(data / "feats.scp", w.scp_lines())
    (data / "utt2spk").write_text("".join(f"{u} s\n" for u in feats))
    return model, log_priors, data


def test_model_loglik_source(tmp_path):
    import torch

    from nghf.decode.loglik import model_logliks

    feats = {"a": np.random.default_rng(0).normal(size=(7, 5)).astype(np.float32),
             "b": np.random.default_rng(1).normal(size=(4, 5)).astype(np.float32)}
    model, log_priors, data = _model_and_data(tmp_path, feats)
    got = dict(model_logliks(tmp_path / "final.mdl", data, ["a", "b"], "cpu", batch_size=2))
    model.eval()
    for u, m in feats.items():  # one utterance at a time, no padding
        with torch.no_grad():
            logits, lens = model(torch.from_numpy(m)[None], torch.tensor([m.shape[0]]))
        want = (torch.log_softmax(logits[0, : int(lens[0])], -1) - 0.5 * log_priors).numpy()
        np.testing.assert_allclose(got[u], want, rtol=1e-5, atol=1e-5)


def _former_loglik_loop(model, log_priors, feats, utts, prior_scale, batch_size):
    """The batching loop nghf.decode.loglik.model_logliks and nghf.decode.onthefly.model_logliks
    each carried before they became nghf.decode.loglik.network_logliks (reference copy)."""
    import torch

    from nghf.models.priors import log_likelihoods

    model.eval()
    dtype = next(model.parameters()).dtype
    for first in range(0, len(utts), batch_size):
        names = list(utts[first:first + batch_size])
        mats = [feats[u] for u in names]
        lengths = torch.tensor([m.shape[0] for m in mats], dtype=torch.long)
        batch = torch.zeros(len(mats), int(lengths.max()), mats[0].shape[1], dtype=dtype)
        for i, m in enumerate(mats):
            batch[i, : m.shape[0]] = torch.from_numpy(m)
        with torch.no_grad():
            logits, out_lengths = model(batch, lengths)
            ll = log_likelihoods(logits, log_priors, prior_scale)
        ll_np = ll.float().cpu().numpy()
        for i, utt in enumerate(names):
            yield utt, np.array(ll_np[i, : int(out_lengths[i])], copy=True)


def test_file_and_in_memory_logliks_are_the_former_loop_bit_for_bit(tmp_path):
    from nghf.decode.loglik import model_logliks, network_logliks

    rng = np.random.default_rng(0)
    feats = {f"u{i}": rng.normal(size=(3 + 2 * i, 5)).astype(np.float32) for i in range(5)}
    model, log_priors, data = _model_and_data(tmp_path, feats)
    utts = ["u3", "u0", "u4", "u1", "u2"]
    want = list(_former_loglik_loop(model, log_priors, feats, utts, 0.5, 2))
    from_file = list(model_logliks(tmp_path / "final.mdl", data, utts, "cpu", batch_size=2))
    model.train()
    in_memory = list(network_logliks(model, log_priors, feats, utts, 0.5, "cpu", batch_size=2))
    assert model.training  # its mode is given back
    for got in (from_file, in_memory):
        assert [u for u, _ in got] == utts
        for (_, a), (_, b) in zip(got, want, strict=True):
            assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)
