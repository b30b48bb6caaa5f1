"""Frozen-dataclass configs loaded from YAML files in ``conf/``.

Every configurable part of nghf (features, models, criteria, optimisers, trainer) is a
``@dataclass(frozen=True)``. ``load_config(Cls, path, overrides)`` builds one from a YAML
file plus ``key.sub=value`` overrides, checking every key and type, and naming the file
(or, when the file is fine, the override at fault) and key on any error; ``dump_config`` writes the resolved config beside an output so that
every result records exactly what produced it. Nothing mutates a config after loading.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from nghf.utils.atomic import atomic_write_text

C = TypeVar("C")


class ConfigError(ValueError):
    """A config file or override that does not fit its dataclass (message names file and key)."""


def load_config(cls: type[C], path: str | Path | None = None, overrides: Sequence[str] = ()) -> C:
    """Build ``cls`` from the YAML mapping in ``path`` (optional) and ``key=value`` overrides."""
    where = str(path) if path is not None else "<defaults>"
    data: dict[str, Any] = {}
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(f"{path}: cannot read config: {err.strerror}") from None
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: invalid YAML: {err}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level, got {type(loaded).__name__}")
        data = loaded
    if not overrides:
        return from_dict(cls, data, where)
    base = copy.deepcopy(data)
    for item in overrides:
        _apply_override(data, item)
    try:
        return from_dict(cls, data, where)
    except ConfigError:
        culprit = _failing_override(cls, base, overrides, where)
        if culprit is None:
            raise
        item, err = culprit
        raise ConfigError(str(err).replace(where, f"override {item!r}", 1)) from None


def _failing_override(cls: type, base: dict[str, Any], overrides: Sequence[str],
                      where: str) -> tuple[str, ConfigError] | None:
    """The override that makes the config invalid, with its error: the file alone must be
    valid (else the file is at fault), then overrides are applied in order and the first
    after which the config no longer builds is named. ``None`` when the file is at fault."""
    try:
        from_dict(cls, base, where)
    except ConfigError:
        return None
    data = copy.deepcopy(base)
    for item in overrides:
        _apply_override(data, item)
        try:
            from_dict(cls, data, where)
        except ConfigError as err:
            return item, err
    return None


def from_dict(cls: type[C], data: Mapping[str, Any], where: str = "<dict>", prefix: str = "") -> C:
    """Build a (possibly nested) frozen dataclass from a mapping, checking keys and types."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(prefix + k for k in unknown)} for {cls.__name__}; "
            f"known: {', '.join(sorted(fields))}"
        )
    kwargs = {name: _convert(hints[name], value, where, prefix + name) for name, value in data.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: {cls.__name__}: {err}") from None


def to_dict(config: Any) -> dict[str, Any]:
    """Plain-data form of a config (tuples become lists) for YAML/JSON output."""
    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value

    return plain(config)


def dump_config(config: Any, path: str | Path) -> None:
    """Write the resolved config as YAML (atomically) beside an output."""
    atomic_write_text(path, yaml.safe_dump(to_dict(config), sort_keys=False))


def _apply_override(data: dict[str, Any], item: str) -> None:
    if "=" not in item:
        raise ConfigError(f"override {item!r}: expected key=value (e.g. model.hidden_dim=512)")
    key, raw = item.split("=", 1)
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {item!r}: {part} is not a section")
        node = child
    node[parts[-1]] = yaml.safe_load(raw)


def _convert(hint: Any, value: Any, where: str, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, where, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {key}: {value!r} fits none of {hint}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {key}: {value!r} is not one of {', '.join(map(repr, args))}")
        return value
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: {key}: expected a mapping for {hint.__name__}")
        return from_dict(hint, value, where, key + ".")
    if origin in (tuple, list, Sequence):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: {key}: expected a list, got {value!r}")
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, where, f"{key}[{i}]") for i, v in enumerate(value))
        if origin is tuple and args:
            if len(args) != len(value):
                raise ConfigError(f"{where}: {key}: expected {len(args)} items, got {len(value)}")
            return tuple(_convert(a, v, where, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True)))
        inner = args[0] if args else Any
        return tuple(_convert(inner, v, where, f"{key}[{i}]") for i, v in enumerate(value))
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: {key}: expected a mapping, got {value!r}")
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key}: expected true/false, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {key}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {key}: expected an integer, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key}: expected a string, got {value!r}")
        return value
    return value
