"""Sequence training end to end on a tiny synthetic corpus: denominator lattices from a pdf-loop
HCLG and a model file (through nghf-make-denlats), numerators from pdf/phone alignments, and
MMI through ``train_sequence`` (the generic Trainer) with SGD and NGHF."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from nghf_synth_data import synth_corpus, write_data_dir

from nghf.bin.make_denlats import main as make_denlats_main
from nghf.bin.train import main as train_main
from nghf.criteria.factory import load_sequence_criterion
from nghf.data.nnfeats import DataError, read_features
from nghf.decode.denlats import DenlatConfig
from nghf.decode.synthetic import write_pdf_loop_graph
from nghf.gmm.align import write_alignments
from nghf.lattice.numerator import TransitionMaps, read_frame_alignments
from nghf.lattice.store import LatticeStore
from nghf.lattice.types import SequenceLattices
from nghf.models.factory import ModelConfig, build_model
from nghf.models.io import FeatureInfo, load_model, save_model
from nghf.models.priors import log_priors_from_counts, pdf_counts
from nghf.models.tdnn import TdnnConfig
from nghf.optim.factory import load_optim_config
from nghf.optim.first_order import FirstOrderConfig
from nghf.train.data import DataConfig, split_heldout, write_heldout_list
from nghf.train.relattice import RegenerateConfig
from nghf.train.sequence import SequenceExamples, SequenceUpdates, UpdatePlan, check_examples
from nghf.train.sequence_run import SequenceTrainer, TrainSeqConfig, train_sequence
from nghf.train.trainer import evaluate

NUM_PDFS = 4
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("seq")
    feats, alis = synth_corpus(num_utts=14, num_pdfs=NUM_PDFS, dim=6, min_len=16, max_len=28, seed=3)
    data, _ = write_data_dir(root, feats, alis)
    ali_dir = root / "ali"
    write_alignments(ali_dir / "pdf.1.gz", alis)
    write_alignments(ali_dir / "phone.1.gz", {u: a + 1 for u, a in alis.items()})
    torch.manual_seed(0)
    config = ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=12, contexts=((-1, 0, 1), (-1, 0, 1)), norm="none"))
    model = build_model(config, 6, NUM_PDFS)
    priors = log_priors_from_counts(pdf_counts(alis.values(), NUM_PDFS))
    save_model(root / "ce" / "final.mdl", model, config, FeatureInfo(dim=6), priors)
    write_pdf_loop_graph(root / "graph", NUM_PDFS)
    den = root / "denlats"
    for job in (1, 2):
        rc = make_denlats_main([str(root / "graph"), str(data), str(root / "ce" / "final.mdl"), str(den),
                                "--tid2phone", str(root / "graph" / "tid2phone"), "--acwt", "0.3",
                                "--beam", "15", "--lattice-beam", "6", "--min-posterior", "1e-4",
                                "--ali-dir", str(ali_dir), "--nj", "2", "--job", str(job)])
        assert rc == 0
    crit = root / "mmi.yaml"
    crit.write_text("name: mmi\nacoustic_scale: 0.3\nxent_weight: 0.0\ncurvature: exact\nprecision: float64\n")
    return {"root": root, "data": data, "ali": ali_dir, "den": den, "crit": crit, "feats": feats}


def _criterion_loss(setup, model_path: Path) -> float:
    """MMI loss per frame over every usable utterance (the training criterion)."""
    loaded = load_model(model_path)
    feats = read_features(setup["data"])
    store = LatticeStore(setup["den"])
    good, _ = check_examples(feats, read_frame_alignments(setup["ali"]), store)
    batches = SequenceExamples(feats, good, store).batches(sorted(good), 10_000)
    crit = load_sequence_criterion(setup["crit"], loaded.log_priors)
    return evaluate(loaded.model, crit, batches, "cpu")[0]


def test_denominator_lattices_and_stats(setup):
    store = LatticeStore(setup["den"])
    assert sorted(store) == sorted(setup["feats"])
    stats = [json.loads((setup["den"] / f"stats.{j}.json").read_text()) for j in (1, 2)]
    assert sum(s["lattices"] for s in stats) == 14 and not any(s["failed"] for s in stats)
    assert all(s["arcs_per_frame"] > 1.0 for s in stats)  # real competitors, not single paths
    assert sum(s["num_utts_checked"] for s in stats) == 14


def test_update_source_is_seeded_and_carries_lattices(setup):
    feats = read_features(setup["data"])
    store = LatticeStore(setup["den"])
    good, bad = check_examples(feats, read_frame_alignments(setup["ali"]), store)
    assert not bad
    utts = sorted(good)[:12]
    src = SequenceUpdates(SequenceExamples(feats, good, store), utts, UpdatePlan(5, 0.4), batch_frames=60, seed=1)
    assert src.num_updates(0) == 2
    again = SequenceUpdates(SequenceExamples(feats, good, store), utts, UpdatePlan(5, 0.4), batch_frames=60, seed=1)
    assert src.epoch_groups(0) == again.epoch_groups(0) != src.epoch_groups(1)
    grad, curv = src.update_batches(0, 1)
    grad_ids = [u for b in grad for u in b.utt_ids]
    assert sorted(grad_ids) == sorted(src.epoch_groups(0)[1]) and len(grad) > 1
    assert all(b.features.shape[0] * b.features.shape[1] <= 60 or b.size == 1 for b in grad)
    assert {u for b in curv for u in b.utt_ids} < set(grad_ids)
    for b in grad:
        assert isinstance(b.lattices, SequenceLattices) and b.lattices.den.utt_ids == b.utt_ids
        assert b.lattices.num.lattices[0].is_single_path()


def test_bad_inputs_are_reported_by_utterance(setup):
    feats = read_features(setup["data"])
    store = LatticeStore(setup["den"])
    alis = read_frame_alignments(setup["ali"])
    dens = {u: store[u] for u in store}
    victim, short = sorted(feats)[0], sorted(feats)[1]
    del dens[victim]
    alis = dict(alis)
    from nghf.lattice.numerator import FrameAlignment

    a = alis[short]
    alis[short] = FrameAlignment(short, a.pdf[:-5], a.phone[:-5], a.tid[:-5])
    good, bad = check_examples(feats, alis, dens, max_bad_share=0.2)
    assert bad == {victim: "no denominator lattice",
                   short: f"alignment has {a.num_frames - 5} output frames, the lattice {a.num_frames} (tolerance 2)"}
    assert len(good) == len(feats) - 2
    with pytest.raises(DataError, match=f"2 of 14 utterances .* {victim}: no denominator lattice"):
        check_examples(feats, alis, dens, max_bad_share=0.1)


@pytest.mark.parametrize("optim", ["sgd", "nghf"])
def test_mmi_training_lowers_the_criterion(setup, optim, tmp_path):
    root = setup["root"]
    config = TrainSeqConfig(epochs=2 if optim == "sgd" else 1, seed=0)
    config = TrainSeqConfig(
        epochs=config.epochs,
        data=type(config.data)(heldout_fraction=0.15, batch_frames=200),
        first_order=UpdatePlan(utts_per_update=4),
        second_order=UpdatePlan(utts_per_update=6, curvature_fraction=0.5, heldout_every=1, max_updates_per_epoch=3),
    )
    if optim == "sgd":
        opt = FirstOrderConfig(kind="sgd", lr=0.5, momentum=0.5)
    else:
        opt = load_optim_config(REPO / "conf" / "optim_nghf.yaml", ["cg.max_iters=8"])
    out = tmp_path / optim
    before = _criterion_loss(setup, root / "ce" / "final.mdl")
    train_sequence(config, setup["data"], setup["ali"], setup["den"], root / "ce" / "final.mdl", out,
                   setup["crit"], opt)
    after = _criterion_loss(setup, out / "final.mdl")
    assert after < before - 1e-3, (before, after)
    records = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    updates = [r for r in records if r["update"] > 0 and "epoch_end" not in r]
    assert records[0]["update"] == 0 and [r["update"] for r in updates] == list(range(1, len(updates) + 1))
    assert {"loss", "heldout_loss", "cg_iterations", "damping", "rho", "accepted", "time"} <= set(updates[0])
    meta = json.loads((out / "meta.json").read_text())
    assert meta["criterion"] == "mmi" and meta["updates_run"] == len(updates)
    assert meta["train_seconds"] == pytest.approx(sum(r["time"] for r in updates), rel=1e-3, abs=1e-2)
    assert [r["train_seconds"] for r in updates] == sorted(r["train_seconds"] for r in updates)
    heldout = [r["heldout_loss"] for r in records if r.get("heldout_loss") is not None]
    assert meta["selected_heldout_loss"] == pytest.approx(min(heldout))  # model selection on held-out
    assert meta["optimiser"] == ("sgd" if optim == "sgd" else f"nghf-{opt.formulation}")
    if optim == "nghf":
        assert all(r["cg_iterations"] >= 1 and r["heldout_loss"] is not None for r in updates)
    events = list((out / "tensorboard").glob("events.out.tfevents.*"))  # on by default, as for CE
    assert events and events[0].stat().st_size > 100
    loaded = load_model(out / "final.mdl")  # same self-describing format, priors kept
    torch.testing.assert_close(loaded.log_priors, load_model(root / "ce" / "final.mdl").log_priors)


def _heldout_loss(setup, model_path: Path, config: TrainSeqConfig) -> float:
    """The held-out MMI loss per frame of the model in ``model_path``, on the held-out utterances
    that ``train_sequence`` sets aside with ``config`` (the same seeded split), computed here
    from the model file rather than read from the run's own log."""
    loaded = load_model(model_path)
    feats = read_features(setup["data"])
    store = LatticeStore(setup["den"])
    good, _ = check_examples(feats, read_frame_alignments(setup["ali"]), store)
    split = DataConfig(heldout_fraction=config.data.heldout_fraction,
                       max_heldout_utts=config.data.max_heldout_utts, seed=config.data.seed)
    _, heldout = split_heldout(list(good), split)
    batches = SequenceExamples(feats, good, store).batches(heldout, config.data.heldout_batch_frames)
    crit = load_sequence_criterion(setup["crit"], loaded.log_priors)
    return evaluate(loaded.model, crit, batches, "cpu")[0]


