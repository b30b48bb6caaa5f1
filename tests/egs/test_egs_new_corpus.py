"""Adapting nghf to a new corpus: a recipe directory holding only the three files a user writes
(``local/prepare_data.sh``, ``local/lexicon.txt``, ``conf/``) plus the template's links runs
the pipeline, data preparation to ``RESULTS.md``, on the tiny embedded corpus: stages 1-9 (data,
features, the user's lexicon and LMs, GMMs, decoding, CE training and decoding) and the results
table. The sequence-training stages 10-12 are the same shared code (``steps/lib/recipe_stages.sh``)
that ``tests/e2e`` runs end to end, so they are not repeated here."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from nghf.lang.lexicon import cmudict_pronunciations, read_lexicon

PREPARE = """#!/usr/bin/env bash
# The new corpus's data preparation: Kaldi data dirs for train, dev and eval.
set -euo pipefail
data=$1
for x in train dev eval; do
  rm -rf "${{data:?}}/$x"
  mkdir -p "$data"
  cp -r {corpus}/data/$x "$data/$x"
done
"""

MODEL = """# A small TDNN for the test corpus.
kind: tdnn
tdnn:
  hidden_dim: 48
  contexts: [[-2, -1, 0, 1, 2], [-3, 0, 3]]
  norm: batch
  subsampling: 1
"""

TINY = ["--nj", "2", "--models", "tdnn", "--criteria", "mmi", "--optimisers", "adam",
        "--vocab-words", "0", "--lm-prune", "0", "--mono-gauss", "100", "--mono-iters", "4",
        "--tri1-leaves", "60", "--tri1-gauss", "200", "--tri2-leaves", "80", "--tri2-gauss", "300",
        "--tri-iters", "3", "--ce-overrides", "epochs=1 data.batch_size=32",
        "--seq-overrides", "epochs=1 first_order.utts_per_update=8 data.max_heldout_utts=2",
        "--denlat-opts", "--lattice-beam 4 --max-arcs-per-frame 20",
        "--decode-opts", "--beam 8 --lattice-beam 4 --min-lmwt 4 --max-lmwt 12"]


def _words(corpus: Path, sets: tuple[str, ...] = ("train", "dev", "eval")) -> set[str]:
    words: set[str] = set()
    for x in sets:
        for line in (corpus / "data" / x / "text").read_text().splitlines():
            words.update(line.split()[1:])
    return words


def make_recipe(root: Path, repo_root: Path, corpus: Path) -> tuple[Path, set[str]]:
    """The user's three files and the template's links; returns the recipe dir and the words
    left out of the lexicon (they must be reported as OOVs)."""
    (root / "local").mkdir(parents=True)
    prepare = root / "local" / "prepare_data.sh"
    prepare.write_text(PREPARE.format(corpus=corpus))
    prepare.chmod(0o755)
    # The corpus's own lexicon: CMUdict's first pronunciation of each word it knows, one
    # training word left out on purpose. The OOV report covers the training transcripts.
    cmu = cmudict_pronunciations()
    train = _words(corpus, ("train",))
    dropped = min(w for w in train if cmu.get(w.upper()))
    known = sorted(w for w in _words(corpus) if cmu.get(w.upper()) and w != dropped)
    left_out = {dropped} | {w for w in train if not cmu.get(w.upper())}
    lines = [f"{w} {' '.join(cmu[w.upper()][0])}" for w in known]
    (root / "local" / "lexicon.txt").write_text("\n".join(lines) + "\n")
    (root / "conf").mkdir()
    (root / "conf" / "model_tdnn.yaml").write_text(MODEL)
    template = repo_root / "egs" / "template" / "s5"
    for name in ("run.sh", "steps", "utils", "path.sh", "cmd.sh"):
        (root / name).symlink_to(template / name)
    return root, left_out


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_new_corpus_recipe_from_three_files(egs_tiny_corpus: Path, tmp_path: Path, repo_root: Path):
    recipe, left_out = make_recipe(tmp_path / "mycorpus" / "s5", repo_root, egs_tiny_corpus)
    proc = subprocess.run(["./run.sh", *TINY, "--stop-stage", "9"], cwd=recipe, capture_output=True, text=True,
                          timeout=500)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    results = subprocess.run(["./run.sh", *TINY, "--stage", "20"], cwd=recipe, capture_output=True, text=True,
                             timeout=200)
    assert results.returncode == 0, results.stdout[-4000:] + results.stderr[-4000:]

    # The dictionary is the user's lexicon (plus the special words); the words it lacks are reported.
    user = {(e.word, e.phones) for e in read_lexicon(recipe / "local/lexicon.txt")}
    built = {(e.word, e.phones) for e in read_lexicon(recipe / "data/local/dict/lexicon.txt")}
    assert user <= built and {w for w, _ in built - user} == {"!SIL", "<unk>", "<noise>"}
    assert set((recipe / "data/local/dict/oov_words.txt").read_text().split()) == left_out
    # No lm text from prepare_data.sh: the LMs come from the training transcripts.
    assert "trained on the training transcripts" in proc.stdout
    # The user's model config was used; everything else fell back to the top-level conf/.
    assert "hidden_dim: 48" in (recipe / "exp/tdnn_ce/model_config.yaml").read_text()

    table, by_condition = (recipe / "RESULTS.md").read_text().split("\n## WER by condition\n")  # --train-data
    assert "unseen voices" in by_condition
    for system in ("tri2", "tdnn_ce"):  # dev and eval WERs
        row = next(line for line in table.splitlines() if line.startswith(f"| {system} |"))
        assert len(re.findall(r"\| \d+\.\d\d \[\d+\.\d, \d+\.\d\] \|", row)) == 2, row  # WER [95 % CI]
    systems = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ")][2:]
    assert systems == ["tri2", "tdnn_ce"], systems
    assert "stage  name" in proc.stdout
    assert not (recipe / "exp/tdnn_denlats").exists()  # stages 10-12 were not run
