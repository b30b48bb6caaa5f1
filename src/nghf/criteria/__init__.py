"""Training criteria: frame CE and the lattice sequence criteria (MMI, bMMI, MPFE, sMBR)."""