def test_model_selection_keeps_the_best_held_out_model(setup, tmp_path):
    """An absurd learning rate makes every update worse: with selection, final.mdl is the
    starting model (update 0, the lowest held-out loss of the log); without, it is the last
    update's model. Both final.mdl files are evaluated on the held-out set, so a run that
    logs a selection but saves another model fails."""
    root = setup["root"]
    opt = FirstOrderConfig(kind="sgd", lr=200.0)
    start_path = root / "ce" / "final.mdl"
    metas, logs, configs = {}, {}, {}
    for select in (True, False):
        config = TrainSeqConfig(epochs=1, select_best=select, data=TrainSeqConfig().data.__class__(
            heldout_fraction=0.15, batch_frames=200), first_order=UpdatePlan(utts_per_update=4, heldout_every=1))
        out = tmp_path / f"select_{select}"
        train_sequence(config, setup["data"], setup["ali"], setup["den"], start_path, out, setup["crit"], opt)
        metas[select] = json.loads((out / "meta.json").read_text())
        logs[select] = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
        configs[select] = config
        assert logs[select][0]["update"] == 0
    # The scenario must make selection matter: several updates, each worse than the start.
    heldout = {r["update"]: r["heldout_loss"] for r in logs[True] if r.get("heldout_loss") is not None}
    runs = metas[True]["updates_run"]
    assert runs >= 2 and sorted(heldout) == list(range(runs + 1)), heldout
    assert min(heldout, key=heldout.get) == 0 and all(heldout[u] > heldout[0] for u in heldout if u), heldout

    # With selection: final.mdl is the starting model, and its held-out loss is update 0's.
    assert metas[True]["updates"] == 0
    assert metas[True]["selected_heldout_loss"] == pytest.approx(heldout[0])
    start = load_model(start_path).model.state_dict()
    chosen = load_model(tmp_path / "select_True" / "final.mdl").model.state_dict()
    assert all(torch.equal(start[k], chosen[k]) for k in start)
    selected_loss = _heldout_loss(setup, tmp_path / "select_True" / "final.mdl", configs[True])
    assert selected_loss == pytest.approx(heldout[0], rel=1e-5)

    # Without selection: final.mdl is the last update's model, worse on held-out than the start.
    assert metas[False]["updates"] == metas[False]["updates_run"] == runs
    last = _heldout_loss(setup, tmp_path / "select_False" / "final.mdl", configs[False])
    assert last == pytest.approx(metas[False]["final_heldout_loss"], rel=1e-5)
    assert last == pytest.approx(heldout[runs], rel=1e-5)  # same seed: the same updates ran
    assert last > selected_loss


