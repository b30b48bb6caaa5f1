"""How a data directory's utterances are shared out among parallel decoding jobs
(``nghf.data.split.job_utterances`` with ``by="round_robin"``, as ``nghf-decode`` and
``nghf-make-denlats`` call it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nghf.bin._decode_common import job_utterances as cli_job_utterances
from nghf.data.split import job_utterances


def _share(utts: list[str], nj: int, job: int) -> list[str]:
    return job_utterances({u: u.split("-")[0] for u in utts}, nj, job, "round_robin")


@pytest.mark.parametrize(("n", "nj"), [(10, 3), (7, 7), (2, 4), (0, 2)])
def test_job_shares_partition_the_utterances(n: int, nj: int) -> None:
    utts = [f"show{i // 3}-utt{i:03d}" for i in range(n)]
    shares = [_share(utts, nj, j) for j in range(1, nj + 1)]
    assert sorted(u for share in shares for u in share) == utts
    sizes = [len(s) for s in shares]
    assert max(sizes) - min(sizes) <= 1
    assert all(share == sorted(share) for share in shares)


def test_consecutive_utterances_go_to_different_jobs() -> None:
    # A show's utterances sort together; dealing them out balances the jobs' decoding cost.
    utts = [f"noisyshow-{i:02d}" for i in range(6)] + [f"quietshow-{i:02d}" for i in range(6)]
    for j in (1, 2):
        share = _share(utts, 2, j)
        assert sum(u.startswith("noisyshow") for u in share) == 3


def test_job_number_out_of_range() -> None:
    with pytest.raises(ValueError, match="not in 1..2"):
        _share(["a"], 2, 3)


def test_the_commands_deal_the_sorted_utt2spk_round_robin(tmp_path: Path) -> None:
    utts = [f"s{i % 3}-u{i:02d}" for i in range(11)]
    (tmp_path / "utt2spk").write_text("".join(f"{u} {u[:2]}\n" for u in reversed(utts)))
    args = type("Args", (), {"data_dir": str(tmp_path), "nj": 3, "job": 0})()
    for job in (1, 2, 3):
        args.job = job
        assert cli_job_utterances(args) == sorted(utts)[job - 1 :: 3]  # the former job_share
