"""Decoding with Kaldi's decoders: decode jobs, denominator lattices, NN forced alignment.

See docs/design.md for the layers and where each concept lives.
"""