def test_second_order_steps_are_judged_on_validation_utterances(setup, tmp_path):
    root = setup["root"]
    config = TrainSeqConfig(
        epochs=1, data=TrainSeqConfig().data.__class__(heldout_fraction=0.15, batch_frames=200),
        second_order=UpdatePlan(utts_per_update=6, curvature_fraction=0.5, heldout_every=1,
                                max_updates_per_epoch=2, validation_utts=3),
    )
    opt = load_optim_config(REPO / "conf" / "optim_nghf.yaml", ["cg.max_iters=4"])
    out = tmp_path / "nghf_val"
    train_sequence(config, setup["data"], setup["ali"], setup["den"], root / "ce" / "final.mdl", out,
                   setup["crit"], opt)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["validation_utterances"] == 3
    updates = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()][1:]
    updates = [r for r in updates if "epoch_end" not in r]
    assert updates and all("validation_before" in r and "validation_after" in r for r in updates)
    for r in updates:  # an accepted step lowers the validation loss; a rejected one changes nothing
        assert (r["validation_after"] < r["validation_before"]) == bool(r["accepted"])


def test_second_order_steps_can_be_judged_on_the_heldout_set(setup, tmp_path):
    """validation_from: heldout: the held-out utterances judge the steps (the loss before the first
    step is the initial held-out loss), none is set aside from training."""
    root = setup["root"]
    data = TrainSeqConfig().data.__class__(heldout_fraction=0.15, batch_frames=200)
    config = TrainSeqConfig(
        epochs=1, data=data,
        second_order=UpdatePlan(utts_per_update=6, curvature_fraction=0.5, heldout_every=1,
                                max_updates_per_epoch=2, validation_from="heldout"),
    )
    opt = load_optim_config(REPO / "conf" / "optim_nghf.yaml", ["cg.max_iters=4"])
    out = tmp_path / "nghf_heldout_val"
    train_sequence(config, setup["data"], setup["ali"], setup["den"], root / "ce" / "final.mdl", out,
                   setup["crit"], opt)
    meta = json.loads((out / "meta.json").read_text())
    rows = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    updates = [r for r in rows[1:] if "epoch_end" not in r]
    assert meta["validation_utterances"] == meta["heldout_utterances"] > 0
    assert updates[0]["validation_before"] == pytest.approx(rows[0]["heldout_loss"], rel=1e-5)
    for r in updates:  # judged and reported on the same utterances
        assert r["validation_after" if r["accepted"] else "validation_before"] == pytest.approx(r["heldout_loss"], rel=1e-5)
    with pytest.raises(ValueError, match="validation_utts: 0"):
        UpdatePlan(validation_from="heldout", validation_utts=3)
    with pytest.raises(ValueError, match="validation_from"):
        UpdatePlan(validation_from="dev")


