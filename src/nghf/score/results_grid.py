"""The systems grid of ``RESULTS.md``: per model and sequence criterion one row, the optimisers across.

The main table lists one system per row. A paper's results table is laid out the other way:
for each model and criterion, the WER each optimiser reaches from the same CE start, with the
number of parameter updates it took, so that "NGHF against SGD and Adam" is read along a row.
This module renders that view from the same records and tests as the main table (it computes
nothing new): each cell holds the dev and eval WER (eval at dev's LM weight), their relative
change against the CE system of the model with ``*`` where the matched-pair test is
significant, and the number of updates. A cell's system is the one the recipe names
``<model>_<criterion>_<optimiser>`` (``run.sh``'s experiment dirs), or the expected system of that
cell (:mod:`nghf.score.expected`); other systems (sweep variants) stay in the main table only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nghf.score.expected import ExpectedSystem
from nghf.score.significance import relative_reduction

Cell = tuple[str, str, str]  # (model, criterion, optimiser)

OPTIMISER_ORDER = ("sgd", "adam", "hf", "ng", "nghf")
"""Columns without an expected-systems file: the first-order baselines, then the second-order
methods, NGHF last (the recipe's ``--optimisers`` order); other optimisers follow, sorted."""


def is_ce(criterion: object) -> bool:
    """Whether a record's criterion is frame cross-entropy (the baseline of every comparison)."""
    return str(criterion or "").lower() == "ce"


def ce_by_model(systems: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, str]:
    """``model -> its CE system``: the first CE system of each model in record order (the
    baseline of every table and test of ``RESULTS.md``)."""
    out: dict[str, str] = {}
    for name, sets in systems.items():
        info = next(iter(sets.values()))
        if is_ce(info.get("criterion")):
            out.setdefault(str(info.get("model") or ""), name)
    return out


def grid_cells(systems: Mapping[str, Mapping[str, Mapping[str, Any]]],
               expected: Sequence[ExpectedSystem] = ()) -> dict[Cell, str]:
    """``(model, criterion, optimiser) -> system`` for the sequence-trained systems: the expected
    systems first, then every recorded system named ``<model>_<criterion>_<optimiser>`` after its
    record's fields (a sweep variant such as ``tdnn_mmi_nghf_seed1`` is not a cell)."""
    cells: dict[Cell, str] = {}
    # Expected systems of a model with a CE system (recorded or expected): a sequence-trained
    # model, not e.g. a GMM baseline named in the same file.
    with_ce = set(ce_by_model(systems)) | {e.model for e in expected if is_ce(e.criterion)}
    for e in expected:
        if e.model in with_ce and not is_ce(e.criterion):
            cells.setdefault((e.model, e.criterion, e.optimiser), e.system)
    for name in sorted(systems):
        info = next(iter(systems[name].values()))
        model, crit = str(info.get("model") or ""), str(info.get("criterion") or "")
        optimiser = str(info.get("optimiser") or "")
        # The record's optimiser may name a variant ("nghf-A"); the dir is named by its family.
        for opt in _ordered([optimiser, optimiser.split("-")[0]]):
            if model and crit and opt and not is_ce(crit) and name == f"{model}_{crit}_{opt}":
                cells.setdefault((model, crit, opt), name)
    return cells


def _ordered(values: Sequence[str]) -> list[str]:
    """First-appearance order without repeats."""
    return list(dict.fromkeys(values))


def _change(mine: Mapping[str, Any] | None, base: Mapping[str, Any] | None, test: Mapping[str, Any] | None) -> str:
    if mine is None or base is None or mine.get("wer") is None or base.get("wer") is None:
        return "–"
    reduction = relative_reduction(float(mine["wer"]), float(base["wer"]))
    if reduction is None:
        return "–"
    return f"{reduction:+.1f} %" + ("*" if test is not None and test.get("significant") else "")


def _wers(sets: Mapping[str, Mapping[str, Any]], dev: str, evl: str) -> str | None:
    d, e = sets.get(dev), sets.get(evl)
    if d is None or e is None or d.get("wer") is None or e.get("wer") is None:
        return None
    return f"{float(d['wer']):.2f} / {float(e['wer']):.2f}"


def _updates(sets: Mapping[str, Mapping[str, Any]]) -> str:
    updates = next(iter(sets.values())).get("updates")
    return "" if updates is None else f" [{updates}]"


def render_grid(systems: Mapping[str, Mapping[str, Mapping[str, Any]]], assessed: Mapping[str, Any],
                expected: Sequence[ExpectedSystem] = (),
                dev: str = "dev", evl: str = "eval") -> list[str]:
    """The lines of the "Systems by model, criterion and optimiser" section, or none when no
    sequence-trained system is recorded or expected. ``systems``: ``system -> set -> record``
    (:func:`nghf.score.results.latest_by_system`, in record order); ``assessed``: the
    ``systems`` part of :func:`nghf.score.significance.assess_systems`."""
    cells = grid_cells(systems, expected)
    if not cells or not any(name in systems for name in cells.values()):
        return []
    rank = {o: i for i, o in enumerate(OPTIMISER_ORDER)}
    keys = [k for k in [*[(e.model, e.criterion, e.optimiser) for e in expected], *sorted(cells)] if k in cells]
    models = _ordered([k[0] for k in keys])
    optimisers = _ordered([*[e.optimiser for e in expected if (e.model, e.criterion, e.optimiser) in cells],
                           *sorted({k[2] for k in cells}, key=lambda o: (rank.get(o, len(rank)), o))])
    ce_of_model = ce_by_model(systems)
    lines = ["\n## Systems by model, criterion and optimiser\n",
             f"The sequence-trained systems of the table above, one row per model and criterion, the "
             f"optimisers across, as a paper's results table is laid out. Each cell: `{dev}` / `{evl}` WER "
             f"(%; `{evl}` at the LM weight tuned on `{dev}`), in parentheses their relative WER reduction over "
             f"the model's CE system (`CE start`; positive: fewer errors; `*`: significant in the table's "
             f"matched-pair test), in brackets the number of parameter updates. \"–\": not run yet.\n",
             "| model | criterion | CE start | " + " | ".join(optimisers) + " |",
             "| --- | --- | ---: |" + " ---: |" * len(optimisers)]
    for model in models:
        base = ce_of_model.get(model)
        base_sets = systems[base] if base is not None else {}
        base_text = "–"
        if base is not None:
            base_text = (_wers(base_sets, dev, evl) or "–") + _updates(base_sets)
        for crit in _ordered([k[1] for k in keys if k[0] == model]):
            row = [model, crit, base_text]
            for opt in optimisers:
                name = cells.get((model, crit, opt))
                sets = systems.get(name) if name is not None else None
                wers = _wers(sets, dev, evl) if sets is not None else None
                if sets is None or wers is None:
                    row.append("–")
                    continue
                vs = (assessed.get(name) or {}).get("vs") or {}
                tests = vs if base is not None and vs.get("baseline") == base else {}
                change = ", ".join(_change(sets.get(s), base_sets.get(s), tests.get(s)) for s in (dev, evl))
                row.append(f"{wers} ({change}){_updates(sets)}" if base is not None else f"{wers}{_updates(sets)}")
            lines.append("| " + " | ".join(row) + " |")
    return lines
