"""Write-then-rename outputs and .done markers."""

from __future__ import annotations

from pathlib import Path

import pytest

from nghf.utils.atomic import atomic_path, atomic_write_text, is_done, mark_done


def test_file_appears_only_on_success(tmp_path: Path) -> None:
    final = tmp_path / "sub" / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(final) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("killed")
    assert not final.exists()
    assert list((tmp_path / "sub").iterdir()) == []  # no temporary left behind
    atomic_write_text(final, "complete")
    assert final.read_text() == "complete"


def test_directory_replaced_atomically(tmp_path: Path) -> None:
    final = tmp_path / "dir"
    final.mkdir()
    (final / "old").write_text("old")
    with atomic_path(final) as tmp:
        tmp.mkdir()
        (tmp / "new").write_text("new")
    assert sorted(p.name for p in final.iterdir()) == ["new"]


def test_nothing_written_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing was written"), atomic_path(tmp_path / "x"):
        pass


def test_done_markers(tmp_path: Path) -> None:
    out = tmp_path / "feats.scp"
    assert not is_done(out)
    out.write_text("x")
    assert not is_done(out)
    mark_done(out)
    assert is_done(out) and (tmp_path / "feats.scp.done").exists()
    d = tmp_path / "exp"
    d.mkdir()
    mark_done(d)
    assert is_done(d) and (d / ".done").exists()