def test_sequence_training_holds_out_what_the_ce_model_held_out(setup, tmp_path):
    """With the CE model's heldout_utts.txt beside it, sequence training holds out exactly those
    utterances (not its own seeded draw); with data.heldout_from_init false, its own draw."""
    root = setup["root"]
    ce = tmp_path / "ce"
    ce.mkdir()
    shutil.copy(root / "ce" / "final.mdl", ce / "final.mdl")
    data = TrainSeqConfig().data.__class__(heldout_fraction=0.15, batch_frames=200)
    utts = sorted(line.split()[0] for line in (setup["data"] / "utt2spk").read_text().splitlines())
    own = split_heldout(utts, DataConfig(heldout_fraction=0.15, max_heldout_utts=100, seed=0))[1]
    ce_list = [u for u in utts if u not in own][:3] + ["not-an-utterance"]
    write_heldout_list(ce, ce_list)
    opt = FirstOrderConfig(kind="sgd", lr=0.1)
    for from_init in (True, False):
        config = TrainSeqConfig(epochs=1, data=dataclasses.replace(data, heldout_from_init=from_init),
                                first_order=UpdatePlan(utts_per_update=4, max_updates_per_epoch=1))
        out = tmp_path / f"from_init_{from_init}"
        train_sequence(config, setup["data"], setup["ali"], setup["den"], ce / "final.mdl", out, setup["crit"], opt)
        meta = json.loads((out / "meta.json").read_text())
        assert meta["heldout_utterances"] == (3 if from_init else len(own))
        assert meta["train_utterances"] + meta["heldout_utterances"] == len(utts) - meta["left_out"]


