"""The ``nghf-*`` commands as a user meets them: every option of every console script (and
sub-command) has help and shows its default, every error is one ``nghf-x: error: ...`` line,
a corrupt model file is named in one line that never suggests unsafe loading, and a failing
``--set`` override is named instead of the config file."""

from __future__ import annotations

import argparse
import collections
import importlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from nghf.bin._cli_common import CliParser
from nghf.models.factory import ModelConfig, build_model
from nghf.models.io import FeatureInfo, save_model
from nghf.models.tdnn import TdnnConfig

REPO = Path(__file__).resolve().parents[2]


def _console_scripts() -> dict[str, str]:
    """``name -> module:function`` of pyproject.toml's [project.scripts] (read without tomllib,
    which Python 3.10 lacks)."""
    section = (REPO / "pyproject.toml").read_text().split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r'^([\w-]+)\s*=\s*"([\w.]+:\w+)"', section, re.M))


SCRIPTS = _console_scripts()


class _Parsed(Exception):
    """Raised instead of parsing: carries the parser a command built."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        super().__init__(parser.prog)
        self.parser = parser


def _main(entry: str) -> Callable[[list[str]], int]:
    module, func = entry.split(":")
    return getattr(importlib.import_module(module), func)


def command_parser(entry: str, monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    """The parser that the command's ``main`` builds, caught when it starts parsing."""
    def grab(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        raise _Parsed(self)

    with monkeypatch.context() as m:
        m.setattr(argparse.ArgumentParser, "parse_args", grab)
        m.setattr(argparse.ArgumentParser, "parse_known_args", grab)
        with pytest.raises(_Parsed) as caught:
            _main(entry)(["--help"])
    return caught.value.parser


def walk(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """The parser and every sub-command's parser below it."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from walk(sub)


@pytest.mark.parametrize("prog", sorted(SCRIPTS))
def test_every_option_has_help_and_shows_its_default(prog: str, monkeypatch: pytest.MonkeyPatch) -> None:
    parser = command_parser(SCRIPTS[prog], monkeypatch)
    assert parser.prog == prog
    for p in walk(parser):
        assert isinstance(p, CliParser), f"{p.prog}: not built with nghf.bin._cli_common.CliParser"
        text = " ".join(p.format_help().split())
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            name = "/".join(action.option_strings) or action.dest
            assert action.help and action.help.strip(), f"{p.prog} {name}: no help text"
            shown = action.default not in (None, False, "", [], argparse.SUPPRESS) and action.option_strings
            if shown:
                help_line = " ".join(p._get_formatter()._expand_help(action).split())
                assert f"(default: {action.default})" in help_line or "default" in (action.help or ""), \
                    f"{p.prog} {name}: default {action.default!r} not shown"
                assert help_line in text


def _model(path: Path) -> Path:
    config = ModelConfig(kind="tdnn", tdnn=TdnnConfig(hidden_dim=8, contexts=((-1, 0, 1),), norm="none"))
    save_model(path, build_model(config, 4, 3), config, FeatureInfo(dim=4))
    return path


class _Foreign:
    """Not a tensor or plain value: a pickle holding this is refused by safe loading."""


def _corrupt_models(tmp_path: Path) -> dict[str, Path]:
    good = _model(tmp_path / "good.mdl").read_bytes()
    files = {"truncated": good[: len(good) // 2], "garbage": bytes(range(256)) * 8, "empty": b""}
    out = {}
    for name, data in files.items():
        (tmp_path / f"{name}.mdl").write_bytes(data)
        out[name] = tmp_path / f"{name}.mdl"
    torch.save({"format": "nghf-model-1", "x": _Foreign(), "d": collections.OrderedDict()}, tmp_path / "foreign.mdl")
    out["foreign"] = tmp_path / "foreign.mdl"
    return out


@pytest.mark.parametrize("kind", ["truncated", "garbage", "empty", "foreign"])
def test_corrupt_model_is_one_line_without_unsafe_advice(kind: str, tmp_path: Path, capsys) -> None:
    model = _corrupt_models(tmp_path)[kind]
    data = tmp_path / "data"
    data.mkdir()
    for prog, argv in (("nghf-compute-priors", [str(model), str(data), str(tmp_path / "out.mdl")]),):
        capsys.readouterr()
        assert _main(SCRIPTS[prog])(argv) == 1
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith(f"{prog}: error: {model}: not a readable model file"), err
        assert "weights_only" not in err and "trust" not in err, err


def test_failing_set_override_is_named_not_the_config_file(tmp_path: Path, capsys) -> None:
    config = REPO / "conf" / "fbank.yaml"
    data = tmp_path / "data"
    data.mkdir()
    (data / "wav.scp").write_text("u1 /nonexistent.wav\n")
    for override, why in (("num_mel_bins=many", "expected an integer"), ("no_such_key=1", "unknown key")):
        capsys.readouterr()
        argv = [str(data), str(tmp_path / "a.ark"), str(tmp_path / "a.scp"), "--config", str(config), "--set", override]
        assert _main(SCRIPTS["nghf-compute-fbank"])(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"nghf-compute-fbank: error: override '{override}': "), err
        assert why in err and str(config) not in err, err
    # The file itself at fault: the file is named.
    bad = tmp_path / "bad.yaml"
    bad.write_text("num_mel_bins: many\n")
    argv = [str(data), str(tmp_path / "a.ark"), str(tmp_path / "a.scp"), "--config", str(bad), "--set", "dither=0"]
    assert _main(SCRIPTS["nghf-compute-fbank"])(argv) == 1
    assert capsys.readouterr().err.startswith(f"nghf-compute-fbank: error: {bad}: num_mel_bins: expected an integer")


@pytest.mark.parametrize("prog, argv", [
    ("nghf-make-graph", ["/nonexistent/lang", "/nonexistent/model", "/tmp/nghf-unused-graph"]),
    ("nghf-score", ["wer", "--ref", "/nonexistent/text", "--hyp", "/nonexistent/hyp"]),
    ("nghf-results", ["--results", "/nonexistent/results.jsonl", "--out", "/nonexistent/RESULTS.md"]),
    ("nghf-gmm", ["info", "/nonexistent/final.mdl"]),
    ("nghf-lattice-stats", ["/nonexistent/denlats"]),
    ("nghf-decode", ["/nonexistent/graph", "/nonexistent/data", "/nonexistent/final.mdl", "/nonexistent/decode"]),
    ("nghf-train", ["/nonexistent/data", "/nonexistent/ali", "4", "/nonexistent/exp"]),
    ("nghf-compute-fbank", ["/nonexistent/data", "/nonexistent/a.ark", "/nonexistent/a.scp"]),
])
def test_errors_have_one_format(prog: str, argv: list[str], capsys) -> None:
    """A failing command prints one ``prog: error: ...`` line (warnings may come before it),
    not an ERROR log record, nor a traceback."""
    assert _main(SCRIPTS[prog])(argv) == 1
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "error" in line.lower()] == \
        [next(line for line in err.splitlines() if line.startswith(f"{prog}: error: "))], err
    assert "Traceback" not in err, err


def test_usage_errors_have_the_same_format(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        _main(SCRIPTS["nghf-decode"])(["--nj", "abc"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("nghf-decode: error: argument --nj")


def test_failed_jobs_are_reported_in_the_same_format(tmp_path: Path) -> None:
    """nghf-queue's report of a failed job starts with the same ``prog: error:`` prefix."""
    import io

    from nghf.jobs.dispatch import JobResult, report_failures

    log = tmp_path / "x.1.log"
    log.write_text("# nghf-x ...\nnghf-x: error: bad input\n")
    out = io.StringIO()
    assert report_failures([JobResult(1, 3, log)], out) == 1
    assert out.getvalue().splitlines()[0] == f"nghf-queue: error: job 1 of 1 failed with exit code 3; log: {log}"
