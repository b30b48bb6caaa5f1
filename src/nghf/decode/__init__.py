"""nghf.decode (see DESIGN.md)."""