def test_lattices_regenerated_on_the_fly_and_resumed_exactly(setup, tmp_path):
    """regenerate.every=2: denominator lattices come from the model of every second update (the
    overlay holds the regenerated ones, saved in checkpoints), and an interrupted run resumes
    bit-identically (epoch 2 starts inside a window made before the interruption)."""
    root = setup["root"]
    tid2pdf = np.arange(-1, NUM_PDFS)
    maps = TransitionMaps(tid2pdf, np.concatenate([[0], np.arange(1, NUM_PDFS + 1)]))
    opt = FirstOrderConfig(kind="sgd", lr=0.5, momentum=0.5)

    def run(out: Path, epochs: int, resume: bool = False) -> SequenceTrainer:
        config = TrainSeqConfig(
            epochs=epochs, data=TrainSeqConfig().data.__class__(heldout_fraction=0.15, batch_frames=200),
            first_order=UpdatePlan(utts_per_update=4),
            regenerate=RegenerateConfig(every=2, lattice=DenlatConfig(beam=15.0, lattice_beam=6.0,
                                                                      acoustic_scale=0.3, min_posterior=1e-4)))
        train_sequence(config, setup["data"], setup["ali"], setup["den"], root / "ce" / "final.mdl", out,
                       setup["crit"], opt, resume=resume, trans_model=maps, den_graph=root / "graph")
        return torch.load(out / "checkpoint.last.pt", weights_only=False)

    full = run(tmp_path / "full", 2)
    fresh = full["relattice"]["fresh"]
    stored = LatticeStore(setup["den"])
    assert len(fresh) >= 8 and all(u in stored for u in fresh)
    assert any(fresh[u].num_arcs != stored[u].num_arcs or not torch.equal(fresh[u].graph_cost, stored[u].graph_cost)
               for u in fresh)  # made by a trained model, not copies of the stored lattices
    run(tmp_path / "part", 1)
    run(tmp_path / "part", 2, resume=True)
    a = load_model(tmp_path / "full" / "final.mdl").model.state_dict()
    b = load_model(tmp_path / "part" / "final.mdl").model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="--den-graph"):
        train_sequence(TrainSeqConfig(regenerate=RegenerateConfig(every=1)), setup["data"], setup["ali"],
                       setup["den"], root / "ce" / "final.mdl", tmp_path / "nograph", setup["crit"], opt)


