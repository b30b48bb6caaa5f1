"""Fixtures of the decoding tests (defined in decode_tiny_graph.py)."""

from decode_tiny_graph import tiny_graph  # noqa: F401
