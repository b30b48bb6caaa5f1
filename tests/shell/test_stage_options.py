"""Stage markers that know their options (utils/stages.sh run_stage/run_part, and the
sequence-training and decoding stages of steps/lib/recipe_stages.sh): after a finished run,
an added optimiser trains and decodes only the new system; an edited config retrains exactly
the system it shapes (forced past its step's own done marker) and the log says what changed;
nothing changed, nothing runs. The steps are stubs that record their calls."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

RECIPE = """#!/usr/bin/env bash
set -euo pipefail
# Begin configuration section.
stage=11              # first stage
stop_stage=12         # last stage
force=false           # redo finished stages
criteria="mmi"        # criteria
optimisers="sgd nghf" # optimisers
seq_overrides=""      # overrides of train_seq.yaml
# End configuration section.
. utils/parse_options.sh
stage_dir=exp exp=exp data=data models=tdnn device=cpu num_workers=1 ce_overrides="" nj=2
cuda_cmd=run decode_cmd=run decode_opts="" epoch_dev_wer=none results=exp/results.jsonl par_train_jobs=2
. utils/stages.sh
. steps/lib/recipe_stages.sh
nghf-score() { local d=${*: -2:1}; echo "record ${d#exp/}" >> calls.txt; }
run_stage 11 seq_train stage_seq_train
run_stage 12 seq_decode stage_seq_decode
"""

# Like the real steps: skip when their own done marker exists, unless NGHF_FORCE=true.
TRAIN_STUB = """#!/usr/bin/env bash
dir=${!#}
if [[ -f $dir/final.mdl.done && ${NGHF_FORCE:-false} != true ]]; then exit 0; fi
mkdir -p "$dir"
echo "model $RANDOM $(date +%s%N)" > "$dir/final.mdl"
touch "$dir/final.mdl.done"
echo "train $(basename "$dir") force=${NGHF_FORCE:-false}" >> calls.txt
"""
DECODE_STUB = """#!/usr/bin/env bash
dir=${!#}
if [[ -f $dir/.decode.done && ${NGHF_FORCE:-false} != true ]]; then exit 0; fi
mkdir -p "$dir"
touch "$dir/.decode.done"
echo "decode $(basename "$(dirname "$dir")")/$(basename "$dir")" >> calls.txt
"""


@pytest.fixture()
def recipe(tmp_path: Path, repo_root: Path) -> Path:
    (tmp_path / "utils").symlink_to(repo_root / "utils")
    steps = tmp_path / "steps"
    steps.mkdir()
    (steps / "lib").symlink_to(repo_root / "steps/lib")
    for name, text in (("train_seq.sh", TRAIN_STUB), ("decode.sh", DECODE_STUB)):
        (steps / name).write_text(text)
        (steps / name).chmod(0o755)
    for x in ("dev", "eval"):
        (tmp_path / "data" / x).mkdir(parents=True)
        (tmp_path / "data" / x / "spk2utt").write_text("s1 u1\n")
    (tmp_path / "data/lang/phones").mkdir(parents=True)
    (tmp_path / "data/lang/phones/silence.csl").write_text("1:2\n")
    for f in ("exp/tdnn_ce/final.mdl", "exp/tdnn_denlats/stats.json"):
        (tmp_path / f).parent.mkdir(parents=True)
        (tmp_path / f).write_text("x\n")
    (tmp_path / "conf").mkdir()
    path = tmp_path / "run.sh"
    path.write_text(RECIPE)
    return path


def run(recipe: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    env = dict(os.environ, NGHF_ROOT=str(Path(__file__).resolve().parents[2]))
    env.pop("NGHF_FORCE", None)
    proc = subprocess.run(["bash", str(recipe), *args], cwd=recipe.parent, capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = recipe.parent / "calls.txt"
    lines = sorted(calls.read_text().splitlines()) if calls.exists() else []
    calls.unlink(missing_ok=True)
    return proc, lines


def test_new_system_runs_alone_and_changed_options_redo_only_their_system(recipe: Path, repo_root: Path) -> None:
    _, calls = run(recipe)
    assert calls == ["decode tdnn_mmi_nghf/decode_dev", "decode tdnn_mmi_nghf/decode_eval",
                     "decode tdnn_mmi_sgd/decode_dev", "decode tdnn_mmi_sgd/decode_eval",
                     "record tdnn_mmi_nghf/decode_dev", "record tdnn_mmi_sgd/decode_dev",
                     "train tdnn_mmi_nghf force=false", "train tdnn_mmi_sgd force=false"]
    marker = (recipe.parent / "exp/.done/stage_11.seq_train").read_text()
    assert marker.startswith("tdnn_mmi_sgd: conf/criterion_mmi.yaml=")  # the options it ran with, per system
    assert "\ntdnn_mmi_nghf: " in marker and "conf/optim_nghf.yaml=" in marker

    proc, calls = run(recipe)  # nothing changed: nothing runs
    assert calls == [] and proc.stdout.count("done already, skipping") == 2

    # An added optimiser: only its system is trained and decoded; the finished ones are kept.
    proc, calls = run(recipe, "--optimisers", "sgd adam nghf")
    assert "stage 11 (seq_train): options changed since it was done" in proc.stdout
    assert "    now: tdnn_mmi_adam: " in proc.stdout and "was:" not in proc.stdout
    assert "tdnn_mmi_sgd: done already with these options, skipping" in proc.stdout
    assert calls == ["decode tdnn_mmi_adam/decode_dev", "decode tdnn_mmi_adam/decode_eval",
                     "record tdnn_mmi_adam/decode_dev", "train tdnn_mmi_adam force=false"]

    # An edited config retrains exactly the system it shapes (past train_seq.sh's own done
    # marker) and redecodes it (its model changed); the log names the change.
    sgd = (repo_root / "conf/optim_sgd.yaml").read_text()
    (recipe.parent / "conf/optim_sgd.yaml").write_text(sgd + "\n# edited\n")
    proc, calls = run(recipe, "--optimisers", "sgd adam nghf")
    assert "tdnn_mmi_sgd: options changed since it was done; redoing it:" in proc.stdout
    sgd_hash = {line.split()[0]: line.split("conf/optim_sgd.yaml=")[1].split()[0]
                for line in proc.stdout.splitlines() if line.startswith("    ") and "conf/optim_sgd.yaml=" in line}
    assert len(sgd_hash) == 2 and sgd_hash["was:"] != sgd_hash["now:"]  # the log shows the config that changed
    assert calls == ["decode tdnn_mmi_sgd/decode_dev", "decode tdnn_mmi_sgd/decode_eval",
                     "record tdnn_mmi_sgd/decode_dev", "train tdnn_mmi_sgd force=true"]

    # A changed override shapes every system.
    _, calls = run(recipe, "--optimisers", "sgd adam nghf", "--seq-overrides", "epochs=2")
    assert [c for c in calls if c.startswith("train")] == [
        "train tdnn_mmi_adam force=true", "train tdnn_mmi_nghf force=true", "train tdnn_mmi_sgd force=true"]


def test_marker_of_an_older_run_reruns_the_stage_and_keeps_finished_work(recipe: Path) -> None:
    run(recipe)
    done = recipe.parent / "exp/.done"
    for f in ("stage_11.seq_train", "stage_12.seq_decode"):
        (done / f).write_text("")  # what `touch` left before markers recorded options
    for parts in done.glob("*.parts"):
        for f in parts.iterdir():
            f.unlink()
    proc, calls = run(recipe)
    assert "stage 11 (seq_train): its marker records no options (an older run)" in proc.stdout
    assert calls == ["record tdnn_mmi_nghf/decode_dev", "record tdnn_mmi_sgd/decode_dev"]  # steps skipped themselves
    assert (done / "stage_11.seq_train").read_text().startswith("tdnn_mmi_sgd: ")


def test_part_times_keep_one_line_per_finished_part_across_invocations(recipe: Path) -> None:
    """A stage run in several invocations (interrupted, or a system added later) still has
    each part's time: one line per part that ran, none for a part that was skipped."""
    times = recipe.parent / "exp/part_times.tsv"

    def parts() -> list[tuple[str, str, str]]:
        rows = [line.split("\t") for line in times.read_text().splitlines()]
        assert all(len(r) == 5 and r[3].isdigit() for r in rows), rows  # stage, name, part, seconds, finished at
        return sorted((r[0], r[1], r[2]) for r in rows)

    run(recipe)
    first = [("11", "seq_train", "tdnn_mmi_nghf"), ("11", "seq_train", "tdnn_mmi_sgd"),
             ("12", "seq_decode", "tdnn_mmi_nghf"), ("12", "seq_decode", "tdnn_mmi_sgd")]
    assert parts() == first
    run(recipe)  # everything done already: no new lines
    assert parts() == first
    run(recipe, "--optimisers", "sgd adam nghf")  # only the added system's parts
    assert parts() == sorted([*first, ("11", "seq_train", "tdnn_mmi_adam"), ("12", "seq_decode", "tdnn_mmi_adam")])
