"""Expected systems in RESULTS.md: grids expand to every model x criterion x optimiser, systems
not scored yet get rows of "–", scored ones keep their numbers, bad files name the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from nghf.bin.results import main as results_main
from nghf.score.expected import (
    ExpectedSystem,
    ExpectedSystemsError,
    load_expected_systems,
    parse_expected_systems,
)
from nghf.score.results import render_table
from nghf.score.results_log import SystemInfo, append_record, make_record

DOC = {
    "systems": [{"system": "tri2", "model": "gmm", "criterion": "ml", "optimiser": "em"}],
    "grids": [
        {"models": ["tdnn", "lstm"], "criteria": ["ce"], "optimisers": ["adam"], "name": "{model}_ce"},
        {"models": ["tdnn", "lstm"], "criteria": ["mmi", "mpfe"], "optimisers": ["sgd", "nghf"]},
    ],
}


def test_grid_expands_in_file_order():
    systems = parse_expected_systems(DOC)
    assert len(systems) == 1 + 2 + 2 * 2 * 2
    assert systems[:3] == [ExpectedSystem("tri2", "gmm", "ml", "em"), ExpectedSystem("tdnn_ce", "tdnn", "ce", "adam"),
                           ExpectedSystem("lstm_ce", "lstm", "ce", "adam")]
    assert ExpectedSystem("lstm_mpfe_nghf", "lstm", "mpfe", "nghf") in systems
    assert len({s.system for s in systems}) == len(systems)


@pytest.mark.parametrize(("doc", "message"), [
    ({"grids": [{"models": ["tdnn"], "criteria": [], "optimisers": ["sgd"]}]}, r"grids\[0\]: 'criteria' must be"),
    ({"grids": [{"model": ["tdnn"]}]}, r"grids\[0\]: unknown key\(s\) model"),
    ({"systems": [{"system": "a", "model": "m"}]}, r"systems\[0\]: needs string values for criterion, optimiser"),
    ({"grids": [{"models": ["a"], "criteria": ["b"], "optimisers": ["c"], "name": "x"},
                {"models": ["d"], "criteria": ["e"], "optimisers": ["f"], "name": "x"}]}, "'x' is listed twice"),
    ({"grids": [{"models": ["a"], "criteria": ["b"], "optimisers": ["c"], "name": "{size}"}]}, "bad name template"),
    ({}, "lists no systems"),
])
def test_bad_documents_name_the_entry(doc, message):
    with pytest.raises(ExpectedSystemsError, match=message):
        parse_expected_systems(doc, "paper.yaml")


def test_bad_yaml_names_the_file(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text("systems: [\n")
    with pytest.raises(ExpectedSystemsError, match=str(path)):
        load_expected_systems(path)


def _rows(table: str) -> dict[str, list[str]]:
    """The rows of the main table (the sections after it lay the systems out otherwise)."""
    out = {}
    for line in table.split("\n## ")[0].splitlines():
        if line.startswith("| ") and not line.startswith(("| system", "| ---")):
            cells = [c.strip() for c in line.strip("|").split("|")]
            out[cells[0]] = cells
    return out


def test_unscored_systems_are_rows_of_dashes_and_scored_ones_keep_numbers():
    expected = parse_expected_systems(DOC)
    records = [make_record(SystemInfo("tdnn_ce", "tdnn", "ce", "adam", 10), s, 9.0, {"wer": w})
               for s, w in (("dev", 20.0), ("eval", 25.0))]
    records += [make_record(SystemInfo("tdnn_mmi_nghf", "tdnn", "mmi", "nghf", 3), s, 9.0, {"wer": w})
                for s, w in (("dev", 18.0), ("eval", 20.0))]
    records += [make_record(SystemInfo("extra", "tdnn", "smbr", "adam", 1), "dev", 9.0, {"wer": 30.0})]
    rows = _rows(render_table(records, expected=expected))
    assert set(rows) == {s.system for s in expected} | {"extra"}  # every expected row plus the unexpected one
    assert rows["lstm_mpfe_sgd"] == ["lstm_mpfe_sgd", "lstm", "–", "mpfe", "sgd"] + ["–"] * 7
    assert rows["tdnn_ce"][7] == "20.00 [–]" and rows["tdnn_ce"][9] == "25.00 [–]"  # no per-utterance scores
    assert rows["tdnn_mmi_nghf"][10] == "+20.0 % (p –)"  # (25 - 20) / 25 against the scored CE system
    table = render_table(records, expected=expected)
    assert "2 of the 11 expected systems scored" in table
    assert "expected systems" not in render_table(records)  # without expectations: unchanged table
    assert set(_rows(render_table(records))) == {"tdnn_ce", "tdnn_mmi_nghf", "extra"}


def test_cli_writes_a_skeleton_before_anything_ran(tmp_path: Path):
    spec = tmp_path / "systems.yaml"
    spec.write_text("grids:\n  - {models: [tdnn], criteria: [mmi], optimisers: [sgd, nghf]}\n")
    out = tmp_path / "RESULTS.md"
    missing = tmp_path / "exp" / "results.jsonl"
    assert results_main(["--results", str(missing), "--out", str(out), "--plots-dir", "",
                         "--expected-systems", str(spec)]) == 0
    assert set(_rows(out.read_text())) == {"tdnn_mmi_sgd", "tdnn_mmi_nghf"}
    # Without expectations a missing results file is still an error (nothing to report).
    assert results_main(["--results", str(missing), "--out", str(out), "--plots-dir", ""]) == 1
    append_record(missing, make_record(SystemInfo("tdnn_mmi_sgd", "tdnn", "mmi", "sgd"), "dev", 8.0, {"wer": 12.5}))
    assert results_main(["--results", str(missing), "--out", str(out), "--plots-dir", "",
                         "--expected-systems", str(spec)]) == 0
    rows = _rows(out.read_text())
    assert rows["tdnn_mmi_sgd"][7] == "12.50 [–]" and rows["tdnn_mmi_nghf"][7] == "–"
