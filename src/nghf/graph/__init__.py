"""HCLG decoding graphs, built as Kaldi's ``mkgraph.sh`` does.

See docs/design.md for the layers and where each concept lives.
"""
