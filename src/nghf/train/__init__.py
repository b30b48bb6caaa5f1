"""Training: the generic trainer (CE and sequence), update sources, checkpoints and logging.

See docs/design.md for the layers and where each concept lives.
"""
