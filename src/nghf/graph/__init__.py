"""nghf.graph (see DESIGN.md)."""
