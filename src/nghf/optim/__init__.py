"""Optimisers behind one interface: SGD, Adam, HF, NG, NGHF (CG, damping, preconditioners)."""
