"""Fixtures of the recipe tests: the tiny embedded corpus they share (``egs_tiny_corpus``) is
defined in tests/conftest.py, because the corpus determinism test builds on it too."""
