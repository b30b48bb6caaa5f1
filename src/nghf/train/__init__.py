"""Training: the generic trainer (CE and sequence), update sources, checkpoints and logging (batch type: nghf.data.batch)."""
