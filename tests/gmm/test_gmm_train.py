"""Monophone training on a synthetic corpus, triphone conversion, alignment failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nghf.gmm.align import (
    AlignConfig,
    iter_alignment_archives,
    split_phones,
    tid_info,
    write_alignments,
)
from nghf.gmm.estimate import UpdateConfig
from nghf.gmm.feats import FeatureConfig, load_features
from nghf.gmm.jobs import AlignmentFailure, InProcessSchedule, align_job, train_in_process
from nghf.gmm.lang import load_lang
from nghf.gmm.model import load_model, save_model
from nghf.gmm.mono import init_mono
from nghf.gmm.synthetic import LEXICON, PHONES, make_corpus

FEATS = FeatureConfig(cmvn_scp="", delta_order=0)
UPD = UpdateConfig(min_gaussian_occupancy=3, split_min_count=5)


@pytest.fixture(scope="module")
def mono(tmp_path_factory):
    root = tmp_path_factory.mktemp("mono")
    corpus = make_corpus(root / "toy", num_utts=18)
    lang = load_lang(corpus.lang)
    model = init_mono(lang, (f for _, f in load_features(corpus.data, FEATS)))
    sched = InProcessSchedule(num_iters=8, tot_gauss=40, max_iter_inc=5, realign_iters=(1, 2, 3, 5, 7))
    final, likes, alis = train_in_process(model, lang, corpus.data, FEATS, sched, AlignConfig(),
                                          UPD, root / "exp")
    return corpus, lang, final, likes, alis, root


def test_likelihood_increases(mono):
    _, _, final, likes, _, _ = mono
    assert likes[-1] > likes[0] + 2.0
    assert all(b > a - 0.05 for a, b in zip(likes[1:], likes[2:], strict=False))
    assert final.num_gauss > final.num_pdfs


def test_alignment_reproduces_reference(mono):
    corpus, lang, final, _, alis, _ = mono
    info = tid_info(final)
    sil = lang.phones["SIL"]
    names = {p: lang.phones[p] for p in PHONES}
    assert set(alis) == set(corpus.utt_words)
    for utt, words in corpus.utt_words.items():
        phones = [p for p, _ in split_phones(alis[utt], info) if p != sil]
        want = [names[p] for w in words for p in LEXICON[w]]
        assert phones == want, utt


def test_model_and_alignment_files_round_trip(mono, tmp_path):
    _, _, final, _, alis, _ = mono
    save_model(final, tmp_path / "m.mdl")
    again = load_model(tmp_path / "m.mdl")
    x = np.random.default_rng(0).normal(size=(5, final.dim)).astype(np.float32)
    np.testing.assert_allclose(again.pdf_loglikes(x), final.pdf_loglikes(x), rtol=1e-6)
    assert again.trans.num_transition_ids == final.trans.num_transition_ids
    write_alignments(tmp_path / "ali.1.gz", alis)
    back = dict(iter_alignment_archives([tmp_path / "ali.1.gz"]))
    assert all(np.array_equal(back[u], alis[u]) for u in alis)


def test_impossible_utterance_is_reported_by_id(mono, tmp_path):
    corpus, lang, final, _, _, _ = mono
    data = tmp_path / "data"
    data.mkdir()
    src = Path(corpus.data)
    utts = sorted(corpus.utt_words)[:4]
    for name in ("mfcc.scp", "utt2spk"):
        lines = [ln for ln in (src / name).read_text().splitlines() if ln.split()[0] in utts]
        (data / name).write_text("\n".join(lines) + "\n")
    text = {u: " ".join(corpus.utt_words[u]) for u in utts}
    text[utts[0]] = " ".join(["cad"] * 40)  # needs >= 360 frames; the utterance has far fewer
    (data / "text").write_text("".join(f"{u} {t}\n" for u, t in text.items()))
    result = align_job(final, lang, data, FEATS, utts, AlignConfig(max_fail_share=0.5))
    assert result.failed == [utts[0]]
    assert set(result.alignments) == set(utts[1:])
    with pytest.raises(AlignmentFailure, match=utts[0]):
        align_job(final, lang, data, FEATS, utts, AlignConfig(max_fail_share=0.1))


def test_info_reports_the_parameter_count(mono, tmp_path, capsys):
    from nghf.bin.gmm import main

    _, _, final, _, _, _ = mono
    save_model(final, tmp_path / "m.mdl")
    assert final.num_parameters == final.num_gauss * (2 * final.dim + 1)
    assert main(["info", "--field", "parameters", str(tmp_path / "m.mdl")]) == 0
    assert capsys.readouterr().out.strip() == str(final.num_parameters)
    assert main(["info", "--field", "nothing", str(tmp_path / "m.mdl")]) == 1
