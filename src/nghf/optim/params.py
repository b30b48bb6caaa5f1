"""A flat-vector view of a model's trainable parameters.

Every second-order method in this package (CG, HF, NG, NGHF, preconditioners) works on
**flat vectors**: one 1-D tensor holding all optimised parameters, concatenated in the order
of ``model.named_parameters()``. Flat vectors make CG's inner products, axpys, diagonal
preconditioners and Woodbury algebra one-liners and cost one extra copy per vector, the same
as lists of tensors. ``ParamSpace`` converts between the flat form and the per-parameter
``{name: tensor}`` dictionaries that ``torch.func.functional_call`` needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn


class ParamSpace:
    """The optimised parameters of ``model``: names, shapes and their slices of a flat vector.

    Args:
        model: the module whose parameters are optimised.
        params: the subset to optimise (default: every parameter with ``requires_grad``);
            others stay constant inside curvature products.
    """

    def __init__(self, model: nn.Module, params: Iterable[torch.Tensor] | None = None) -> None:
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        if params is not None:
            wanted = {id(p) for p in params}
            named = [(n, p) for n, p in named if id(p) in wanted]
            if len(named) != len(wanted):
                raise ValueError(
                    f"{len(wanted) - len(named)} optimised parameter(s) are not trainable "
                    "parameters of the model passed in the update problem"
                )
        if not named:
            raise ValueError("no trainable parameters to optimise")
        self.names: tuple[str, ...] = tuple(n for n, _ in named)
        self.params: tuple[torch.Tensor, ...] = tuple(p for _, p in named)
        self.shapes = tuple(p.shape for p in self.params)
        self.numels = tuple(p.numel() for p in self.params)
        offsets = [0]
        for n in self.numels:
            offsets.append(offsets[-1] + n)
        self.offsets = tuple(offsets)
        self.numel = offsets[-1]
        self.dtype = self.params[0].dtype
        self.device = self.params[0].device

    def slices(self) -> list[tuple[str, slice]]:
        """``(name, slice of the flat vector)`` for every parameter block."""
        return [(n, slice(self.offsets[i], self.offsets[i + 1])) for i, n in enumerate(self.names)]

    def flatten(self, tensors: Sequence[torch.Tensor | None]) -> torch.Tensor:
        """Concatenate per-parameter tensors (``None`` means zeros) into one flat vector."""
        parts = [
            torch.zeros(n, dtype=self.dtype, device=self.device) if t is None else t.reshape(-1)
            for t, n in zip(tensors, self.numels, strict=True)
        ]
        return torch.cat(parts)

    def unflatten(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """Views of ``flat`` shaped like the parameters."""
        if flat.shape != (self.numel,):
            raise ValueError(f"flat vector has shape {tuple(flat.shape)}, expected ({self.numel},)")
        return [flat[self.offsets[i]:self.offsets[i + 1]].view(s) for i, s in enumerate(self.shapes)]

    def as_dict(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{name: view}`` of ``flat`` (tangents for ``torch.func.jvp``)."""
        return dict(zip(self.names, self.unflatten(flat), strict=True))

    def param_dict(self) -> dict[str, torch.Tensor]:
        """``{name: parameter}`` (the live parameters, for ``functional_call``)."""
        return dict(zip(self.names, self.params, strict=True))

    def get_flat(self) -> torch.Tensor:
        """A copy of the current parameter values as a flat vector."""
        return torch.cat([p.detach().reshape(-1) for p in self.params])

    @torch.no_grad()
    def set_flat(self, flat: torch.Tensor) -> None:
        """Overwrite the parameters with the values of ``flat``."""
        for p, v in zip(self.params, self.unflatten(flat.to(self.dtype)), strict=True):
            p.copy_(v)

    @torch.no_grad()
    def add_(self, delta: torch.Tensor, alpha: float = 1.0) -> None:
        """``θ += alpha · delta``."""
        for p, v in zip(self.params, self.unflatten(delta.to(self.dtype)), strict=True):
            p.add_(v, alpha=alpha)

    def zeros(self) -> torch.Tensor:
        return torch.zeros(self.numel, dtype=self.dtype, device=self.device)
