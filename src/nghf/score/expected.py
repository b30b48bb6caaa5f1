"""The systems a results table must list, whether they have been run or not.

A recipe names the systems of its experiment (e.g. the paper's: every model × criterion ×
optimiser) in a YAML file; ``nghf-results --expected-systems FILE`` then gives each of them a
row of ``RESULTS.md``, with "–" where nothing has been scored yet, so the table is a skeleton
of the whole experiment from the first run on and shows what is still missing. The file::

    systems:            # single systems
      - {system: tri2, model: gmm, criterion: ml, optimiser: em}
    grids:              # every model x criterion x optimiser, named by `name`
      - models: [tdnn, lstm]
        criteria: [mmi, mpfe]
        optimisers: [sgd, adam, nghf]
        name: "{model}_{criterion}_{optimiser}"   # the default; run.sh's experiment dir names

Bad input (unknown keys, empty lists, a name that is not unique) is an error naming the file
and the entry.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_NAME = "{model}_{criterion}_{optimiser}"


class ExpectedSystemsError(ValueError):
    """A malformed expected-systems file (message names the file and entry)."""


@dataclass(frozen=True)
class ExpectedSystem:
    """One row the results table must have."""

    system: str
    model: str
    criterion: str
    optimiser: str


def _strings(where: str, entry: Mapping[str, Any], key: str) -> list[str]:
    value = entry.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ExpectedSystemsError(f"{where}: '{key}' must be a non-empty list of names, got {value!r}")
    return value


def _check_keys(where: str, entry: Any, allowed: set[str]) -> Mapping[str, Any]:
    if not isinstance(entry, Mapping):
        raise ExpectedSystemsError(f"{where}: expected a mapping, got {entry!r}")
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ExpectedSystemsError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
    return entry


def parse_expected_systems(data: Any, source: str = "<expected systems>") -> list[ExpectedSystem]:
    """The systems of a loaded expected-systems document, in file order (singles, then grids)."""
    if data is None:
        data = {}
    top = _check_keys(source, data, {"systems", "grids"})
    out: list[ExpectedSystem] = []
    for i, entry in enumerate(top.get("systems") or []):
        where = f"{source}: systems[{i}]"
        entry = _check_keys(where, entry, {"system", "model", "criterion", "optimiser"})
        missing = [k for k in ("system", "model", "criterion", "optimiser") if not isinstance(entry.get(k), str)]
        if missing:
            raise ExpectedSystemsError(f"{where}: needs string values for {', '.join(missing)}")
        out.append(ExpectedSystem(entry["system"], entry["model"], entry["criterion"], entry["optimiser"]))
    for i, entry in enumerate(top.get("grids") or []):
        where = f"{source}: grids[{i}]"
        entry = _check_keys(where, entry, {"models", "criteria", "optimisers", "name"})
        name = entry.get("name", DEFAULT_NAME)
        for model, crit, opt in itertools.product(_strings(where, entry, "models"), _strings(where, entry, "criteria"),
                                                  _strings(where, entry, "optimisers")):
            try:
                system = str(name).format(model=model, criterion=crit, optimiser=opt)
            except (KeyError, IndexError, ValueError) as err:
                raise ExpectedSystemsError(f"{where}: bad name template {name!r}: {err!r}") from None
            out.append(ExpectedSystem(system, model, crit, opt))
    seen: set[str] = set()
    for s in out:
        if s.system in seen:
            raise ExpectedSystemsError(f"{source}: system {s.system!r} is listed twice")
        seen.add(s.system)
    if not out:
        raise ExpectedSystemsError(f"{source}: lists no systems")
    return out


def load_expected_systems(path: str | Path) -> list[ExpectedSystem]:
    """Read an expected-systems YAML file (see the module docstring)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ExpectedSystemsError(f"{path}: not valid YAML: {err}") from None
    return parse_expected_systems(data, str(path))
