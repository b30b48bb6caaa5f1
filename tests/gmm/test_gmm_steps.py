"""The stage scripts end to end on the synthetic corpus: mono training, alignment,
ali-to-pdf and graph building through the dispatcher with two jobs."""

from __future__ import annotations

import json
import os
import subprocess

from nghf.gmm.align import iter_alignment_archives
from nghf.gmm.synthetic import make_corpus


def run(repo, *args):
    env = dict(os.environ, PATH=f"{repo / '.venv' / 'bin'}:{os.environ['PATH']}")
    proc = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def test_mono_align_graph_scripts(repo_root, tmp_path):
    corpus = make_corpus(tmp_path / "toy", num_utts=12)
    conf = tmp_path / "gmm.yaml"
    conf.write_text('feats: {cmvn_scp: "", delta_order: 0}\n'
                    "update: {min_gaussian_occupancy: 3.0, split_min_count: 5.0}\n")
    exp = tmp_path / "exp"
    run(repo_root, "steps/train_mono.sh", "--nj", "2", "--gmm-config", str(conf), "--num-iters", "4",
        "--max-iter-inc", "2", "--tot-gauss", "25", "--realign-iters", "1 2",
        str(corpus.data), str(corpus.lang), str(exp / "mono"))
    likes = [json.loads(line)["like_per_frame"] for line in (exp / "mono" / "like.jsonl").open()]
    assert len(likes) == 4 and likes[-1] > likes[0]
    out = run(repo_root, "steps/align.sh", "--nj", "2", "--gmm-config", str(conf), str(corpus.data),
              str(corpus.lang), str(exp / "mono"), str(exp / "mono_ali"))
    assert "0 utterances failed" in out
    alis = dict(iter_alignment_archives(sorted((exp / "mono_ali").glob("ali.*.gz"))))
    assert set(alis) == set(corpus.utt_words)
    run(repo_root, "steps/ali_to_pdf.sh", str(exp / "mono_ali"))
    assert int((exp / "mono_ali" / "num_pdfs").read_text()) == 15
    pdfs = dict(iter_alignment_archives(sorted((exp / "mono_ali").glob("pdf.*.gz"))))
    assert all(len(pdfs[u]) == len(alis[u]) and pdfs[u].max() < 15 for u in alis)
    run(repo_root, "steps/mkgraph.sh", str(corpus.lang), str(exp / "mono"), str(exp / "graph"))
    assert (exp / "graph" / "HCLG.fst").stat().st_size > 0
