"""Atomic writing (evalkit.iorw): a reader finds the old file or the new one, never half of one."""

from __future__ import annotations

import os

import pytest

from evalkit import iorw


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "manifest.json"
    iorw.write_atomic(path, "første")
    iorw.write_atomic(path, b"second")
    assert path.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, readable as before


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "index.html"
    path.write_text("old", encoding="utf-8")

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(iorw.os, "replace", fail)
    with pytest.raises(OSError):
        iorw.write_atomic(path, "new")
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


def test_staged_folder_is_beside_the_target_and_gone_afterwards(tmp_path):
    target = tmp_path / "out" / "data"
    with iorw.staged_folder(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".data.tmp-")
        (tmp / "cases.csv").write_text("case_id\n", encoding="utf-8")
        tmp.rename(target)
    assert (target / "cases.csv").exists()
    assert sorted(p.name for p in target.parent.iterdir()) == ["data"]

    with pytest.raises(KeyboardInterrupt), iorw.staged_folder(tmp_path / "other") as tmp:
        (tmp / "half.csv").write_text("x", encoding="utf-8")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
