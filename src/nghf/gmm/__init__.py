"""nghf.gmm (see DESIGN.md)."""
