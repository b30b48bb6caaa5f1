"""Lexicons, Kaldi lang dirs, n-gram language models and ``G.fst``.

See docs/design.md for the layers and where each concept lives.
"""
