"""What every acoustic model provides, so trainer, criteria, lattices and decoder agree.

A model maps padded features ``(B, T, F)`` with lengths to pre-softmax outputs (logits)
``(B, T_out, num_pdfs)`` with output lengths. Splitting at the logits keeps the softmax inside
the criterion, which is where Gauss-Newton curvature products split the network (matching
loss); log-posteriors are ``log_softmax(logits)``.
"""

from __future__ import annotations

import abc

import torch
from torch import nn


class AcousticModel(nn.Module, abc.ABC):
    """Base class of TDNN/LSTM/RNN acoustic models.

    Subclasses set ``num_pdfs``, ``left_context``, ``right_context`` (input frames needed
    before/after each output frame) and ``subsampling`` (output frame shift in input frames),
    and implement ``forward``.
    """

    num_pdfs: int
    left_context: int = 0
    right_context: int = 0
    subsampling: int = 1
    unbounded_left: bool = False
    """Outputs also depend on inputs further left than ``left_context`` (forward recurrence);
    chunked training and decoding should then supply extra left context frames."""
    unbounded_right: bool = False
    """Likewise to the right (backward recurrence of a bidirectional model)."""

    @abc.abstractmethod
    def forward(self, features: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(logits (B, T_out, num_pdfs), out_lengths (B,))``."""

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        """Output frames per utterance for input ``lengths`` (ceil division by the subsampling)."""
        return torch.div(lengths + self.subsampling - 1, self.subsampling, rounding_mode="floor")
