"""nghf.score (see DESIGN.md)."""
