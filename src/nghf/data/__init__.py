"""Kaldi data dirs, audio, fbank, CMVN, ark/scp, feature and alignment readers, the batch type.

See docs/design.md for the layers and where each concept lives.
"""
