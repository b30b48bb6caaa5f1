"""Training: the batch type, the generic trainer (CE and sequence), checkpoints and logging."""
