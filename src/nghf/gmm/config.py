"""The GMM system's configuration (``conf/gmm.yaml``), one frozen dataclass per part."""

from __future__ import annotations

import dataclasses

from nghf.gmm.align import AlignConfig
from nghf.gmm.estimate import UpdateConfig
from nghf.gmm.feats import FeatureConfig
from nghf.gmm.tree import TreeConfig


@dataclasses.dataclass(frozen=True)
class GmmConfig:
    feats: FeatureConfig = FeatureConfig()
    align: AlignConfig = AlignConfig()
    update: UpdateConfig = UpdateConfig()
    tree: TreeConfig = TreeConfig()
    init_utts: int = 1000  # utterances whose features set the flat-start mean/variance
    seed: int = 0
