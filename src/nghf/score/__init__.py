"""Scoring: WER, LM-weight sweeps of decode dirs, ``exp/results.jsonl`` and ``RESULTS.md``.

See docs/design.md for the layers and where each concept lives.
"""
