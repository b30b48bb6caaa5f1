"""The one place where an optimiser ``kind`` is interpreted.

``REGISTRY`` maps each kind (``sgd``, ``adam``, ``hf``, ``ng``, ``nghf``) to its config class
and the updater built from it; the config class says its family (``first`` or ``second``
order, a class attribute). ``load_optim_config`` reads a ``conf/optim_*.yaml`` and picks the
class by ``kind``; ``build_updater`` builds the updater for a config; ``optimiser_name`` names
it in logs and results tables (``nghf-A`` …). Which second-order *method* (HF, NG, NGHF A/B/C)
a second-order config runs is the strategy table of ``nghf.optim.methods``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from nghf.optim.base import Updater
from nghf.optim.config import SecondOrderConfig
from nghf.optim.first_order import FirstOrderConfig, FirstOrderUpdater
from nghf.optim.methods import method_for
from nghf.optim.second_order import SecondOrderOptimizer
from nghf.utils.config import ConfigError, load_config

OptimConfig = FirstOrderConfig | SecondOrderConfig


@dataclasses.dataclass(frozen=True)
class OptimiserEntry:
    """One kind: its config class and how to build its updater over a list of parameters."""

    config_class: type
    build: Callable[[Any, list[Any]], Updater]


REGISTRY: dict[str, OptimiserEntry] = {
    "sgd": OptimiserEntry(FirstOrderConfig, FirstOrderUpdater),
    "adam": OptimiserEntry(FirstOrderConfig, FirstOrderUpdater),
    "hf": OptimiserEntry(SecondOrderConfig, lambda c, p: SecondOrderOptimizer(p, c)),
    "ng": OptimiserEntry(SecondOrderConfig, lambda c, p: SecondOrderOptimizer(p, c)),
    "nghf": OptimiserEntry(SecondOrderConfig, lambda c, p: SecondOrderOptimizer(p, c)),
}


def _entry(kind: Any, where: str) -> OptimiserEntry:
    try:
        return REGISTRY[kind]
    except (KeyError, TypeError):
        raise ConfigError(f"{where}: kind: {kind!r} is not one of {', '.join(REGISTRY)}") from None


def load_optim_config(path: str | Path, overrides: Sequence[str] = ()) -> OptimConfig:
    """Load an optimiser config, choosing the dataclass from its ``kind`` key (overrides may
    set ``kind`` too; a config without ``kind`` is NGHF)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read optimiser config: {err}") from None
    kind = data.get("kind", "nghf") if isinstance(data, dict) else None
    for item in overrides:
        if item.split("=", 1)[0].strip() == "kind":
            kind = yaml.safe_load(item.split("=", 1)[1])
    return load_config(_entry(kind, str(path)).config_class, path, overrides)


def build_updater(config: OptimConfig, params: Iterable[Any]) -> Updater:
    """The updater of ``config`` over ``params`` (SGD/Adam, or HF/NG/NGHF)."""
    entry = _entry(getattr(config, "kind", None), type(config).__name__)
    if not isinstance(config, entry.config_class):
        raise ConfigError(f"kind {config.kind!r} needs a {entry.config_class.__name__}, got {type(config).__name__}")
    return entry.build(config, list(params))


def is_first_order(config: OptimConfig) -> bool:
    """Whether ``config`` is a first-order (SGD/Adam) method: one gradient per update, a
    learning rate and its schedule."""
    return getattr(type(config), "family", None) == "first"


def optimiser_name(config: OptimConfig) -> str:
    """``sgd``, ``adam``, ``hf``, ``ng``, or ``nghf-A``/``-B``/``-C``."""
    if isinstance(config, SecondOrderConfig):
        return method_for(config).name
    return str(config.kind)
