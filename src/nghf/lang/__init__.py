"""nghf.lang (see DESIGN.md)."""
