"""Build a criterion from its config: ``ce`` or one of the lattice sequence criteria."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from nghf.criteria.mmi import MMI, BoostedMMI
from nghf.criteria.mpe import MPFE, SMBR
from nghf.criteria.seqbase import LatticeCriterion, SequenceCriterionConfig
from nghf.utils.config import load_config

_CLASSES: dict[str, type[LatticeCriterion]] = {"mmi": MMI, "bmmi": BoostedMMI, "mpfe": MPFE, "smbr": SMBR}


def build_sequence_criterion(config: SequenceCriterionConfig, log_priors: torch.Tensor) -> LatticeCriterion:
    """The criterion named by ``config.name`` with the given ``(D,)`` log priors."""
    return _CLASSES[config.name](config, log_priors)


def load_sequence_criterion(
    path: str | Path, log_priors: torch.Tensor, overrides: Sequence[str] = ()
) -> LatticeCriterion:
    """Load ``conf/criterion_*.yaml`` (plus ``key=value`` overrides) and build the criterion."""
    return build_sequence_criterion(load_config(SequenceCriterionConfig, path, overrides), log_priors)
