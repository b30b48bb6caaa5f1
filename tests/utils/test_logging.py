"""Logging set-up and progress reporting (tqdm on terminals, periodic lines otherwise)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from nghf.utils.logging import get_logger, progress, setup_logging


def test_log_file_and_idempotent_setup(tmp_path: Path) -> None:
    log_file = tmp_path / "log" / "job.1.log"
    setup_logging(log_file)
    logger = setup_logging(log_file)  # twice: still one file handler
    assert sum(isinstance(h, logging.FileHandler) for h in logger.handlers) == 1
    get_logger("nghf.test").info("hello %d", 3)
    for handler in logger.handlers:
        handler.flush()
    text = log_file.read_text()
    assert "INFO (nghf.test) hello 3" in text
    assert text.count("hello 3") == 1


def test_progress_non_interactive_logs_lines(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("nghf.progress.test")
    logger.propagate = True
    with caplog.at_level(logging.INFO, logger="nghf.progress.test"):
        items = list(progress(range(5), "utterances", every_s=0.0, logger=logger, interactive=False))
    assert items == list(range(5))
    messages = [r.getMessage() for r in caplog.records]
    assert any("utterances: 3/5 done" in m for m in messages)
    assert messages[-1].startswith("utterances: finished 5 items")


def test_progress_interactive_uses_tqdm(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(progress([1, 2, 3], "frames", interactive=True)) == [1, 2, 3]
    assert "frames" in capsys.readouterr().err
