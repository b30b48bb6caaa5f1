"""Forced alignment with NN log-likelihoods through the training graphs (nghf.decode.nnalign)."""

from __future__ import annotations

import numpy as np
import pytest

from nghf.decode.nnalign import align_logliks
from nghf.gmm.align import (
    AlignConfig,
    GraphCompiler,
    equal_alignment,
    iter_alignment_archives,
    write_alignments,
)
from nghf.gmm.feats import FeatureConfig, load_features
from nghf.gmm.lang import load_lang
from nghf.gmm.mono import init_mono
from nghf.gmm.synthetic import make_corpus


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    corpus = make_corpus(tmp_path_factory.mktemp("nnalign") / "toy", num_utts=4)
    lang = load_lang(corpus.lang)
    feats = dict(load_features(corpus.data, FeatureConfig(cmvn_scp="", delta_order=0)))
    model = init_mono(lang, feats.values())  # only its tree and transition model are used
    words = {u: lang.word_ids(w, u, "text") for u, w in corpus.utt_words.items()}
    return corpus, lang, model, feats, words


def _favouring(path_tids: np.ndarray, tid2pdf: np.ndarray, num_pdfs: int, seed: int) -> np.ndarray:
    """Log-likelihoods where the pdfs of ``path_tids`` beat all others by ~50 nats (5 after the
    acoustic scale: more than any graph cost of the toy lexicon), plus noise."""
    rng = np.random.default_rng(seed)
    ll = rng.normal(-55.0, 0.5, size=(len(path_tids), num_pdfs))
    ll[np.arange(len(path_tids)), tid2pdf[path_tids]] = -5.0
    return ll.astype(np.float32)


def test_alignment_recovers_the_favoured_path(toy, tmp_path):
    _, lang, model, feats, words = toy
    tid2pdf = model.tid2pdf()
    num_pdfs = int(tid2pdf[1:].max()) + 1
    compiler = GraphCompiler(model, lang, AlignConfig())
    truth, logliks = {}, []
    for i, (utt, x) in enumerate(sorted(feats.items())):
        path = equal_alignment(compiler.compile(words[utt]), x.shape[0], seed=i + 3)  # a random valid path
        assert path is not None
        truth[utt] = path
        logliks.append((utt, _favouring(path, tid2pdf, num_pdfs, i)))
    result = align_logliks(model, lang, logliks, words, AlignConfig())
    assert not result.failed and set(result.alignments) == set(feats)
    for utt, x in feats.items():
        ali = result.alignments[utt]
        assert len(ali) == x.shape[0]  # one transition-id per feature frame
        np.testing.assert_array_equal(tid2pdf[ali], tid2pdf[truth[utt]])
        np.testing.assert_array_equal(ali, truth[utt])
    assert result.frames == sum(x.shape[0] for x in feats.values())
    write_alignments(tmp_path / "ali.1.gz", result.alignments)
    back = dict(iter_alignment_archives([tmp_path / "ali.1.gz"]))
    assert all(np.array_equal(back[u], a) for u, a in result.alignments.items())


def test_unalignable_and_untranscribed_utterances_are_listed(toy):
    _, lang, model, feats, words = toy
    tid2pdf = model.tid2pdf()
    num_pdfs = int(tid2pdf[1:].max()) + 1
    utt = sorted(words)[0]
    items = [(utt, np.zeros((2, num_pdfs), np.float32)),  # 2 frames cannot hold its phones
             ("nobody", np.zeros((50, num_pdfs), np.float32))]
    result = align_logliks(model, lang, items, words, AlignConfig())
    assert result.failed == [utt, "nobody"] and not result.alignments
    with pytest.raises(ValueError, match="utterance x: .*pdf columns"):
        align_logliks(model, lang, [("x", np.zeros((5, num_pdfs + 1), np.float32))], {"x": words[utt]},
                      AlignConfig())


def test_align_nn_script_output_feeds_ali_to_pdf(toy, tmp_path, repo_root):
    """steps/align_nn.sh with two jobs on an archive of log-likelihoods, then steps/ali_to_pdf.sh."""
    import os
    import subprocess

    import kaldi_io

    from nghf.gmm.model import save_model, write_tree

    _, lang, model, feats, words = toy
    tid2pdf = model.tid2pdf()
    num_pdfs = int(tid2pdf[1:].max()) + 1
    compiler = GraphCompiler(model, lang, AlignConfig())
    gmm = tmp_path / "gmm"
    gmm.mkdir()
    save_model(model, gmm / "final.mdl")
    write_tree(model.tree, gmm / "tree")
    truth = {}
    with open(tmp_path / "ll.ark", "wb") as f:
        for i, (utt, x) in enumerate(sorted(feats.items())):
            truth[utt] = equal_alignment(compiler.compile(words[utt]), x.shape[0], seed=i)
            kaldi_io.write_mat(f, _favouring(truth[utt], tid2pdf, num_pdfs, i), key=utt)
    corpus = toy[0]
    env = dict(os.environ, PATH=f"{repo_root / '.venv' / 'bin'}:{os.environ['PATH']}")
    ali = tmp_path / "ali"
    for cmd in (["steps/align_nn.sh", "--nj", "2", str(corpus.data), str(corpus.lang), str(gmm),
                 f"ark:{tmp_path / 'll.ark'}", str(ali)], ["steps/ali_to_pdf.sh", str(ali)]):
        proc = subprocess.run(cmd, cwd=repo_root, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (ali / "num_jobs").read_text().strip() == "2" and (ali / ".done").exists()
    got = dict(iter_alignment_archives(sorted(ali.glob("ali.*.gz"))))
    assert set(got) == set(truth)
    for u in truth:
        np.testing.assert_array_equal(got[u], truth[u], err_msg=u)
    pdfs = dict(iter_alignment_archives(sorted(ali.glob("pdf.*.gz"))))
    assert all(np.array_equal(pdfs[u], tid2pdf[truth[u]]) for u in truth)
