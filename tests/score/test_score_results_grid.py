"""The systems grid of RESULTS.md (nghf.score.results_grid): one row per model and criterion,
the optimisers across, each cell the system's dev / eval WER, change vs CE and updates, from
fabricated (test-only) records."""

from __future__ import annotations

from nghf.score.expected import ExpectedSystem
from nghf.score.results import render_table
from nghf.score.results_grid import ce_by_model, grid_cells, render_grid


def _rec(system: str, model: str, crit: str, opt: str, updates: int, dev: float, evl: float) -> list[dict]:
    base = {"system": system, "model": model, "criterion": crit, "optimiser": opt, "updates": updates}
    return [{**base, "set": "dev", "wer": dev, "lmwt": 8}, {**base, "set": "eval", "wer": evl, "lmwt": 8}]


def _systems(records: list[dict]) -> dict:
    out: dict = {}
    for rec in records:
        out.setdefault(rec["system"], {})[rec["set"]] = rec
    return out


RECORDS = [*_rec("tri2", "gmm", "ml", "em", 20, 48.0, 44.0),
           *_rec("tdnn_ce", "tdnn", "ce", "adam", 610, 40.0, 30.0),
           *_rec("tdnn_mmi_sgd", "tdnn", "mmi", "sgd", 216, 38.0, 33.0),
           *_rec("tdnn_mmi_nghf", "tdnn", "mmi", "nghf-A", 6, 36.0, 27.0),
           *_rec("tdnn_mmi_nghf_seed1", "tdnn", "mmi", "nghf-A", 6, 10.0, 10.0),  # a sweep variant
           *_rec("lstm_mpfe_adam", "lstm", "mpfe", "adam", 300, 45.0, 44.0)]     # a model without CE

# The test outcomes as assess_systems writes them: only the eval change of NGHF is significant.
ASSESSED = {"tdnn_mmi_nghf": {"vs": {"baseline": "tdnn_ce", "dev": {"significant": False},
                                     "eval": {"significant": True}}},
            "tdnn_mmi_sgd": {"vs": {"baseline": "tdnn_ce", "dev": {"significant": True},
                                    "eval": {"significant": False}}}}


def test_cells_follow_the_recipe_names_and_the_expected_systems() -> None:
    systems = _systems(RECORDS)
    expected = [ExpectedSystem("tdnn_mpfe_ng", "tdnn", "mpfe", "ng"), ExpectedSystem("tdnn_ce", "tdnn", "ce", "adam"),
                ExpectedSystem("tri2", "gmm", "ml", "em")]  # a model without CE: no row
    cells = grid_cells(systems, expected)
    assert cells == {("tdnn", "mpfe", "ng"): "tdnn_mpfe_ng", ("tdnn", "mmi", "sgd"): "tdnn_mmi_sgd",
                     ("tdnn", "mmi", "nghf"): "tdnn_mmi_nghf", ("lstm", "mpfe", "adam"): "lstm_mpfe_adam"}
    assert ce_by_model(systems) == {"tdnn": "tdnn_ce"}


def test_each_cell_holds_its_systems_wers_changes_and_updates() -> None:
    lines = render_grid(_systems(RECORDS), ASSESSED)
    assert lines[2] == "| model | criterion | CE start | sgd | adam | nghf |"  # baselines first, NGHF last
    rows = {tuple(c.strip() for c in line.strip("|").split("|")[:2]): line for line in lines[4:]}
    tdnn = [c.strip() for c in rows[("tdnn", "mmi")].strip("|").split("|")]
    assert tdnn[2] == "40.00 / 30.00 [610]"
    assert tdnn[3] == "38.00 / 33.00 (+5.0 %*, -10.0 %) [216]"
    assert tdnn[4] == "–"  # no tdnn_mmi_adam
    # (40 - 36) / 40 = +10.0 % on dev, (30 - 27) / 30 = +10.0 % on eval, significant on eval only
    assert tdnn[5] == "36.00 / 27.00 (+10.0 %, +10.0 %*) [6]"
    lstm = [c.strip() for c in rows[("lstm", "mpfe")].strip("|").split("|")]
    assert lstm[2] == "–" and lstm[4] == "45.00 / 44.00 [300]"  # no CE start: no change to state
    assert not any("10.00 / 10.00" in line for line in lines)  # the sweep variant is no cell


def test_expected_order_sets_rows_and_columns_and_no_sequence_system_no_grid() -> None:
    expected = [ExpectedSystem(f"{m}_{c}_{o}", m, c, o)
                for m in ("tdnn", "lstm") for c in ("ce", "mmi", "mpfe") for o in ("sgd", "adam", "nghf")]
    lines = render_grid(_systems(RECORDS), ASSESSED, expected)
    assert lines[2] == "| model | criterion | CE start | sgd | adam | nghf |"
    assert [tuple(c.strip() for c in line.strip("|").split("|")[:2]) for line in lines[4:]] == [
        ("tdnn", "mmi"), ("tdnn", "mpfe"), ("lstm", "mmi"), ("lstm", "mpfe")]
    assert render_grid(_systems(RECORDS[:4]), {}) == []  # only GMM and CE: nothing to lay out
    assert render_grid(_systems(RECORDS[:4]), {}, expected[3:4]) == []  # expected but nothing run yet


def test_results_md_has_the_grid_after_the_main_table() -> None:
    text = render_table(RECORDS)
    assert text.index("| system | model |") < text.index("## Systems by model, criterion and optimiser")
    assert "| tdnn | mmi | 40.00 / 30.00 [610] |" in text
