"""nghf.data (see DESIGN.md)."""
