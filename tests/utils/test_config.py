"""Frozen-dataclass configs from YAML: types, nesting, overrides and errors naming file and key."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import pytest
import yaml

from nghf.utils.config import ConfigError, dump_config, load_config


@dataclasses.dataclass(frozen=True)
class Inner:
    dim: int = 4
    dropout: float = 0.0


@dataclasses.dataclass(frozen=True)
class Outer:
    name: str = "tdnn"
    kind: Literal["sgd", "adam"] = "sgd"
    contexts: tuple[int, ...] = (-1, 0, 1)
    inner: Inner = dataclasses.field(default_factory=Inner)
    lr: float | None = None
    use_gpu: bool = False


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_defaults_and_full_load(tmp_path: Path) -> None:
    assert load_config(Outer) == Outer()
    cfg = load_config(Outer, write(tmp_path, "kind: adam\ncontexts: [-3, 0, 3]\ninner: {dim: 8}\nlr: 1\n"))
    assert cfg == Outer(kind="adam", contexts=(-3, 0, 3), inner=Inner(dim=8), lr=1.0)
    assert isinstance(cfg.lr, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 2.0  # type: ignore[misc]


def test_overrides(tmp_path: Path) -> None:
    cfg = load_config(Outer, write(tmp_path, "inner: {dim: 8}\n"), ["inner.dropout=0.1", "use_gpu=true"])
    assert cfg.inner == Inner(dim=8, dropout=0.1) and cfg.use_gpu is True


@pytest.mark.parametrize(
    "text, message",
    [
        ("nmae: x\n", "unknown key(s) nmae for Outer"),
        ("inner: {dimm: 3}\n", "unknown key(s) inner.dimm for Inner"),
        ("kind: rmsprop\n", "kind: 'rmsprop' is not one of 'sgd', 'adam'"),
        ("inner: {dim: 2.5}\n", "inner.dim: expected an integer"),
        ("use_gpu: 1\n", "use_gpu: expected true/false"),
        ("- a\n- b\n", "expected a mapping at the top level"),
        ("a: [\n", "invalid YAML"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(Outer, path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(Outer, tmp_path / "nope.yaml")


def test_dump_round_trip(tmp_path: Path) -> None:
    cfg = Outer(kind="adam", inner=Inner(dim=3), lr=0.5)
    dump_config(cfg, tmp_path / "out" / "resolved.yaml")
    assert load_config(Outer, tmp_path / "out" / "resolved.yaml") == cfg
    assert yaml.safe_load((tmp_path / "out" / "resolved.yaml").read_text())["contexts"] == [-1, 0, 1]
