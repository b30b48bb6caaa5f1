"""How a data directory's utterances are shared out among parallel decoding jobs."""

from __future__ import annotations

import pytest

from nghf.decode.job import job_share


@pytest.mark.parametrize(("n", "nj"), [(10, 3), (7, 7), (2, 4), (0, 2)])
def test_job_shares_partition_the_utterances(n: int, nj: int) -> None:
    utts = [f"show{i // 3}-utt{i:03d}" for i in range(n)]
    shares = [job_share(utts, nj, j) for j in range(1, nj + 1)]
    assert sorted(u for share in shares for u in share) == utts
    sizes = [len(s) for s in shares]
    assert max(sizes) - min(sizes) <= 1
    assert all(share == sorted(share) for share in shares)


def test_consecutive_utterances_go_to_different_jobs() -> None:
    # A show's utterances sort together; dealing them out balances the jobs' decoding cost.
    utts = [f"noisyshow-{i:02d}" for i in range(6)] + [f"quietshow-{i:02d}" for i in range(6)]
    for j in (1, 2):
        share = job_share(utts, 2, j)
        assert sum(u.startswith("noisyshow") for u in share) == 3


def test_job_number_out_of_range() -> None:
    with pytest.raises(ValueError, match="not in 1..2"):
        job_share(["a"], 2, 3)
