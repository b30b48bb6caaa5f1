"""Fixtures of the lang tests: a toy dictionary directory and its lang directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from lang_helpers import write_toy_dict

from nghf.lang.prepare import LangConfig, prepare_lang


@pytest.fixture(scope="module")
def toy_lang(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lang dir built from the toy lexicon with the default (Kaldi) options."""
    root = tmp_path_factory.mktemp("toy_lang")
    write_toy_dict(root / "dict")
    prepare_lang(root / "dict", "<unk>", root / "tmp", root / "lang", LangConfig())
    return root / "lang"