@pytest.mark.parametrize("optim", ["sgd", "nghf"])
def test_resume_is_bit_identical_through_the_command(setup, tmp_path, optim):
    """Interrupted after epoch 1 and resumed, with updates after the resume (2 per epoch for
    NGHF, the recipe's own conf/optim_nghf.yaml), the run ends bit-identical to an uninterrupted one."""
    root = setup["root"]
    conf = tmp_path / "train_seq.yaml"
    conf.write_text("epochs: 2\ndata:\n  heldout_fraction: 0.15\nfirst_order:\n  utts_per_update: 6\n"
                    "second_order:\n  utts_per_update: 4\n  curvature_fraction: 0.5\n  validation_utts: 2\n"
                    "  max_updates_per_epoch: 2\n")
    opt = tmp_path / f"{optim}.yaml"
    if optim == "sgd":
        opt.write_text("kind: sgd\nlr: 0.3\n")
    else:
        opt.write_text((REPO / "conf" / "optim_nghf.yaml").read_text().replace("max_iters: 6", "max_iters: 3"))
    common = ["--denlat-dir", str(setup["den"]), "--init-model", str(root / "ce" / "final.mdl"),
              "--criterion-config", str(setup["crit"]), "--optim-config", str(opt), "--config", str(conf)]
    args = [str(setup["data"]), str(setup["ali"]), str(NUM_PDFS)]
    assert train_main([*common, *args, str(tmp_path / "full")]) == 0
    assert train_main([*common, "--set", "epochs=1", *args, str(tmp_path / "part")]) == 0
    assert train_main([*common, "--resume", *args, str(tmp_path / "part")]) == 0
    full = load_model(tmp_path / "full" / "final.mdl").model.state_dict()
    part = load_model(tmp_path / "part" / "final.mdl").model.state_dict()
    for k in full:
        assert torch.equal(full[k], part[k]), k
    log_full = (tmp_path / "full" / "train_log.jsonl").read_text().splitlines()
    log_part = (tmp_path / "part" / "train_log.jsonl").read_text().splitlines()
    def untimed(line: str) -> dict:
        return {k: v for k, v in json.loads(line).items() if not k.startswith("time") and k != "train_seconds"}

    strip = [untimed(line) for line in log_full]
    assert strip == [untimed(line) for line in log_part]
    updates = [r for r in strip if r["update"] > 0 and "epoch_end" not in r]
    assert len(updates) >= 4 and updates[-1]["update"] > 2  # updates ran after the resume point
    if optim == "sgd":
        # A wrong pdf count is a clear error, not a traceback.
        assert train_main([*common, str(setup["data"]), str(setup["ali"]), "7", str(tmp_path / "bad")]) == 1


def _script(name: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(["bash", str(REPO / "steps" / name), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_make_denlats_and_train_seq_scripts(setup, tmp_path):
    root = setup["root"]
    graph, model = str(root / "graph"), str(root / "ce" / "final.mdl")
    den = tmp_path / "denlats"
    bad = _script("make_denlats.sh", graph, str(setup["data"]), model)
    assert bad.returncode == 1 and "expected 4 argument(s)" in bad.stderr
    bad = _script("make_denlats.sh", graph, str(setup["data"]), model, str(den))
    assert bad.returncode == 1 and "final.mdl to exist" in bad.stderr  # no transition model
    args = ["--nj", "2", "--acwt", "0.3", "--tid2phone", f"{graph}/tid2phone", "--ali-dir", str(setup["ali"]),
            graph, str(setup["data"]), model, str(den)]
    done = _script("make_denlats.sh", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"lattices":14' in done.stdout and '"num_path_in_lattice_share":' in done.stdout
    assert json.loads((den / "stats.json").read_text())["failed"] == 0
    assert "has lattices already" in _script("make_denlats.sh", *args).stdout

    (setup["ali"] / "num_pdfs").write_text(f"{NUM_PDFS}\n")
    conf = tmp_path / "train_seq.yaml"
    conf.write_text("epochs: 1\ndata:\n  heldout_fraction: 0.15\nfirst_order:\n  utts_per_update: 6\n")
    exp = tmp_path / "mmi_adam"
    targs = ["--optim-config", str(REPO / "conf" / "optim_adam.yaml"), "--train-config", str(conf),
             "--criterion-config", str(REPO / "conf" / "criterion_mpfe.yaml"), "--criterion-overrides",
             "acoustic_scale=0.3 silence_phones=[] one_silence_class=false",
             str(setup["data"]), str(setup["ali"]), str(den), str(root / "ce"), str(exp)]
    done = _script("train_seq.sh", *targs)
    assert done.returncode == 0, done.stdout + done.stderr
    meta = json.loads((exp / "meta.json").read_text())
    assert (meta["criterion"], meta["optimiser"], meta["updates"]) == ("mpfe", "adam", 2)
    assert "trained already" in _script("train_seq.sh", *targs).stdout
