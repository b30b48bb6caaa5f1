"""Acoustic models (TDNN, LSTM, RNN), priors and self-describing model files."""
