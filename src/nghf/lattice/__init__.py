"""nghf.lattice (see DESIGN.md)."""
