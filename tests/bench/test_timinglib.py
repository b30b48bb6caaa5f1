"""bench/timinglib.py: best of N timed calls after a warm-up."""

from __future__ import annotations

import time

import torch


def test_best_time_warms_up_once_and_keeps_the_fastest_call(load_bench):
    timinglib = load_bench("timinglib")
    sleeps = iter([0.0, 0.05, 0.01, 0.03])  # the warm-up call, then three timed ones
    calls = []

    def fn():
        calls.append(1)
        time.sleep(next(sleeps))

    best = timinglib.best_time(fn, torch.device("cpu"), repeats=3)
    assert len(calls) == 4
    assert 0.01 <= best < 0.03
