"""bench/bench_wip_sweep.py: the (LM weight, insertion penalty) pair is chosen on dev only."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def wip(load_bench):
    return load_bench("bench_wip_sweep")


def test_tuning_uses_dev_only_and_prefers_the_smaller_penalty_on_ties(wip):
    dev = {(7.0, 0.0): {"wer": 30.0}, (8.0, 0.0): {"wer": 29.0}, (7.0, 0.5): {"wer": 28.0}, (8.0, 0.5): {"wer": 28.0},
           (7.0, 1.0): {"wer": 28.0}}
    evl = {k: {"wer": 50.0 - v["wer"]} for k, v in dev.items()}  # eval's best is dev's worst: never chosen
    tuned = wip.tune_on_dev(dev, evl, [0.0, 0.5, 1.0])
    assert (tuned["lmwt"], tuned["penalty"]) == (7.0, 0.5)
    assert tuned["eval"] == {"wer": 22.0}
    recipe = wip.tune_on_dev(dev, evl, [0.0])
    assert (recipe["lmwt"], recipe["penalty"], recipe["dev"]["wer"]) == (8.0, 0.0, 29.0)
